"""The explicit registry of source formats, and detection from one key-set table.

Each format module holds everything about its format in one `Format` (see `ftdata.formats.base`); this module
only lists them. Adding a format: write its module, add its name to `MODULES`, add its golden folders
(tests/data/<name>/{valid,invalid}), then `ftdata schema export schemas` and `python scripts/update_readme.py`;
`tests/test_registry.py` checks all of it (tests/test_toy_format.py does it for a toy format).

Detection (`match`): every format declares the key sets (`shapes`) its records have. A record matches a shape
when it has all of the shape's keys (and the shape's `sniff`, if any, accepts its values). **The matching shape
with the most keys wins; between shapes with as many keys, the format listed first in `REGISTRY` wins.** So a
more specific shape beats a general one (`{conversations, chosen, rejected}` is sharegpt preference, not trl's
`{chosen, rejected}`), and no format needs to list other formats' keys.
"""

from __future__ import annotations

from collections import Counter
from importlib import import_module
from typing import Any, Iterable, cast

from ftdata.core.suggest import did_you_mean
from ftdata.formats import declare
from ftdata.formats.base import Converted, Format, Raw, Shape

MODULES = (  # one line per format (its module in this folder); the order breaks detection ties (see above)
    "moss",
    "firefly",
    "sharegpt",
    "alpaca",
    "trl",
    "canonical",
    "llamafactory_v1",  # before openai: both have `messages`; v1's sniff looks at the content blocks
    "openai",
    "responses",
    "text",
)
REGISTRY: tuple[Format, ...] = tuple(cast(Format, import_module(f"ftdata.formats.{m}").FORMAT) for m in MODULES)
FORMATS: dict[str, Format] = {f.name: f for f in REGISTRY}
TARGETS: list[str] = [f.name for f in REGISTRY if f.from_canonical is not None]

# The key-set table: (shape, format), most keys first, then registry order (sorted() is stable).
SHAPES: list[tuple[Shape, Format]] = sorted(((s, f) for f in REGISTRY for s in f.shapes), key=lambda p: -len(p[0].keys))


def get_format(name: str) -> Format:
    """The Format called `name`; KeyError lists the known names."""
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown format '{name}'{did_you_mean(name, FORMATS)}; known: {', '.join(FORMATS)}") from None


def llamafactory_reader(formatting: str, columns: Iterable[str]) -> Format | None:
    """The format that reads a dataset_info.json entry of this `formatting` naming these columns: of the formats
    LLaMA-Factory reads with it, those whose required columns the entry names and which know all its columns, the
    one with most required columns (an alpaca entry naming only `prompt` is pretraining text); else the first of
    that formatting (whose column check then names what does not apply); None for an unknown formatting."""
    given = set(columns)
    same = [f for f in REGISTRY if f.llamafactory is not None and f.llamafactory.formatting == formatting]
    fits = [f for f in same if f.llamafactory is not None
            and f.llamafactory.required <= given <= f.llamafactory.columns.keys()]
    if fits:
        return max(fits, key=lambda f: len(f.llamafactory.required) if f.llamafactory is not None else 0)
    return same[0] if same else None


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


def formats_markdown() -> str:
    """The docs' Formats table (docs/formats.md), from each Format's `shape_doc` and `variants`."""
    rows = ["| format | shape | variants |", "|---|---|---|"]
    rows += [f"| {f.name} | {f.shape_doc} | {f.variants} |" for f in REGISTRY]
    return "\n".join(rows) + "\n"


def matrix_markdown() -> str:
    """The docs' format x feature matrix (docs/commands/convert.md), from each convert target's `carries`."""
    return declare.matrix_markdown({name: FORMATS[name].carries for name in TARGETS})


__all__ = ["FORMATS", "REGISTRY", "TARGETS", "Converted", "Format", "accepts", "detect", "get_format",
           "formats_markdown", "llamafactory_reader", "match", "matrix_markdown"]
