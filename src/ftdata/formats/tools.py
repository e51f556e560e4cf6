"""Tool calls and tool schemas as the formats read them: a `{name, arguments}` call (or its JSON text; arguments
encoded twice are decoded, with a warning), `tools` as schema objects or JSON text; and the fast lanes' tests of
the same, which accept exactly what the parsers take without a problem."""

from __future__ import annotations

from typing import Any

import orjson

from ftdata.core.canonical import ToolCall
from ftdata.core.depth import TOO_DEEP, NestedTooDeep, loads_nested
from ftdata.core.problems import Problem, problem
from ftdata.formats.light import LightCall


def parse_tool_call(value: Any, path: str) -> tuple[ToolCall | None, list[Problem]]:
    """A `{name, arguments}` object (or its JSON string) -> ToolCall; arguments encoded twice are decoded."""
    if isinstance(value, str):
        try:
            value = loads_nested(value)
        except NestedTooDeep:
            return None, [problem(path, "too_deep", f"the function call's JSON text: {TOO_DEEP}")]
        except orjson.JSONDecodeError:
            return None, [problem(path, "tool_call_invalid", "function call is not valid JSON; write {\"name\": ..., \"arguments\": {...}}")]
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        return None, [problem(path, "tool_call_invalid", "function call needs a non-empty string 'name'")]
    args = value.get("arguments", {})
    found: list[Problem] = []
    for _ in range(2):  # published files sometimes encode arguments twice
        if not isinstance(args, str):
            break
        try:
            args = loads_nested(args) if args.strip() else {}
        except NestedTooDeep:
            return None, [problem(path, "too_deep", f"'arguments' as JSON text: {TOO_DEEP}")]
        except orjson.JSONDecodeError:
            return None, [problem(path, "tool_call_invalid", "'arguments' is a string that is not valid JSON")]
        if isinstance(args, str):
            found.append(problem(path, "double_encoded", "'arguments' is JSON encoded twice; decode it once"))
    if not isinstance(args, dict):
        return None, [problem(path, "tool_call_invalid", "'arguments' must be a JSON object")]
    call_id = value.get("id")
    return ToolCall(name=value["name"], arguments=args, id=call_id if isinstance(call_id, str) else None), found


def light_call(value: dict[str, Any]) -> LightCall:
    """A call `function_ok` takes, as `parse_tool_call` reads it (arguments decoded once), without pydantic."""
    args = value.get("arguments", {})
    if type(args) is str:
        args = orjson.loads(args) if args.strip() else {}
    call_id = value.get("id")
    return LightCall(value["name"], args, call_id if isinstance(call_id, str) else None)


def function_ok(name: Any, args: Any) -> bool:
    """The fast lanes' test of a call: what `parse_tool_call` takes without a problem or a warning (a non-empty name;
    arguments an object, or JSON text of one encoded once)."""
    if type(name) is not str or not name:
        return False
    if type(args) is str:
        try:
            args = loads_nested(args) if args.strip() else {}
        except orjson.JSONDecodeError:  # NestedTooDeep too
            return False
    return type(args) is dict


def tools_ok(tools: Any) -> bool:
    """The fast lanes' test of `tools`: what `parse_tools` takes without a problem (schema objects, or JSON text
    holding a list of them or one)."""
    return read_tools(tools)[0]


# JSON text of tools read lately -> its schemas: a dataset repeats a few tool sets row after row, so their text is
# decoded once (and `type_drift` sees one object, walked once). The lists are shared: the lanes and writers only
# read and write them out, never change them.
KNOWN_TOOLS: dict[str, list[dict[str, Any]]] = {}
KNOWN_MAX, KNOWN_TEXT_MAX = 64, 1 << 14  # entries, and the longest text kept: at most 1 MB of text held


def read_tools(value: Any) -> tuple[bool, list[dict[str, Any]] | None]:
    """`tools_ok` and what `parse_tools` makes of the value, in one decoding: (True, its tools) or (False, None)."""
    tools = value
    if type(tools) is str and (known := KNOWN_TOOLS.get(tools)) is not None:
        return True, known
    if type(tools) is str:
        try:
            tools = loads_nested(tools) if tools else []
        except orjson.JSONDecodeError:  # NestedTooDeep too
            return False, None
        tools = [tools] if type(tools) is dict else tools
    if type(tools) is not list or not all(type(t) is dict for t in tools):
        return False, None
    if type(value) is str and value and len(value) <= KNOWN_TEXT_MAX:
        if len(KNOWN_TOOLS) >= KNOWN_MAX:
            KNOWN_TOOLS.clear()
        KNOWN_TOOLS[value] = tools
    return True, (None if value is None or value == "" else tools)


def parse_tools(value: Any, path: str) -> tuple[list[dict[str, Any]] | None, list[Problem]]:
    """`tools` as a list of function schemas, or a JSON string holding one (LLaMA-Factory's shape)."""
    if value is None or value == "":
        return None, []
    if isinstance(value, str):
        try:
            value = loads_nested(value)
        except NestedTooDeep:
            return None, [problem(path, "too_deep", f"'tools' as JSON text: {TOO_DEEP}")]
        except orjson.JSONDecodeError:
            return None, [problem(path, "invalid_value", "'tools' is a string that is not valid JSON")]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        return None, [problem(path, "wrong_type", "'tools' must be a list of function schemas (JSON objects)")]
    return value, []
