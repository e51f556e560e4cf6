"""Streaming readers: each yields `Item(index, line, value)` where value is the decoded record or a Problem.

A line that fails to parse is yielded as a Problem and reading goes on: one bad line never hides the rest.
A file that cannot be read at all raises `UnreadableFile` with a one-line reason.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from ftdata.problems import Problem

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = JSONL_SUFFIXES | {".json", ".parquet", ".csv", ".txt"}


class UnreadableFile(Exception):
    """The file as a whole cannot be read (missing, unsupported, wrong encoding); exit code 2."""


@dataclass(slots=True)
class Item:
    index: int
    line: int | None
    value: Any  # the decoded record (any JSON value) or a Problem


def read_records(path: str | Path) -> Iterator[Item]:
    """Yield the records of a .jsonl / .json / .parquet / .csv / .txt file, in order."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFile(f"{path}: no such file")
    if path.is_dir():
        raise UnreadableFile(f"{path}: is a directory; name the data files in it")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableFile(f"{path}: unsupported file type '{suffix}'; use .jsonl, .json, .parquet, .csv or .txt")
    _check_encoding(path)
    reader = {".json": _read_json, ".parquet": _read_parquet, ".csv": _read_csv, ".txt": _read_text}.get(suffix, _read_jsonl)
    return reader(path)


def _check_encoding(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise UnreadableFile(f"{path}: file is UTF-16 encoded; re-save it as UTF-8")


def _read_jsonl(path: Path) -> Iterator[Item]:
    index = 0
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 BOM is harmless: accept it
            if not raw.strip():
                continue
            yield Item(index, line_no, _loads(raw))
            index += 1


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        return Problem(None, None, "", "invalid_json", f"not valid JSON: {err}; fix or remove this line")


def _read_json(path: Path) -> Iterator[Item]:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        first = data.lstrip()[:1]
        if first == b"{" and b"\n" in data.strip():
            yield from _read_jsonl(path)  # JSON Lines saved as .json: common, and datasets reads it too
            return
        raise UnreadableFile(f"{path}: not valid JSON ({err})") from None
    if isinstance(value, dict):
        value = [value]  # a single record
    if not isinstance(value, list):
        raise UnreadableFile(f"{path}: expected a JSON array of records, got {type(value).__name__}")
    for i, rec in enumerate(value):
        yield Item(i, None, rec)


def _read_text(path: Path) -> Iterator[Item]:
    """Plain text: one `{"text": line}` record per non-empty line (pretraining corpora)."""
    with path.open("rb") as f:
        index = 0
        for line_no, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                yield Item(index, line_no, Problem(None, None, "", "invalid_json", f"line is not valid UTF-8: {err}"))
                index += 1
                continue
            if text.strip():
                yield Item(index, line_no, {"text": text})
                index += 1


def _read_csv(path: Path) -> Iterator[Item]:
    """CSV rows as records; a cell holding a JSON array/object (a conversation) is decoded."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        for index, row in enumerate(reader):
            # Every row has every column; an empty cell means the field is absent.
            yield Item(index, reader.line_num, {k: _cell(v) for k, v in row.items() if v not in ("", None)})


def _cell(value: str | None) -> Any:
    if value and value[0] in "[{":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _read_parquet(path: Path) -> Iterator[Item]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UnreadableFile(f"{path}: reading parquet needs pyarrow: pip install 'ftdata[arrow]'") from None
    index = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            # Columns are shared by all rows; null means the field is absent from this one.
            yield Item(index, None, {k: v for k, v in row.items() if v is not None})
            index += 1
