"""Batch conversion for `datasets.Dataset.map(batched=True, num_proc=N)`: the path to Arrow-sharded, multi-process
and cluster-scale (Ray Data, Spark) runs over the same converters as `ftdata convert`.

    ds = datasets.load_dataset("json", data_files="moss.jsonl", split="train")
    out = ds.map(convert_batch, batched=True, num_proc=8, remove_columns=ds.column_names,
                 fn_kwargs={"source": "moss", "target": "sharegpt"})
    good = out.filter(lambda r: r["ftdata_valid"])

Each output row has `ftdata_row` (the converted row as JSON text: shapes vary row to row, Arrow columns cannot),
`ftdata_valid`, and `ftdata_errors` (JSON list of problems, each `{index, path, code, message}`).

For JSON Lines files too varied for Arrow to type (ids that are numbers in some rows and text in others, tool
arguments whose keys vary) or with lines that are not JSON, `ftdata.engine.shards` reads records as unparsed lines and
gives the CLI's exact rows, rejects and counts (`ftdata.engine.distributed` runs it on Ray Data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ftdata.core.problems import has_errors
from ftdata.core.rules import Origins
from ftdata.engine.lanes import convert_raw
from ftdata.formats import get_format
from ftdata.formats.write import ReasoningPolicy, Writing


def strip_nulls(value: Any) -> Any:
    """Arrow gives every row every column (absent fields are null, nested ones too); drop those nulls."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def convert_batch(batch: dict[str, list[Any]], indices: list[int] | None = None, *, source: str,
                  target: str = "canonical", reasoning: ReasoningPolicy = "think",
                  media_dir: str | None = None) -> dict[str, list[Any]]:
    """Convert a column batch of `source` rows to `target`; invalid or unrepresentable rows get their problems."""
    src, dst = get_format(source), get_format(target)
    base = Path(media_dir) if media_dir else None
    n = len(next(iter(batch.values()), []))
    out: dict[str, list[Any]] = {"ftdata_row": [], "ftdata_valid": [], "ftdata_errors": []}
    for i in range(n):
        raw = strip_nulls({k: column[i] for k, column in batch.items()})
        converted = convert_raw(raw, src, base)
        problems = converted.problems
        row = None
        if converted.record is not None and not has_errors(problems):
            w = Writing(converted.record, converted.origins or Origins(), reasoning)
            row = dst.write(w)
            problems = problems + w.problems
            if not w.ok():
                row = None
        index = indices[i] if indices is not None else None
        errors = [{"index": index, "path": p.path, "code": p.code, "message": p.message}
                  for p in problems if p.severity == "error"]
        out["ftdata_row"].append(orjson.dumps(row).decode() if row is not None else None)
        out["ftdata_valid"].append(row is not None)
        out["ftdata_errors"].append(orjson.dumps(errors).decode())
    return out
