"""Prepared rows: each dataset's rows tokenized once into the cache and reused row by row by later runs.

A dataset's rows are looked up by key in every prepared folder of the run key; only the rows found nowhere are
tokenized (by `--workers` processes), with the same functions and counts as a run without the cache. The folder
written holds exactly the rows the trainer gets, in order, plus each row's provenance; a row the template cannot
render is never stored (it is tried again, and reported again, on each run).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import shutil
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from fttrain.cache import dataset_folder, key_folder, row_keys, size
from fttrain.data import Counts, Row, Source, preference_rows, sft_rows
from fttrain.spec import RunSpec, Stage

COLUMNS: dict[Stage, tuple[str, ...]] = {"sft": ("input_ids", "labels"),
                                         "dpo": ("prompt_ids", "chosen_ids", "rejected_ids"),
                                         "kto": ("prompt_ids", "completion_ids", "label")}
PROVENANCE = ("entry", "file", "line")
INTS = ("samples", "over_length", "truncated", "eos_cut", "dropped_over_length", "dropped_no_target", "unrenderable")
CHUNK = 64  # rows a worker takes at a time
MIN_PER_WORKER = 256  # fewer rows than this per process: starting the processes costs more than it saves


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
                      ("truncated", pa.bool_()), ("eos_cut", pa.bool_()), ("dropped", pa.string())])


def to_outcome(c: Counts) -> dict[str, Any]:
    """One row's counts as an outcome record (its key, line and row index are added by the caller)."""
    return {"length": c.lengths[0] if c.lengths else -1, "max_id": c.max_token_id,
            "strategy": "\x1f".join(sorted(c.strategies.elements())), "over": bool(c.over_length),
            "truncated": bool(c.truncated), "eos_cut": bool(c.eos_cut),
            "dropped": "length" if c.dropped_over_length else "target" if c.dropped_no_target else ""}


def from_outcome(o: dict[str, Any]) -> Counts:
    """The counts a stored outcome stands for (the inverse of `to_outcome`)."""
    return Counts(samples=1, over_length=int(o["over"]), truncated=int(o["truncated"]), eos_cut=int(o["eos_cut"]),
                  dropped_over_length=int(o["dropped"] == "length"), dropped_no_target=int(o["dropped"] == "target"),
                  max_token_id=o["max_id"], lengths=[o["length"]] if o["length"] >= 0 else [],
                  strategies=Counter(o["strategy"].split("\x1f")) if o["strategy"] else Counter())


def absorb(total: Counts, c: Counts) -> None:
    """Add one row's counts to a dataset's, in place (Counts.add copies: quadratic over many rows)."""
    for name in INTS:
        setattr(total, name, getattr(total, name) + getattr(c, name))
    total.max_token_id = max(total.max_token_id, c.max_token_id)
    total.lengths.extend(c.lengths)
    total.strategies.update(c.strategies)
    total.failures.extend(c.failures)


def encode_one(tokenizer: Any, stage: Stage, spec: RunSpec, source: Source, i: int) -> tuple[Row | None, Counts]:
    """Row i of a dataset through the very functions a run without the cache uses: (its row or None, its counts)."""
    c = Counts()
    one = replace(source, records=[source.records[i]], positions=[source.positions[i]], lines=[], counts=None)
    rows = (sft_rows if stage == "sft" else preference_rows)(tokenizer, one, spec, c)
    return (rows[0] if rows else None), c


_JOB: tuple[Any, Stage, RunSpec, Source] | None = None  # what forked workers encode (inherited, never pickled)


def _encode_chunk(chunk: list[int]) -> list[tuple[int, Row | None, Counts]]:
    assert _JOB is not None
    tokenizer, stage, spec, source = _JOB
    with paused_gc():
        done = [(i, *encode_one(tokenizer, stage, spec, source, i)) for i in chunk]
        gc.collect(1)  # young objects only, as data.paced_gc does
    return done


@contextmanager
def paused_gc() -> Iterator[None]:
    """Automatic cycle collection paused (see data.paced_gc: why) and back on however the block ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def encode_all(tokenizer: Any, stage: Stage, spec: RunSpec, source: Source,
               todo: list[int]) -> Iterator[tuple[int, Row | None, Counts]]:
    """Rows `todo` encoded in order, by up to --workers forked processes (one on small jobs or where fork is not
    available); a row the template cannot render raises as it does without workers."""
    global _JOB
    workers = spec.workers or os.cpu_count() or 1
    workers = min(workers, max(1, len(todo) // MIN_PER_WORKER))
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    _JOB = (tokenizer, stage, spec, source)
    try:
        if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for chunk in chunks:
                yield from _encode_chunk(chunk)
            return
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the forked copies tokenize on one thread each
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part in pool.imap(_encode_chunk, chunks):
                yield from part
    finally:
        _JOB = None


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
            try:
                with pa.memory_map(str(sub / "outcomes.arrow")) as source:
                    outcomes = pa.ipc.open_file(source).read_all()
                table = load_from_disk(str(sub)).data.table.select(list(COLUMNS[stage]))
            except (OSError, ValueError, KeyError, IndexError, pa.ArrowInvalid):
                continue  # a folder half written or from another layout: ignored, its rows tokenized again
            n = len(store.tables)
            store.tables.append(table)
            listed = outcomes.to_pylist()
            for o in listed:
                store.found.setdefault(o["key"], (n, o))
            store.orders[sub.name] = [(o["key"], o["line"], o["row"]) for o in listed]
        return store


@dataclass
class Reuse:
    """What the cache did for one dataset."""

    reused: int = 0
    tokenized: int = 0
    folder: Path | None = None


def prepare_source(tokenizer: Any, stage: Stage, spec: RunSpec, source: Source, root: Path, key: str,
                   origin: Path) -> tuple[Any, Reuse]:
    """One dataset's trainer rows from the cache, tokenizing only the rows it lacks; its counts go in
    `source.counts`. Returns (the prepared dataset, with provenance columns; what was reused)."""
    from datasets import load_from_disk

    folder = key_folder(root, stage, key)
    dest = dataset_folder(folder, source.name, origin)
    keys = row_keys(key, source.records)
    store = Store.load(folder, stage)
    reuse = Reuse(folder=dest)
    known = {k for k in keys if k in store.found}
    todo = _first_of_each([i for i, k in enumerate(keys) if k not in known], keys)
    new_rows: list[Row] = []
    new: dict[str, tuple[int, Counts]] = {}
    failed: dict[int, Counts] = {}
    for i, row, c in encode_all(tokenizer, stage, spec, source, todo):
        reuse.tokenized += 1
        if c.unrenderable:
            failed[i] = c
            continue
        new[keys[i]] = (len(new_rows) if row is not None else -1, c)
        if row is not None:
            new_rows.append(row)
    for i, k in enumerate(keys):  # a copy of a row that failed to render fails again, at its own position
        if k not in known and k not in new and i not in failed:
            failed[i] = encode_one(tokenizer, stage, spec, source, i)[1]
            reuse.tokenized += 1
    counts, take, outcomes = _assemble(source, keys, store, new, failed)
    source.counts = counts
    reuse.reused = len(keys) - reuse.tokenized
    if new_rows or store.orders.get(dest.name) != [(o["key"], o["line"], o["row"]) for o in outcomes]:
        _write(dest, stage, source, store, new_rows, take, outcomes)
    else:  # the same rows in the same order: the folder stands; only the report is written again
        (dest / "preflight.json").write_text(json.dumps(preflight(source), indent=1), encoding="utf-8")
    return load_from_disk(str(dest)), reuse


def _first_of_each(indices: list[int], keys: list[str]) -> list[int]:
    seen: set[str] = set()
    out = []
    for i in indices:
        if keys[i] not in seen:
            seen.add(keys[i])
            out.append(i)
    return out


def _assemble(source: Source, keys: list[str], store: Store, new: dict[str, tuple[int, Counts]],
              failed: dict[int, Counts]) -> tuple[Counts, list[tuple[int, int, int]], list[dict[str, Any]]]:
    """The dataset's counts in row order, the rows to take ((table, row) with -1 for the new rows' table, and
    the record's position), and every stored row's outcome."""
    counts = Counts()
    take: list[tuple[int, int, int]] = []
    outcomes = []
    for i, k in enumerate(keys):
        if i in failed:
            absorb(counts, failed[i])
            continue
        if k in new:
            table, (row, c) = -1, new[k]
        else:
            table, o = store.found[k]
            row, c = o["row"], from_outcome(o)
        absorb(counts, c)
        outcomes.append({"key": k, "line": source.lines[i] if source.lines else i + 1,
                         "row": len(take) if row >= 0 else -1, **to_outcome(c)})
        if row >= 0:
            take.append((table, row, i))
    return counts, take, outcomes


def _write(dest: Path, stage: Stage, source: Source, store: Store, new_rows: list[Row],
           take: list[tuple[int, int, int]], outcomes: list[dict[str, Any]]) -> None:
    """The dataset's folder written aside and swapped in: trainer columns + provenance, outcomes, pre-flight."""
    import pyarrow as pa
    from datasets import Dataset
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    target = schema(stage)
    new_table = Dataset.from_list(new_rows).data.table.cast(target) if new_rows else target.empty_table()
    tables = [t.cast(target) for t in store.tables] + [new_table]
    offsets = [0]
    for t in tables:
        offsets.append(offsets[-1] + len(t))
    picks = [offsets[len(tables) - 1 if table < 0 else table] + row for table, row, _ in take]
    combined = pa.concat_tables(tables).take(pa.array(picks, pa.int64())) if picks else new_table.slice(0, 0)
    lines = source.lines or list(range(1, len(source.records) + 1))
    combined = combined.append_column("entry", pa.array([source.name] * len(take), pa.string()))
    combined = combined.append_column("file", pa.array([source.file] * len(take), pa.string()))
    combined = combined.append_column("line", pa.array([lines[i] for _, _, i in take], pa.int64()))
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    quiet = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        Dataset(combined).save_to_disk(str(tmp), num_shards=None if len(combined) else 1)  # 0 shards: unreadable
    finally:
        if not quiet:
            enable_progress_bars()
    with pa.OSFile(str(tmp / "outcomes.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, outcome_schema()) as writer:
            writer.write_table(pa.Table.from_pylist(outcomes, schema=outcome_schema()))
    (tmp / "preflight.json").write_text(json.dumps(preflight(source), indent=1), encoding="utf-8")
    old = dest.with_name(f".{dest.name}.old.{os.getpid()}")
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def preflight(source: Source) -> dict[str, Any]:
    """A dataset's pre-flight report as saved beside its rows."""
    c = source.counts or Counts()
    report = source.report
    return {"dataset": source.name, "file": source.file, "records": report.records, "valid": report.valid,
            "invalid": report.invalid, **{name: getattr(c, name) for name in INTS}, "kept": c.kept,
            "longest": max(c.lengths, default=0), "max_token_id": c.max_token_id, "strategies": dict(c.strategies),
            "failures": c.failures[:20]}


def cache_line(reuses: list[Reuse], root: Path) -> str:
    """'cache: 3,100 rows reused, 1 tokenized (.fttrain-cache, 41.2 MB)'."""
    from fttrain.cache import human

    reused, tokenized = sum(r.reused for r in reuses), sum(r.tokenized for r in reuses)
    return f"cache: {reused:,} rows reused, {tokenized:,} tokenized ({root}, {human(size(root))})"


def prepare_cached(stage: Stage, origin: Path, spec: RunSpec, tokenizer: Any, model_path: Path,
                   sources: list[Source]) -> tuple[list[Any | None], list[Path], str]:
    """Every dataset's trainer rows through the cache: (the trainer's columns per dataset, None where no row is
    left; each dataset's prepared folder; the 'cache: ...' line)."""
    from fttrain.cache import cache_root, key_parts, run_key, touch_key

    root = cache_root(origin, spec)
    template = tokenizer.chat_template
    parts = key_parts(stage, spec, model_path, template if isinstance(template, str) else json.dumps(template))
    key = run_key(parts)
    touch_key(key_folder(root, stage, key), parts, str(model_path.resolve()))
    trainer_rows: list[Any | None] = []
    folders, reuses = [], []
    for s in sources:
        ds, reuse = prepare_source(tokenizer, stage, spec, s, root, key, origin)
        folders.append(reuse.folder or root)
        reuses.append(reuse)
        trainer_rows.append(ds.select_columns(list(COLUMNS[stage])) if len(ds) else None)
    return trainer_rows, folders, cache_line(reuses, root)
