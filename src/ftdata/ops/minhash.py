"""MinHash signatures of texts, and the LSH banding over them (the `dedup` extra: numpy + rensa).

Shingles are word 3-grams. Words are runs of letters and digits, lowercased; each CJK ideograph, kana or hangul
syllable is a word of its own, so Chinese or Japanese text without spaces shingles as character 3-grams (a
whitespace split would make a whole sentence one token, and one changed character would hide the duplicate).

Everything per character runs in numpy over a batch at once: the batch's texts joined, split into words by a
code-point class table, each word hashed by a polynomial hash from prefix sums (uint64 arithmetic wraps, which is
the modulus), words combined into 3-gram hashes; rensa's R-MinHash turns the flat shingle hashes into signatures
(`bench/dedup.py` measured it against datasketch: see docs/commands/dedup.md). Only the low 8 bits of each of the 128 values
are kept ("b-bit MinHash"): 128 bytes a row, and two values that differ still agree by chance with probability
1/256, which `similarity` corrects for.

Memory is bounded whatever the rows: a text longer than PIECE characters is signed in pieces (cut at whitespace)
and its signature is the element-wise minimum of theirs (MinHash of a union; only the few 3-grams across a cut are
lost), and one call of rensa sees at most CALL characters, so a batch with two 50 MB rows costs what a batch of
small ones does (the per-character arrays are about 100 bytes a character).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

NUM_PERM = 128
SEED = 1
CHANCE = 1 / 256  # two different 8-bit values agree by chance
PIECE = 1 << 20  # characters of a long text signed at a time
CALL = 1 << 21  # characters signed in one call (pieces of several texts together)
_P = 0x100000001B3  # FNV prime: odd, so invertible modulo 2^64
_P_INV = pow(_P, -1, 1 << 64)
_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
# code points that are a word of their own (CJK ideographs, kana, hangul) and ranges that are not word characters
_SINGLE = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xAC00, 0xD7AF), (0x20000, 0x2FFFF))
_PUNCT = ((0x80, 0xBF), (0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE30, 0xFE4F), (0xFF00, 0xFF0F), (0xFF1A, 0xFF20),
          (0xFF3B, 0xFF40), (0xFF5B, 0xFF65), (0x1F000, 0x1FAFF))


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser: spreads the bits of the polynomial hashes."""
    import numpy as np

    h = (h + np.uint64(_MIX[0])) ^ (h >> np.uint64(30))
    h = h * np.uint64(_MIX[1])
    h = (h ^ (h >> np.uint64(27))) * np.uint64(_MIX[2])
    return h ^ (h >> np.uint64(31))


_ASCII_WORD = [48 <= c <= 57 or 97 <= c <= 122 for c in range(128)]  # after lower(): digits and letters
_cache: dict[str, NDArray[np.uint64]] = {}


def _powers(n: int) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """P^0..P^(n-1) and their inverses modulo 2^64 (cached: batches need the same prefix of them)."""
    import numpy as np

    if len(_cache.get("powers", ())) < n:
        step = np.full(max(n, 1 << 20), _P, dtype=np.uint64)
        step[0] = 1
        _cache["powers"] = np.cumprod(step, dtype=np.uint64)
        step[1:] = _P_INV
        _cache["inverse"] = np.cumprod(step, dtype=np.uint64)
    return _cache["powers"], _cache["inverse"]


def _classes(cps: NDArray[np.uint64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per code point: a word character? a word of its own (CJK)? Non-ASCII ranges are looked up only for the
    non-ASCII characters (none, in most English text)."""
    import numpy as np

    table = np.array(_ASCII_WORD + [True], dtype=bool)
    word = table[np.minimum(cps, 128)]
    single = np.zeros(len(cps), dtype=bool)
    wide = np.flatnonzero(cps >= 0x80)
    if len(wide):
        c = cps[wide]
        w = np.ones(len(c), dtype=bool)
        for low, high in _PUNCT:
            w &= ~((c >= low) & (c <= high))
        one = np.zeros(len(c), dtype=bool)
        for low, high in _SINGLE:
            one |= (c >= low) & (c <= high)
        word[wide] = w
        single[wide] = one
    return word, single


def shingle_hashes(texts: list[str]) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """The word-3-gram hashes of each text, flat, and the row offsets (len(texts) + 1) rensa takes. A text with
    fewer than three words has its words (or, with none, one hash of nothing) as shingles."""
    values, offsets, _ = _shingles(texts)
    return values, offsets


def _shingles(texts: list[str]) -> tuple[NDArray[np.uint64], NDArray[np.uint64], NDArray[np.int64]]:
    """`shingle_hashes` and the number of words of each text."""
    import numpy as np

    u64 = np.uint64
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    doc_starts = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(lengths)))
    # one string for the batch; "\n" (not a word character) keeps words from running across texts
    cps = np.frombuffer(("\n".join(texts) + "\n").lower().encode("utf-32-le"), dtype=np.uint32).astype(u64)
    word, single = _classes(cps)
    no = np.zeros(1, dtype=bool)
    split_before = ~np.concatenate((no, word[:-1])) | single | np.concatenate((no, single[:-1]))
    split_after = ~np.concatenate((word[1:], no)) | single | np.concatenate((single[1:], no))
    begins = np.flatnonzero(word & split_before)
    ends = np.flatnonzero(word & split_after) + 1
    # polynomial hash of each word from prefix sums: sum(c_j * P^j) over the word, divided by P^begin
    powers, inverse = _powers(len(cps) + 1)
    prefix = np.concatenate((np.zeros(1, dtype=u64), np.cumsum(cps * powers[:len(cps)], dtype=u64)))
    words = _mix((prefix[ends] - prefix[begins]) * inverse[begins] + (ends - begins).astype(u64))
    doc = np.searchsorted(doc_starts, begins, side="right") - 1  # the text each word is in
    counts = np.bincount(doc, minlength=len(texts))
    first = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)))[:-1]
    pos = np.arange(len(words)) - first[doc]  # a word's position in its text
    i = np.flatnonzero(pos < (counts - 2)[doc])  # the words that start a 3-gram
    tri = _mix(words[i] * u64(_MIX[0]) + _mix(words[i + 1]) * u64(_MIX[1]) + _mix(words[i + 2]))
    few = (counts < 3)[doc]  # a text of one or two words: the words themselves
    empty = np.flatnonzero(counts == 0)
    doc_of = np.concatenate((doc[i], doc[few], empty))
    values = np.concatenate((tri, words[few], np.zeros(len(empty), dtype=u64)))
    order = np.argsort(doc_of, kind="stable")
    per_doc = np.bincount(doc_of, minlength=len(texts))
    offsets = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(per_doc))).astype(u64)
    return values[order], offsets, counts


def signatures(texts: list[str]) -> NDArray[np.uint8]:
    """One 128-byte signature per text (the low 8 bits of each R-MinHash value)."""
    return sign(texts)[0]


def sign(texts: list[str]) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """One 128-byte signature per text, and whether the text has a word at all: a text without words (emoji or
    punctuation only) has no shingles, so its signature says nothing and it must not count as anyone's duplicate."""
    import numpy as np

    pieces, owner = _pieces(texts)
    full = np.full((len(texts), NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
    words = np.zeros(len(texts), dtype=np.int64)
    start = 0
    while start < len(pieces):
        end, size = start, 0
        while end < len(pieces) and (end == start or size + len(pieces[end]) <= CALL):
            size += len(pieces[end])
            end += 1
        digests, counts = _digests(pieces[start:end])
        who = owner[start:end]
        np.add.at(words, who, counts)
        worded = counts > 0
        np.minimum.at(full, who[worded], digests[worded])  # a piece without words adds nothing to the union
        start = end
    has = words > 0
    return (full & 0xFF).astype(np.uint8), has


def _digests(pieces: list[str]) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """rensa's 32-bit R-MinHash values of each piece, and its word count."""
    import numpy as np
    import rensa

    values, offsets, counts = _shingles(pieces)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(values, offsets, NUM_PERM, SEED)
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(pieces), NUM_PERM), counts


def _pieces(texts: list[str]) -> tuple[list[str], NDArray[np.int64]]:
    """Texts cut into pieces of at most about PIECE characters (at a space or newline when there is one), and the
    text each piece belongs to."""
    import numpy as np

    pieces: list[str] = []
    owner: list[int] = []
    for n, text in enumerate(texts):
        at = 0
        while len(text) - at > PIECE:
            cut = max(text.rfind(" ", at, at + PIECE), text.rfind("\n", at, at + PIECE))
            cut = cut if cut > at else at + PIECE
            pieces.append(text[at:cut])
            owner.append(n)
            at = cut
        pieces.append(text[at:])
        owner.append(n)
    return pieces, np.array(owner, dtype=np.int64)


def similarity(one: NDArray[np.uint8], many: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Estimated Jaccard similarity of one signature with each of `many` (corrected for 8-bit chance matches)."""
    import numpy as np

    agree = (many == one).mean(axis=-1, dtype=np.float64)
    out: NDArray[np.float64] = np.clip((agree - CHANCE) / (1 - CHANCE), 0.0, 1.0)
    return out


def lsh_params(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows per band) minimising the missed share above `threshold` plus the candidate share below it
    (the integrals datasketch uses), with at least 4 rows a band: 8-bit values collide by chance 1 in 256, so a
    band of r values matches unrelated rows with probability 256^-r."""
    best: tuple[float, int, int] = (float("inf"), 0, 0)
    steps = 200
    for rows in range(4, num_perm + 1):
        for bands in range(1, num_perm // rows + 1):
            def candidate(s: float) -> float:
                return float(1 - (1 - s ** rows) ** bands)

            below = sum(candidate(threshold * (k + 0.5) / steps) for k in range(steps)) * threshold / steps
            above = sum(1 - candidate(threshold + (1 - threshold) * (k + 0.5) / steps)
                        for k in range(steps)) * (1 - threshold) / steps
            best = min(best, (below + above, bands, rows))
    return best[1], best[2]


def band_keys(sigs: NDArray[np.uint8], band: int, rows: int) -> NDArray[np.uint64]:
    """One 64-bit key per signature for band `band` (its `rows` values)."""
    import numpy as np

    key = np.zeros(len(sigs), dtype=np.uint64)
    for col in range(band * rows, (band + 1) * rows):
        key = key * np.uint64(_P) + sigs[:, col].astype(np.uint64)
    return _mix(key)

