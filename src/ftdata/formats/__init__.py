"""The explicit registry of source formats: name -> Format. Order is detection priority (most specific first)."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

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


def match(keys: frozenset[str]) -> Format | None:
    """The first format (by priority) whose key-set signature fits a record with these keys."""
    for f in FORMATS.values():
        if f.detect(keys):
            return f
    return None


def detect(key_sets: Iterable[frozenset[str]]) -> tuple[Format | None, Counter[str]]:
    """The format most sampled records fit, and how many fit each (to report mixed files)."""
    votes: Counter[str] = Counter()
    for keys in key_sets:
        found = match(keys)
        votes[found.name if found else "unknown"] += 1
    known = [(n, c) for n, c in votes.most_common() if n != "unknown"]
    return (FORMATS[known[0][0]] if known else None), votes


__all__ = ["FORMATS", "Converted", "Format", "detect", "get_format", "match"]
