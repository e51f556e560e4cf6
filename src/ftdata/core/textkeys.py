"""What `dedup` compares: a canonical record's normalised conversation, as a hash (exact duplicates) and as text
(near duplicates), and its prompt (contamination checks).

The same conversation is one conversation whatever format it came in (sharegpt, openai, alpaca, ...): keys are
computed on the canonical record. Normalisation, for the exact key:
- kept: the kind, every message's role, content, reasoning and tool calls (name + arguments, keys sorted), the
  KTO label, `tools`, and the media paths;
- whitespace: runs of whitespace in content and reasoning count as one space, leading and trailing whitespace
  not at all;
- ignored: `id`, `meta` (source fields such as a MOSS conversation_id or a category), message weights, tool call
  ids and message names (bookkeeping, not what a model is trained on).
The near-duplicate text is the contents (with reasoning and tool calls) of every message, joined; case and
punctuation are dropped later, when it is cut into words (`ftdata.ops.minhash`).
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import orjson

from ftdata.core.similarity import normalise


class Conversation(Protocol):
    """A canonical `Record`, or the fast lane's light record of a plain conversation (no pydantic object built:
    dedup reads a million rows)."""

    @property
    def kind(self) -> str: ...

    @property
    def text(self) -> str | None: ...

    @property
    def label(self) -> bool | None: ...


def _lists(record: Any) -> list[tuple[str, list[Any]]]:
    return [(k, v) for k in ("messages", "chosen", "rejected", "completion") if (v := getattr(record, k)) is not None]


def _digest(value: object) -> int:
    """A 64-bit key of a JSON-able value (blake2b: stable across runs and machines, unlike hash())."""
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _message(m: Any) -> list[object]:
    return [m.role, normalise(m.content), normalise(m.reasoning or ""),
            [[c.name, c.arguments] for c in m.tool_calls or ()]]


def conversation_key(record: Conversation) -> int:
    """The exact-duplicate key of a record (see the module docstring for what it ignores)."""
    if record.kind == "text":
        return _digest(["text", normalise(record.text or "")])
    lists = [[name, [_message(m) for m in msgs]] for name, msgs in _lists(record)]
    media = [getattr(record, k) for k in ("tools", "images", "videos", "audios")]
    return _digest([record.kind, lists, record.label, *media])


def _text(m: Any) -> str:
    calls = " ".join(f"{c.name} {orjson.dumps(c.arguments, option=orjson.OPT_SORT_KEYS).decode()}"
                     for c in m.tool_calls or ())
    return "\n".join(part for part in (m.reasoning, m.content, calls) if part)


def conversation_text(record: Conversation) -> str:
    """Every message's text, joined: what near duplicates are measured on."""
    if record.kind == "text":
        return record.text or ""
    return "\n".join(_text(m) for _, msgs in _lists(record) for m in msgs)


def prompt_text(record: Conversation) -> str:
    """The user turns (a pretraining record: its text), whitespace normalised: what contamination is measured on,
    so that an eval question found in training data counts whatever answer each side gives."""
    if record.kind == "text":
        return normalise(record.text or "")
    return normalise("\n".join(m.content for _, msgs in _lists(record) for m in msgs if m.role == "user"))


def prompt_key(text: str) -> int:
    return _digest(["prompt", text])
