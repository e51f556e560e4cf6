"""The explicit registry of source formats: name -> Format. Order is detection priority (most specific first)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from ftdata.formats import alpaca, canonical, firefly, moss, openai, sharegpt, text, trl
from ftdata.formats.base import Converted, Format

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (moss.FORMAT, firefly.FORMAT, sharegpt.FORMAT, alpaca.FORMAT, canonical.FORMAT, openai.FORMAT,
              trl.FORMAT, text.FORMAT)
}


def get_format(name: str) -> Format:
    """The Format called `name`; KeyError lists the known names."""
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown format '{name}'; known: {', '.join(FORMATS)}") from None


def match(raw: dict[str, Any]) -> Format | None:
    """The first format (by priority) whose shape fits this record."""
    for f in FORMATS.values():
        if f.fits(raw):
            return f
    return None


def detect(records: Iterable[dict[str, Any]]) -> tuple[Format | None, Counter[str]]:
    """The format that accepts most sampled records (ties: the most first-choice votes), and the votes.

    Acceptance matters for files that legitimately hold several shapes: a canonical file's plain SFT rows look
    like openai rows, its preference rows do not, so canonical accepts them all and wins.
    """
    sample = list(records)
    votes: Counter[str] = Counter()
    first: dict[str, int] = {}
    for i, raw in enumerate(sample):
        found = match(raw)
        name = found.name if found else "unknown"
        votes[name] += 1
        first.setdefault(name, i)
    if not any(n != "unknown" for n in votes):
        return None, votes
    # most records accepted, then most first-choice votes, then the shape seen first
    best = max(FORMATS, key=lambda n: (sum(FORMATS[n].accepts(r) for r in sample), votes[n], -first.get(n, len(sample))))
    return FORMATS[best], votes


__all__ = ["FORMATS", "Converted", "Format", "detect", "get_format", "match"]
