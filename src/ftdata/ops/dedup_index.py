"""Which rows duplicate which, from per-row hashes and MinHash signatures only (never the rows themselves).

Rows are numbered in reading order across all training files. The first row of each group is kept:
- exact: rows with the same conversation hash; each later one duplicates the first (similarity 1.0);
- near (`threshold`): among the rows left, a row is removed when its estimated Jaccard similarity with an earlier
  *kept* row reaches the threshold, and it names the most similar such row. Greedy in reading order, so a removed
  row is always within the threshold of the row it names (no chains: A~B and B~C never removes C for A);
  candidates come from LSH bands (rows sharing all values of a band), and only rows that share a band with
  another row are looked at one by one; a row whose compared text has no words (emoji or punctuation only) is
  never a near duplicate nor named by one (its signature says nothing);
- an exact copy of a row that near removes names that row's kept row (and its similarity), as a near duplicate:
  no removed row names another removed row;
- contamination (`against`): a training row whose prompt (its user turns) equals, or reaches the threshold with,
  the prompt of an eval row; checked first, so such rows are reported as contamination whatever else they match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftdata.ops.minhash import band_keys, lsh_params, similarity

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

KEPT, EXACT, NEAR, CONTAMINATION = 0, 1, 2, 3
KINDS = {EXACT: "exact", NEAR: "near", CONTAMINATION: "contamination"}
MAX_COMPARED = 2000  # kept rows compared per band bucket (a pathological bucket of look-alikes stays linear)


@dataclass
class Columns:
    """Per-row values collected batch by batch. With `reserve` (an upper bound on the rows: JSON Lines files' line
    counts) each column is one array filled in place; otherwise batches are joined at the end. Joining a million
    rows' signatures from 2,000-row pieces doubles them for a moment and, as glibc keeps the freed pieces, for
    good: a 650 MB peak where the columns themselves are 300 MB."""

    parts: dict[str, list[Any]] = field(default_factory=dict)
    done: dict[str, Any] = field(default_factory=dict)
    room: int = 0
    filled: dict[str, int] = field(default_factory=dict)

    def reserve(self, rows: int) -> None:
        self.room = rows

    def add(self, name: str, values: Any) -> None:
        import numpy as np

        if self.room:
            at = self.filled.get(name, 0)
            if name not in self.done:
                self.done[name] = np.empty((self.room, *values.shape[1:]), dtype=values.dtype)
            self.done[name][at:at + len(values)] = values
            self.filled[name] = at + len(values)
        else:
            self.parts.setdefault(name, []).append(values)

    def get(self, name: str) -> Any:
        import numpy as np

        if self.room:
            return self.done[name][:self.filled[name]] if name in self.done else None
        if name not in self.done:
            parts = self.parts.pop(name, [])
            self.done[name] = np.concatenate(parts) if parts else None
        return self.done[name]


@dataclass
class Decisions:
    """Per training row: its status, the row it duplicates (a training row, or an eval row for contamination), and
    the estimated similarity."""

    status: NDArray[np.int8]
    ref: NDArray[np.int64]
    sim: NDArray[np.float32]
    capped: int = 0  # comparisons skipped in over-full buckets (see MAX_COMPARED)


def decide(train: Columns, evals: Columns | None, threshold: float | None) -> Decisions:
    """Decide every training row (see the module docstring). `train` has `key` (uint64 conversation hashes) and,
    for `threshold`, `sig` (and `words`: False for a row without words); with `evals`, both have `prompt_key` /
    `prompt_sig` (and `has_prompt`)."""
    import numpy as np

    keys = train.get("key")
    n = 0 if keys is None else len(keys)
    out = Decisions(np.zeros(n, dtype=np.int8), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.float32))
    if n == 0:
        return out
    if evals is not None and evals.get("prompt_key") is not None:
        _contamination(train, evals, threshold, out)
    _exact(keys, out)
    if threshold is not None:
        _near(train.get("sig"), threshold, out, train.get("words"))
        _unchain(out)
    return out


def _unchain(out: Decisions) -> None:
    """An exact copy of a row that near removed names that row's kept row instead (near, at its similarity)."""
    import numpy as np

    copies = np.flatnonzero(out.status == EXACT)
    of_removed = copies[out.status[out.ref[copies]] == NEAR]
    refs = out.ref[of_removed]
    out.status[of_removed], out.ref[of_removed], out.sim[of_removed] = NEAR, out.ref[refs], out.sim[refs]


def _exact(keys: NDArray[np.uint64], out: Decisions) -> None:
    import numpy as np

    open_rows = np.flatnonzero(out.status == KEPT)
    if not len(open_rows):
        return  # every row is contamination
    order = open_rows[np.argsort(keys[open_rows], kind="stable")]  # equal keys stay in reading order
    sorted_keys = keys[order]
    starts = np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
    first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    later = ~starts
    out.status[order[later]] = EXACT
    out.ref[order[later]] = first[later]
    out.sim[order[later]] = 1.0


def _near(sigs: NDArray[np.uint8], threshold: float, out: Decisions, words: NDArray[np.bool_] | None) -> None:
    import numpy as np

    bands, rows = lsh_params(threshold)
    open_rows = np.flatnonzero((out.status == KEPT) & (True if words is None else words))
    if len(open_rows) < 2:
        return  # nothing to compare
    members: list[NDArray[np.int64]] = []  # per band: (row, bucket) for rows that share the bucket with another
    buckets: list[NDArray[np.int64]] = []
    next_bucket = 0
    for band in range(bands):
        keys = band_keys(sigs, band, rows)[open_rows]  # keys of every row, then the open ones: no copy of sigs
        order = np.argsort(keys, kind="stable")
        k = keys[order]
        starts = np.concatenate(([True], k[1:] != k[:-1]))
        run = np.cumsum(starts) - 1
        sizes = np.bincount(run)
        shared = sizes[run] > 1
        members.append(open_rows[order[shared]])
        buckets.append(run[shared] + next_bucket)
        next_bucket += len(sizes)
    row_of = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    bucket_of = np.concatenate(buckets) if buckets else np.zeros(0, dtype=np.int64)
    if not len(row_of):
        return  # no two rows share a band: nothing to compare
    order = np.lexsort((bucket_of, row_of))
    row_of, bucket_of = row_of[order], bucket_of[order]
    kept: dict[int, list[int]] = {}
    bounds = np.flatnonzero(np.concatenate(([True], row_of[1:] != row_of[:-1], [True])))
    for a, b in zip(bounds[:-1], bounds[1:]):  # rows in reading order, each with its buckets
        row = int(row_of[a])
        mine = bucket_of[a:b].tolist()
        candidates: set[int] = set()
        for bucket in mine:
            seen = kept.get(bucket, [])
            if len(seen) > MAX_COMPARED:
                out.capped += len(seen) - MAX_COMPARED
                seen = seen[-MAX_COMPARED:]
            candidates.update(seen)
        if candidates:
            ordered = np.array(sorted(candidates), dtype=np.int64)
            sims = similarity(sigs[row], sigs[ordered])
            best = int(np.argmax(sims))  # the first (earliest) of the most similar
            if sims[best] >= threshold:
                out.status[row], out.ref[row], out.sim[row] = NEAR, ordered[best], sims[best]
                continue
        for bucket in mine:
            kept.setdefault(bucket, []).append(row)


def _contamination(train: Columns, evals: Columns, threshold: float | None, out: Decisions) -> None:
    import numpy as np

    has = train.get("has_prompt")
    t_keys, e_keys = train.get("prompt_key"), evals.get("prompt_key")
    e_has = evals.get("has_prompt")
    t_words, e_words = train.get("prompt_words"), evals.get("prompt_words")
    first_eval: dict[int, int] = {}
    for i in np.flatnonzero(e_has).tolist():
        first_eval.setdefault(int(e_keys[i]), i)
    for row in np.flatnonzero(has & np.isin(t_keys, e_keys[e_has])).tolist():
        out.status[row], out.ref[row], out.sim[row] = CONTAMINATION, first_eval[int(t_keys[row])], 1.0
    if threshold is None:
        return
    t_sigs, e_sigs = train.get("prompt_sig"), evals.get("prompt_sig")
    bands, rows = lsh_params(threshold)
    e_rows = np.flatnonzero(e_has & (True if e_words is None else e_words))
    open_rows = np.flatnonzero(has & (out.status == KEPT) & (True if t_words is None else t_words))
    if not len(e_rows) or not len(open_rows):
        return
    candidates: dict[int, set[int]] = {}
    for band in range(bands):
        e_band = band_keys(e_sigs, band, rows)[e_rows]
        t_band = band_keys(t_sigs, band, rows)[open_rows]
        by_key: dict[int, list[int]] = {}
        for key, e in zip(e_band.tolist(), e_rows.tolist()):
            by_key.setdefault(key, []).append(e)
        for i in np.flatnonzero(np.isin(t_band, e_band)).tolist():
            candidates.setdefault(int(open_rows[i]), set()).update(by_key[int(t_band[i])])
    for row in sorted(candidates):
        ordered = np.array(sorted(candidates[row]), dtype=np.int64)
        sims = similarity(t_sigs[row], e_sigs[ordered])
        best = int(np.argmax(sims))
        if sims[best] >= threshold:
            out.status[row], out.ref[row], out.sim[row] = CONTAMINATION, ordered[best], sims[best]
