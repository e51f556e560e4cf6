"""Write the dataset_info.json entry for a file `ftdata convert` wrote, so LLaMA-Factory and fttrain can load it.

An entry is written only when LLaMA-Factory would read every field of every row: where it would drop a tool call
or a weight without a word, we write none and say why (fttrain reads the file by path either way).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from ftdata.core.canonical import Kind
from ftdata.core.reports import ConvertReport
from ftdata.formats import FORMATS
from ftdata.io.readers import UsageError
from ftdata.io.staging import atomic_write, locked

DESCRIPTOR = "dataset_info.json"


def entry_descriptor(report: ConvertReport, file_name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The dataset_info entry for a file we wrote, or None and why LLaMA-Factory could not read it."""
    target, kinds = report.target, report.kinds
    if len(kinds) != 1:
        return None, f"not written: the output mixes record kinds ({', '.join(sorted(kinds))})"
    lf = FORMATS[target].llamafactory
    if lf is None:
        return None, f"not written: LLaMA-Factory cannot read {target} rows (fttrain reads the file by path)"
    if report.lf_unread:
        what, n = report.lf_unread.most_common(1)[0]
        return None, (f"not written: LLaMA-Factory cannot read the {what} in {n} row(s) (it would drop them without "
                      f"a word); fttrain reads {file_name} by path, or convert --to sharegpt for LLaMA-Factory")
    if report.output_problems:
        return None, ("not written: the output's columns vary between rows (see the warnings), which LLaMA-Factory's "
                      "loader (Arrow) cannot hold")
    return {"file_name": file_name, **lf.entry_for(cast(Kind, next(iter(kinds))), report.keys)}, None


def read_entries(info: Path) -> dict[str, Any]:
    """The descriptor's entries exactly as written (empty when there is none); UsageError when it is not usable.

    Python's json keeps integers of any size and key order; floats are kept as Decimal, i.e. as the text they were
    written with, so that rewriting the file changes no other entry (orjson would turn a 30-digit integer into
    1.2345678901234568e+29).
    """
    if not info.exists():
        return {}
    try:
        data = json.loads(info.read_bytes(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"{info} is not valid JSON; fix it, or pass --no-dataset-info") from None
    except OSError as err:
        raise UsageError(f"{info}: cannot read: {err.strerror}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{info} is not a JSON object of entries; fix it, or pass --no-dataset-info")
    return data


def dumps(value: Any, depth: int = 0) -> str:
    """JSON with a two-space indent in which every number reads as it was read (see `read_entries`). The standard
    library cannot write a Decimal, and orjson cannot either: hence these few lines."""
    pad, end = "  " * (depth + 1), "  " * depth
    if isinstance(value, dict) and value:
        items = (f"{pad}{json.dumps(k, ensure_ascii=False)}: {dumps(v, depth + 1)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + f"\n{end}}}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(pad + dumps(v, depth + 1) for v in value) + f"\n{end}]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def check_name(out: Path, name: str | None, force: bool) -> None:
    """Before converting: an entry of that name for another file is not replaced silently."""
    key = name or out.stem
    existing = read_entries(out.parent / DESCRIPTOR).get(key)
    if not force and isinstance(existing, dict) and existing.get("file_name") != out.name:
        raise UsageError(f"{out.parent / DESCRIPTOR} already has an entry '{key}' for {existing.get('file_name')!r}, "
                         f"not {out.name}; pass --name to add it under another name, or --force to replace it")


def update_dataset_info(out: Path, report: ConvertReport, name: str | None, force: bool = False) -> tuple[str | None, str]:
    """Add or replace the entry for `out` in the dataset_info.json beside it; returns (path or None, note).

    Under a lock on the folder, so that runs converting into one folder at once keep each other's entries; every
    other entry is written back exactly as it was.
    """
    entry, why = entry_descriptor(report, out.name)
    if entry is None:
        return None, why or ""
    info = out.parent / DESCRIPTOR
    key = name or out.stem
    with locked(info.parent):
        data = read_entries(info)
        existing = data.get(key)
        if not force and isinstance(existing, dict) and existing.get("file_name") != out.name:
            return None, (f"not written: entry '{key}' was added for {existing.get('file_name')!r} by another run "
                          "meanwhile; pass --name")
        data[key] = entry
        with atomic_write(info) as f:
            f.write(dumps(data).encode() + b"\n")
    return str(info), f"entry '{key}'"
