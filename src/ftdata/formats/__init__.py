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
    """The format most sampled records fit, and how many fit each (to report mixed files)."""
    votes: Counter[str] = Counter()
    for raw in records:
        found = match(raw)
        votes[found.name if found else "unknown"] += 1
    known = [(n, c) for n, c in votes.most_common() if n != "unknown"]
    return (FORMATS[known[0][0]] if known else None), votes


__all__ = ["FORMATS", "Converted", "Format", "detect", "get_format", "match"]
