"""Streaming readers: each yields `Item(index, line, value)` where value is the decoded record or a Problem.

A line that fails to parse is yielded as a Problem and reading goes on: one bad line never hides the rest.
A file that cannot be read at all raises `UnreadableFile` with a one-line reason.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, cast

import orjson

from ftdata.core.problems import Problem
from ftdata.io.depth import MAX_NESTING, TOO_DEEP, deeper_than_allowed, too_deep
from ftdata.io.jsonarray import TRAILING, UNCLOSED, NotAnArray, iter_elements

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
JSON_OUTPUT_SUFFIXES = JSONL_SUFFIXES | {".json"}  # what convert writes (JSON Lines, or one JSON array)
STDIN = "-"  # the path that means standard input (JSON Lines) or, for an output, standard output
SUFFIXES = JSONL_SUFFIXES | {".json", ".parquet", ".csv", ".txt"}
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark: harmless, dropped


class UnreadableFile(Exception):
    """The file as a whole cannot be read (missing, unsupported, wrong encoding); exit code 2."""


class UsageError(Exception):
    """Bad arguments (unknown target, output equal to input, a name already taken, ...): exit code 2."""


@dataclass(slots=True)
class Item:
    index: int
    line: int | None
    value: Any  # the decoded record (any JSON value) or a Problem
    text: str | None = None  # the undecodable source text, kept so that a rejects file loses nothing


class Ahead(Iterator[Item]):
    """Items some of which were read ahead (to detect the format) followed by the rest; `close` releases the file."""

    def __init__(self, head: list[Item], rest: Iterator[Item]) -> None:
        self.rest = rest
        self._items = chain(head, rest)

    def __next__(self) -> Item:
        return next(self._items)

    def close(self) -> None:
        close = getattr(self.rest, "close", None)
        if close is not None:
            close()


def read_records(path: str | Path) -> Iterator[Item]:
    """Yield the records of a .jsonl / .json / .parquet / .csv / .txt file, in order; "-" reads JSON Lines from stdin."""
    if str(path) == STDIN:
        return jsonl_items(cast(Readable, sys.stdin.buffer))  # a BufferedReader
    path = Path(path)
    check_readable(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableFile(f"{path}: unsupported file type '{suffix}'; use .jsonl, .json, .parquet, .csv or .txt")
    _check_encoding(path)
    reader = {".json": _read_json, ".parquet": _read_parquet, ".csv": _read_csv, ".txt": _read_text}.get(suffix, _read_jsonl)
    return reader(path)


def check_readable(path: Path) -> None:
    """A regular file we may open: a FIFO or device would block or never end, a folder holds no rows."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such file") from None
    except OSError as err:  # a symlink loop, a name too long, no permission on a folder on the way
        raise UnreadableFile(f"{path}: cannot read: {err.strerror or err}") from None
    except ValueError:  # a NUL byte in the name
        raise UnreadableFile(f"{path!r}: not a usable file name") from None
    if stat.S_ISDIR(mode):
        raise UnreadableFile(f"{path}: is a directory; name the data files in it")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise UnreadableFile(f"{path}: is {kind}, not a regular file; to stream data in, pipe it to '-' (standard input)")


def same_file(a: Path, b: Path) -> bool:
    """Are `a` and `b` one file, under any names (symlinks, hard links)?"""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _check_encoding(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise UnreadableFile(f"{path}: file is UTF-16 encoded; re-save it as UTF-8")


def _read_jsonl(path: Path) -> Iterator[Item]:
    return read_jsonl_range(path, 0, None)


READ_BLOCK = 4 << 20  # bytes read at a time by `iter_lines`


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def iter_lines(f: Readable, limit: int | None = None, block: int = READ_BLOCK) -> Iterator[memoryview]:
    """The lines of `f` (without their "\\n") up to `limit` bytes, as views into one reused buffer.

    A view is only good until the next one is taken: decode or copy it first. Reading large blocks and slicing
    them spares a bytes object and a copy per line (about 1.5x faster than iterating the file); a line longer
    than the buffer grows it.
    """
    buf = bytearray(block)
    view = memoryview(buf)
    have = 0  # bytes held in buf: complete lines, then the start of an incomplete one
    left = -1 if limit is None else limit
    while True:
        want = len(buf) - have if left < 0 else min(len(buf) - have, left)
        got = f.readinto(view[have:have + want]) if want else 0
        if not got:
            if have:
                yield view[:have]  # the last line has no "\\n"
            return
        left -= got if left >= 0 else 0
        have += got
        pos, find = 0, buf.find
        while (nl := find(b"\n", pos, have)) >= 0:
            yield view[pos:nl]
            pos = nl + 1
        if pos == 0 and have == len(buf):  # one line fills the buffer: a new, larger one (views may remain)
            buf = bytearray(2 * len(buf))
            buf[:have] = view[:have]
            view = memoryview(buf)
        elif pos:
            buf[:have - pos] = bytes(view[pos:have])  # the incomplete line to the front (copied: ranges overlap)
            have -= pos


def read_jsonl_range(path: Path, start: int, end: int | None, tally: Tally | None = None,
                     accept: Accept | None = None, progress: Callable[[int], None] | None = None) -> Iterator[Item]:
    """JSON Lines from byte `start` (a line start) up to `end`; lines and indexes count from this range's start."""
    with path.open("rb") as f:
        f.seek(start)
        yield from jsonl_items(f, start == 0, end - start if end is not None else None, tally, accept, progress)


@dataclass(slots=True)
class Tally:
    """Counts kept by `jsonl_items` while it reads: physical lines, and records the `accept` test took."""

    lines: int = 0
    accepted: int = 0


Accept = Callable[[dict[str, Any], memoryview, int, int], bool]  # (row, its line's bytes, index, line number) -> taken


PROGRESS_EVERY = 4096  # records between progress calls


def jsonl_items(f: Readable, at_start: bool = True, limit: int | None = None, tally: Tally | None = None,
                accept: Accept | None = None, progress: Callable[[int], None] | None = None) -> Iterator[Item]:
    """Items of JSON Lines read from `f` (up to `limit` bytes).

    Records for which `accept(row, line)` is true are only counted in `tally`, not yielded: the hot loops of
    `validate` and `convert`, with no per-row objects for plainly valid rows. `progress(records read)` is called
    every PROGRESS_EVERY records.
    """
    index = line_no = 0
    tally = tally if tally is not None else Tally()
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    for line_no, raw in enumerate(iter_lines(f, limit), start=1):
        try:
            value = loads(raw)
        except decode_error:
            text = bytes(raw).removeprefix(BOM) if line_no == 1 and at_start else bytes(raw)  # a BOM is harmless
            if not text or text.isspace():
                continue  # blank lines (and a lone BOM) are not records
            value = _loads(text)
            if isinstance(value, Problem):
                yield Item(index, line_no, value, text.decode("utf-8", "backslashreplace").rstrip("\r"))
                index += 1
                continue
            raw = memoryview(text)
        if len(raw) > MAX_NESTING and too_deep(raw, value):
            yield Item(index, line_no, Problem(None, None, "", "too_deep", TOO_DEEP),
                       bytes(raw).decode("utf-8", "backslashreplace"))
        elif accept is not None and type(value) is dict and accept(value, raw, index, line_no):
            tally.accepted += 1
        else:
            yield Item(index, line_no, value)
        index += 1
        if progress is not None and not index % PROGRESS_EVERY:
            progress(index)
    tally.lines = line_no


def line_ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """Split a file into `parts` byte ranges that each start at a line start."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as f:
        for i in range(1, parts):
            f.seek(max(size * i // parts, cuts[-1]))
            f.readline()  # move to the next line start
            cuts.append(min(f.tell(), size))
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _loads(raw: bytes) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        return Problem(None, None, "", "invalid_json", f"not valid JSON: {err}; fix or remove this line")
    return Problem(None, None, "", "too_deep", TOO_DEEP) if too_deep(raw, value) else value


ARRAY_PROBLEMS = {
    b"": "empty element: a trailing or doubled comma; remove it",
    TRAILING: "content after the closing ']' of the array; remove it",
    UNCLOSED: "the file ends inside the array (truncated?); the elements before were read",
}


def _read_json(path: Path) -> Iterator[Item]:
    """A JSON array, streamed element by element; also JSON Lines saved as .json, or a single object."""
    with path.open("rb") as f:
        try:
            for i, raw in enumerate(iter_elements(f)):
                if raw in ARRAY_PROBLEMS:
                    yield Item(i, None, Problem(None, None, "", "invalid_json", ARRAY_PROBLEMS[raw]))
                else:
                    value = _loads(raw)
                    yield Item(i, None, value, raw.decode("utf-8", "backslashreplace") if isinstance(value, Problem) else None)
            return
        except NotAnArray:
            pass
    with path.open("rb") as f:
        first = f.readline().removeprefix(BOM)
    try:
        orjson.loads(first)
        yield from _read_jsonl(path)  # JSON Lines saved as .json: common, and datasets reads it too
        return
    except orjson.JSONDecodeError:
        pass
    try:
        value = orjson.loads(path.read_bytes().removeprefix(BOM))
    except orjson.JSONDecodeError as err:
        raise UnreadableFile(f"{path}: not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise UnreadableFile(f"{path}: expected a JSON array of records, got {type(value).__name__}")
    if deeper_than_allowed(value):
        value = Problem(None, None, "", "too_deep", TOO_DEEP)
    yield Item(0, None, value)  # a single (pretty-printed) record


def _read_text(path: Path) -> Iterator[Item]:
    """Plain text: one `{"text": line}` record per non-empty line (pretraining corpora)."""
    with path.open("rb") as f:
        index = 0
        for line_no, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                yield Item(index, line_no, Problem(None, None, "", "invalid_json", f"line is not valid UTF-8: {err}"),
                           raw.decode("utf-8", "backslashreplace").rstrip("\r\n"))
                index += 1
                continue
            if text.strip():
                yield Item(index, line_no, {"text": text})
                index += 1


csv.field_size_limit(1 << 30)  # the module's default (128 KiB a cell) refuses long conversations


def _read_csv(path: Path) -> Iterator[Item]:
    """CSV rows as records; a cell holding a JSON array/object (a conversation) is decoded. A row that cannot be a
    record (not UTF-8, more cells than columns, broken quoting) is that row's problem; a header naming a column
    twice makes the file unreadable (which value would be meant?)."""
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader, [])
        except csv.Error as err:
            raise UnreadableFile(f"{path}: the CSV header cannot be read: {err}") from None
        twice = sorted(name for name, n in Counter(header).items() if n > 1)
        if twice or any(_not_utf8(h) for h in header):
            raise UnreadableFile(f"{path}: the CSV header " + (f"names {', '.join(map(repr, twice))} more than once; "
                                 "rename the columns" if twice else "is not valid UTF-8; re-save the file as UTF-8"))
        index = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                yield Item(index, reader.line_num, Problem(None, None, "", "invalid_json", f"CSV row cannot be read: "
                                                           f"{err}"), None)
                index += 1
                continue
            if not any(cells):
                continue  # a blank line
            why = ("not valid UTF-8" if any(_not_utf8(c) for c in cells) else
                   f"{len(cells)} cells but the header names {len(header)} columns" if len(cells) > len(header) else "")
            if why:
                line = ",".join(cells).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                yield Item(index, reader.line_num, Problem(None, None, "", "invalid_json", f"this CSV row has {why}"
                                                           if why[0].isdigit() else f"this CSV row is {why}"), line)
            else:
                # An empty cell means the field is absent (every row has every column).
                row = {k: _cell(v) for k, v in zip(header, cells) if v != ""}
                deep = too_deep("".join(cells), row)
                yield Item(index, reader.line_num, Problem(None, None, "", "too_deep", TOO_DEEP) if deep else row,
                           ",".join(cells) if deep else None)
            index += 1


def _not_utf8(text: str) -> bool:
    """Bytes that were not UTF-8 come back from surrogateescape decoding as lone surrogates."""
    return not text.isascii() and any("\udc80" <= ch <= "\udcff" for ch in text)


def _cell(value: str | None) -> Any:
    if value and value[0] in "[{":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _read_parquet(path: Path) -> Iterator[Item]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UnreadableFile(f"{path}: reading parquet needs pyarrow: pip install 'ftdata[arrow]'") from None
    index = 0
    try:
        # (Arrow reads schemas nested up to 100 levels, below MAX_NESTING: no Parquet row is too deep to write.)
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                # Columns are shared by all rows; null means the field is absent from this one.
                try:
                    value: Any = {k: _plain(v) for k, v in row.items() if v is not None}
                except UnicodeDecodeError as err:
                    value = Problem(None, None, "", "invalid_json", f"a binary cell is not UTF-8 text: {err}")
                yield Item(index, None, value)
                index += 1
    except (pa.ArrowException, OSError) as err:
        raise UnreadableFile(f"{path}: not a readable Parquet file ({err}); after {index} rows") from None


def _plain(value: Any) -> Any:
    """Arrow's Python values as JSON ones: binary as UTF-8 text, times as ISO text, decimals as numbers."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
