"""What dedup compares for each row (`compare`, `ftdata.core.textkeys.COMPARE`): its exact key and its near text,
without the lines that a large share of the rows carry verbatim, found first in a sample of at most SAMPLE rows
spread over the inputs (`shared_of`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ftdata.core.canonical import Record
from ftdata.core.textkeys import (
    compared_key,
    compared_parts,
    compared_text,
    shared_lines,
)
from ftdata.formats import FORMATS
from ftdata.formats.light import LightRecord
from ftdata.io.files import read_records
from ftdata.io.readers import JSONL_SUFFIXES

SAMPLE = 10000  # rows read to find the lines most rows share


@dataclass(frozen=True)
class Text:
    """What pass 1 keys and signs for each row: `compare`, without the `shared` lines (hashes)."""

    compare: str
    shared: frozenset[int]

    def key(self, record: Record | LightRecord) -> int:
        return compared_key(record, self.compare)

    def near(self, record: Record | LightRecord) -> str:
        return compared_text(compared_parts(record, self.compare), self.shared)


def shared_of(inputs: list[Path], formats: dict[str, str], compare: str) -> frozenset[int]:
    """The lines a large share of the rows carry (`shared_lines`), from at most SAMPLE rows: all of them when the
    inputs are that small, else lines at evenly spaced byte offsets of JSON Lines files (so a prompt used only in
    the second half of a file is still seen) and the first rows of other files."""
    sizes = [max(p.stat().st_size, 1) for p in inputs]
    rows: list[list[str]] = []
    for path, size in zip(inputs, sizes):
        fmt = FORMATS[formats[str(path)]]
        share = max(1, SAMPLE * size // sum(sizes))
        for raw in _sample_raw(path, share):
            record = fmt.to_canonical(raw).record if isinstance(raw, dict) else None
            if record is not None:
                rows.append(compared_parts(record, compare))
    return shared_lines(rows)


def _sample_raw(path: Path, count: int) -> Iterator[Any]:
    """About `count` decoded rows of a file: spread over a JSON Lines file, the first ones of another."""
    import orjson

    if path.suffix.lower() not in JSONL_SUFFIXES or lines(path) <= count:
        for n, item in enumerate(read_records(path)):
            if n >= count:
                break
            yield item.value
        return
    size = path.stat().st_size
    with open(path, "rb") as f:
        for k in range(count):
            f.seek(size * k // count)
            if k:
                f.readline()  # the rest of the line the offset fell in
            try:
                yield orjson.loads(f.readline())
            except orjson.JSONDecodeError:
                continue


def lines(path: Path) -> int:
    """Lines in a file (a last line without a newline counts): ~0.3 s for 600 MB."""
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")
