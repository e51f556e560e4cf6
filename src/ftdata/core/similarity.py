"""How alike two texts are: whitespace normalisation and a bounded normalised edit similarity.

`edit_similarity(a, b, at_least)` is 1 - Levenshtein(a, b) / max(len(a), len(b)), computed only as far as needed
to tell whether it reaches `at_least`: the preference check runs it on every chosen/rejected pair of a file.
The distance is rapidfuzz's (C++, bit-parallel, stopping at the cutoff): about a microsecond for two unrelated
2,000-character answers, where a pure-Python bit-parallel loop with bigram bounds took about a hundred.
"""

from __future__ import annotations

PIECE = 1 << 20  # a longer text is normalised a piece at a time
# bytes of UTF-8 text that are not an ASCII non-whitespace character: ASCII whitespace and every byte of the others
NOT_ASCII_WORD = bytes(c for c in range(128) if chr(c).isspace()) + bytes(range(128, 256))


def normalise(text: str) -> str:
    """' Hello,\\n\\n  world ' -> 'Hello, world': runs of whitespace become one space, ends stripped."""
    if len(text) <= PIECE:
        return " ".join(text.split())
    # a piece at a time: split() holds a string per word, about 10 times the text (600 MB for a 50 MB row)
    out: list[str] = []
    space = False  # whitespace since the last word written
    for at in range(0, len(text), PIECE):
        piece = text[at:at + PIECE]
        body = " ".join(piece.split())
        if body:
            if out and (space or piece[0].isspace()):
                out.append(" ")
            out.append(body)
            space = piece[-1].isspace()
        else:
            space = space or bool(piece)
    return "".join(out)


def edit_similarity(a: str, b: str, at_least: float) -> float | None:
    """The normalised edit similarity of `a` and `b` when it is at least `at_least` (0 < at_least <= 1), else None.

    edit_similarity("kitten", "sitten", 0.8) -> 0.8333; edit_similarity("kitten", "sitting", 0.8) -> None
    """
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    budget = int((1.0 - at_least) * longest + 1e-9)  # the most edits that still reach `at_least`
    if abs(len(a) - len(b)) > budget:
        return None  # at least that many insertions: rapidfuzz (and its import) not needed
    from rapidfuzz.distance import (
        Levenshtein,  # here: start-up pays for it only where preference rows are
    )

    edits = Levenshtein.distance(a, b, score_cutoff=budget)  # budget + 1 once it is over
    if edits > budget:
        return None
    return round(1.0 - edits / longest, 4)


def normalised_apart(a: str, b: str, at_least: float) -> bool:
    """Is `edit_similarity(normalise(a), normalise(b), at_least)` certainly None, told without normalising?

    Cheap (no word list): normalising leaves every ASCII non-whitespace character in place, and each edit changes
    their count by at most one, so the edit distance is at least the difference of the two counts; the texts are at
    most as long as before normalising. False means "not known" (normalise and measure)."""
    apart = abs(len(a.encode().translate(None, NOT_ASCII_WORD)) - len(b.encode().translate(None, NOT_ASCII_WORD)))
    return apart > int((1.0 - at_least) * max(len(a), len(b)) + 1e-9)


def distance(a: str, b: str) -> int:
    """Levenshtein distance (unit costs)."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(a, b))
