"""Streaming readers: each yields `Item(index, line, value)` where value is the decoded record or a Problem.

A line that fails to parse is yielded as a Problem and reading goes on: one bad line never hides the rest.
A file that cannot be read at all raises `UnreadableFile` with a one-line reason.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import orjson

from ftdata.core.depth import MAX_NESTING, TOO_DEEP, too_deep
from ftdata.core.problems import Problem

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
    column: int | None = None  # where it starts on `line` (JSON array elements)


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
                     accept: Accept | None = None, progress: Callable[[int], None] | None = None,
                     shallow: bool = False) -> Iterator[Item]:
    """JSON Lines from byte `start` (a line start) up to `end`; lines and indexes count from this range's start."""
    with path.open("rb") as f:
        f.seek(start)
        yield from jsonl_items(f, start == 0, end - start if end is not None else None, tally, accept, progress,
                               shallow)


@dataclass(slots=True)
class Tally:
    """Counts kept by `jsonl_items` while it reads: physical lines, and records the `accept` test took."""

    lines: int = 0
    accepted: int = 0


Accept = Callable[[dict[str, Any], memoryview, int, int], bool]  # (row, its line's bytes, index, line number) -> taken


PROGRESS_EVERY = 4096  # records between progress calls


def jsonl_items(f: Readable, at_start: bool = True, limit: int | None = None, tally: Tally | None = None,
                accept: Accept | None = None, progress: Callable[[int], None] | None = None,
                shallow: bool = False) -> Iterator[Item]:
    """Items of JSON Lines read from `f` (up to `limit` bytes).

    Records for which `accept(row, line)` is true are only counted in `tally`, not yielded: the hot loops of
    `validate` and `convert`, with no per-row objects for plainly valid rows. `progress(records read)` is called
    every PROGRESS_EVERY records. `shallow`: `accept` takes only rows of a fixed shallow shape (a plain fast lane),
    so the rows it takes need no depth check (two byte counts of every line, about one `loads` on long rows).
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
            value = decode(text)
            if isinstance(value, Problem):
                yield Item(index, line_no, value, text.decode("utf-8", "backslashreplace").rstrip("\r"))
                index += 1
                continue
            raw = memoryview(text)
        if shallow and accept is not None and type(value) is dict and accept(value, raw, index, line_no):
            tally.accepted += 1
        elif len(raw) > MAX_NESTING and too_deep(raw, value):
            yield Item(index, line_no, Problem(None, None, "", "too_deep", TOO_DEEP),
                       bytes(raw).decode("utf-8", "backslashreplace"))
        elif not shallow and accept is not None and type(value) is dict and accept(value, raw, index, line_no):
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


def decode(raw: bytes) -> Any:
    """One line's bytes -> its JSON value, or the located-later Problem (not JSON, nested too deep)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        return Problem(None, None, "", "invalid_json", _not_json(raw, err))
    return Problem(None, None, "", "too_deep", TOO_DEEP) if too_deep(raw, value) else value


def _not_json(raw: bytes, err: orjson.JSONDecodeError) -> str:
    """orjson's error in words; a byte that is not UTF-8 is named at its column (orjson says 'surrogates' at 1)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        column = len(raw[: bad.start].decode("utf-8", errors="replace")) + 1
        return (f"not valid UTF-8: byte 0x{raw[bad.start]:02x} at column {column}; save the file as UTF-8 "
                "(or fix or remove this line)")
    return f"not valid JSON: {err}; fix or remove this line"


