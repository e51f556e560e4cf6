"""Length policies: how a sample over --max-length is made to fit (or dropped), decided here, before the trainer.

Every sample reaches trl already within --max-length, so trl's own length handling (DPO/KTO drop a row whose
prompt fills max_length and cut the end of the others, EOS included, without a word) never fires, and each cut is
counted where the user sees it.

- `split`: LLaMA-Factory's budget (`infer_seqlen`): an answer shorter than half the budget keeps all of it, else it
  gets what the prompt leaves or a proportional share; the prompt takes the rest. Unlike LLaMA-Factory a cut prompt
  keeps its end, so the answer still follows its own turn header.
- `truncate`: keep the first max_length tokens (trl's `keep_start`): a prompt that fills the budget leaves nothing
  to train on.
- `keep_end`: keep the last max_length tokens (trl's `keep_end`): the start of the prompt goes first.
- `drop`: leave the sample out.
"""

from __future__ import annotations

from typing import Literal

Policy = Literal["split", "truncate", "keep_end", "drop"]
IGNORE = -100


def infer_seqlen(source: int, target: int, cutoff: int) -> tuple[int, int]:
    """LLaMA-Factory's budget split: (prompt tokens, answer tokens) kept of `source` + `target` within `cutoff`.

    (100, 1000, 512) -> (100, 412); (1000, 100, 512) -> (412, 100); (1000, 1000, 512) -> (256, 256)
    """
    if target * 2 < cutoff:
        cap = target
    elif source * 2 < cutoff:
        cap = cutoff - source
    else:
        cap = int(cutoff * target / (source + target))
    kept_target = min(cap, target)
    return min(max(cutoff - kept_target, 0), source), kept_target


def fit_pair(prompt: list[int], answers: list[list[int]], max_length: int,
             policy: Policy) -> tuple[list[int], list[list[int]]] | None:
    """One prompt and its answers (DPO: chosen and rejected; KTO: the completion) cut so that prompt + each answer
    fits in max_length; None when the policy drops the sample. Answers may come back empty (nothing to train on)."""
    longest = max(map(len, answers))
    if len(prompt) + longest <= max_length:
        return prompt, answers
    if policy == "drop":
        return None
    if policy == "truncate":  # keep the start: the prompt first, then what is left of each answer
        kept = prompt[:max_length]
        room = max_length - len(kept)
        return kept, [a[:room] for a in answers]
    if policy == "keep_end":  # keep the end: each answer's end, then the end of the prompt that still fits
        room = max(max_length - longest, min(1, len(prompt), max_length - 1))  # a prompt token where there is room
        return (prompt[len(prompt) - room:] if room else []), [a[max(len(a) - (max_length - room), 0):] for a in answers]
    source, target = infer_seqlen(len(prompt), longest, max_length)
    return (prompt[len(prompt) - source:] if source else []), [a[:target] for a in answers]


def fit_labelled(labels: list[int], max_length: int, policy: Policy) -> list[int] | None:
    """The positions an SFT sample (its labels: -100 where the loss is masked) keeps within max_length, ascending;
    None when the policy drops it.

    `split` takes the turns in order as LLaMA-Factory's multi-turn encoder does: each (prompt run, trained run)
    pair gets `infer_seqlen` of the budget still left, and turns after the budget is spent are left out.
    """
    n = len(labels)
    if n <= max_length:
        return list(range(n))
    if policy == "drop":
        return None
    if policy == "truncate":
        return list(range(max_length))
    if policy == "keep_end":
        return list(range(n - max_length, n))
    kept: list[int] = []
    for (i, j), (_, k) in _turns(labels):
        left = max_length - len(kept)
        if left <= 0:
            break
        s, t = infer_seqlen(j - i, k - j, left)
        kept += range(j - s, j)  # the end of the prompt run: the answer keeps its turn header
        kept += range(j, j + t)
    return kept


def _turns(labels: list[int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The sample as (untrained run, trained run) pairs of [start, stop) positions, in order; either may be empty."""
    pairs = []
    i, n = 0, len(labels)
    while i < n:
        j = i
        while j < n and labels[j] == IGNORE:
            j += 1
        k = j
        while k < n and labels[k] != IGNORE:
            k += 1
        pairs.append(((i, j), (j, k)))
        i = k
    return pairs
