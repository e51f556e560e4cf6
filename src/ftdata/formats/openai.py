"""openai: chat fine-tuning rows `{"messages": [...], "tools"?}` and the preference shape
`{"input": {"messages"}, "preferred_output": [...], "non_preferred_output": [...]}`.

Also read: `messages` + `label` (LLaMA-Factory's KTO demo) and `messages` + `images` (its multimodal demos).
Content may be a string or a list of parts in OpenAI's or transformers' convention (`ftdata.formats.blocks`): a
media part becomes a placeholder + an item of the record's media list of its kind.
"""

from __future__ import annotations

from collections.abc import Hashable
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, Literal

import orjson

from ftdata.core.canonical import Kind, Message, Role, tool_calls_json
from ftdata.core.depth import loads_nested
from ftdata.core.problems import Problem, problem
from ftdata.core.reasoning import has_tags, same_text
from ftdata.core.rules import OPEN, Origin, Origins
from ftdata.formats.base import (
    ClosedPart,
    Converted,
    Format,
    Msg,
    Raw,
    Row,
    build_record,
    parse_row,
    pick_reasoning,
    shapes,
    text_message,
    top_level_shape,
    unknown_role,
)
from ftdata.formats.blocks import MediaLists, Part, read_parts, written_parts
from ftdata.formats.declare import (
    KEPT,
    LlamaFactory,
    kept,
    standard_entry,
)
from ftdata.formats.light import (
    PLAIN_MESSAGE,
    LightCall,
    LightMessage,
    LightRecord,
    RichMessage,
    RichRecord,
    distinct_answers,
    id_as_written,
    is_ident,
    is_text,
    no_tags,
)
from ftdata.formats.tools import (
    parse_tool_call,
    parse_tools,
    tools_ok,
)
from ftdata.formats.write import Writing, media, with_meta

ROLES: dict[str, Role] = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool",
                          "function": "tool"}  # "function": the legacy functions API's result message
PREFERENCE_KEYS = ("input", "preferred_output", "non_preferred_output")


class Function(ClosedPart):
    name: str
    arguments: str | dict[str, Any] = "{}"


class OAToolCall(ClosedPart):
    id: str | None = None
    type: Literal["function"] = "function"
    function: Function


class OAMessage(ClosedPart):
    role: str
    content: str | list[Part] | None = None
    tool_calls: list[OAToolCall] | None = None
    function_call: Function | None = None  # the legacy functions API: one call, no id
    tool_call_id: str | None = None
    name: str | None = None
    weight: Literal[0, 1] | None = None
    reasoning_content: str | None = None  # trl / HF chat templates (Qwen3, DeepSeek-R1), vLLM
    thinking: str | None = None  # the gpt-oss template (Harmony) and the sets made for it
    reasoning: str | None = None  # vLLM's newer name, OpenRouter


class OpenAIRow(Row):
    messages: list[OAMessage]
    tools: list[dict[str, Any]] | str | None = None
    functions: list[dict[str, Any]] | None = None  # the legacy functions API's tool schemas
    parallel_tool_calls: bool | None = None
    label: bool | None = None
    id: str | int | None = None
    images: list[str] | None = None
    videos: list[str] | None = None
    audios: list[str] | None = None


class PreferenceInput(ClosedPart):
    messages: list[OAMessage]
    tools: list[dict[str, Any]] | None = None
    parallel_tool_calls: bool | None = None


class OpenAIPreferenceRow(Row):
    input: PreferenceInput
    preferred_output: list[OAMessage]
    non_preferred_output: list[OAMessage]
    id: str | int | None = None


def convert_messages(
    items: list[OAMessage], path: str, list_name: str, origins: Origins, media: MediaLists
) -> tuple[list[Msg], list[Problem]]:
    """OpenAI messages -> canonical Messages; media parts are appended to `media[kind]` in order."""
    out: list[Msg] = []
    problems: list[Problem] = []
    for i, m in enumerate(items):
        where = f"{path}[{i}]"
        role = ROLES.get(m.role)
        if role is None:
            problems.append(unknown_role(f"{where}.role", m.role, ROLES))
            continue
        calls = []
        made = [(f"{where}.tool_calls[{j}].function", tc.function, tc.id) for j, tc in enumerate(m.tool_calls or [])]
        if m.function_call is not None:
            made.append((f"{where}.function_call", m.function_call, None))
        for call_path, function, call_id in made:
            call, found = parse_tool_call({"name": function.name, "arguments": function.arguments, "id": call_id},
                                          call_path)
            problems += found
            if call:
                calls.append(call)
        if made and role != "assistant":
            problems.append(problem(f"{where}.tool_calls", "invalid_value",
                                    f"only assistant messages may carry tool calls, not {m.role}"))
        if isinstance(m.content, list):
            key = (list_name, len(origins.by_list.get(list_name, [])))
            content, found = read_parts(m.content, media, f"{where}.content", origins, key)
            problems += found
        else:
            content = m.content or ""
        reasoning, found = pick_reasoning(
            {"reasoning_content": m.reasoning_content, "thinking": m.thinking, "reasoning": m.reasoning}, where)
        problems += found
        out.append(text_message(role, content, tool_calls=calls or None, weight=m.weight,
                                tool_call_id=m.tool_call_id, name=m.name, reasoning=reasoning))
        origins.add(list_name, Origin(f"{where}.role", f"{where}.content", m.role))
    return out, problems


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]} -> messages."""
    if any(k in raw for k in PREFERENCE_KEYS):
        return _preference(raw)
    row, problems = parse_row(OpenAIRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins()
    lists = {"images": list(row.images or []), "videos": list(row.videos or []), "audios": list(row.audios or [])}
    messages, found = convert_messages(row.messages, "messages", "messages", origins, lists)
    tools, more = parse_tools(row.tools, "tools")
    if row.functions is not None:  # the legacy functions API: the same schemas under another name
        tools = (tools or []) + row.functions
    fields: dict[str, Any] = dict(messages=messages, tools=tools, id=row.id, meta=_meta(row),
                                  **{kind: refs or getattr(row, kind) for kind, refs in lists.items()})
    if row.label is not None and messages and messages[-1]["role"] == "assistant":
        fields.update(messages=messages[:-1], completion=messages[-1:], label=row.label)
        origins.by_list["completion"] = origins.by_list["messages"][-1:]
        origins.by_list["messages"] = origins.by_list["messages"][:-1]
    return build_record(fields, origins, problems + found + more)


def _preference(raw: dict[str, Any]) -> Converted:
    row, problems = parse_row(OpenAIPreferenceRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins(list_paths={"messages": "input.messages", "chosen": "preferred_output",
                                  "rejected": "non_preferred_output"})
    lists: MediaLists = {}
    messages, found = convert_messages(row.input.messages, "input.messages", "messages", origins, lists)
    chosen, more = convert_messages(row.preferred_output, "preferred_output", "chosen", origins, lists)
    rejected, rest = convert_messages(row.non_preferred_output, "non_preferred_output", "rejected", origins, lists)
    meta = row.extras() or {}
    if row.input.parallel_tool_calls is not None:
        meta["parallel_tool_calls"] = row.input.parallel_tool_calls
    fields = dict(messages=messages, chosen=chosen, rejected=rejected, tools=row.input.tools, id=row.id,
                  meta=meta or None, **{kind: refs or None for kind, refs in lists.items()})
    return build_record(fields, origins, problems + found + more + rest)


def _meta(row: OpenAIRow) -> dict[str, Any] | None:
    meta = row.extras() or {}
    if row.parallel_tool_calls is not None:
        meta["parallel_tool_calls"] = row.parallel_tool_calls
    return meta or None

def _out_messages(w: Writing, list_name: str, msgs: list[Message],
                  parts: dict[int, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    out = []
    for i, m in enumerate(msgs):
        item: dict[str, Any] = {"role": m.role, "content": m.content if not parts else parts.get(i, m.content)}
        if type(m) is PLAIN_MESSAGE:  # role and text only (the light lanes' plain message)
            out.append(item)
            continue
        if m.reasoning is not None:
            item["reasoning_content"] = m.reasoning  # Qwen3's, DeepSeek-R1's and vLLM's key
        if m.tool_calls:
            item["tool_calls"] = tool_calls_json(m.tool_calls, text_arguments=True)
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        if m.name is not None:
            item["name"] = m.name
        if m.weight is not None:
            item["weight"] = m.weight
        if m.weight is not None and m.role != "assistant" and m.weight != 0:
            w.refuse(w.where(list_name, i), f"openai puts weights on assistant messages only, not on {m.role}")
        out.append(item)
    return out


def from_canonical(w: Writing) -> dict[str, Any]:
    """Canonical -> OpenAI chat rows; preference records -> input / preferred_output / non_preferred_output."""
    rec = w.record
    if rec.kind == "text":
        w.refuse("text", "pretraining text has no openai form; convert it --to text")
        return {}
    parts, beside = ({}, {}) if rec.kind == "preference" or not w.origins.parts else written_parts(
        w.origins, (rec.messages or []) + (rec.completion or []), rec)  # in the order the reader saw them
    messages = _out_messages(w, "messages", rec.messages or [], parts)
    if rec.kind == "preference":
        if any(getattr(rec, k) for k in ("images", "videos", "audios")):
            w.refuse("images", "the openai preference shape here carries no media lists")
        inputs: dict[str, Any] = {"messages": messages}
        if rec.tools is not None:
            inputs["tools"] = rec.tools
        pair = {"input": inputs, "preferred_output": _out_messages(w, "chosen", rec.chosen or []),
                "non_preferred_output": _out_messages(w, "rejected", rec.rejected or [])}
        return with_meta(pair, rec)
    out: dict[str, Any] = {"messages": messages}
    if rec.kind == "kto":
        if len(rec.completion or []) != 1:
            w.refuse(w.origins.list_path("completion"), "openai KTO rows hold one completion message")
        done = len(rec.messages or [])
        messages += _out_messages(w, "completion", rec.completion or [], {i - done: p for i, p in parts.items()})
        out["label"] = rec.label
    if rec.tools is not None:
        out["tools"] = rec.tools
    out.update({kind: refs for kind, refs in beside.items() if refs} if parts else media({}, rec))
    return with_meta(out, rec)


# The fast lane: plain text conversations in this exact shape (see ftdata.formats).
FAST_KEYS = frozenset({"messages", "id"})
FAST_MESSAGE_KEYS = frozenset({"role", "content"})
SYSTEM_ROLES = tuple(r for r, c in ROLES.items() if c == "system")


def fast(raw: Raw) -> bool:
    """{"messages": [system?, user, assistant, ...]} with string contents and no other message fields."""
    if not raw.keys() <= FAST_KEYS or not is_ident(raw.get("id")):
        return False
    msgs = raw.get("messages")
    if type(msgs) is not list or not msgs:
        return False
    start = 1 if type(msgs[0]) is dict and msgs[0].get("role") in SYSTEM_ROLES else 0
    if (len(msgs) - start) % 2 or len(msgs) == start:
        return False
    for i, m in enumerate(msgs):  # the hot loop: checks inlined
        if type(m) is not dict or m.keys() != FAST_MESSAGE_KEYS:
            return False
        v = m["content"]
        if type(v) is not str or not v or v.isspace() or ("<" in v and not no_tags(v)):
            return False
        if i >= start and m["role"] != ("user" if (i - start) % 2 == 0 else "assistant"):
            return False
    return True


# validate's fast lane goes further: tool calls, tools, weights, names, reasoning and KTO labels (no content parts,
# legacy functions or media: the full lane reads those).
CHECK_KEYS = frozenset({"messages", "id", "tools", "parallel_tool_calls", "label"})
MESSAGE_KEYS = frozenset({"role", "content", "tool_calls", "tool_call_id", "name", "weight", "reasoning_content"})
CALL_KEYS = frozenset({"id", "type", "function"})
FUNCTION_KEYS = frozenset({"name", "arguments"})
TEXT_FIELDS = ("tool_call_id", "name", "reasoning_content")


def check(raw: Raw) -> bool:
    """Is this row certainly valid, warnings included? `fast`'s plain rows, and rows with tool calls (arguments as
    JSON objects, not encoded twice), tools, weights, names, reasoning or a KTO label."""
    if fast(raw):
        return True
    if "input" in raw:
        return _pair_head_ok(raw) and read_messages(raw["input"]["messages"], "prompt", False) is not None
    return _head_ok(raw) and read_messages(raw["messages"], "kto" if "label" in raw else "answer", False) is not None


def _head_ok(raw: Raw) -> bool:
    """A chat row's fields around its messages as `check` wants them (the messages: `read_messages`)."""
    if not raw.keys() <= CHECK_KEYS or not is_ident(raw.get("id")):
        return False
    if "parallel_tool_calls" in raw and type(raw["parallel_tool_calls"]) is not bool:
        return False
    if "label" in raw and type(raw["label"]) is not bool:
        return False
    if "tools" in raw and not tools_ok(raw["tools"]):
        return False
    msgs = raw.get("messages")
    return type(msgs) is list and bool(msgs)


PREFERENCE_CHECK_KEYS = frozenset({"input", "preferred_output", "non_preferred_output", "id"})


def _pair_head_ok(raw: Raw) -> bool:
    """{"input": {"messages", "parallel_tool_calls"?}, "preferred_output": [answer], ...}: two single plain, distinct
    answers (the prompt's messages: `read_messages`, to end on the user side)."""
    inp = raw.get("input")
    if not raw.keys() <= PREFERENCE_CHECK_KEYS or not is_ident(raw.get("id")) or type(inp) is not dict:
        return False
    if not inp.keys() <= {"messages", "parallel_tool_calls"}:
        return False  # tools inside `input`: the full lane, where type_drift looks at their keys
    if "parallel_tool_calls" in inp and type(inp["parallel_tool_calls"]) is not bool:
        return False
    for key in ("preferred_output", "non_preferred_output"):
        answer = raw.get(key)
        if type(answer) is not list or len(answer) != 1 or type(answer[0]) is not dict:
            return False
        m = answer[0]
        if m.keys() != FAST_MESSAGE_KEYS or m["role"] != "assistant" or not is_text(m["content"]):
            return False
    msgs = inp.get("messages")
    return (type(msgs) is list and bool(msgs)
            and distinct_answers(raw["preferred_output"][0]["content"], raw["non_preferred_output"][0]["content"]))


def reasoning_ok(role: str, reasoning: str, content: Any) -> bool:
    """Reasoning the reasoning rules find nothing in: on an assistant turn, without think tags, not the answer."""
    if not reasoning.strip():
        return True  # blank: no reasoning
    return (role == "assistant" and not has_tags(reasoning)
            and not (type(content) is str and content.strip() and same_text(reasoning, content)))


def read_call(call: Any) -> LightCall | None:
    """{"id"?, "type": "function", "function": {"name", "arguments": JSON text of an object, encoded once}}: OpenAI's
    own form, as `parse_tool_call` reads it (arguments decoded once), or None. Arguments given as objects take the
    full lane, where `type_drift` looks at their keys."""
    if type(call) is not dict or not call.keys() <= CALL_KEYS or call.get("type", "function") != "function":
        return None
    call_id = call.get("id")
    if "id" in call and type(call_id) is not str:
        return None
    f = call.get("function")
    if type(f) is not dict or not f.keys() <= FUNCTION_KEYS:
        return None
    name, args = f.get("name"), f.get("arguments", "{}")
    if type(name) is not str or not name or type(args) is not str:
        return None
    try:
        value = loads_nested(args) if args.strip() else {}
    except orjson.JSONDecodeError:  # NestedTooDeep too
        return None
    return LightCall(name, value, call_id) if type(value) is dict else None


def read_messages(msgs: list[Any], end: Literal["answer", "prompt", "kto"],
                  build: bool = True) -> tuple[list[LightMessage], bool] | None:
    """Messages the full lane would find nothing wrong with (fields of the right types, no blank content but beside
    tool calls, no media placeholders, the order rules of `ftdata.core.rules` under this format's open policy), in
    one pass: with `build`, as `convert_messages` reads them, and whether their turns are plain (no name, no weight
    but the default, no two user messages in a row: `RichRecord.plain_turns`); else None."""
    out: list[LightMessage] = []
    expect, prev, calls_before, plain, last = "user", "", False, True, ""
    for i, m in enumerate(msgs):
        if type(m) is not dict:
            return None
        keys = m.keys()
        spelled = m.get("role")
        role = ROLES.get(spelled) if type(spelled) is str and spelled != "function" else None
        if role is None:
            return None
        if keys == FAST_MESSAGE_KEYS:  # the common message: role and text
            content = m["content"]
            if type(content) is not str or not content or content.isspace() or (
                    "<" in content and not no_tags(content)):
                return None
            if build:
                out.append(LightMessage(role, content))
            calls = None
        else:
            found = _rich_message(m, role, build)
            if found is None:
                return None
            msg, calls = found
            if build:
                out.append(msg)
                plain = plain and msg.name is None and msg.weight != 0  # weights 0 / 1 on assistant messages only
        if role == last == "user":
            plain = False
        last = role
        if role == "system":
            if i:
                return None  # a system message only first
            continue
        side = "assistant" if role == "assistant" else "user"
        if role == "tool" and not (calls_before or prev == "tool"):
            return None  # a tool result follows a call (or another result: parallel calls)
        if side != expect and not (role == prev == "user" or role == prev == "tool"):
            return None
        expect, prev, calls_before = ("user" if side == "assistant" else "assistant"), role, bool(calls)
    return (out, plain) if _ends_right(msgs, prev, end) else None


def _ends_right(msgs: list[Any], last: str, end: Literal["answer", "prompt", "kto"]) -> bool:
    if end == "kto":  # the last answer is the labelled completion; the prompt before it ends on the user side
        return last == "assistant" and len(msgs) > 1 and ROLES.get(msgs[-2]["role"]) in ("user", "tool")
    if end == "prompt":  # a preference prompt: the answers are apart
        return last in ("user", "tool")
    return last == "assistant"


def _rich_message(m: Raw, role: Role, build: bool) -> tuple[LightMessage, list[LightCall] | None] | None:
    """A message beyond role and text (`read_messages`): its light message (with `build`) and its calls, or None."""
    if not m.keys() <= MESSAGE_KEYS:
        return None
    for k in TEXT_FIELDS:
        if k in m and type(m[k]) is not str:
            return None
    weight = m.get("weight")
    if weight is not None and (type(weight) is not int or weight not in (0, 1) or role != "assistant"):
        return None
    content, raw_calls = m.get("content"), m.get("tool_calls")
    reasoning = m.get("reasoning_content")
    if reasoning is not None and not reasoning_ok(role, reasoning, content):
        return None
    calls: list[LightCall] | None = None
    if raw_calls is not None:
        if role != "assistant" or type(raw_calls) is not list or not raw_calls:
            return None
        calls = [c for c in map(read_call, raw_calls) if c is not None]
        if len(calls) != len(raw_calls):
            return None
        if content is not None and (type(content) is not str or not no_tags(content)):
            return None
    elif type(content) is not str or not content or content.isspace() or not no_tags(content):
        return None
    if not build:
        return NO_MESSAGE, calls
    return RichMessage(role, content or "", calls, reasoning if reasoning is not None and reasoning.strip() else None,
                       m.get("tool_call_id"), m.get("name"), weight), calls


NO_MESSAGE = LightMessage("user", "")  # what `_rich_message` returns when not building


def check_shape(raw: Raw) -> tuple[Hashable, bool]:
    """A row `check` takes beyond `fast`, for the file checks (`Format.check_shape`). The lane fixes which paths hold
    objects (messages, their tool calls and functions; tools are free-form, left out) and every value's type but
    the top level's, a message's content (text or null) and weight (0 / 1 or null): its structure is those, with
    every object's keys in order. Reasoning: a message holds `reasoning_content` (no think tag passes the lane)."""
    if "input" in raw:
        inp = raw["input"]
        msgs = inp["messages"]
        top: tuple[Any, ...] = (tuple(raw), tuple(map(type, raw.values())), tuple(inp), tuple(map(type, inp.values())),
                                tuple(raw["preferred_output"][0]), tuple(raw["non_preferred_output"][0]))
    else:
        msgs = raw["messages"]
        top = (tuple(raw), tuple(map(type, raw.values())))
    keys = frozenset(map(tuple, msgs))
    if any("tool_calls" in k or "weight" in k for k in keys):  # only these messages may hold nulls, and calls
        odd = [m for m in msgs if "tool_calls" in m or "weight" in m]
        calls = list(chain.from_iterable(filter(None, map(dict.get, odd, TOOL_CALLS))))
        top += (frozenset((tuple(m), type(m.get("content")), type(m.get("weight"))) for m in odd),
                frozenset(map(tuple, calls)), frozenset(map(tuple, map(itemgetter("function"), calls))))
    return (top, keys), any("reasoning_content" in k for k in keys)


TOOL_CALLS = repeat("tool_calls")  # endless: shared by every call


def light(raw: Raw) -> LightRecord:
    return LightRecord([LightMessage(ROLES[m["role"]], m["content"]) for m in raw["messages"]], raw.get("id"))


def rich(raw: Raw) -> LightRecord | None:
    """convert's rich lane: a row `check` takes (tool calls, tools, weights, names, reasoning, a KTO label, a
    preference pair), as the light record of the full lane's `Record`, in one pass; None for any other row."""
    if fast(raw):
        return light(raw)
    if "input" in raw:
        if not _pair_head_ok(raw) or (read := read_messages(raw["input"]["messages"], "prompt")) is None:
            return None
        inp = raw["input"]
        chosen, rejected = ([LightMessage("assistant", raw[k][0]["content"])]
                            for k in ("preferred_output", "non_preferred_output"))
        meta = {"parallel_tool_calls": inp["parallel_tool_calls"]} if "parallel_tool_calls" in inp else None
        return RichRecord(read[0], raw.get("id"), meta, chosen=chosen, rejected=rejected, plain_turns=read[1])
    if not _head_ok(raw) or (read := read_messages(raw["messages"], "kto" if "label" in raw else "answer")) is None:
        return None
    msgs, plain = read
    tools = parse_tools(raw.get("tools"), "tools")[0]
    meta = {"parallel_tool_calls": raw["parallel_tool_calls"]} if "parallel_tool_calls" in raw else None
    if "label" in raw:  # `check`: the last message is the labelled answer
        return RichRecord(msgs[:-1], raw.get("id"), meta, tools, completion=msgs[-1:], label=raw["label"],
                          plain_turns=plain)
    return RichRecord(msgs, raw.get("id"), meta, tools, plain_turns=plain)


def written_shape(row: Raw) -> Hashable | None:
    """`Format.written_shape`: a written row's top-level keys and types; None when `input` holds tools (free-form
    values below the top level)."""
    inp = row.get("input")
    if type(inp) is dict and "tools" in inp:
        return None
    return top_level_shape(row)


def light_writer(rec: LightRecord) -> Raw:
    """{"messages": [{role, content}]}: what openai (and trl) write for a plain conversation."""
    return with_meta({"messages": [{"role": m.role, "content": m.content} for m in rec.messages]}, rec)


def as_is(raw: Raw) -> bool:
    """Already what the writer writes: canonical role names, the id as written (a string, or none)."""
    return id_as_written(raw) and raw["messages"][0]["role"] == ROLES[raw["messages"][0]["role"]]


# What LLaMA-Factory cannot read in rows we write (its readers take role/content and the columns, nothing else).
UNREAD = {"tool_calls": "tool calls", "tool_call_id": "tool call ids", "weight": "per-message weights",
          "name": "message names", "reasoning_content": "reasoning (reasoning_content)"}


def lf_unread(row: Raw) -> str | None:
    """Why LLaMA-Factory would not read all of this written row, or None."""
    if "input" in row:
        return "OpenAI preference rows"
    if "tools" in row:
        return "tool schemas in the OpenAI layout"
    for m in row["messages"]:
        for key, what in UNREAD.items():
            if key in m:
                return what
    return None


def lf_entry(lf: LlamaFactory, kind: Kind, keys: set[str]) -> dict[str, Any]:
    """LLaMA-Factory reads our OpenAI rows through its sharegpt reader with role/content tags (its `openai`
    formatting is undocumented); rows with tool calls get no entry at all (`lf_unread`)."""
    entry = standard_entry(lf, kind, keys)
    entry["formatting"] = "sharegpt"
    entry["tags"] = {k: v for k, v in lf.tags.items() if k != "function_tag"}
    return entry


FORMAT = Format(
    name="openai",
    summary="messages: [{role, content, tool_calls?, weight?}] (+ tools); input/preferred_output/non_preferred_output",
    shapes=shapes("messages", "input preferred_output"),
    rows=(OpenAIRow, OpenAIPreferenceRow),
    schema_note=f"Tool call `arguments` must decode to a JSON object; roles {', '.join(ROLES)}.",
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "4"}]},
    policy=OPEN,
    roles=ROLES,
    fast=fast,
    check=check,
    check_walk=True,
    check_shape=check_shape,
    light=light,
    rich=rich,
    light_writer=light_writer,
    writes_light=True,
    written_shape=written_shape,
    as_is={"openai": as_is, "trl": as_is},
    llamafactory=LlamaFactory(
        "openai",
        columns={"messages": "messages", "system": "system", "tools": "tools", "images": "images", "videos": "videos",
                 "audios": "audios", "chosen": "chosen", "rejected": "rejected", "kto_tag": "label"},
        tags={"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
              "observation_tag": "tool", "function_tag": "function_call", "system_tag": "system"},
        unread=lf_unread,
        entry=lf_entry),
    shape_doc="`messages: [{role, content, tool_calls, weight}]`, `tools`",
    variants="preference (`input`/`preferred_output`/`non_preferred_output`), content parts (OpenAI's text, "
             "image_url, input_audio, file; transformers' image/video/audio), KTO (`label`)",
    carries={"system": KEPT, "multi_turn": KEPT, "consecutive_users": KEPT, "tool_calls": KEPT, "parallel_tools": KEPT,
             "call_ids": KEPT, "tools": KEPT, "reasoning": kept("`reasoning_content`"),
             "reasoning_call": kept("`reasoning_content`"), "weights": kept("on assistant messages"), "preference": KEPT,
             "kto": kept("`label`"), "images": kept("lists beside `messages`, or content blocks as read"),
             "videos": kept("lists beside `messages`, or content blocks as read"),
             "audios": kept("lists beside `messages`, or content blocks as read"),
             "id": kept("as text"), "meta": kept("`meta` object")},
    trl_reads=frozenset({"sft"}),  # trl reads `messages` as SFT (its preference rows are not trl's)
)
