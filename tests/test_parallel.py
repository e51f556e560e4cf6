"""`--workers`: the byte-range split (`ftdata.engine.parallel`), its forked workers, and validate / convert giving
exactly the one-process results wherever the ranges are cut."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ftdata import validate_file
from ftdata.engine import parallel
from ftdata.engine.parallel import WorkerFailed, map_ranges, split
from ftdata.ops.convert import convert_files

DATA = Path(__file__).parent / "data"


def lines_of(data: bytes, ranges: list[tuple[int, int]]) -> list[bytes]:
    return [line for a, b in ranges for line in data[a:b].splitlines(keepends=True)]


def check_split(path: Path, parts: int, lead: float) -> list[tuple[int, int]]:
    """Ranges in file order, without gaps or overlaps, each starting at a line start: every line exactly once."""
    data = path.read_bytes()
    ranges = split(path, parts, lead)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data) and len(ranges) <= parts
    assert all(a < b for a, b in ranges) and all(b == c for (_, b), (c, _) in zip(ranges, ranges[1:]))
    assert all(a == 0 or data[a - 1:a] == b"\n" for a, _ in ranges)
    assert lines_of(data, ranges) == data.splitlines(keepends=True)
    return ranges


def test_an_uneven_split_covers_every_line_once_wherever_it_cuts(tmp_path: Path) -> None:
    """The first cut aimed at every byte of the file in turn (a line's first byte, its middle, its newline, the
    last line without one): the ranges still hold every line exactly once, in order."""
    path = tmp_path / "f.jsonl"
    data = b"".join(b'{"i": %d, "pad": "%s"}\n' % (i, b"x" * (i * 7 % 13)) for i in range(9)) + b'{"last": 1}'
    path.write_bytes(data)
    seen = set()
    for target in range(1, len(data)):
        ranges = check_split(path, 2, target / (len(data) - target))  # the cut aimed at byte `target`
        seen.add(ranges[0][1])
        assert ranges[0][1] >= target or ranges[0][1] == len(data)
    assert len(seen) == data.count(b"\n") + 1  # every line start but the first was a cut, and the end
    for parts in (1, 2, 3, 5, 40):
        for lead in (0.01, 0.5, 1.0, 2.5, 100.0):
            check_split(path, parts, lead)


def test_the_lead_sets_the_first_range_against_the_others(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"x\n" * 10_000)
    for lead, first in ((0.5, 1 / 3), (1.0, 1 / 2), (2.0, 2 / 3)):
        (a, b), (c, d) = split(path, 2, lead)
        assert abs(b / d - first) < 0.001
    sizes = [b - a for a, b in split(path, 4, 0.5)]
    assert abs(sizes[0] / sizes[1] - 0.5) < 0.01 and max(sizes[1:]) - min(sizes[1:]) <= 4  # to a line start
    with pytest.raises(ValueError):
        split(path, 2, 0)


def test_a_file_of_one_line_or_none_is_one_range(tmp_path: Path) -> None:
    one, empty = tmp_path / "one.jsonl", tmp_path / "empty.jsonl"
    one.write_bytes(b'{"a": 1}\n')
    empty.write_bytes(b"")
    assert split(one, 4, 0.3) == [(0, 9)] and split(empty, 2) == []
    assert list(map_ranges(empty, 2, lambda a, b: (a, b), _where)) == [(0, 0)]


def _where(index: int, start: int, end: int, tag: str = "") -> tuple[int, int, int, str]:
    return index, start, end, f"{tag}{os.getpid()}"


def test_results_come_in_file_order_from_worker_processes(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"line\n" * 1000)
    got = list(map_ranges(path, 4, lambda a, b: (0, a, b, f"me{os.getpid()}"), _where, "w", lead=0.5))
    assert [g[0] for g in got] == [0, 1, 2, 3] and got[0][3] == f"me{os.getpid()}"
    assert len({g[3] for g in got}) == 4  # three workers, each its own process
    assert [(g[1], g[2]) for g in got] == split(path, 4, 0.5)
    for g in got[1:]:  # each worker ended and reaped: no zombie left
        with pytest.raises(ProcessLookupError):
            os.kill(int(g[3].removeprefix("w")), 0)


def _fails(index: int, start: int, end: int) -> None:
    raise FileNotFoundError(2, "gone", f"part{index}")


def _dies(index: int, start: int, end: int) -> None:
    os._exit(3)


def _unpicklable(index: int, start: int, end: int) -> Any:
    return lambda: None


def test_a_worker_failure_is_raised_here(tmp_path: Path) -> None:
    """Its own exception (type and arguments, the worker's traceback chained), or what happened to the process."""
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"line\n" * 100)
    with pytest.raises(FileNotFoundError) as err:
        list(map_ranges(path, 2, lambda a, b: None, _fails))
    assert err.value.filename == "part1" and "_fails" in str(err.value.__cause__)
    with pytest.raises(WorkerFailed, match="exit status 3"):
        list(map_ranges(path, 2, lambda a, b: None, _dies))
    with pytest.raises(WorkerFailed, match="pickle"):
        list(map_ranges(path, 2, lambda a, b: None, _unpicklable))


def _sleeps(index: int, start: int, end: int, note: str) -> None:
    Path(note).write_text(str(os.getpid()))
    time.sleep(60)


def test_workers_are_stopped_when_this_process_fails_or_stops_early(tmp_path: Path) -> None:
    """No worker runs on (writing part files nobody removes) after an error here or an abandoned iteration."""
    path, note = tmp_path / "f.jsonl", tmp_path / "pid"
    path.write_bytes(b"line\n" * 100)

    def local(a: int, b: int) -> None:
        while not note.exists():
            time.sleep(0.01)
        raise KeyError("here")

    with pytest.raises(KeyError):
        list(map_ranges(path, 2, local, _sleeps, str(note)))
    with pytest.raises(ProcessLookupError):  # killed and reaped: no such process
        os.kill(int(note.read_text()), 0)
    note.unlink()
    ranges = map_ranges(path, 2, lambda a, b: note.exists() or time.sleep(0.2), _sleeps, str(note))
    next(ranges)
    ranges.close()
    with pytest.raises(ProcessLookupError):
        os.kill(int(note.read_text()), 0)


def test_the_process_pool_runs_where_fork_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"line\n" * 1000)
    monkeypatch.setattr(parallel, "FORK", False)
    got = list(map_ranges(path, 3, lambda a, b: (0, a, b, f"me{os.getpid()}"), _where, lead=2.0))
    assert [(g[1], g[2]) for g in got] == split(path, 3, 2.0)
    assert got[0][3] == f"me{os.getpid()}" and str(os.getpid()) not in {g[3] for g in got[1:]}


# --- validate and convert: the one-process results at every cut ----------------------------------------------------

def corpus(tmp_path: Path, fmt: str) -> Path:
    """Every golden file of `fmt`, valid and invalid rows together, three times (rows that drift in type, repeated
    problems, file checks that hold across the parts)."""
    files = sorted((DATA / fmt).glob("*/*.jsonl"))
    assert files
    body = b"".join(f.read_bytes().rstrip(b"\n") + b"\n" for f in files)
    path = tmp_path / f"{fmt}.jsonl"
    path.write_bytes(body * 3)
    return path


def leads(path: Path, n: int = 12) -> list[float]:
    """Leads that move the first cut over `n` line boundaries spread through the file."""
    size = path.stat().st_size
    starts = [i + 1 for i, c in enumerate(path.read_bytes()) if c == 10][:-1]
    picked = starts[:: max(1, len(starts) // n)]
    return [s / (size - s) for s in picked]


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "moss", "alpaca"])
def test_parallel_validation_is_the_one_process_report_at_every_cut(tmp_path: Path, fmt: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import ftdata.ops.validate

    path = corpus(tmp_path, fmt)
    one = validate_file(path, fmt)
    monkeypatch.setattr(ftdata.ops.validate, "PARALLEL_MIN_BYTES", 0)
    for lead in leads(path):
        monkeypatch.setattr(ftdata.ops.validate, "LEAD", lead)
        for workers in (2, 3):
            many = validate_file(path, fmt, workers=workers)
            assert json.dumps(many.to_dict()) == json.dumps(one.to_dict()), (lead, workers)
    assert one.problems and one.invalid  # the corpus has problems to locate


@pytest.mark.parametrize(("fmt", "target"), [("openai", "sharegpt"), ("sharegpt", "openai"), ("moss", "trl")])
def test_parallel_conversion_writes_the_one_process_files_at_every_cut(tmp_path: Path, fmt: str, target: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import ftdata.ops.convert

    path = corpus(tmp_path, fmt)
    one = convert_files([path], target, tmp_path / "one.jsonl", source=fmt, dataset_info=False)
    monkeypatch.setattr(ftdata.ops.convert, "PARALLEL_MIN_BYTES", 0)
    for i, lead in enumerate(leads(path, 6)):
        monkeypatch.setattr(ftdata.ops.convert, "LEAD", lead)
        out = tmp_path / f"many{i}.jsonl"
        many = convert_files([path], target, out, source=fmt, dataset_info=False, workers=2)
        assert out.read_bytes() == (tmp_path / "one.jsonl").read_bytes(), lead
        assert Path(many.rejects).read_bytes() == Path(one.rejects).read_bytes(), lead
        drop = ("output", "rejects", "seconds")
        assert {k: v for k, v in many.to_dict().items() if k not in drop} == {
            k: v for k, v in one.to_dict().items() if k not in drop}
    assert one.rejected and one.written


def test_no_sync_thread_runs_when_convert_forks_its_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The output's early-sync thread (`BatchWriter`) is waited for before each input's workers fork: a fork beside a
    running thread can deadlock the child (and Python 3.12 warns). Two inputs: the second forks after the first has
    written enough to start syncing."""
    import threading

    import ftdata.io.sink
    import ftdata.ops.convert
    from ftdata.ops.convert import convert_files

    real_fork = os.fork
    threads_at_fork: list[int] = []

    def fork() -> int:  # the sync threads alive (other tests' threads may run beside: not ours to count)
        threads_at_fork.append(sum(t.name == ftdata.io.sink.SYNC_THREAD for t in threading.enumerate()))
        return real_fork()

    monkeypatch.setattr(ftdata.ops.convert, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ftdata.io.sink, "CHUNK", 256)
    monkeypatch.setattr(ftdata.io.sink, "SYNC_EVERY", 512)
    monkeypatch.setattr(parallel.os, "fork", fork)
    monkeypatch.setattr(ftdata.io.sink.os, "fdatasync", lambda fd: time.sleep(0.3))  # a slow disk: still syncing
    row = {"conversations": [{"from": "human", "value": "q" * 50}, {"from": "gpt", "value": "a" * 50}]}
    inputs = []
    for name in ("a.jsonl", "b.jsonl"):
        inputs.append(tmp_path / name)
        inputs[-1].write_text((json.dumps(row) + "\n") * 300)
    report = convert_files(inputs, "openai", tmp_path / "out.jsonl", dataset_info=False, workers=2)
    assert report.written == 600 and threads_at_fork == [0, 0], threads_at_fork
