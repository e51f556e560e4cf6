"""LLaMA-Factory v1 dataset YAMLs (`DatasetInfo` in `src/llamafactory/v1/core/data_engine.py`): the model, the
reader, and validation of the YAML and every local dataset it names.

    identity:
      path: data/identity.json     # a HF Hub id, or a local file or folder
      source: local                # hf_hub (default) | ms_hub | local
      converter: alpaca            # alpaca | sharegpt | pair | none: the rows are v1 rows already
      size: 500                    # LLaMA-Factory samples this many rows (with replacement) ...
      weight: 0.5                  # ... and then len * weight; ftdata checks every row
      split: train
      streaming: false             # every entry must agree

Paths: LLaMA-Factory resolves `path` against the folder it runs from (its repository), where these YAMLs sit in
`data/`: so `data/identity.json` is looked up in the YAML's own folder (as is any other relative path), then
beside it with the `data/` dropped, then in the folder above. Rows are read the way each converter reads them,
with its traps named instead of followed: `alpaca` joins instruction and input without a separator (as v1 does) and
would drop `history` (an error here); `sharegpt` takes `messages` with role/content as well, and would drop a
top-level `system` (an error here); `pair` reads whole-conversation chosen / rejected lists (trl's implicit
preference rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict

from ftdata.core.problems import Problem, problem
from ftdata.core.reports import Checked, FileReport
from ftdata.descriptors.base import DescriptorKind, descriptor_reports
from ftdata.descriptors.llamafactory import data_files, stays_inside
from ftdata.engine.lanes import check_items
from ftdata.formats import FORMATS, REGISTRY, Format
from ftdata.formats.base import parse_row
from ftdata.io.files import Chained
from ftdata.io.media import MediaRules
from ftdata.io.readers import Item, UnreadableFile
from ftdata.io.yamlsafe import YamlError, load_yaml_text

# v1's converter name (None: none) -> the format of ours whose rows it reads (each Format declares its converters)
CONVERTERS = {name: f.name for f in REGISTRY for name in f.v1_converters}


class V1Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    path: str
    source: Literal["hf_hub", "ms_hub", "local"] = "hf_hub"
    split: str = "train"
    converter: str | None = None
    size: int | None = None
    weight: float | None = None
    streaming: bool = False


def is_v1_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def dump_yaml(document: Any) -> str:
    """A descriptor as YAML (block style, keys in the order given); UnreadableFile when PyYAML is missing."""
    try:
        import yaml
    except ImportError:
        raise UnreadableFile("writing YAML needs PyYAML: pip install 'ftdata[yaml]'") from None
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False))


def load_yaml(path: Path) -> Any:
    """The YAML document at `path` (read by the one bounded loader, `ftdata.io.yamlsafe`); UnreadableFile with a
    one-line reason when it cannot be had."""
    try:
        import yaml  # noqa: F401
    except ImportError:
        raise UnreadableFile(f"{path}: reading YAML needs PyYAML: pip install 'ftdata[yaml]'") from None
    try:
        return load_yaml_text(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UnreadableFile(f"{path}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path}: not UTF-8 text") from None
    except YamlError as err:
        raise UnreadableFile(f"{path}: {err}") from None


def read_v1_yaml(path: Path) -> tuple[dict[str, V1Entry], list[Problem]]:
    """Parse a v1 dataset YAML: unknown keys, converters and disagreeing `streaming` are problems naming the entry."""
    data = load_yaml(path)
    if not isinstance(data, dict) or not data:
        raise UnreadableFile(f"{path}: a LLaMA-Factory v1 dataset YAML is a mapping of dataset names to entries")
    if isinstance(data.get("datasets"), list):  # what `ftdata descriptor export --to axolotl|trl` writes
        raise UnreadableFile(f"{path}: an axolotl config or trl dataset mixture (a `datasets:` list), not a "
                             f"LLaMA-Factory v1 dataset YAML; read it into entries with `ftdata descriptor import {path} -o "
                             "dataset_info.json`, then validate that")
    entries: dict[str, V1Entry] = {}
    problems: list[Problem] = []
    for i, (name, raw) in enumerate(data.items()):
        entry, found = parse_row(V1Entry, raw if isinstance(raw, dict) else {"": raw}, prefix=str(name))
        if entry is not None and entry.converter not in CONVERTERS:
            found.append(problem(f"{name}.converter", "invalid_value", f"converter {entry.converter!r} is not one of "
                                 "LLaMA-Factory v1's (alpaca, sharegpt, pair); a plugin's own converter cannot be read here"))
        for key in ("size", "weight"):
            if entry is not None and (value := getattr(entry, key)) is not None and value <= 0:
                found.append(problem(f"{name}.{key}", "invalid_value", f"{key} must be above 0 (LLaMA-Factory ignores "
                                     f"{value}, so the whole dataset would be used)"))
        problems += [p.at(i, None) for p in found]
        if entry is not None and not found:
            entries[str(name)] = entry
    streaming = {e.streaming for e in entries.values()}
    if len(streaming) > 1:
        problems.append(problem("", "invalid_value", "entries disagree on 'streaming'; LLaMA-Factory needs one value "
                                                     "for all of them").at(None, None))
    return entries, problems


def entry_files(yaml_path: Path, entry: V1Entry, allow_outside: bool = False) -> list[Path]:
    """The local files an entry names (a file, or a folder's data files), found as the module docstring says. As
    for dataset_info.json entries, they must stay inside the YAML's folder (or, for a `data/...` path, the `data`
    folder beside it: LLaMA-Factory runs from the folder above) unless `allow_outside`."""
    given = Path(entry.path)
    base = yaml_path.parent
    tries = [given] if given.is_absolute() else [base / given, base.parent / given]
    if not given.is_absolute() and given.parts[:1] == ("data",):
        tries.insert(1, base / Path(*given.parts[1:]))
    target = next((t for t in tries if t.exists()), None)
    if target is None:
        raise UnreadableFile(f"{entry.path}: no such file (looked in {', '.join(str(t.parent) for t in tries)})")
    roots = [base] + ([base.parent / "data"] if given.parts[:1] == ("data",) else [])
    stays_inside(target, roots, f"path {entry.path!r}", "the YAML", allow_outside)
    return data_files(target)


@dataclass
class ConverterRows:
    """A v1 converter's reading of rows, as an engine Adapter: renames to our format's fields, and names what the
    converter would drop (see the module docstring)."""

    converter: str | None
    renamed: bool = field(default=False, init=False)

    def native(self, row: Any) -> tuple[Any, list[Problem]]:
        self.renamed = False
        if not isinstance(row, dict):
            return row, []
        if self.converter == "alpaca":
            found = [problem("history", "invalid_value", "LLaMA-Factory v1's alpaca converter ignores 'history'; its "
                                                         "turns would be lost (convert the file to llamafactory-v1)")
                     ] if row.get("history") else []
            if isinstance(row.get("input"), str) and isinstance(row.get("instruction"), str):
                row = {**{k: v for k, v in row.items() if k != "input"}, "instruction": row["instruction"] + row["input"]}
            return row, found
        if self.converter == "sharegpt":
            found = [problem("system", "invalid_value", "LLaMA-Factory v1's sharegpt converter ignores a top-level "
                                                        "'system'; put it first in the conversation as a system turn")
                     ] if row.get("system") else []
            if "messages" in row and "conversations" not in row and isinstance(row["messages"], list):
                self.renamed = True
                row = {**{k: v for k, v in row.items() if k != "messages"}, "conversations": [
                    {("from" if k == "role" else "value" if k == "content" else k): v for k, v in m.items()}
                    if isinstance(m, dict) else m for m in row["messages"]]}
            return row, found
        return row, []

    def source_path(self, path: str) -> str:
        if not self.renamed or not path.startswith("conversations"):
            return path
        path = "messages" + path[len("conversations"):]
        return path.replace(".from", ".role").replace(".value", ".content")


def entry_items(yaml_path: Path, entry: V1Entry, allow_outside: bool = False
                ) -> tuple[Format, ConverterRows, Iterator[Item]]:
    """The format an entry's rows are read as, the converter's adapter, and the rows (a folder's files in turn)."""
    files = entry_files(yaml_path, entry, allow_outside)

    return FORMATS[CONVERTERS[entry.converter]], ConverterRows(entry.converter), Chained(files)


def entry_checked(yaml_path: Path, entry: V1Entry, media_dir: Path | None, rules: MediaRules,
                  records: bool = True) -> tuple[Format, Iterator[Checked]]:
    fmt, adapter, items = entry_items(yaml_path, entry, rules.allow_outside)
    base = media_dir or entry_files(yaml_path, entry, rules.allow_outside)[0].parent
    return fmt, check_items(items, fmt, rules.at(base), records=records, adapter=adapter)


def _skipped(entry: V1Entry) -> tuple[str, str] | None:
    if entry.source == "local":
        return None
    return CONVERTERS.get(entry.converter, "?"), f"{entry.source} entry: not loadable here (offline, local files only)"


V1_YAML = DescriptorKind[V1Entry]("llamafactory-v1 yaml", read_v1_yaml, _skipped, entry_checked)


def validate_v1_yaml(path: Path, media_dir: Path | None = None, rules: MediaRules = MediaRules()
                     ) -> list[FileReport]:
    """Reports for the YAML itself and for every local entry (media under `rules`); hub entries are listed as not
    loadable."""
    return descriptor_reports(path, V1_YAML, media_dir, rules)
