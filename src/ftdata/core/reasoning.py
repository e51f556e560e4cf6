"""Reasoning as text: the `<think>...</think>` block some conventions put before an answer, read and written in one
place (see FORMATS.md "Reasoning conventions").

The canonical record keeps reasoning apart, per assistant turn (`Message.reasoning`). A leading block is split off
when a row is read, and written back where the target's convention is the block (LLaMA-Factory's sharegpt / alpaca):

    "<think>\\nplan\\n</think>\\n\\nanswer"  <->  reasoning "plan", content "answer"

The newlines next to the tags belong to the tags (LLaMA-Factory and Qwen3 write them), so `split_think(join_think(r,
c)) == (r, c)` for every text without tags. An empty block (`<think>\\n\\n</think>`: a non-thinking turn of Qwen3)
is no reasoning.
"""

from __future__ import annotations

from typing import NamedTuple

OPEN, CLOSE = "<think>", "</think>"
KEYS = ("reasoning_content", "thinking", "reasoning")  # message keys that hold reasoning, by convention


class Split(NamedTuple):
    """A content read: its reasoning (None: none), the answer, and whether an empty block stood there."""

    reasoning: str | None
    content: str
    empty: bool


def join_think(reasoning: str, content: str) -> str:
    """('plan', 'answer') -> '<think>\\nplan\\n</think>\\n\\nanswer' (LLaMA-Factory's layout)."""
    return f"{OPEN}\n{reasoning}\n{CLOSE}\n\n{content}"


def split_think(content: str) -> Split:
    """A leading, closed `<think>` block split off; anything else (no block, an unclosed one) is left as it is, for
    `tag_problem` to name."""
    if not content.startswith(OPEN):
        return Split(None, content, False)
    end = content.find(CLOSE)
    if end < 0:
        return Split(None, content, False)
    inner, rest = content[len(OPEN):end], content[end + len(CLOSE):]
    inner = inner[1:] if inner.startswith("\n") else inner
    inner = inner[:-1] if inner.endswith("\n") else inner
    rest = rest[2:] if rest.startswith("\n\n") else rest[1:] if rest.startswith("\n") else rest
    if not inner.strip():
        return Split(None, rest, True)
    return Split(inner, rest, False)


def has_tags(text: str) -> bool:
    """Does the text hold a `<think>` or `</think>` tag? (cheap: most texts hold no 'think>' at all)"""
    return "think>" in text and (OPEN in text or CLOSE in text)


def tag_problem(content: str, reasoning: str | None) -> str | None:
    """What is wrong with the think tags left in an assistant turn after its leading block was split off, or None."""
    if reasoning is not None and has_tags(reasoning):
        return "the reasoning holds a <think> or </think> tag; write the reasoning without tags"
    if not has_tags(content):
        return None
    if content.startswith(OPEN) and CLOSE not in content:
        return "an unclosed <think> block (no </think>): a cut-off generation? close it or drop the row"
    if CLOSE in content and OPEN not in content:
        return "a </think> without its <think>: put <think> at the start of the content"
    return "a second <think> block, or think tags inside the answer: one leading <think>...</think> per turn"


def same_text(reasoning: str, content: str) -> bool:
    """Reasoning that only repeats the answer (whitespace aside)."""
    return " ".join(reasoning.split()) == " ".join(content.split())
