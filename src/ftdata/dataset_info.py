"""LLaMA-Factory `dataset_info.json` descriptors: model, reader (entry -> checked canonical records), writer.

We read entries with LLaMA-Factory's column and tag rules, without its traps: an unknown key, column or tag is
an error naming it; a mapped column missing from a row is an error; columns that an entry does not list keep
their default names instead of silently becoming None; hub entries are parsed and reported as not loadable here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any, Iterator, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from ftdata.api import Checked, FileReport, convert_raw
from ftdata.formats import FORMATS, Converted, Format
from ftdata.formats.base import parse_row
from ftdata.io import SUFFIXES, UnreadableFile, read_records
from ftdata.sink import atomic_write
from ftdata.media import Media
from ftdata.problems import Problem, problem

HUB_KEYS = ("hf_hub_url", "ms_hub_url", "om_hub_url", "cloud_file_name")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class Columns(_Closed):
    prompt: str | None = None
    query: str | None = None
    response: str | None = None
    history: str | None = None
    messages: str | None = None
    system: str | None = None
    tools: str | None = None
    images: str | None = None
    videos: str | None = None
    audios: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    kto_tag: str | None = None


class Tags(_Closed):
    role_tag: str | None = None
    content_tag: str | None = None
    user_tag: str | None = None
    assistant_tag: str | None = None
    observation_tag: str | None = None
    function_tag: str | None = None
    system_tag: str | None = None


class Entry(_Closed):
    """One dataset of a descriptor, with LLaMA-Factory's keys and defaults."""

    file_name: str | None = None
    hf_hub_url: str | None = None
    ms_hub_url: str | None = None
    om_hub_url: str | None = None
    script_url: str | None = None
    cloud_file_name: str | None = None
    file_sha1: str | None = None
    formatting: Literal["alpaca", "sharegpt", "openai"] = "alpaca"
    ranking: bool = False
    subset: str | None = None
    split: str = "train"
    folder: str | None = None
    num_samples: int | None = None
    columns: Columns | None = None
    tags: Tags | None = None

    @property
    def local(self) -> bool:
        return self.file_name is not None and not any(getattr(self, k) for k in HUB_KEYS + ("script_url",))


# (source format our reader uses, canonical column -> native field, tag defaults)
NATIVE = {
    "alpaca": {"prompt": "instruction", "query": "input", "response": "output", "history": "history",
               "system": "system", "images": "images", "videos": "videos", "audios": "audios",
               "chosen": "chosen", "rejected": "rejected", "kto_tag": "kto_tag"},
    "sharegpt": {"messages": "conversations", "system": "system", "tools": "tools", "images": "images",
                 "videos": "videos", "audios": "audios", "chosen": "chosen", "rejected": "rejected", "kto_tag": "kto_tag"},
}
NATIVE["openai"] = {**NATIVE["sharegpt"], "messages": "messages"}
SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}
OPENAI_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
               "observation_tag": "tool", "function_tag": "function_call", "system_tag": "system"}


def read_descriptor(path: Path) -> tuple[dict[str, Entry], list[Problem]]:
    """Parse dataset_info.json; every unknown key / column / tag is a problem naming the entry and key."""
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise UnreadableFile(f"{path}: not valid JSON ({err})") from None
    except OSError as err:
        raise UnreadableFile(f"{path}: cannot read: {err.strerror}") from None
    if not isinstance(data, dict):
        raise UnreadableFile(f"{path}: a dataset_info.json is an object of named entries")
    entries: dict[str, Entry] = {}
    problems: list[Problem] = []
    for i, (name, raw) in enumerate(data.items()):
        entry, found = parse_row(Entry, raw if isinstance(raw, dict) else {"": raw}, prefix=name)
        problems += [p.at(i, None) for p in found]
        if entry is not None:
            if not entry.file_name and not any(getattr(entry, k) for k in HUB_KEYS + ("script_url",)):
                problems.append(problem(name, "missing_field", "an entry needs file_name (or a hub url)").at(i, None))
            else:
                entries[name] = entry
    return entries, problems


@dataclass
class Adapter:
    """Renames an entry's columns and tags to the native fields of one of our formats, and paths back."""

    fmt: str
    fields: dict[str, str]   # source column the entry names explicitly (it must be present) -> native field
    roles: dict[str, str]    # source role value -> native role value
    role_tag: str
    content_tag: str

    def native(self, row: Any) -> tuple[Any, list[Problem]]:
        if not isinstance(row, dict):
            return row, []
        missing = [problem(c, "missing_field", f"column '{c}' named in the descriptor's columns is missing from this row")
                   for c in self.fields if c not in row]
        out = {self.fields.get(k, k): v for k, v in row.items()}
        if self.fmt in ("sharegpt", "openai"):
            target = ("from", "value") if self.fmt == "sharegpt" else ("role", "content")
            for key in ("conversations", "messages", "chosen", "rejected"):
                value = out.get(key)
                if isinstance(value, list):
                    out[key] = [self._message(m, target) for m in value]
                elif isinstance(value, dict):
                    out[key] = self._message(value, target)
        return out, missing

    def _message(self, m: Any, target: tuple[str, str]) -> Any:
        if not isinstance(m, dict):
            return m
        renamed = {{self.role_tag: target[0], self.content_tag: target[1]}.get(k, k): v for k, v in m.items()}
        role = renamed.get(target[0])
        if isinstance(role, str) and role in self.roles:
            renamed[target[0]] = self.roles[role]
        return renamed

    def source_path(self, path: str) -> str:
        """'conversations[2].from' -> 'messages[2].role', in the entry's own column and tag names."""
        m = re.match(r"([^.\[]*)(.*)", path)
        head, rest = m.groups() if m else (path, "")
        head = {v: k for k, v in self.fields.items()}.get(head, head)
        if self.fmt in ("sharegpt", "openai"):
            role, content = ("from", "value") if self.fmt == "sharegpt" else ("role", "content")
            rest = re.sub(rf"\.{role}(?=$|[.\[])", "." + self.role_tag, rest)
            rest = re.sub(rf"\.{content}(?=$|[.\[])", "." + self.content_tag, rest)
        return head + rest


def adapter_for(entry: Entry) -> Adapter:
    """Build the column/tag renaming for an entry (alpaca pretrain entries map `prompt` to text)."""
    cols = entry.columns.model_dump(exclude_none=True) if entry.columns else {}
    if entry.formatting == "alpaca" and set(cols) == {"prompt"}:
        return Adapter("text", {cols["prompt"]: "text"}, {}, "", "")
    native = NATIVE[entry.formatting]
    unknown = set(cols) - set(native)
    fields = {source: native[col] for col, source in cols.items() if col in native}
    native_tags = SHAREGPT_TAGS if entry.formatting == "sharegpt" else OPENAI_TAGS
    tags = {**native_tags, **(entry.tags.model_dump(exclude_none=True) if entry.tags else {})}
    roles = {tags[k]: native_tags[k] for k in native_tags if k not in ("role_tag", "content_tag")}
    if unknown:  # e.g. `history` on a sharegpt entry: LLaMA-Factory ignores it, we say so
        raise UnreadableFile(f"columns {sorted(unknown)} do not apply to formatting '{entry.formatting}'")
    return Adapter(entry.formatting, fields, roles, tags["role_tag"], tags["content_tag"])


def entry_files(info: Path, entry: Entry) -> list[Path]:
    """The local files an entry names: a file, or every data file in a folder (sorted)."""
    if not entry.local:
        raise UnreadableFile(entry_files_note(entry))
    target = info.parent / str(entry.file_name)
    if target.is_dir():
        files = sorted(p for p in target.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise UnreadableFile(f"{target}: folder holds no data files")
        return files
    return [target]


def open_entry(info: Path, entry: Entry, media_dir: Path | None = None,
               allow_outside: bool = False) -> tuple[Format, Iterator[Checked]]:
    """Checked canonical records of a local entry, read with its columns/tags; num_samples takes the first N.

    Problem paths use the entry's own names (`messages[2].role`), lines are those of each file.
    """
    adapter = adapter_for(entry)
    fmt = FORMATS[adapter.fmt]
    files = entry_files(info, entry)
    base = Media(media_dir or info.parent, allow_outside)  # LLaMA-Factory resolves media against the dataset dir

    def stream() -> Iterator[Checked]:
        items = (item for f in files for item in read_records(f))
        if entry.num_samples is not None:
            items = islice(items, entry.num_samples)
        for index, item in enumerate(items):
            if isinstance(item.value, Problem):
                converted, missing = Converted(None, problems=[item.value]), []
            else:
                row, missing = adapter.native(item.value)
                converted = convert_raw(row, fmt, base)
            problems = [replace(p, path=adapter.source_path(p.path)).at(index, item.line)
                        for p in missing + converted.problems]
            if missing:
                converted.record = None
            yield Checked(index, item.line, item.value, converted.record, problems, converted.origins, item.text)

    return fmt, stream()


def is_descriptor(path: Path) -> bool:
    return path.name == "dataset_info.json"


def validate_descriptor(path: Path, media_dir: Path | None = None, allow_outside: bool = False) -> list[FileReport]:
    """Reports for the descriptor itself and for every local entry; hub entries are listed as not loadable."""
    head = FileReport(str(path), format="dataset_info", how="descriptor")
    try:
        entries, problems = read_descriptor(path)
    except UnreadableFile as err:
        head.error = str(err)
        return [head]
    bad = {p.index for p in problems}
    head.records, head.invalid, head.problems = len(entries) + len(bad - {None}), len(bad), problems
    head.valid = head.records - head.invalid
    reports = [head]
    for name, entry in entries.items():
        report = FileReport(f"{path}#{name}", how="descriptor")
        if not entry.local:
            report.format, report.skipped = entry.formatting, entry_files_note(entry)
            reports.append(report)
            continue
        try:
            fmt, stream = open_entry(path, entry, media_dir, allow_outside)
            report.format = fmt.name
            for item in stream:
                report.add(item)
        except UnreadableFile as err:
            report.error = f"{path}#{name}: {err}"
        reports.append(report)
    return reports


def entry_files_note(entry: Entry) -> str:
    kind = "script_url" if entry.script_url else next(k for k in HUB_KEYS if getattr(entry, k))
    return f"{kind} entry: not loadable here (offline, local files only)"


def entry_descriptor(file_name: str, target: str, kinds: Counter[str], keys: set[str]) -> tuple[dict[str, Any] | None, str | None]:
    """The dataset_info entry for a file we wrote, or None and why LLaMA-Factory could not read it."""
    if len(kinds) != 1:
        return None, f"not written: the output mixes record kinds ({', '.join(sorted(kinds))})"
    kind = next(iter(kinds))
    entry: dict[str, Any] = {"file_name": file_name}
    if target == "text":
        return {**entry, "columns": {"prompt": "text"}}, None
    if target not in ("sharegpt", "alpaca", "openai"):
        return None, f"not written: LLaMA-Factory cannot read {target} rows (fttrain reads the file by path)"
    if target == "openai" and kind == "preference":
        return None, "not written: LLaMA-Factory cannot read OpenAI preference rows; convert --to sharegpt"
    native = NATIVE[target]
    cols = {col: field for col, field in native.items() if field in keys}
    if target == "alpaca":
        cols.update(prompt="instruction", response="output") if kind != "preference" else cols.update(prompt="instruction")
        cols.pop("query", None)
    entry["formatting"] = "sharegpt" if target == "openai" else target
    if kind == "preference":
        entry["ranking"] = True
    entry["columns"] = cols
    if target == "openai":
        entry["tags"] = {k: v for k, v in OPENAI_TAGS.items() if k != "function_tag"}
    return entry, None


def update_dataset_info(out: Path, target: str, kinds: Counter[str], keys: set[str], name: str | None) -> tuple[str | None, str]:
    """Add or replace the entry for `out` in the dataset_info.json beside it; returns (path or None, note)."""
    entry, why = entry_descriptor(out.name, target, kinds, keys)
    if entry is None:
        return None, why or ""
    info = out.parent / "dataset_info.json"
    data: dict[str, Any] = {}
    if info.exists():
        try:
            data = orjson.loads(info.read_bytes())
        except orjson.JSONDecodeError:
            return None, f"not updated: {info} is not valid JSON"
        if not isinstance(data, dict):
            return None, f"not updated: {info} is not a JSON object"
    key = name or out.stem
    data[key] = entry
    with atomic_write(info, batched=False) as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    return str(info), f"entry '{key}'"


__all__ = ["Entry", "adapter_for", "entry_files", "open_entry", "read_descriptor", "update_dataset_info",
           "validate_descriptor"]
