"""How alike two texts are: whitespace normalisation and a bounded normalised edit similarity.

`edit_similarity(a, b, at_least)` is 1 - Levenshtein(a, b) / max(len(a), len(b)), computed only as far as needed
to tell whether it reaches `at_least`: the preference check runs it on every chosen/rejected pair of a file, and a
full Levenshtein table of two 2,000-character answers is 4 million cells (seconds in Python). Cheap bounds decide
almost every pair first:
- lengths: the distance is at least the length difference;
- character bigrams: one edit changes at most two bigrams on each side, so the distance is at least a quarter of
  the bigram multisets' difference (two unrelated answers differ in most bigrams and stop here);
- what is left (near-identical texts) is trimmed of its common prefix and suffix and measured with the
  bit-parallel Levenshtein algorithm (a few milliseconds for two 5,000-character texts).
"""

from __future__ import annotations

from collections import Counter


def normalise(text: str) -> str:
    """' Hello,\\n\\n  world ' -> 'Hello, world': runs of whitespace become one space, ends stripped."""
    return " ".join(text.split())


def edit_similarity(a: str, b: str, at_least: float) -> float | None:
    """The normalised edit similarity of `a` and `b` when it is at least `at_least` (0 < at_least <= 1), else None.

    edit_similarity("kitten", "sitten", 0.8) -> 0.8333; edit_similarity("kitten", "sitting", 0.8) -> None
    """
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    budget = int((1.0 - at_least) * longest + 1e-9)  # the most edits that still reach `at_least`
    if abs(len(a) - len(b)) > budget:
        return None
    if _bigram_gap(a, b) > 4 * budget:
        return None
    edits = distance(*_trim(a, b))
    if edits > budget:
        return None
    return round(1.0 - edits / longest, 4)


def _bigram_gap(a: str, b: str) -> int:
    ca, cb = Counter(zip(a, a[1:])), Counter(zip(b, b[1:]))
    return sum(((ca - cb) + (cb - ca)).values())


def _trim(a: str, b: str) -> tuple[str, str]:
    """Drop the common prefix and suffix (they cost no edits)."""
    start, short = 0, min(len(a), len(b))
    while start < short and a[start] == b[start]:
        start += 1
    end = 0
    while end < short - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start:len(a) - end], b[start:len(b) - end]


def distance(a: str, b: str) -> int:
    """Levenshtein distance, bit-parallel (Myers 1999, Hyyro's formulation): one pass over `a` with `b`'s columns
    as the bits of Python integers, so each character of `a` costs a dozen big-integer operations instead of a
    row of len(b) cells."""
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    peq: dict[str, int] = {}
    for i, ch in enumerate(b):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    full, top = (1 << m) - 1, 1 << (m - 1)
    pv, mv, score = full, 0, m
    for ch in a:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score
