"""What a descriptor command must never write onto: the descriptor and every data file it names.

`descriptor export` / `import` and `fttrain inspect --html` write one file each; `ftdata.io.staging.check_output`
refuses it when it is one of the files the run reads, under any name (a symlink, a hard link). For a descriptor that
is the descriptor itself and the files of its local entries (a folder entry's data files included), as far as they
can be found: an entry that cannot be read names no file to protect, but is no reason to refuse the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftdata.descriptors.llamafactory import data_files, is_descriptor, read_descriptor
from ftdata.descriptors.v1 import entry_files as v1_files
from ftdata.descriptors.v1 import is_v1_yaml, load_yaml, read_v1_yaml
from ftdata.io.readers import UnreadableFile


def run_inputs(source: Path) -> list[Path]:
    """`source` and, when it is a descriptor (dataset_info.json, a v1 YAML, a trl mixture or axolotl config), the
    local files it names: dataset_info.json -> [dataset_info.json, data/a.jsonl, ...]."""
    found = [source]
    try:
        if is_descriptor(source):
            entries, _ = read_descriptor(source)
            for entry in entries.values():
                if entry.local:
                    found += _files(source.parent / str(entry.file_name))
        elif is_v1_yaml(source):
            found += _yaml_files(source)
    except (UnreadableFile, OSError, ValueError):
        pass
    return found


def _yaml_files(source: Path) -> list[Path]:
    document = load_yaml(source)
    found: list[Path] = []
    if isinstance(document, dict) and isinstance(document.get("datasets"), list):  # trl mixture, axolotl config
        for item in document["datasets"]:
            if isinstance(item, dict):
                for key in ("data_files", "path"):
                    found += [p for name in _names(item.get(key)) for p in _files(source.parent / name)]
        return found
    entries, _ = read_v1_yaml(source)
    for entry in entries.values():
        if entry.source == "local":
            try:
                found += v1_files(source, entry, allow_outside=True)
            except UnreadableFile:
                continue
    return found


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):  # trl's data_files per split: {"train": [...], "test": "..."}
        return [n for v in value.values() for n in _names(v)]
    return []


def _files(target: Path) -> list[Path]:
    """A named file, or a folder's data files as well (an output must not land on one of them either)."""
    try:
        return [target, *data_files(target)] if target.is_dir() else [target]
    except (UnreadableFile, OSError, ValueError):
        return [target]
