"""Shared pieces of the writers (canonical -> a format): options, and how unrepresentable parts are reported.

A writer never flattens or drops a feature its target lacks: it returns an `unrepresentable` problem (the row
goes to the rejects file), or, where the user chose a policy (`--reasoning`), a warning that counts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import orjson

from ftdata.core.canonical import (
    MEDIA_KINDS,
    Message,
    Record,
    ToolCall,
    id_text,
    json_text,
)
from ftdata.core.problems import Problem, has_errors, problem
from ftdata.core.reasoning import join_think
from ftdata.core.rules import Origins

ReasoningPolicy = Literal["think", "drop", "reject"]


@dataclass
class Writing:
    """One record being written: its origins (for source paths in problems), the policy, and what was found."""

    record: Record
    origins: Origins = field(default_factory=Origins)
    reasoning: ReasoningPolicy = "think"
    problems: list[Problem] = field(default_factory=list)

    def where(self, list_name: str, index: int) -> str:
        return self.origins.get(list_name, index).content_path

    def refuse(self, path: str, why: str) -> None:
        self.problems.append(problem(path, "unrepresentable", why))

    def ok(self) -> bool:
        return not has_errors(self.problems)

    def media_files_only(self, target: str) -> None:
        """Refuse media given as data URLs: LLaMA-Factory's loaders open each item of `images` / `videos` /
        `audios` as a file path (`Image.open(str)`), so such a row would fail at training time."""
        for kind in MEDIA_KINDS:
            for i, ref in enumerate(getattr(self.record, kind) or []):
                if ref.startswith("data:"):
                    self.refuse(self.origins.media_paths.get(f"{kind}[{i}]", f"{kind}[{i}]"),
                                f"{target} names media by file path (LLaMA-Factory opens each as a file); this one "
                                "is a data URL: save its bytes to a file and name that, or convert to openai")

    def text_with_reasoning(self, m: Message, list_name: str, index: int, target: str,
                            content: str | None = None) -> str:
        """Content (or `content` in its place), with reasoning as LLaMA-Factory's leading `<think>...</think>` block
        (`join_think`; the readers split it off again), or dropped / refused by policy."""
        text = m.content if content is None else content
        if m.reasoning is None:
            return text
        path = self.where(list_name, index)
        if self.reasoning == "drop":
            self.problems.append(problem(path, "reasoning_dropped", "reasoning dropped (--reasoning drop)"))
            return text
        if self.reasoning == "reject":
            self.refuse(path, f"{target} has no reasoning field; pass --reasoning think to embed it as <think>...</think>")
            return text
        self.problems.append(problem(path, "reasoning_embedded", "reasoning written as <think>...</think> before the content"))
        return join_think(m.reasoning, text)

    def default_weights_only(self, target: str) -> None:
        """Targets without per-message weights train assistant turns and mask the rest; refuse anything else."""
        if getattr(self.record, "plain_turns", False):
            return  # a light record whose lane proved it (`LightRecord.plain_turns`)
        for name, msgs in self.record.message_lists():
            for i, m in enumerate(msgs):
                default = 1 if m.role == "assistant" else 0
                if m.weight is not None and m.weight != default:
                    self.refuse(self.where(name, i), f"{target} cannot express weight {m.weight} on a {m.role} message")

    def alternating(self, target: str) -> None:
        """Targets that alternate strictly (LLaMA-Factory's) cannot hold two user messages in a row."""
        if getattr(self.record, "plain_turns", False):
            return  # a light record whose lane proved it (`LightRecord.plain_turns`)
        for name, msgs in self.record.message_lists():
            for i in range(1, len(msgs)):
                if msgs[i].role == msgs[i - 1].role == "user":
                    self.refuse(self.where(name, i), f"{target} alternates user and assistant turns; two user messages "
                                                     "in a row cannot be written (join them into one)")

    def no_names(self, target: str) -> None:
        if getattr(self.record, "plain_turns", False):
            return  # a light record whose lane proved it (`LightRecord.plain_turns`)
        for name, msgs in self.record.message_lists():
            for i, m in enumerate(msgs):
                if m.name is not None:
                    self.refuse(self.where(name, i), f"{target} has no per-message 'name' (got {m.name!r})")


def call_json(calls: list[ToolCall]) -> str:
    """Tool calls as LLaMA-Factory's function_call value: one `{name, arguments}` object, or a list of them."""
    items: list[dict[str, Any]] = [{"name": c.name, "arguments": c.arguments} for c in calls]
    return orjson.dumps(items[0] if len(items) == 1 else items).decode()


class IdMeta(Protocol):
    """What `with_meta` reads: a full `Record` or a light one."""

    @property
    def id(self) -> Any: ...

    @property
    def meta(self) -> dict[str, Any] | None: ...


def with_meta(out: dict[str, Any], record: IdMeta) -> dict[str, Any]:
    """Add `id` (as a string) and `meta` (the source's other fields, as JSON text); readers unwrap `meta` again, so
    source fields round-trip.

    Nested rather than spread: a source field such as Firefly's `prompt_id` must not make the row look like
    another format. Text rather than an object: its keys differ from row to row, which Arrow cannot hold.
    """
    if record.id is not None:
        out["id"] = id_text(record.id)
    if record.meta:
        out["meta"] = json_text(record.meta)
    return out


def media(out: dict[str, Any], record: Record) -> dict[str, Any]:
    for kind in MEDIA_KINDS:
        if getattr(record, kind):
            out[kind] = list(getattr(record, kind))
    return out
