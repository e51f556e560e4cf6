"""Other trainers' dataset descriptors from a dataset_info.json, and back: axolotl's `datasets:` block, trl's dataset
mixture YAML (`DatasetMixtureConfig`, trl/scripts/utils.py), LLaMA-Factory v1's dataset YAML.

Export maps each entry to what the other trainer reads the same rows with, or refuses it with the reason and the
`ftdata convert` that makes it readable; nothing is mapped by guess, and an entry whose rows would read back
otherwise (a lost system prompt, tools, tool-call turns, media) is refused too (`ftdata.descriptors.fidelity`). Paths are written relative to the output's
folder (the current folder when printing), since every one of these trainers resolves them against the folder it
runs from; for LLaMA-Factory v1 beside the dataset_info.json they get its `data/` prefix. Lossy parts of a mapping
(LLaMA-Factory's `num_samples` becoming v1's `size`, which samples with replacement) are notes.

Import (`ftdata.descriptors.imports`) reads any of the three back into dataset_info.json entries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ftdata.core.suggest import did_you_mean
from ftdata.descriptors.base import tally_file
from ftdata.descriptors.fidelity import Refused, check_axolotl, check_v1
from ftdata.descriptors.llamafactory import (
    Entry,
    entry_files,
    read_descriptor,
    reader,
)
from ftdata.io.readers import UnreadableFile, UsageError
from ftdata.io.staging import write_output

Kind = Literal["axolotl", "trl", "llamafactory-v1"]
KINDS: tuple[Kind, ...] = ("axolotl", "trl", "llamafactory-v1")
LOADERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv", ".txt": "text"}  # datasets builders
V1_ALPACA = {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "images": "images",
             "videos": "videos", "audios": "audios"}  # what v1's alpaca converter reads
V1_ROLES = {"human", "user", "gpt", "assistant", "observation", "tool", "function_call", "system"}


@dataclass
class Exported:
    """A descriptor in another trainer's terms: the YAML document, and notes on what the mapping loses."""

    kind: str
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # entry name -> why


def rel(path: Path, out_dir: Path) -> str:
    return os.path.relpath(path.resolve(), out_dir.resolve())


def _tags(entry: Entry) -> dict[str, str]:
    """The entry's role/content keys and role names: its format's defaults, overridden by its own `tags`."""
    lf = reader(entry).llamafactory
    defaults = dict(lf.tags) if lf is not None else {}
    return {**defaults, **(entry.tags.model_dump(exclude_none=True) if entry.tags else {})}


def _messages_column(entry: Entry) -> str:
    lf = reader(entry).llamafactory
    return _columns(entry).get("messages") or (lf.columns["messages"] if lf is not None else "messages")


def _columns(entry: Entry) -> dict[str, str]:
    return entry.columns.model_dump(exclude_none=True) if entry.columns else {}


def _axolotl(name: str, entry: Entry, path: str) -> dict[str, Any]:
    cols, tags = _columns(entry), _tags(entry)
    if cols.get("kto_tag"):
        raise Refused("axolotl's KTO types read their own row shapes; convert it --to trl and use type chatml.* / "
                      "user_defined")
    if entry.formatting == "alpaca":
        if set(cols) == {"prompt"}:
            return {"path": path, "type": "completion", "field": cols["prompt"]}
        if entry.ranking:
            return {"path": path, "split": entry.split, "type": {
                "field_prompt": cols.get("prompt", "instruction"), "field_chosen": cols.get("chosen", "chosen"),
                "field_rejected": cols.get("rejected", "rejected"), "prompt_format": "{prompt}",
                "chosen_format": "{chosen}", "rejected_format": "{rejected}"}}
        if cols.get("history"):
            raise Refused("axolotl's alpaca type has no history; convert it --to openai and use type chat_template")
        fields = {"field_instruction": cols.get("prompt", "instruction"), "field_input": cols.get("query", "input"),
                  "field_output": cols.get("response", "output")}
        if fields == {"field_instruction": "instruction", "field_input": "input", "field_output": "output"}:
            return {"path": path, "type": "alpaca"}
        return {"path": path, "type": {**fields, "format": "{instruction} {input}", "no_input_format": "{instruction}"}}
    out: dict[str, Any] = {"path": path, "type": "chat_template.default" if entry.ranking else "chat_template",
                           "field_messages": _messages_column(entry),
                           "message_property_mappings": {"role": tags["role_tag"], "content": tags["content_tag"]},
                           "roles": {"user": [tags["user_tag"]], "assistant": [tags["assistant_tag"]],
                                     "system": [tags["system_tag"]], "tool": [tags["observation_tag"]]}}
    if entry.ranking:
        out.update(field_chosen=cols.get("chosen", "chosen"), field_rejected=cols.get("rejected", "rejected"))
    return out


def _trl(entry: Entry, local: list[Path], files: list[str]) -> dict[str, Any]:
    """trl reads its own types (messages; prompt/completion; prompt/chosen/rejected; prompt/completion/label) and
    text: rows already in one of them pass (each Format declares the kinds trl reads in its rows: `trl_reads`).
    `local`: the entry's files as found from here, `files`: as the YAML names them."""
    fmt, rows = tally_file(local[0])
    if len(rows.kinds) == 1 and set(rows.kinds) <= fmt.trl_reads:
        return {"path": LOADERS.get(Path(files[0]).suffix.lower(), "json"),
                "data_files": files[0] if len(files) == 1 else files, "split": "train"}
    kinds = " / ".join(k for k in rows.kinds if k != "sft")
    raise Refused(f"its rows are {fmt.name}{' ' + kinds if kinds else ''} rows, which trl does not read; ftdata "
                  f"convert {files[0]} --to trl")


def _v1(entry: Entry, path: str, notes: list[str], name: str) -> dict[str, Any]:
    cols, tags = _columns(entry), _tags(entry)
    if cols.get("kto_tag"):
        raise Refused("LLaMA-Factory v1 has no KTO data")
    if entry.ranking:
        raise Refused("v1 reads preference rows as whole chosen / rejected conversations; ftdata convert the file "
                      "--to llamafactory-v1 (its DPO rows need no converter)")
    if entry.formatting == "alpaca" and set(cols) == {"prompt"}:
        raise Refused("v1 has no converter for pretraining text")
    if entry.formatting == "alpaca":
        if any(V1_ALPACA.get(col) != source for col, source in cols.items()):
            raise Refused("v1's alpaca converter reads fixed keys (instruction, input, output, system, media) and no "
                          "history; ftdata convert the file --to llamafactory-v1")
        converter = "alpaca"
    else:
        names = {v for k, v in tags.items() if k not in ("role_tag", "content_tag")}
        if (tags["role_tag"], tags["content_tag"]) not in (("from", "value"), ("role", "content")) \
                or not names <= V1_ROLES or _messages_column(entry) not in ("conversations", "messages"):
            raise Refused("v1's sharegpt converter reads conversations (or messages) with its own keys and role "
                          "names; ftdata convert the file --to llamafactory-v1")
        converter = "sharegpt"  # its rows' top-level `system`, which v1 ignores: `ftdata validate` on the YAML says
    out: dict[str, Any] = {"path": path, "source": "local", "converter": converter}
    if entry.num_samples is not None:
        out["size"] = entry.num_samples
        notes.append(f"{name}: num_samples {entry.num_samples} became size, which v1 draws at random with replacement")
    return out


def check_out(out: Path | None) -> None:
    if out is not None and out.exists():
        raise UsageError(f"{out} exists; pass --force to replace it, or choose another -o")


def save(out: Path | None, text: str, inputs: list[Path], force: bool) -> None:
    """Write a descriptor's text to `out` through the one staged output path: never onto one of `inputs` (the
    source descriptor and its data files), whole or not at all (nothing when `out` is None: it was printed)."""
    if out is not None:
        write_output(out, text.encode(), inputs, force)


def export(info: Path, kind: str, out_dir: Path, names: list[str] | None = None, refuse: Path | None = None) -> Exported:
    """dataset_info.json -> the `kind` descriptor (see the module docstring). UsageError for bad arguments, and for
    an existing `refuse` (the output, unless it may be replaced)."""
    check_out(refuse)
    if kind not in KINDS:
        raise UsageError(f"unknown descriptor '{kind}'{did_you_mean(kind, KINDS)}; choose one of {', '.join(KINDS)}")
    entries, problems = read_descriptor(info)
    if problems:
        raise UsageError(f"{info} has errors; run: ftdata validate {info}")
    unknown = [n for n in names or [] if n not in entries]
    if unknown:
        raise UsageError(f"no entry {', '.join(unknown)} in {info}; it has: {', '.join(entries)}")
    result = Exported(kind, {})
    items: list[dict[str, Any]] = []
    for name in names or list(entries):
        entry = entries[name]
        try:
            items.append(_entry(info, name, entry, kind, out_dir, result))
        except Refused as why:
            result.refused[name] = str(why)
        except UnreadableFile as err:
            result.refused[name] = str(err)
    if kind == "llamafactory-v1":
        result.document = {item.pop("_name"): item for item in items}
    else:
        for item in items:
            item.pop("_name")
        result.document = {"datasets": items}
        ranked = {entries[n].ranking for n in names or entries if n not in result.refused}
        if kind == "axolotl" and ranked == {True}:
            result.document = {"rl": "dpo", **result.document}
        elif len(ranked) > 1:
            result.notes.append("the entries mix SFT and preference data: one training run reads one kind")
    return result


def _entry(info: Path, name: str, entry: Entry, kind: str, out_dir: Path, result: Exported) -> dict[str, Any]:
    if not entry.local:
        repo = entry.hf_hub_url or (entry.ms_hub_url if kind == "llamafactory-v1" else None)
        if repo is None:
            raise Refused("only Hugging Face hub entries (and ModelScope ones for v1) have a place in this descriptor")
        if kind == "llamafactory-v1":
            return {"_name": name, "path": repo, "source": "hf_hub" if entry.hf_hub_url else "ms_hub",
                    "split": entry.split}
        return {"_name": name, "path": repo, "split": entry.split, **({"name": entry.subset} if entry.subset else {})}
    local = entry_files(info, entry)
    target = info.parent / str(entry.file_name)
    if kind == "axolotl":
        item = _axolotl(name, entry, rel(target, out_dir))
        check_axolotl(info, entry, item, rel(target, out_dir))
        return {"_name": name, **item}
    if kind == "trl":
        return {"_name": name, **_trl(entry, local, [rel(f, out_dir) for f in local])}
    beside = out_dir.resolve() == info.parent.resolve()
    path = "data/" + str(entry.file_name) if beside else rel(target, out_dir)
    if path.startswith("..") and OUTSIDE not in result.notes:
        result.notes.append(OUTSIDE)
    item = _v1(entry, path, result.notes, name)
    check_v1(info, entry, item, out_dir, rel(target, out_dir))
    return {"_name": name, **item}


OUTSIDE = ("the data lies outside the YAML's folder (its paths start with ..): `ftdata validate` reads them with "
           "--allow-outside; or write the YAML beside dataset_info.json")
