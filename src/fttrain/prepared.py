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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ftdata.render import LazyProgress
from fttrain.cache import ENV, dataset_folder, key_folder, row_keys, size
from fttrain.checks import UsageError
from fttrain.data import Counts, Row, Source, preference_rows, sft_rows
from fttrain.rowstore import COLUMNS, INTS, Spool, Store, to_outcome, to_table, write_folder, write_preflight
from fttrain.reasoning import Blocks
from fttrain.spec import RunSpec, Stage

CHUNK = 64  # rows a worker takes at a time
MIN_PER_WORKER = 256  # fewer rows than this per process: starting the processes costs more than it saves


def absorb(total: Counts, c: Counts) -> None:
    """Add one row's counts to a dataset's, in place (Counts.add copies: quadratic over many rows)."""
    for name in INTS:
        setattr(total, name, getattr(total, name) + getattr(c, name))
    total.max_token_id = max(total.max_token_id, c.max_token_id)
    total.lengths.extend(c.lengths)
    total.strategies.update(c.strategies)
    total.failures.extend(c.failures)
    total.reasoning = total.reasoning.add(c.reasoning)


def absorb_outcome(total: Counts, o: dict[str, Any]) -> None:
    """Add one row's stored outcome to a dataset's counts, in place: as `absorb` of the counts it stands for."""
    total.samples += 1
    total.over_length += o["over"]
    total.truncated += o["truncated"]
    total.eos_cut += o["eos_cut"]
    total.dropped_over_length += o["dropped"] == "length"
    total.dropped_no_target += o["dropped"] == "target"
    total.max_token_id = max(total.max_token_id, o["max_id"])
    if o["length"] >= 0:
        total.lengths.append(o["length"])
    if o["strategy"]:
        total.strategies.update(o["strategy"].split("\x1f"))
    total.reasoning = total.reasoning.add(Blocks(*o["reasoning"]))


def encode_one(tokenizer: Any, stage: Stage, spec: RunSpec, source: Source, i: int,
               reasoning: str | None) -> tuple[Row | None, Counts]:
    """Row i of a dataset through the very functions a run without the cache uses, its reasoning rendered through
    the key `reasoning`: (its row or None, its counts)."""
    c = Counts()
    one = replace(source, records=[source.records[i]], positions=[source.positions[i]], lines=[], counts=None)
    rows = (sft_rows if stage == "sft" else preference_rows)(tokenizer, one, spec, c, reasoning)
    return (rows[0] if rows else None), c


_JOB: tuple[Any, Stage, RunSpec, Source, str | None] | None = None  # what forked workers encode (inherited, never pickled)


Encoded = tuple[list[tuple[int, bool, Counts]], Any]  # each row's (position, kept, counts); the kept rows' table


def _encode_chunk(chunk: list[int]) -> Encoded:
    """Rows of the job, encoded; the kept ones already in Arrow (built where they were tokenized, so the parent
    of forked workers only appends tables)."""
    assert _JOB is not None
    tokenizer, stage, spec, source, reasoning = _JOB
    with paused_gc():
        done = [(i, *encode_one(tokenizer, stage, spec, source, i, reasoning)) for i in chunk]
        gc.collect(1)  # young objects only, as data.paced_gc does
    return [(i, row is not None, c) for i, row, c in done], to_table([r for _, r, _ in done if r is not None], stage)


def _in_worker(chunk: list[int]) -> tuple[list[tuple[int, bool, Counts]], bytes]:
    """_encode_chunk in a forked worker: the table as Arrow IPC bytes (pickled cheaply, read back zero-copy)."""
    import pyarrow as pa

    done, table = _encode_chunk(chunk)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return done, sink.getvalue().to_pybytes()


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


def encode_all(tokenizer: Any, stage: Stage, spec: RunSpec, source: Source, todo: list[int],
               reasoning: str | None) -> Iterator[Encoded]:
    """Rows `todo` encoded in order, by up to --workers forked processes (one on small jobs or where fork is not
    available); a row the template cannot render raises as it does without workers."""
    global _JOB
    workers = spec.workers or os.cpu_count() or 1
    workers = min(workers, max(1, len(todo) // MIN_PER_WORKER))
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    _JOB = (tokenizer, stage, spec, source, reasoning)
    try:
        if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for chunk in chunks:
                yield _encode_chunk(chunk)
            return
        import pyarrow as pa

        with one_thread_tokenizers(), multiprocessing.get_context("fork").Pool(workers) as pool:
            for done, blob in pool.imap(_in_worker, chunks):
                yield done, pa.ipc.open_stream(blob).read_all()
    finally:
        _JOB = None


@contextmanager
def one_thread_tokenizers() -> Iterator[None]:
    """TOKENIZERS_PARALLELISM=false while workers are forked (each copy tokenizes on one thread; a forked copy of
    a threaded tokenizer can deadlock); the variable is restored afterwards."""
    before = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = before


@dataclass
class Reuse:
    """What the cache did for one dataset."""

    reused: int = 0
    tokenized: int = 0
    folder: Path | None = None


def tokenizing(label: str) -> LazyProgress:
    """Progress of a long tokenization on stderr (rank 0 only): a transient line on a terminal, else a line every 10 s."""
    return LazyProgress(label, delay=2.0, quiet=os.environ.get("RANK", "0") != "0")


def prepare_source(tokenizer: Any, stage: Stage, spec: RunSpec, source: Source, root: Path, key: str,
                   origin: Path, reasoning: str | None) -> tuple[Any, Reuse]:
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
    new: dict[str, tuple[int, Counts]] = {}
    failed: dict[int, Counts] = {}
    spool = Spool(dest.with_name(f".{dest.name}.{os.getpid()}.new.arrow"), stage)
    with tokenizing(f"tokenizing {source.name} ({len(todo):,} rows)") as tick:
        try:
            for done, table in encode_all(tokenizer, stage, spec, source, todo, reasoning):
                first = spool.add(table)
                tick(reuse.tokenized + len(done))
                for i, kept, c in done:
                    reuse.tokenized += 1
                    if c.unrenderable:
                        failed[i] = c
                    else:
                        new[keys[i]] = (first if kept else -1, c)
                        first += kept
            new_table = spool.table()
        finally:
            spool.discard()  # unlinked; the table read back stays mapped
    for i, k in enumerate(keys):  # a copy of a row that failed to render fails again, at its own position
        if k not in known and k not in new and i not in failed:
            failed[i] = encode_one(tokenizer, stage, spec, source, i, reasoning)[1]
            reuse.tokenized += 1
    counts, take, outcomes = _assemble(source, keys, store, new, failed)
    source.counts = counts
    reuse.reused = len(keys) - reuse.tokenized
    if len(new_table) or store.orders.get(dest.name) != [(o["key"], o["line"], o["row"]) for o in outcomes]:
        write_folder(dest, stage, source, store.tables + [new_table], take, outcomes)
    else:  # the same rows in the same order: the folder stands; only the report is written again
        write_preflight(dest, source)
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
    fresh = {k: (row, to_outcome(c)) for k, (row, c) in new.items()}
    for i, k in enumerate(keys):
        if i in failed:
            absorb(counts, failed[i])
            continue
        if k in fresh:
            table, (row, o) = -1, fresh[k]
        else:
            table, o = store.found[k]
            row = o["row"]
        absorb_outcome(counts, o)
        outcomes.append({**o, "key": k, "line": source.lines[i] if source.lines else i + 1,
                         "row": len(take) if row >= 0 else -1})
        if row >= 0:
            take.append((table, row, i))
    return counts, take, outcomes


def cache_line(reuses: list[Reuse], root: Path) -> str:
    """'cache: 3,100 rows reused, 1 tokenized (.fttrain-cache, 41.2 MB)'."""
    from fttrain.cache import human

    reused, tokenized = sum(r.reused for r in reuses), sum(r.tokenized for r in reuses)
    return f"cache: {reused:,} rows reused, {tokenized:,} tokenized ({root}, {human(size(root))})"


def prepare_cached(stage: Stage, origin: Path, spec: RunSpec, tokenizer: Any, model_path: Path,
                   sources: list[Source], reasoning: str | None) -> tuple[list[Any | None], list[Path], str]:
    """Every dataset's trainer rows through the cache, reasoning rendered through the key `reasoning` (part of the
    run key): (the trainer's columns per dataset, None where no row is left; each dataset's prepared folder; the
    'cache: ...' line)."""
    from fttrain.cache import cache_root, key_parts, run_key, touch_key

    root = cache_root(origin, spec)
    template = tokenizer.chat_template
    parts = key_parts(stage, spec, model_path, template if isinstance(template, str) else json.dumps(template))
    parts["reasoning_key"] = reasoning
    key = run_key(parts)
    folder = key_folder(root, stage, key)
    try:
        touch_key(folder, parts, str(model_path.resolve()))
    except OSError as error:
        raise UsageError(f"cache folder {root}: cannot write there ({error.strerror or error}); pass another "
                         f"--cache-dir (or set ${ENV}), or --no-cache") from None
    trainer_rows: list[Any | None] = []
    folders, reuses = [], []
    with locked(folder / ".lock"):  # torchrun's ranks, or runs sharing a cache: one writes, the others reuse
        for s in sources:
            ds, reuse = prepare_source(tokenizer, stage, spec, s, root, key, origin, reasoning)
            folders.append(reuse.folder or root)
            reuses.append(reuse)
            trainer_rows.append(ds.select_columns(list(COLUMNS[stage])) if len(ds) else None)
    return trainer_rows, folders, cache_line(reuses, root)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` held for the block (POSIX flock; without fcntl, no lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: runs sharing one cache folder there must not overlap
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
