"""Canonical JSON -> a row of a format, for tests that need rows of every fast-laned format: the format's own
writer where it has one (a convert target), else a small encoder here (MOSS and Firefly are read-only formats).
None when the format cannot hold the record."""

from typing import Any, Callable

from ftdata.core.canonical import Record
from ftdata.formats import Format
from ftdata.formats.moss import MARKERS
from ftdata.formats.write import Writing


def _pairs(messages: list[dict]) -> tuple[str | None, list[tuple[str, str]]] | None:
    """[system?, user, assistant, ...] -> (system, [(user, assistant), ...]); None when it is not that shape."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
    rest = messages[1:] if system is not None else messages
    if len(rest) % 2 or any(m["role"] != ("user", "assistant")[i % 2] or set(m) != {"role", "content"}
                            for i, m in enumerate(rest)):
        return None
    return system, [(rest[i]["content"], rest[i + 1]["content"]) for i in range(0, len(rest), 2)]


def firefly(record: dict) -> dict | None:
    shape = _pairs(record["messages"]) if set(record) == {"messages"} else None
    if shape is None:
        return None
    system, pairs = shape
    row: dict[str, Any] = {"conversation": [{"human": q, "assistant": a} for q, a in pairs]}
    if system is not None:
        row["system"] = system
    return row


def _mark(field: str, text: str) -> str:
    opening, closing = MARKERS[field]
    return f"{opening} {text}{closing}\n"


def moss(record: dict) -> dict | None:
    shape = _pairs(record["messages"]) if set(record) == {"messages"} else None
    if shape is None or shape[0] is None:
        return None
    system, pairs = shape
    chat = {f"turn_{i}": {"Human": _mark("Human", q), "Inner Thoughts": _mark("Inner Thoughts", "None"),
                          "Commands": _mark("Commands", "None"), "Tool Responses": _mark("Tool Responses", "None"),
                          "MOSS": _mark("MOSS", a)} for i, (q, a) in enumerate(pairs, start=1)}
    return {"conversation_id": 1, "meta_instruction": system, "num_turns": len(chat), "chat": chat}


ENCODERS: dict[str, Callable[[dict], dict | None]] = {"firefly": firefly, "moss": moss}


def encode(fmt: Format, record: dict) -> dict | None:
    if fmt.from_canonical is not None:
        w = Writing(Record.model_validate(record))
        row = fmt.write(w)
        return row if w.ok() else None
    return ENCODERS[fmt.name](record)
