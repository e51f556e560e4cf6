"""The explicit registry of source formats, and detection from one key-set table.

Each format module holds everything about its format in one `Format` (see `ftdata.formats.base`); this module
only lists them. Adding a format: write its module, add it to `REGISTRY`, add its golden folders
(tests/data/<name>/{valid,invalid}) and a README row; `tests/test_registry.py` checks all of it.

Detection (`match`): every format declares the key sets (`shapes`) its records have. A record matches a shape
when it has all of the shape's keys (and the shape's `sniff`, if any, accepts its values). **The matching shape
with the most keys wins; between shapes with as many keys, the format listed first in `REGISTRY` wins.** So a
more specific shape beats a general one (`{conversations, chosen, rejected}` is sharegpt preference, not trl's
`{chosen, rejected}`), and no format needs to list other formats' keys.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from ftdata.formats import (
    alpaca,
    canonical,
    firefly,
    llamafactory_v1,
    moss,
    openai,
    responses,
    sharegpt,
    text,
    trl,
)
from ftdata.formats.base import Converted, Format, Raw, Shape

REGISTRY: tuple[Format, ...] = (  # one line per format; the order breaks detection ties (see above)
    moss.FORMAT,
    firefly.FORMAT,
    sharegpt.FORMAT,
    alpaca.FORMAT,
    trl.FORMAT,
    canonical.FORMAT,
    llamafactory_v1.FORMAT,  # before openai: both have `messages`; v1's sniff looks at the content blocks
    openai.FORMAT,
    responses.FORMAT,
    text.FORMAT,
)
FORMATS: dict[str, Format] = {f.name: f for f in REGISTRY}
TARGETS: list[str] = [f.name for f in REGISTRY if f.from_canonical is not None]

# The key-set table: (shape, format), most keys first, then registry order (sorted() is stable).
SHAPES: list[tuple[Shape, Format]] = sorted(((s, f) for f in REGISTRY for s in f.shapes), key=lambda p: -len(p[0].keys))


def get_format(name: str) -> Format:
    """The Format called `name`; KeyError lists the known names."""
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown format '{name}'; known: {', '.join(FORMATS)}") from None


def match(raw: Raw) -> Format | None:
    """The format whose shape fits this record best (see the module docstring), or None."""
    keys = raw.keys()
    for shape, fmt in SHAPES:
        if shape.keys <= keys and (shape.sniff is None or shape.sniff(raw)):
            return fmt
    return None


def accepts(fmt: Format, raw: Raw) -> bool:
    """May a file of format `fmt` hold this record without a `mixed_format` problem?"""
    return match(raw) is fmt or (fmt.also_accepts is not None and fmt.also_accepts(raw))


def detect(records: Iterable[dict[str, Any]]) -> tuple[Format | None, Counter[str]]:
    """The format that accepts most sampled records (ties: the most first-choice votes), and the votes.

    Acceptance matters for files that legitimately hold several shapes: a canonical file's plain SFT rows look
    like openai rows, its preference rows do not, so canonical accepts them all and wins.
    """
    sample = list(records)
    votes: Counter[str] = Counter()
    first: dict[str, int] = {}
    matched = [match(raw) for raw in sample]
    for i, found in enumerate(matched):
        name = found.name if found else "unknown"
        votes[name] += 1
        first.setdefault(name, i)
    if not any(n != "unknown" for n in votes):
        return None, votes

    def score(f: Format) -> tuple[int, int, int]:
        accepted = sum(m is f or (f.also_accepts is not None and f.also_accepts(r)) for m, r in zip(matched, sample))
        return accepted, votes[f.name], -first.get(f.name, len(sample))

    # most records accepted, then most first-choice votes, then the shape seen first
    return max(REGISTRY, key=score), votes


__all__ = ["FORMATS", "REGISTRY", "TARGETS", "Converted", "Format", "accepts", "detect", "get_format", "match"]
