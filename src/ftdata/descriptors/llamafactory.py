"""LLaMA-Factory `dataset_info.json` descriptors: the model and the reader (an entry's rows, renamed to one of our
formats' own fields; `ftdata.engine.lanes` checks them) and its descriptor kind. The writer is `ftdata.descriptors.llamafactory_writer`.

We read entries with LLaMA-Factory's column and tag rules, without its traps: an unknown key, column or tag is
an error naming it; a mapped column missing from a row is an error; columns that an entry does not list keep
their default names instead of silently becoming None; hub entries are parsed and reported as not loadable here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from ftdata.core.problems import Problem, problem
from ftdata.core.reports import Checked
from ftdata.descriptors.base import DescriptorKind
from ftdata.engine.lanes import check_items
from ftdata.formats import Format, llamafactory_reader
from ftdata.formats.base import parse_row
from ftdata.io.files import Chained
from ftdata.io.media import MediaRules
from ftdata.io.readers import SUFFIXES, Item, UnreadableFile

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
    num_samples: int | None = Field(None, ge=0)
    columns: Columns | None = None
    tags: Tags | None = None

    @property
    def local(self) -> bool:
        return self.file_name is not None and not any(getattr(self, k) for k in HUB_KEYS + ("script_url",))


# Columns every row of an entry needs; the others (system, history, tools, media, ...) may be absent or null, as
# LLaMA-Factory and Arrow treat them.
REQUIRED_COLUMNS = frozenset({"prompt", "response", "messages", "chosen", "rejected", "kto_tag"})
def reader(entry: Entry) -> Format:
    """The format of ours that reads an entry (each Format says how LLaMA-Factory reads it; see
    `ftdata.formats.llamafactory_reader`)."""
    cols = entry.columns.model_dump(exclude_none=True) if entry.columns else {}
    fmt = llamafactory_reader(entry.formatting, cols)
    assert fmt is not None, entry.formatting  # the model allows only the formattings our formats declare
    return fmt


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

    fmt: Format
    fields: dict[str, str]   # source column the entry names explicitly -> native field
    roles: dict[str, str]    # source role value -> native role value
    role_tag: str
    content_tag: str
    required: frozenset[str] = frozenset()  # source columns every row must have (the others may be absent or null)

    tags: tuple[str, str] = field(init=False)  # the format's own role and content keys ('from', 'value')
    message_fields: tuple[str, ...] = field(init=False)  # its fields holding messages, whose tags are renamed

    def __post_init__(self) -> None:
        lf = self.fmt.llamafactory
        native = lf.tags if lf is not None else {}
        self.tags = native.get("role_tag", ""), native.get("content_tag", "")
        columns = lf.columns if lf is not None and "role_tag" in native else {}
        self.message_fields = tuple(columns[c] for c in ("messages", "chosen", "rejected") if c in columns)

    def native(self, row: Any) -> tuple[Any, list[Problem]]:
        if not isinstance(row, dict):
            return row, []
        missing = [problem(c, "missing_field", f"column '{c}', which the descriptor maps and every row needs, is missing "
                                               "from this row")
                   for c in self.required if c not in row]
        out = {self.fields.get(k, k): v for k, v in row.items()}
        target = self.tags
        for key in self.message_fields:
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
        if self.message_fields:
            role, content = self.tags
            rest = re.sub(rf"\.{role}(?=$|[.\[])", "." + self.role_tag, rest)
            rest = re.sub(rf"\.{content}(?=$|[.\[])", "." + self.content_tag, rest)
        return head + rest


def adapter_for(entry: Entry) -> Adapter:
    """Build the column/tag renaming for an entry, for the format that reads it."""
    cols = entry.columns.model_dump(exclude_none=True) if entry.columns else {}
    fmt = reader(entry)
    lf = fmt.llamafactory
    assert lf is not None
    unknown = set(cols) - set(lf.columns)
    if unknown:  # e.g. `history` on a sharegpt entry: LLaMA-Factory ignores it, we say so
        raise UnreadableFile(f"columns {sorted(unknown)} do not apply to formatting '{entry.formatting}'")
    fields = {source: lf.columns[col] for col, source in cols.items()}
    tags = {**lf.tags, **(entry.tags.model_dump(exclude_none=True) if entry.tags else {})}
    roles = {tags[k]: lf.tags[k] for k in lf.tags if k not in ("role_tag", "content_tag")}
    required = frozenset(source for col, source in cols.items() if col in REQUIRED_COLUMNS)
    return Adapter(fmt, fields, roles, tags.get("role_tag", ""), tags.get("content_tag", ""), required)


def entry_files(info: Path, entry: Entry, allow_outside: bool = False) -> list[Path]:
    """The local files an entry names: a file, or every data file in a folder (sorted). Like media paths, they must
    stay inside the descriptor's folder (no .., no absolute path, no symlink out) unless `allow_outside`: reading a
    descriptor never reads files the user did not put beside it."""
    if not entry.local:
        raise UnreadableFile(entry_files_note(entry))
    target = info.parent / str(entry.file_name)
    stays_inside(target, [info.parent], f"file_name {entry.file_name!r}", "the descriptor", allow_outside)
    return data_files(target)


def stays_inside(target: Path, roots: list[Path], name: str, owner: str, allow_outside: bool) -> None:
    """Refuse a descriptor's data path that cannot be resolved, or (unless `allow_outside`) resolves outside its
    folder (`roots[0]`, or another of `roots`)."""
    try:
        inside = any(target.resolve().is_relative_to(root.resolve()) for root in roots)
    except (OSError, RuntimeError, ValueError) as err:  # a link loop, a name too long, a NUL byte
        raise UnreadableFile(f"{name}: cannot be resolved ({err})") from None
    if not inside and not allow_outside:
        raise UnreadableFile(f"{name} leaves {owner}'s folder {roots[0]} (.., an absolute path or a symlink); move "
                             f"the data beside {owner}, or pass --allow-outside")


def data_files(target: Path) -> list[Path]:
    """A data file, or every data file in a folder (sorted)."""
    if target.is_dir():
        files = sorted(p for p in target.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise UnreadableFile(f"{target}: folder holds no data files")
        return files
    return [target]


def entry_items(info: Path, entry: Entry, allow_outside: bool = False) -> tuple[Format, Adapter, Iterator[Item]]:
    """The format an entry reads as, its renaming, and its items (every file of a folder in turn, indexed across
    them; lines are each file's own); `num_samples` takes the first N."""
    adapter = adapter_for(entry)
    files = entry_files(info, entry, allow_outside)

    return adapter.fmt, adapter, Chained(files, entry.num_samples)


def entry_files_note(entry: Entry) -> str:
    kind = "script_url" if entry.script_url else next(k for k in HUB_KEYS if getattr(entry, k))
    return f"{kind} entry: not loadable here (offline, local files only)"


def is_descriptor(path: Path) -> bool:
    return path.name == "dataset_info.json"


def _info_checked(path: Path, entry: Entry, media_dir: Path | None, rules: MediaRules,
                  records: bool) -> tuple[Format, Iterator[Checked]]:
    fmt, adapter, items = entry_items(path, entry, rules.allow_outside)
    media = rules.at(media_dir or path.parent)  # LLaMA-Factory resolves media against the dataset dir
    return fmt, check_items(items, fmt, media, records=records, adapter=adapter)


DATASET_INFO = DescriptorKind[Entry](
    "dataset_info", read_descriptor, lambda e: None if e.local else (e.formatting, entry_files_note(e)), _info_checked)
