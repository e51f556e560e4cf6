"""Whether an exported entry carries what its rows have: `descriptor export` writes an entry only when the other
trainer reads its rows back clean and complete; otherwise it is left out with the reason and the convert that fixes
it (`Refused`).

- LLaMA-Factory v1: the entry is read back with our v1 reader (`ftdata.descriptors.v1`: each converter as v1 reads
  rows, its traps named as problems) and every record compared with the one dataset_info.json gives: v1's sharegpt
  converter ignores a top-level `system`, its alpaca converter joins instruction and input without a separator.
- axolotl (no reader here: it needs Python >= 3.12 and CUDA): by its documented type mapping, which carries
  `alpaca`: instruction, input, output; `chat_template`: the messages whose roles it maps (user, assistant, system,
  tool), not LLaMA-Factory's top-level `system` column, its `tools` column, its function_call turns, or media.
- trl reads the rows themselves (`export._trl` passes only rows in trl's own shapes): nothing to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ftdata.core.reports import Checked
from ftdata.descriptors.llamafactory import DATASET_INFO, Entry
from ftdata.descriptors.v1 import V1Entry, entry_checked
from ftdata.io.media import MediaRules
from ftdata.io.readers import UnreadableFile

V1_FIX = ("ftdata convert {file} --to llamafactory-v1 -o OUT.jsonl and name OUT.jsonl in the YAML without a "
          "converter (v1 reads its own rows as they are)")
AXOLOTL_FIX = ("ftdata convert {file} --to openai -o OUT.jsonl and give axolotl OUT.jsonl with type chat_template "
               "(field_messages: messages, field_tools: tools): system prompts and tool calls are messages there")


class Refused(Exception):
    """An entry the target cannot read as it is; the message says why and what to do."""


def source_rows(info: Path, entry: Entry) -> Iterator[Checked]:
    """The entry's rows as dataset_info.json reads them (with records)."""
    return DATASET_INFO.checked(info, entry, None, MediaRules(allow_outside=True), True)[1]


def check_v1(info: Path, entry: Entry, item: dict[str, Any], out_dir: Path, file: str) -> None:
    """Refused unless our v1 reader reads the exported entry `item` (paths relative to `out_dir`) to the same
    records as the dataset_info.json entry, row by row."""
    v1 = V1Entry(**{k: v for k, v in item.items() if not k.startswith("_")})
    try:
        back = entry_checked(out_dir / "export.yaml", v1, info.parent, MediaRules(allow_outside=True), True)[1]
    except UnreadableFile as err:
        raise Refused(str(err)) from None
    rows = changed = 0
    first = ""
    for source, read in zip(source_rows(info, entry), back):
        if source.record is None:
            continue  # invalid at the source already: `ftdata validate` on the dataset_info.json says so
        rows += 1
        why = _problem(read) or _difference(_plain(source.record.to_json()), _plain(
            read.record.to_json() if read.record is not None else {}))
        if why:
            changed += 1
            first = first or f"row {source.index}: {why}"
    if changed:
        raise Refused(f"LLaMA-Factory v1's {v1.converter} converter reads {changed} of {rows} rows otherwise ({first}); "
                      + V1_FIX.format(file=file))


def _problem(read: Checked) -> str:
    errors = [p for p in read.problems if p.severity == "error"]
    return f"{errors[0].path}: {errors[0].message}" if errors else ""


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("id", "meta")}


def _difference(want: dict[str, Any], got: dict[str, Any]) -> str:
    """What `got` loses or changes of `want` (two records as JSON), in words; '' when equal."""
    if want == got:
        return ""
    for key in want:
        if key not in got:
            return f"its {key} would be lost"
    for key in ("messages", "chosen", "rejected", "completion"):
        a, b = want.get(key) or [], got.get(key) or []
        roles_a, roles_b = [m.get("role") for m in a], [m.get("role") for m in b]
        if roles_a != roles_b:
            lost = [r for r in roles_a if r not in roles_b] or roles_a
            return f"its {lost[0]} turn would be lost" if len(b) < len(a) else "its turns would change"
        for m, n in zip(a, b):
            if m != n:
                return f"the text of a {m.get('role')} turn would change"
    return "it would read differently"


def axolotl_losses(info: Path, entry: Entry) -> list[str]:
    """What the exported axolotl `item` does not carry of the entry's rows, each with how many rows have it (every
    type written here, alpaca and chat_template alike, leaves these out)."""
    counts = {"top-level system prompts": 0, "tools": 0, "tool-call turns": 0, "media": 0}
    for row in source_rows(info, entry):
        record = row.record
        if record is None:
            continue
        raw = row.raw if isinstance(row.raw, dict) else {}
        counts["top-level system prompts"] += bool(raw.get("system"))
        counts["tools"] += bool(record.tools)
        lists = [record.messages, record.chosen, record.rejected, record.completion]
        counts["tool-call turns"] += any(m.tool_calls for msgs in lists for m in msgs or ())
        counts["media"] += bool(record.images or record.videos or record.audios)
    return [f"{what} ({n} rows)" for what, n in counts.items() if n]


def check_axolotl(info: Path, entry: Entry, item: dict[str, Any], file: str) -> None:
    """Refused when the axolotl mapping `item` drops something the entry's rows have."""
    lost = axolotl_losses(info, entry)
    if lost:
        kind = item.get("type")
        named = kind if isinstance(kind, str) else "user-defined"
        raise Refused(f"axolotl's {named} mapping here does not carry the rows' {', '.join(lost)}; "
                      + AXOLOTL_FIX.format(file=file))
