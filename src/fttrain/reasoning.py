"""Reasoning on its way to the trained tokens: through the key the chat template reads, with a history policy.

- The key: `ftdata.core.tokens.reasoning_key` renders a probe conversation under each reasoning key and keeps the one
  the template renders (no per-model table). `--reasoning content` writes a leading <think> block into the answer
  instead (LLaMA-Factory's way, for templates that read no key); `--reasoning drop` trains without reasoning. Data
  with reasoning and a template that renders none of it stops the run (`no_rendering`).
- The history: templates such as Qwen3's and gpt-oss's render reasoning only for the turns after the last user
  message. `--reasoning-history template` trains what the template renders and counts the blocks it drops;
  `expand` makes one sample per assistant turn with reasoning, cut after that turn, with the earlier turns masked,
  so each block is rendered as the model sees it at inference and trained exactly once (`expand`).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from ftdata.core.canonical import Message, Record
from ftdata.core.tokens import ids, reasoning_key, renders_reasoning
from fttrain.spec import RunSpec
from fttrain.template import IGNORE, Encoded, TrainOn, trained_turns


def has_reasoning(record: Record) -> bool:
    return any(m.reasoning is not None for _, msgs in record.message_lists() for m in msgs)


def resolve_key(tokenizer: object, spec: RunSpec, records: list[Record]) -> tuple[str | None, str | None]:
    """(the key to render reasoning through, or None; why the data's reasoning cannot be rendered, or None)."""
    if spec.reasoning == "drop":
        return None, None
    if spec.reasoning == "content":
        key = "content" if renders_reasoning(tokenizer, "content") else None
    else:
        key = reasoning_key(tokenizer)
    if key is not None:
        return key, None
    with_reasoning = sum(map(has_reasoning, records))
    if not with_reasoning:
        return None, None
    tried = ("a leading <think> block in the answer (the template strips it)" if spec.reasoning == "content"
             else "reasoning_content, thinking, reasoning")
    return None, (f"{with_reasoning} record(s) carry reasoning, but the chat template renders none of it (tried "
                  f"{tried}): training would silently drop it. Pass --reasoning drop to train the answers without it, "
                  + ("" if spec.reasoning == "content" else "--reasoning content to write it as a <think> block in the "
                     "answer, ") + "or --chat-template with a template that renders reasoning")


def expand(messages: list[Message], train_on: TrainOn) -> list[list[Message]]:
    """One conversation per assistant turn with reasoning, cut after it; each trains its own window of turns (those
    after the previous cut), the rest masked (weight 0). The turns after the last such turn train in the whole
    conversation. Without reasoning (or with only its last turn having it): the conversation as it is."""
    trained = set(trained_turns(messages, train_on))
    cuts = [i for i in sorted(trained) if messages[i].role == "assistant" and messages[i].reasoning is not None]
    if not cuts or cuts == [len(messages) - 1]:
        return [messages]
    if cuts[-1] != len(messages) - 1 and any(i > cuts[-1] for i in trained):
        cuts.append(len(messages) - 1)
    out, start = [], 0
    for cut in cuts:
        window = [m.model_copy(update={"weight": 1 if start <= i <= cut and i in trained else 0})
                  for i, m in enumerate(messages[: cut + 1])]
        out.append(window)
        start = cut + 1
    return out


@dataclass
class Blocks:
    """Reasoning blocks of trained turns: how many, how many the template rendered and how many were trained (all
    their tokens in the loss); and their tokens."""

    turns: int = 0
    rendered: int = 0
    trained: int = 0
    tokens_rendered: int = 0
    tokens_trained: int = 0
    tokens_dropped: int = 0  # with a tokenizer: the tokens of the blocks the template did not render

    def add(self, other: Blocks) -> Blocks:
        return Blocks(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[int, int, int, int, int, int]:
        return (self.turns, self.rendered, self.trained, self.tokens_rendered, self.tokens_trained,
                self.tokens_dropped)

    @property
    def dropped(self) -> int:
        return self.turns - self.rendered


def spans(enc: Encoded, messages: list[Message], train_on: TrainOn) -> dict[int, tuple[int, int] | None]:
    """Each trained turn's reasoning, located in the render (its text, stripped, after the previous one found):
    turn index -> token range, or None where the template did not render it."""
    out: dict[int, tuple[int, int] | None] = {}
    at = 0
    starts = [a for a, _ in enc.offsets or []]
    ends = [b for _, b in enc.offsets or []]
    for i in trained_turns(messages, train_on):
        text = (messages[i].reasoning or "").strip()
        if messages[i].role != "assistant" or not text:
            continue
        found = enc.text.find(text, at) if enc.offsets is not None else -1
        if found < 0:
            out[i] = None
            continue
        at = found + len(text)
        out[i] = (bisect_left(ends, found + 1), bisect_left(starts, at))
    return out


def count_blocks(enc: Encoded, messages: list[Message], train_on: TrainOn, tokenizer: Any = None) -> Blocks:
    """The reasoning blocks of one encoded sample (see `Blocks`)."""
    found = Blocks()
    if all(m.reasoning is None for m in messages):
        return found  # the common case: nothing to look for
    for i, where in spans(enc, messages, train_on).items():
        found.turns += 1
        if where is None:
            found.tokens_dropped += len(ids(tokenizer, messages[i].reasoning or "")) if tokenizer is not None else 0
            continue
        first, stop = where
        labelled = sum(enc.labels[k] != IGNORE for k in range(first, stop))
        found.rendered += 1
        found.tokens_rendered += stop - first
        found.tokens_trained += labelled
        found.trained += labelled == stop - first
    return found


def preflight_line(blocks: Blocks, key: str | None, history: str) -> str | None:
    """What happens to the data's reasoning, for the pre-flight, --dry-run and inspect; None without reasoning."""
    if not blocks.turns:
        return None
    if key is None:
        return f"reasoning: {blocks.turns} block(s) in trained turns, none rendered or trained (--reasoning drop)"
    via = "as a <think> block in the answer" if key == "content" else f"through '{key}'"
    line = (f"reasoning: {blocks.turns} block(s) in trained turns, rendered {via}; {blocks.trained} trained "
            f"({blocks.tokens_trained} tokens)")
    if blocks.dropped and key is not None:
        line += (f"; reasoning of {blocks.dropped} of {blocks.turns} assistant turns is not rendered by this template"
                 + (" (--reasoning-history expand trains each block once)" if history == "template" else ""))
    return line
