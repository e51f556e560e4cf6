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
The near-duplicate text is chosen by `compare` (`COMPARE`): the contents (with reasoning and tool calls) of every
message and the tools, of the user turns, or of the assistant turns; case and punctuation are dropped later, when it
is cut into words (`ftdata.ops.minhash`). Lines that a large share of the rows carry verbatim (a system prompt,
tool schemas, a boilerplate turn: `shared_lines`) are left out of it, except with `all`: they say nothing about
how two rows differ, and a 1 kB prompt shared by every row makes any two short conversations look alike.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any, Iterable, Protocol

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


COMPARE = {
    "conversation": "every message and the tools, lines most rows share left out (the default)",
    "prompt": "the user turns, shared lines left out: one row per question, whatever the answers",
    "answer": "the assistant turns (chosen, rejected, completion), shared lines left out: the same answer to "
              "different questions (templated replies, refusals)",
    "all": "every message and the tools, shared lines included (what dedup compared before --compare)",
}
SHARE = 0.05  # a line in at least this share of the rows (and in MIN_ROWS) is shared: not compared
MIN_ROWS = 3
MAX_LINES = 2000  # lines of a row counted when looking for shared lines (a huge row costs no more)


def compared_parts(record: Conversation, compare: str) -> list[str]:
    """The texts `compare` looks at, in order (a pretraining record: its text, whatever `compare`)."""
    if record.kind == "text":
        return [record.text or ""]
    if compare == "prompt":
        return [m.content for _, msgs in _lists(record) for m in msgs if m.role == "user"]
    if compare == "answer":
        return [_text(m) for _, msgs in _lists(record) for m in msgs if m.role == "assistant"]
    tools = [orjson.dumps(t, option=orjson.OPT_SORT_KEYS).decode() for t in getattr(record, "tools", None) or ()]
    return tools + [_text(m) for _, msgs in _lists(record) for m in msgs]


def shared_lines(rows: Iterable[list[str]]) -> frozenset[int]:
    """Hashes of the lines (outer whitespace stripped) that at least SHARE of `rows` (and MIN_ROWS) carry."""
    counts: Counter[int] = Counter()
    n = 0
    for parts in rows:
        n += 1
        seen = {hash(line.strip()) for part in parts for line in part.split("\n", MAX_LINES)[:MAX_LINES]}
        seen.discard(hash(""))
        counts.update(seen)
    need = max(MIN_ROWS, SHARE * n)
    return frozenset(h for h, c in counts.items() if c >= need)


def compared_text(parts: list[str], shared: frozenset[int]) -> str:
    """`parts` joined, without the `shared` lines; a row made only of shared lines is compared whole."""
    whole = "\n".join(parts)
    if not shared:
        return whole
    rest = "\n".join(line for line in whole.split("\n") if hash(line.strip()) not in shared)
    return rest if rest.strip() else whole


def compared_key(record: Conversation, compare: str) -> int:
    """The exact-duplicate key for `compare`: the conversation's key, or the whole prompt's or answer's (shared
    lines count: an exact copy is exact); a row with no such text falls back to its conversation's key."""
    if compare in ("prompt", "answer") and record.kind != "text":
        text = normalise("\n".join(compared_parts(record, compare)))
        if text:
            return _digest([compare, text])
    return conversation_key(record)


def prompt_text(record: Conversation) -> str:
    """The user turns (a pretraining record: its text), whitespace normalised: what contamination is measured on,
    so that an eval question found in training data counts whatever answer each side gives."""
    if record.kind == "text":
        return normalise(record.text or "")
    return normalise("\n".join(m.content for _, msgs in _lists(record) for m in msgs if m.role == "user"))


def prompt_key(text: str) -> int:
    return _digest(["prompt", text])
