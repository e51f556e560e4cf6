"""A run key's prepared folders on disk: read (each row's key, fate and tokens, memory-mapped) and written
(rows streamed through Arrow files in slices, never all held in Python; the folder swapped in whole)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fttrain.data import Counts, Row, Source
from fttrain.spec import Stage

COLUMNS: dict[Stage, tuple[str, ...]] = {"sft": ("input_ids", "labels"),
                                         "dpo": ("prompt_ids", "chosen_ids", "rejected_ids"),
                                         "kto": ("prompt_ids", "completion_ids", "label")}
INTS = ("samples", "over_length", "truncated", "eos_cut", "dropped_over_length", "dropped_no_target", "unrenderable")


@cache
def schema(stage: Stage) -> Any:
    """The Arrow schema of a stage's trainer columns exactly as `Dataset.from_list` makes it from our rows (the run
    without the cache): datasets stores a column named input_ids as int32, the other id lists as int64."""
    from datasets import Dataset

    sample = {c: True if c == "label" else [0] for c in COLUMNS[stage]}
    return Dataset.from_list([sample]).data.table.schema


def outcome_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("key", pa.string()), ("line", pa.int64()), ("row", pa.int64()), ("length", pa.int64()),
                      ("max_id", pa.int64()), ("strategy", pa.string()), ("over", pa.bool_()),
                      ("truncated", pa.bool_()), ("eos_cut", pa.bool_()), ("dropped", pa.string()),
                      ("reasoning", pa.list_(pa.int64()))])


def to_outcome(c: Counts) -> dict[str, Any]:
    """One row's counts as an outcome record (its key, line and row index are added by the caller)."""
    return {"length": c.lengths[0] if c.lengths else -1, "max_id": c.max_token_id,
            "strategy": "\x1f".join(k for k, n in sorted(c.strategies.items()) for _ in range(n)),
            "over": bool(c.over_length),
            "truncated": bool(c.truncated), "eos_cut": bool(c.eos_cut),
            "dropped": "length" if c.dropped_over_length else "target" if c.dropped_no_target else "",
            "reasoning": list(c.reasoning.astuple())}


@dataclass
class Store:
    """The prepared rows of one run key: each key's outcome and where its row is."""

    tables: list[Any] = field(default_factory=list)  # each prepared folder's trainer columns (memory-mapped)
    found: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # key -> (table, outcome)
    orders: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)  # folder -> its (key, line, row)s

    @classmethod
    def load(cls, folder: Path, stage: Stage) -> Store:
        import pyarrow as pa
        from datasets import load_from_disk

        store = cls()
        for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
            if sub.name.startswith("."):
                continue  # being written, or left by a run that was killed
            try:
                with pa.memory_map(str(sub / "outcomes.arrow")) as source:
                    outcomes = pa.ipc.open_file(source).read_all()
                table = load_from_disk(str(sub)).data.table.select(list(COLUMNS[stage]))
            except (OSError, ValueError, KeyError, IndexError, pa.ArrowInvalid):
                continue  # a folder half written or from another layout: ignored, its rows tokenized again
            n = len(store.tables)
            store.tables.append(table.cast(schema(stage)))
            columns = outcomes.to_pydict()  # column by column: faster than to_pylist
            listed = [dict(zip(columns, values)) for values in zip(*columns.values())]
            for o in listed:
                store.found.setdefault(o["key"], (n, o))
            store.orders[sub.name] = [(o["key"], o["line"], o["row"]) for o in listed]
        return store


def to_table(rows: list[Row], stage: Stage) -> Any:
    """Rows as an Arrow table of the stage's schema (`Dataset.from_list` would also hash them all, by pickling)."""
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema(stage))


class Spool:
    """New rows written to an Arrow file table by table as they come; read back memory-mapped."""

    def __init__(self, path: Path, stage: Stage) -> None:
        import pyarrow as pa

        self.path, self.count = path, 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pa.ipc.new_stream(str(path), schema(stage))

    def add(self, table: Any) -> int:
        """Write a table of rows; the index of its first row among the new rows."""
        first = self.count
        if len(table):
            self.writer.write_table(table)
            self.count += len(table)
        return first

    def table(self) -> Any:
        """Every row added, memory-mapped."""
        import pyarrow as pa

        self.writer.close()
        return pa.ipc.open_stream(pa.memory_map(str(self.path))).read_all()

    def discard(self) -> None:
        self.writer.close()
        self.path.unlink(missing_ok=True)


def write_folder(dest: Path, stage: Stage, source: Source, tables: list[Any], take: list[tuple[int, int, int]],
                 outcomes: list[dict[str, Any]]) -> None:
    """A dataset's folder written aside and swapped in: the rows `take` names ((table, row, record position)), in
    that order, with provenance, copied run by run (contiguous rows are zero-copy slices); outcomes; pre-flight."""
    import pyarrow as pa
    from datasets import Dataset
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows_file = dest.with_name(f".{dest.name}.{os.getpid()}.arrow")
    lines = source.lines or list(range(1, len(source.records) + 1))
    target = schema(stage)
    full = pa.schema(list(target) + [pa.field("entry", pa.string()), pa.field("file", pa.string()),
                                     pa.field("line", pa.int64())])
    with pa.ipc.new_stream(str(rows_file), full) as writer:
        for start, stop in _runs(take):
            table, row = take[start][0], take[start][1]
            part = tables[table].slice(row, stop - start)
            n = len(part)
            part = part.append_column("entry", pa.array([source.name] * n, pa.string()))
            part = part.append_column("file", pa.array([source.file] * n, pa.string()))
            part = part.append_column("line", pa.array([lines[i] for _, _, i in take[start:stop]], pa.int64()))
            writer.write_table(part)
    quiet = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        rows = Dataset.from_file(str(rows_file))
        rows.save_to_disk(str(tmp), num_shards=None if len(rows) else 1)  # 0 shards would not load back
    finally:
        rows_file.unlink(missing_ok=True)
        if not quiet:
            enable_progress_bars()
    with pa.OSFile(str(tmp / "outcomes.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, outcome_schema()) as out:
            out.write_table(pa.Table.from_pylist(outcomes, schema=outcome_schema()))
    write_preflight(tmp, source)
    old = dest.with_name(f".{dest.name}.old.{os.getpid()}")
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def _runs(take: list[tuple[int, int, int]], longest: int = 4096) -> list[tuple[int, int]]:
    """[start, stop) ranges of `take` whose rows follow each other in one table (at most `longest` rows each)."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(take) + 1):
        if (i == len(take) or take[i][0] != take[i - 1][0] or take[i][1] != take[i - 1][1] + 1
                or i - start >= longest):
            runs.append((start, i))
            start = i
    return runs


def write_preflight(folder: Path, source: Source) -> None:
    """The dataset's pre-flight report, saved beside its rows (preflight.json)."""
    c = source.counts or Counts()
    report = source.report
    found = {"dataset": source.name, "file": source.file, "records": report.records, "valid": report.valid,
             "invalid": report.invalid, **{name: getattr(c, name) for name in INTS}, "kept": c.kept,
             "longest": max(c.lengths, default=0), "max_token_id": c.max_token_id, "strategies": dict(c.strategies),
             "failures": c.failures[:20]}
    (folder / "preflight.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
