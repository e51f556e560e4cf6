"""JSON Lines records as unparsed lines, and `ftdata validate / convert / stats` over batches of them: the work of a
run split across processes or machines (Ray Data: `ftdata.engine.distributed`; Spark: `mapInArrow`), with the CLI's results.

    lines_tables(file, path)                 -> LINES tables (path, index, line, data): one row per record
    convert_lines / validate_lines / stats_lines(batch of LINES) -> SHARD table (kind, data): each written row and
                                                each reject as JSON text (kind "row" / "reject"), then one pickled
                                                report of the batch (kind "report")
    merge_reports / merge_validation / merge_stats(report payloads) -> what the CLI reports for the whole input

Why lines: each record is decoded here by the CLI's own reader (`ftdata.io.readers.jsonl_items`) and checked by the CLI's
own code, so a shard gives the CLI's rows, rejects and problems, at the same index and line; Arrow never has to type
a record. It cannot on real data: pyarrow's JSON reader (Ray's `read_json`) stops at an id that is a number in one
row and text in the next, pandas' (`read_json(lines=True)`) turns the text "2" into the number 2, and both end the
whole job at one line that is not JSON. Arrow in, Arrow out (tables or record batches; a mapping of columns works too).
Report payloads are pickled: they go from a job's workers to its driver, never from elsewhere.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from functools import cache, partial
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from ftdata.core.reports import ConvertReport, FileReport
from ftdata.core.stats import Stats, collect
from ftdata.core.tokens import load_tokenizer
from ftdata.engine.convert import Converter, convert_reader
from ftdata.engine.lanes import check_items, scan_reader
from ftdata.formats import Format, get_format
from ftdata.formats.write import ReasoningPolicy
from ftdata.io.filechecks import FileCheck, file_checks
from ftdata.io.media import Media, media_sizes
from ftdata.io.readers import (
    BOM,
    Accept,
    Item,
    Readable,
    Tally,
    iter_lines,
    jsonl_items,
)
from ftdata.io.sink import JsonWriter

if TYPE_CHECKING:
    import pyarrow as pa

LINES = ("path", "index", "line", "data")  # a record: its file, its index and line there, its line's bytes
ROW, REJECT, REPORT = "row", "reject", "report"  # the kinds of SHARD rows (columns: kind, data)
BLOCK_ROWS = 4096  # records per LINES table
BLOCK_BYTES = 32 << 20  # ... or bytes: far below the 2 GB an Arrow binary column holds

ONE_LINE = "{}: LINES rows must each hold one non-blank line (as lines_tables makes them)"
Source = str | Mapping[str, str]  # one format for every file, or one per path (as the LINES rows name it)


def lines_tables(f: Readable, path: str, rows: int = BLOCK_ROWS) -> Iterator[pa.Table]:
    """The records of a JSON Lines file as LINES tables, each line as it is, numbered as `ftdata validate` numbers
    it: blank lines are not records, a UTF-8 byte order mark on the first line is dropped."""
    index: list[int] = []
    lines: list[int] = []
    data: list[bytes] = []
    size = records = 0
    for line_no, raw in enumerate(iter_lines(f), start=1):
        text = bytes(raw).removeprefix(BOM) if line_no == 1 else bytes(raw)
        if not text or text.isspace():
            continue
        index.append(records)
        lines.append(line_no)
        data.append(text)
        records += 1
        size += len(text)
        if len(data) >= rows or size >= BLOCK_BYTES:
            yield _lines_table(path, index, lines, data)
            index, lines, data, size = [], [], [], 0
    if data:
        yield _lines_table(path, index, lines, data)


def _lines_table(path: str, index: list[int], lines: list[int], data: list[bytes]) -> pa.Table:
    import pyarrow as pa

    return pa.table({"path": pa.array([path] * len(data), pa.string()), "index": pa.array(index, pa.int64()),
                     "line": pa.array(lines, pa.int64()), "data": pa.array(data, pa.binary())})


@dataclass(frozen=True)
class Run:
    """Consecutive records of one file in a batch (a batch may join blocks of several files, in any order)."""

    path: str
    index: list[int]
    line: list[int]
    data: list[bytes]

    def items(self, accept: Accept | None = None, tally: Tally | None = None) -> Iterator[Item]:
        """The records decoded as the CLI's reader decodes them, at their place in the file (`accept`, the hot
        loop's test, sees that place too)."""
        tally = tally if tally is not None else Tally()
        local: Accept | None = None
        if accept is not None:
            def local(row: dict[str, Any], raw: memoryview, k: int, _: int) -> bool:
                return accept(row, raw, *self.place(k))
        seen = 0
        for item in jsonl_items(io.BytesIO(b"\n".join(self.data)), False, None, tally, local):
            item.index, item.line = self.place(item.index)
            seen += 1
            yield item
        if seen + tally.accepted != len(self.data):  # a blank row: no record
            raise ValueError(ONE_LINE.format(self.path))

    def place(self, k: int) -> tuple[int, int]:
        """The index and line in the file of the run's k-th record."""
        if k >= len(self.data) or len(self.index) != len(self.data):
            raise ValueError(ONE_LINE.format(self.path))
        return self.index[k], self.line[k]


def runs(batch: Any) -> Iterator[Run]:
    """A batch of LINES rows as runs of consecutive records of one file."""
    cols = batch.to_pydict() if hasattr(batch, "to_pydict") else {
        k: v.tolist() if hasattr(v, "tolist") else list(v) for k, v in batch.items()}  # NumPy: plain ints
    paths, index, line, data = (cols[c] for c in LINES)
    start = 0
    for i in range(1, len(paths) + 1):
        if i == len(paths) or paths[i] != paths[start] or index[i] != index[i - 1] + 1:
            yield Run(paths[start], index[start:i], line[start:i], data[start:i])
            start = i


def source_format(source: Source, path: str) -> Format:
    name = source if isinstance(source, str) else source.get(path)
    if name is None:
        raise KeyError(f"{path}: no source format for this file (source= names {', '.join(source) or 'none'})")
    return get_format(name)


def _media(path: str, media_dir: str | Path | None, allow_outside: bool) -> Media:
    """The CLI's default: media paths are relative to the data file's folder."""
    return Media(Path(media_dir) if media_dir else Path(path).resolve().parent, allow_outside)


def shard_table(rows: list[bytes], rejects: list[bytes], report: Any) -> pa.Table:
    import pyarrow as pa

    kinds = [ROW] * len(rows) + [REJECT] * len(rejects) + [REPORT]
    return pa.table({"kind": pa.array(kinds, pa.string()),
                     "data": pa.array(rows + rejects + [pickle.dumps(report)], pa.binary())})


def convert_lines(batch: Any, *, source: Source, target: str, reasoning: ReasoningPolicy = "think",
                  media_dir: str | Path | None = None, allow_outside: bool = False, label: bool = False) -> pa.Table:
    """Convert LINES rows as `ftdata convert` does: a SHARD table of the written rows and the rejects (JSON text,
    exactly the CLI's lines; `label`: rejects name their file, as the CLI's do for several inputs) and the batch's
    `ConvertReport`."""
    target_format = get_format(target)
    report = ConvertReport([], "", "", target)
    rows, rejects = io.BytesIO(), io.BytesIO()
    for run in runs(batch):
        fmt = source_format(source, run.path)
        report.formats[run.path] = fmt.name
        conv = Converter(fmt, target_format, reasoning, JsonWriter(rows, False), JsonWriter(rejects, False), report,
                         Path(run.path) if label else None)
        convert_reader(conv, run.items, _media(run.path, media_dir, allow_outside))
    return shard_table(rows.getvalue().split(b"\n")[:-1], rejects.getvalue().split(b"\n")[:-1], report)


@dataclass
class Part:
    """What `validate_lines` found in one run, for `merge_validation` to add up in file order."""

    path: str
    start: int  # the run's first record index
    report: FileReport
    checks: list[FileCheck]


def validate_lines(batch: Any, *, source: Source, media_dir: str | Path | None = None,
                   allow_outside: bool = False) -> pa.Table:
    """Check LINES rows as `ftdata validate` does: a SHARD table holding the batch's `Part`s."""
    parts = []
    for run in runs(batch):
        fmt = source_format(source, run.path)
        report, checks = FileReport(run.path, fmt.name), file_checks()
        scan_reader(run.items, fmt, _media(run.path, media_dir, allow_outside), checks, report)  # as the CLI's validate
        parts.append(Part(run.path, run.index[0], report, checks))
    return shard_table([], [], parts)


_tokenizer = cache(load_tokenizer)  # once per worker process


def stats_lines(batch: Any, *, source: Source, tokenizer: str | None = None, max_length: int | None = None,
                media_dir: str | Path | None = None, allow_outside: bool = False) -> pa.Table:
    """`ftdata stats` over LINES rows: a SHARD table holding the batch's `Stats` (`tokenizer`: 'tiny' or a tokenizer
    folder every worker can read)."""
    tok = _tokenizer(tokenizer) if tokenizer else None
    streams = ((check_items(run.items(), source_format(source, run.path), media), partial(media_sizes, media=media))
               for run in runs(batch) for media in [_media(run.path, media_dir, allow_outside)])
    return shard_table([], [], collect(streams, [], tok, max_length))


def merge_reports(payloads: Iterable[bytes], report: ConvertReport) -> ConvertReport:
    """Add the batches' `ConvertReport`s to `report` (counts, and the format of each file)."""
    for data in payloads:
        part: ConvertReport = pickle.loads(data)
        report.merge(part)
        report.formats.update(part.formats)
    return report


def merge_validation(payloads: Iterable[bytes]) -> dict[str, FileReport]:
    """Per file (as the LINES rows name it): its parts added in file order, then what holds across its rows
    (`ftdata.io.filechecks`): the report `ftdata validate` gives for the whole file. (As with `validate --workers`, a
    `type_drift` message about a nested field may count the fast lane's plain rows there differently: each part
    walks its first plain row whole.)"""
    parts: list[Part] = sorted((p for data in payloads for p in pickle.loads(data)), key=lambda p: (p.path, p.start))
    out = {}
    for path, group in groupby(parts, key=lambda p: p.path):
        report, checks = FileReport(path), file_checks()
        for part in group:
            found = part.report
            report.format = found.format
            report.problems += found.problems  # located in the file already: nothing to shift
            report.records += found.records
            report.valid += found.valid
            report.invalid += found.invalid
            report.warnings += found.warnings
            for mine, theirs in zip(checks, part.checks):
                mine.merge(theirs, 0, 0)
        report.add_across(p for c in checks for p in c.problems())
        out[path] = report
    return out


def merge_stats(payloads: Iterable[bytes], files: list[str], max_length: int | None = None) -> Stats:
    """The batches' `Stats` as one, equal to `ftdata stats` over the whole input (in any order)."""
    stats = Stats(files=files, max_length=max_length)
    for data in payloads:
        stats.merge(pickle.loads(data))
    return stats
