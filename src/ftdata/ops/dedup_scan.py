"""dedup's first pass: per valid row of the inputs its place, kind, key and (with a near threshold or an eval set)
MinHash signatures, in numpy columns (`ftdata.ops.dedup_index.Columns`); no row is kept in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, get_args

from ftdata.core.canonical import Kind, Record
from ftdata.core.textkeys import prompt_key, prompt_text
from ftdata.engine.lanes import check_items, open_items
from ftdata.formats.light import LightRecord
from ftdata.io.media import Media
from ftdata.io.readers import JSONL_SUFFIXES
from ftdata.ops.dedup_text import Text, lines

KINDS_OF: tuple[Kind, ...] = get_args(Kind)
BATCH = 2000  # rows signed at a time (numpy arrays of a batch's characters stay a few MB)
BATCH_CHARS = 1 << 22  # ... or fewer, when their compared texts reach this many characters
MediaOf = Callable[[Path], Media]  # a file's media folder and policy


@dataclass
class Batch:
    """The rows of pass 1 not yet added to the columns: per row its place, key, kind and texts, not the row (a
    batch of huge rows holds only their texts)."""

    cols: Any
    sigs: bool
    prompts: bool
    prompt_sigs: bool
    where: list[tuple[int, int, int]] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    chars: int = 0

    def add(self, place: tuple[int, int, int], record: Record | LightRecord, text: Text) -> None:
        self.where.append(place)
        self.keys.append(text.key(record))
        self.kinds.append(KINDS_OF.index(record.kind))
        if self.sigs:
            self.texts.append(text.near(record))
            self.chars += len(self.texts[-1])
        if self.prompts:
            self.asked.append(prompt_text(record))
            self.chars += len(self.asked[-1])
        if len(self.keys) >= BATCH or self.chars >= BATCH_CHARS:
            self.flush()

    def flush(self) -> None:
        """The batch's columns (and signatures) into `cols`; the batch is empty again."""
        import numpy as np

        from ftdata.ops.minhash import sign

        if not self.keys:
            return
        cols, where, asked = self.cols, self.where, self.asked
        cols.add("file", np.array([w[0] for w in where], dtype=np.int32))
        cols.add("index", np.array([w[1] for w in where], dtype=np.int64))
        cols.add("line", np.array([w[2] for w in where], dtype=np.int64))
        cols.add("key", np.array(self.keys, dtype=np.uint64))
        cols.add("kind", np.array(self.kinds, dtype=np.uint8))
        if self.sigs:
            signed, words = sign(self.texts)
            cols.add("sig", signed)
            cols.add("words", words)
        if self.prompts:
            cols.add("prompt_key", np.fromiter((prompt_key(t) for t in asked), dtype=np.uint64, count=len(asked)))
            cols.add("has_prompt", np.array([bool(t) for t in asked], dtype=bool))
            if self.prompt_sigs:
                signed, words = sign(asked)
                cols.add("prompt_sig", signed)
                cols.add("prompt_words", words)
        for pending in (where, self.keys, self.kinds, self.texts, asked):
            pending.clear()
        self.chars = 0


def scan(paths: list[Path], source: str | None, cols: Any, media_of: MediaOf, text: Text, sigs: bool,
         prompts: bool, prompt_sigs: bool) -> None:
    """Pass 1: per valid row its place and keys (and signatures) into `cols`, in batches (of BATCH rows, or fewer
    whose texts reach BATCH_CHARS: a few huge rows are signed a few at a time)."""
    batch = Batch(cols, sigs, prompts, prompt_sigs)
    if paths and all(p.suffix.lower() in JSONL_SUFFIXES for p in paths):
        cols.reserve(sum(lines(p) for p in paths))  # at most one row a line: the columns are filled in place
    for number, path in enumerate(paths):
        fmt, _, items = open_items(path, source)
        light, plain = fmt.light, fmt.fast
        for item in check_items(items, fmt, media_of(path), records=False):
            record: Record | LightRecord | None = item.record
            if item.accepted:  # valid by the fast lane: plain rows as light records (no pydantic object)
                if light is not None and plain is not None and plain(item.raw):
                    record = light(item.raw)
                else:
                    record = fmt.to_canonical(item.raw).record
            if item.valid and record is not None:
                batch.add((number, item.index, -1 if item.line is None else item.line), record, text)
    batch.flush()


class Places:
    """Where each valid row of pass 1 is: (input number, row index, line or None), from numpy columns; and its
    record's kind (`kind(row)`)."""

    def __init__(self, cols: Any) -> None:
        self.file, self.index, self.line = cols.get("file"), cols.get("index"), cols.get("line")
        self.kinds = cols.get("kind")

    def kind(self, row: int) -> Kind:
        return KINDS_OF[int(self.kinds[row])]

    def __getitem__(self, row: int) -> tuple[int, int, int | None]:
        line = int(self.line[row])
        return int(self.file[row]), int(self.index[row]), None if line < 0 else line
