"""How deep a record may nest: the one limit readers apply so that writers never meet a deeper row.

orjson reads 1,024 levels but writes 254, and ftdata wraps rows a few levels deeper (rejects, meta): a row nested
past MAX_NESTING is that row's `too_deep` problem when it is read, never a crash ("Recursion limit reached") when
it is written. No training format nests past a dozen levels.
"""

from __future__ import annotations

from typing import Any

import threading

import orjson

MAX_NESTING = 128  # levels of objects and arrays a record may have
TOO_DEEP = f"the record nests objects / arrays more than {MAX_NESTING} levels deep; no training format does"


def too_deep(raw: bytes | memoryview | str, value: Any) -> bool:
    """Does `value` (decoded from `raw`) nest more than MAX_NESTING levels? Only a text with that many opening
    brackets can, so a plain row costs two byte counts."""
    if len(raw) <= MAX_NESTING:
        return False
    text = raw if isinstance(raw, (bytes, str)) else bytes(raw)
    opening = text.count("[") + text.count("{") if isinstance(text, str) else text.count(b"[") + text.count(b"{")
    return opening > MAX_NESTING and deeper_than_allowed(value)


def tools_too_deep(row: dict[str, Any]) -> bool:
    """The depth guard for a row whose shape a lane fixed but in its `tools` objects (the only room left there): those
    nest at most MAX_NESTING levels with the row around them. Only the tools are written out to tell (a tool-call row
    holds far more than 128 brackets in all: counting the line's would send most such rows to the whole-row test)."""
    tools = row.get("tools")
    return type(tools) in (list, dict) and deeper_than_allowed(tools, MAX_NESTING - 1)


def deeper_than_allowed(value: Any, levels: int = MAX_NESTING) -> bool:
    """Does `value` nest more than `levels` levels? Asked of orjson's writer itself (C speed, and the very limit
    that would fail later): `value` put inside enough lists to reach its 254 levels at exactly `levels` (lists made
    once per thread: building them each time cost more than the writing)."""
    chains: dict[int, tuple[list[Any], list[Any]]] = _CHAINS.__dict__.setdefault("by_levels", {})
    chain = chains.get(levels)
    if chain is None:
        inner: list[Any] = [None]
        outer = inner
        for _ in range(254 - levels - 1):
            outer = [outer]
        chain = chains[levels] = (outer, inner)
    outer, inner = chain
    inner[0] = value
    try:
        orjson.dumps(outer)
    except orjson.JSONEncodeError as err:
        return "Recursion" in str(err)
    finally:
        inner[0] = None  # the value is not kept alive here
    return False


_CHAINS = threading.local()


class NestedTooDeep(orjson.JSONDecodeError):
    """A JSON text inside a record (tools, a call, its arguments, meta) that decodes past MAX_NESTING: handled where
    invalid JSON text is (the lanes refuse it), and named `too_deep` where a problem is written."""


def loads_nested(text: str | bytes) -> Any:
    """orjson.loads of a JSON text held inside a record; NestedTooDeep when it nests past MAX_NESTING (the reader's
    guard counts the brackets of the line, not what a string in it decodes to)."""
    value = orjson.loads(text)
    if too_deep(text, value):
        raise NestedTooDeep(f"nests objects / arrays more than {MAX_NESTING} levels deep", str(text)[:40], 0)
    return value
