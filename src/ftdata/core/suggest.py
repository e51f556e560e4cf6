"""'Did you mean': the choices a mistyped name was likely meant to be (a close spelling, its word initials, or
the names it starts)."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


def _bare(name: str) -> str:
    return name.lstrip("-").lower().replace("_", "-")


def closest(value: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` choices `value` likely meant, best first: `sharegtp` -> sharegpt (spelling), `--lr` ->
    --learning-rate (initials), `--max-err` -> --max-errors (its start)."""
    options = list(dict.fromkeys(str(c) for c in choices if str(c) not in ("--help", "-h")))
    bare = _bare(value)
    found = get_close_matches(value, options, n=n, cutoff=0.6)
    if len(bare) >= 2:
        found += [c for c in options if "".join(w[0] for w in _bare(c).split("-") if w) == bare]
        found += [c for c in options if _bare(c).startswith(bare)]
    return list(dict.fromkeys(found))[:n]


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """" (did you mean 'x'?)" to append to an error, or "" when nothing is close."""
    found = [f"'{c}'" for c in closest(value, choices)]
    if not found:
        return ""
    return f" (did you mean {found[0] if len(found) == 1 else ', '.join(found[:-1]) + ' or ' + found[-1]}?)"
