"""Write the dataset_info.json entry for a file `ftdata convert` wrote, so LLaMA-Factory and fttrain can load it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from ftdata.formats import FORMATS
from ftdata.sink import atomic_write


def entry_descriptor(file_name: str, target: str, kinds: Counter[str], keys: set[str]) -> tuple[dict[str, Any] | None, str | None]:
    """The dataset_info entry for a file we wrote, or None and why LLaMA-Factory could not read it."""
    if len(kinds) != 1:
        return None, f"not written: the output mixes record kinds ({', '.join(sorted(kinds))})"
    kind = next(iter(kinds))
    entry: dict[str, Any] = {"file_name": file_name}
    if target == "text":
        return {**entry, "columns": {"prompt": "text"}}, None
    lf = FORMATS[target].llamafactory
    if lf is None:
        return None, f"not written: LLaMA-Factory cannot read {target} rows (fttrain reads the file by path)"
    if target == "openai" and kind == "preference":
        return None, "not written: LLaMA-Factory cannot read OpenAI preference rows; convert --to sharegpt"
    cols = {col: field for col, field in lf.columns.items() if field in keys}
    if target == "alpaca":
        cols.update(prompt="instruction", response="output") if kind != "preference" else cols.update(prompt="instruction")
        cols.pop("query", None)
    entry["formatting"] = "sharegpt" if target == "openai" else lf.formatting
    if kind == "preference":
        entry["ranking"] = True
    entry["columns"] = cols
    if target == "openai":
        entry["tags"] = {k: v for k, v in lf.tags.items() if k != "function_tag"}
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
