"""Read any data file ftdata takes: JSON Lines (`ftdata.io.readers`), a JSON array (streamed, element by element),
.txt (a text record per line), CSV and Parquet; every record an `Item`, a bad one a located `Problem`, never an
exception for bad data."""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Generator, Iterator, cast

import orjson

from ftdata.core.depth import TOO_DEEP, deeper_than_allowed, too_deep
from ftdata.core.problems import Problem
from ftdata.io.jsonarray import NotAnArray, array_items

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
JSON_OUTPUT_SUFFIXES = JSONL_SUFFIXES | {".json"}  # what convert writes (JSON Lines, or one JSON array)
STDIN = "-"  # the path that means standard input (JSON Lines) or, for an output, standard output
SUFFIXES = JSONL_SUFFIXES | {".json", ".parquet", ".csv", ".txt"}
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark: harmless, dropped
from ftdata.io.readers import (
    BOM,
    STDIN,
    SUFFIXES,
    Item,
    Readable,
    UnreadableFile,
    check_readable,
    jsonl_items,
    read_jsonl_range,
)


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
    if suffix == ".json":
        return JsonItems(path)
    reader = {".parquet": _read_parquet, ".csv": _read_csv, ".txt": _read_text}.get(suffix, _read_jsonl)
    return reader(path)


def _check_encoding(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise UnreadableFile(f"{path}: file is UTF-16 encoded; re-save it as UTF-8")


def _read_jsonl(path: Path) -> Iterator[Item]:
    return read_jsonl_range(path, 0, None)


class JsonItems(Iterator[Item]):
    """A .json file's items; `file_problems`: what is wrong with the file but is no record (a comma after the last
    element of an array), complete once the items are read."""

    def __init__(self, path: Path) -> None:
        self.file_problems: list[Problem] = []
        self._items = _read_json(path, self.file_problems)

    def __next__(self) -> Item:
        return next(self._items)

    def close(self) -> None:
        self._items.close()


def file_problems(items: object) -> list[Problem]:
    """The problems of the file `items` came from that are no record (see `JsonItems`); through an `Ahead` too."""
    return list(getattr(getattr(items, "rest", items), "file_problems", ()))


class Chained(Iterator[Item]):
    """The items of several files in turn (a descriptor entry's folder), indexed across them, at most `limit`; lines
    and columns are each file's own. `file_problems`: each file's (see `JsonItems`), led by the file's name."""

    def __init__(self, files: list[Path], limit: int | None = None) -> None:
        self.file_problems: list[Problem] = []
        self._items = self._chain(files, limit)

    def __next__(self) -> Item:
        return next(self._items)

    def _chain(self, files: list[Path], limit: int | None) -> Iterator[Item]:
        index = 0
        for f in files:
            items = read_records(f)
            for item in items:
                if limit is not None and index >= limit:
                    return
                yield Item(index, item.line, item.value, item.text, item.column)
                index += 1
            self.file_problems += [replace(p, message=f"{f.name}: {p.message}") for p in file_problems(items)]


def _read_json(path: Path, file_level: list[Problem]) -> Generator[Item, None, None]:
    """A JSON array, streamed element by element (each located at its first line and column); also JSON Lines saved
    as .json, or a single object. A comma after the last element goes to `file_level`: it is no record."""
    with path.open("rb") as f:
        try:
            yield from array_items(f, file_level)
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
