"""axolotl's `datasets:` block, trl's dataset mixture YAML or a LLaMA-Factory v1 dataset YAML (which one:
`kind_of`) back into dataset_info.json entries: each local file gets the entry convert would write for its rows
(`llamafactory_writer.entry_descriptor`, or a format's `llamafactory_as`), read back through it before it is
written; an entry LLaMA-Factory could not read as it is, is left out with the reason (`Refused`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftdata.descriptors.base import tally_file
from ftdata.descriptors.export import LOADERS, Exported, Kind, check_out, rel
from ftdata.descriptors.fidelity import Refused
from ftdata.descriptors.llamafactory import DATASET_INFO, Entry
from ftdata.descriptors.llamafactory_writer import entry_descriptor
from ftdata.descriptors.v1 import CONVERTERS, V1Entry, load_yaml, read_v1_yaml
from ftdata.descriptors.v1 import entry_files as v1_files
from ftdata.formats import FORMATS
from ftdata.io.media import MediaRules
from ftdata.io.readers import UnreadableFile, UsageError


def kind_of(document: Any) -> Kind:
    """Which descriptor a YAML document is: trl (`datasets:` entries with trl's keys only), axolotl (`datasets:`
    with a `type`), or LLaMA-Factory v1 (a mapping of names to entries with a `path`)."""
    if isinstance(document, dict) and isinstance(document.get("datasets"), list):
        trl_keys = {"path", "name", "data_dir", "data_files", "split", "columns", "fraction"}
        items = [d for d in document["datasets"] if isinstance(d, dict)]
        return "trl" if all(set(d) <= trl_keys for d in items) and set(document) <= {"datasets", "streaming",
                                                                                       "test_split_size"} else "axolotl"
    if isinstance(document, dict) and all(isinstance(v, dict) and "path" in v for v in document.values()):
        return "llamafactory-v1"
    raise UsageError("not a descriptor ftdata knows: expected an axolotl config or trl mixture with `datasets:`, or "
                     "a LLaMA-Factory v1 dataset YAML")


def import_descriptor(path: Path, out_dir: Path, refuse: Path | None = None) -> Exported:
    """axolotl / trl / v1 YAML -> dataset_info.json entries (in `document`), file names relative to `out_dir`."""
    check_out(refuse)
    document = load_yaml(path)
    kind = kind_of(document)
    result = Exported("dataset_info", {})
    if kind == "llamafactory-v1":
        entries, problems = read_v1_yaml(path)
        if problems:
            raise UsageError(f"{path} has errors; run: ftdata validate {path}")
        for name, v1 in entries.items():
            _import_one(result, name, lambda v1=v1: _from_v1(path, v1, out_dir))
        return result
    for i, item in enumerate(document["datasets"]):
        base = path.parent
        named = next(iter(_file_names(item.get("data_files")) or []), None) if isinstance(item, dict) else None
        name = Path(str(named or item.get("path") or f"dataset_{i}")).stem if isinstance(item, dict) \
            else f"dataset_{i}"
        while name in result.document:
            name += "_"
        _import_one(result, name, lambda item=item: _from_list(kind, item, base, out_dir))
    return result


def _import_one(result: Exported, name: str, make: Any) -> None:
    try:
        result.document[name] = make()
    except (Refused, UnreadableFile) as why:
        result.refused[name] = str(why)


def _from_v1(path: Path, v1: V1Entry, out_dir: Path) -> dict[str, Any]:
    if v1.source != "local":
        return {("hf_hub_url" if v1.source == "hf_hub" else "ms_hub_url"): v1.path, "split": v1.split}
    if FORMATS[CONVERTERS[v1.converter]].llamafactory is None:
        raise Refused("LLaMA-Factory's dataset_info.json cannot read v1 rows or pair rows; ftdata convert the file "
                      "--to sharegpt")
    return _local(v1_files(path, v1)[0], v1.converter or "", out_dir)


def _local(file: Path, how: str, out_dir: Path) -> dict[str, Any]:
    """The entry for a local file as it is: the one convert writes for such rows (`entry_descriptor`), or the one
    LLaMA-Factory reads other rows with (`Format.llamafactory_as`: trl's plain prompt/completion rows as alpaca);
    kept only when its rows read through it (`_rows_read`). `how`: "pair" when the source reads the file as
    preference pairs, which the rows must then be."""
    fmt, rows = tally_file(file)
    entry, why = entry_descriptor(rows, rel(file, out_dir))
    if entry is None and fmt.llamafactory_as is not None and how != "pair":
        mapped = fmt.llamafactory_as(rows.keys)
        entry = {"file_name": rel(file, out_dir), **mapped} if mapped is not None else None
    if entry is not None and how == "pair" and not entry.get("ranking"):
        entry, why = None, "not written: the source reads them as preference pairs, which they are not"
    if entry is None:
        raise Refused(f"its rows are {fmt.name}; {(why or '').removeprefix('not written: ')}; ftdata convert {file} "
                      "--to sharegpt")
    _rows_read(entry, file, out_dir)
    return entry


ROWS_TRIED = 100  # rows of a file read through its new entry before the entry is written


def _rows_read(entry: dict[str, Any], file: Path, out_dir: Path) -> None:
    """Refused unless some of the first rows of `file` are valid read through `entry` (a mapping that fits no row
    is left out with the reason, never written to fail at training time)."""
    parsed = Entry.model_validate(entry)
    _, checked = DATASET_INFO.checked(out_dir / "dataset_info.json", parsed, None, MediaRules(allow_outside=True),
                                      False)
    tried = [item for _, item in zip(range(ROWS_TRIED), checked)]
    if tried and not any(item.valid for item in tried):
        first = next((p for p in tried[0].problems if p.severity == "error"), None)
        why = f" ({first.path or 'row'}: {first.message})" if first else ""
        raise Refused(f"its rows do not read as a {entry.get('formatting', 'alpaca')} entry{why}; ftdata convert "
                      f"{file} --to sharegpt")


def _file_names(value: Any) -> list[str] | None:
    """trl's / axolotl's data_files as a list of names: a name, a list of names, or (trl) a mapping of splits to
    either (its `train` split, else all); None for anything else (a number, a list of numbers)."""
    if value is None or isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        picked = [value["train"]] if "train" in value else list(value.values())
        each = [_file_names(v) for v in picked]
        return None if any(names is None for names in each) else [n for names in each for n in names or []]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _from_list(kind: str, item: Any, base: Path, out_dir: Path) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise Refused("an entry without a path")
    files = item.get("data_files") if kind == "trl" else item.get("data_files") or item["path"]
    names = _file_names(files)
    if names is None:
        raise Refused(f"data_files {files!r} is not a file name, a list of them or a mapping of splits to them")
    local = [base / f for f in names]
    if not local or not all(f.exists() for f in local):
        if kind == "trl" and item["path"] in LOADERS.values():
            raise Refused(f"data_files {files} not found (looked in {base})")
        return {"hf_hub_url": item["path"], "split": item.get("split", "train"),
                **({"subset": item["name"]} if item.get("name") else {})}
    if len(local) > 1:
        raise Refused("several data_files in one entry; dataset_info.json names one file or folder per entry")
    kind_type = item.get("type")
    how = "alpaca" if kind_type == "alpaca" else "pair" if isinstance(kind_type, str) and "." in kind_type else ""
    if kind == "axolotl" and kind_type not in ("alpaca", "chat_template", "completion"):
        raise Refused(f"axolotl type {kind_type!r} has no dataset_info.json counterpart here")
    return _local(local[0], how, out_dir)
