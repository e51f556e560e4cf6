"""sharegpt: `conversations: [{from, value}]` in LLaMA-Factory's shape, and the original ShareGPT/FastChat dumps.

Roles: human / gpt / observation / function_call / system (FastChat dumps also write user / assistant).
LLaMA-Factory's order: after an optional system message, human|observation at even positions and
gpt|function_call at odd ones. A `function_call` value is a JSON `{name, arguments}` (or a list of them).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field

from ftdata.core.canonical import MEDIA_KINDS, Message, Role, json_text
from ftdata.core.depth import TOO_DEEP, NestedTooDeep, loads_nested
from ftdata.core.problems import Problem, has_errors, problem
from ftdata.core.reasoning import has_tags, split_think
from ftdata.core.rules import Origin, Origins, Policy
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
    unknown_role,
)
from ftdata.formats.declare import KEPT, LlamaFactory, kept, lossy, rejected
from ftdata.formats.light import (
    PLAIN_MESSAGE,
    LightMessage,
    LightRecord,
    MediaRecord,
    RichMessage,
    RichRecord,
    distinct_answers,
    id_as_written,
    is_ident,
    is_text,
    no_tags,
    placeholders_match,
)
from ftdata.formats.tools import (
    function_ok,
    light_call,
    parse_tool_call,
    parse_tools,
    read_tools,
)
from ftdata.formats.write import Writing, call_json, media, with_meta

USER, ASSISTANT, TOOL, FUNCTION, SYSTEM = "human", "gpt", "observation", "function_call", "system"
ROLES: dict[str, Role] = {  # source role -> canonical role; FastChat dumps write user / assistant
    USER: "user", "user": "user",
    ASSISTANT: "assistant", "assistant": "assistant",
    TOOL: "tool", "tool": "tool",
    FUNCTION: "assistant",
    SYSTEM: "system",
}
WRITE_ROLES = {"user": USER, "assistant": ASSISTANT, "tool": TOOL, "system": SYSTEM}  # canonical -> ours, for writers


class ShareGPTMessage(ClosedPart):
    from_: str = Field(alias="from")
    value: str
    # reasoning beside the value, under the keys of the chat conventions (LLaMA-Factory itself reads a <think> block)
    reasoning_content: str | None = None
    thinking: str | None = None
    reasoning: str | None = None


class ShareGPTRow(Row):
    conversations: list[ShareGPTMessage]
    system: str | None = None
    tools: str | list[dict[str, Any]] | None = None
    chosen: ShareGPTMessage | None = None
    rejected: ShareGPTMessage | None = None
    kto_tag: bool | None = None
    id: str | int | None = None
    images: list[str] | None = None
    videos: list[str] | None = None
    audios: list[str] | None = None


def convert_message(m: ShareGPTMessage, path: str) -> tuple[Msg | None, list[Problem]]:
    """One {from, value} -> canonical Message; unknown roles and broken function calls become problems."""
    role = ROLES.get(m.from_)
    if role is None:
        return None, [unknown_role(f"{path}.from", m.from_, ROLES)]
    reasoning, problems = pick_reasoning(
        {"reasoning_content": m.reasoning_content, "thinking": m.thinking, "reasoning": m.reasoning}, path)
    if m.from_ != FUNCTION:
        return text_message(role, m.value, reasoning=reasoning), problems
    split = split_think(m.value)  # the reasoning prefix LLaMA-Factory allows on function calls
    value = split.content
    if split.reasoning is not None:
        if reasoning is not None:
            problems.append(problem(f"{path}.value", "reasoning_tags", "reasoning given twice: under a key and as a "
                                                                       "<think> block in the value; keep one"))
        reasoning = split.reasoning
    try:
        decoded: Any = loads_nested(value)
    except NestedTooDeep:
        return None, [*problems, problem(f"{path}.value", "too_deep", f"the function call's JSON text: {TOO_DEEP}")]
    except orjson.JSONDecodeError:
        decoded = value  # parse_tool_call reports it
    calls = []
    for item in decoded if isinstance(decoded, list) else [decoded]:
        call, found = parse_tool_call(item, f"{path}.value")
        problems += found
        if call:
            calls.append(call)
    if has_errors(problems):
        return None, problems
    return text_message("assistant", "", tool_calls=calls, reasoning=reasoning), problems  # warnings: kept, said


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]} -> messages."""
    row, problems = parse_row(ShareGPTRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins(list_paths={"messages": "conversations"})
    messages: list[Msg] = []
    if row.system is not None:
        messages.append(text_message("system", row.system))
        origins.add("messages", Origin("system", "system", "system"))
    for i, m in enumerate(row.conversations):
        msg, found = convert_message(m, f"conversations[{i}]")
        problems += found
        if msg is not None:
            messages.append(msg)
            origins.add("messages", Origin(f"conversations[{i}].from", f"conversations[{i}].value", m.from_))
    if any(p.code == "unknown_role" or p.code == "tool_call_invalid" for p in problems):
        return Converted(None, origins, problems)  # positions no longer line up; order checks would mislead
    tools, found = parse_tools(row.tools, "tools")
    problems += found
    fields: dict[str, Any] = dict(messages=messages, tools=tools, id=row.id, images=row.images, videos=row.videos,
                                  audios=row.audios, meta=row.extras())
    if row.chosen is not None or row.rejected is not None:
        for name in ("chosen", "rejected"):
            value: ShareGPTMessage | None = getattr(row, name)
            if value is None:
                problems.append(problem(name, "missing_field", f"a preference row needs both chosen and rejected; add '{name}'"))
                continue
            msg, found = convert_message(value, name)
            problems += found
            fields[name] = [msg] if msg else []
            origins.add(name, Origin(f"{name}.from", f"{name}.value", value.from_))
    elif row.kto_tag is not None and messages and messages[-1]["role"] == "assistant":
        # KTO: the last assistant message is the completion being labelled.
        fields.update(messages=messages[:-1], completion=[messages[-1]], label=row.kto_tag)
        origins.by_list["completion"] = origins.by_list["messages"][-1:]
        origins.by_list["messages"] = origins.by_list["messages"][:-1]
    return build_record(fields, origins, problems)



def _out_message(w: Writing, list_name: str, i: int, m: Message) -> dict[str, str]:
    if type(m) is PLAIN_MESSAGE:  # role and text only (the light lanes' plain message)
        return {"from": WRITE_ROLES[m.role], "value": m.content}
    if m.role == "assistant" and m.tool_calls:
        if m.content:
            w.refuse(w.where(list_name, i), "sharegpt cannot hold text beside tool calls in one message")
        think = w.text_with_reasoning(m, list_name, i, "sharegpt", content="")
        return {"from": FUNCTION, "value": think + call_json(m.tool_calls)}
    return {"from": WRITE_ROLES[m.role], "value": w.text_with_reasoning(m, list_name, i, "sharegpt")}


def from_canonical(w: Writing) -> dict[str, Any]:
    """Canonical -> LLaMA-Factory sharegpt; tool calls become function_call / observation turns."""
    rec = w.record
    if rec.kind == "text":
        w.refuse("text", "pretraining text has no sharegpt form; convert it --to text")
        return {}
    if not getattr(rec, "plain_turns", False):  # a light record whose lane proved them (`LightRecord.plain_turns`)
        w.default_weights_only("sharegpt")
        w.no_names("sharegpt")
        w.alternating("sharegpt")
    out: dict[str, Any] = {}
    msgs = rec.messages or []
    start = 1 if msgs and msgs[0].role == "system" else 0
    if start:
        out["system"] = msgs[0].content
    out["conversations"] = [_out_message(w, "messages", i, m) for i, m in enumerate(msgs) if i >= start]
    lists = rec.message_lists()
    for name, answer in lists[1:]:
        if len(answer) != 1:
            w.refuse(w.origins.list_path(name), f"sharegpt holds a single {name} message, got {len(answer)}")
            continue
        if rec.kind == "kto":
            out["conversations"].append(_out_message(w, name, 0, answer[0]))
        else:
            out[name] = _out_message(w, name, 0, answer[0])
    for list_name, answer in lists:
        for i in range(1, len(answer)):
            if answer[i].role == answer[i - 1].role == "tool":
                w.refuse(w.where(list_name, i), "several tool results in a row (parallel calls): sharegpt has one "
                                                "observation per function_call")
    if rec.kind == "kto":
        out["kto_tag"] = rec.label
    if rec.tools is not None:
        out["tools"] = json_text(rec.tools)
    if rec.images or rec.videos or rec.audios:
        w.media_files_only("sharegpt")
        media(out, rec)
    return with_meta(out, rec)


# The fast lane: plain text conversations in this exact shape (see ftdata.formats).
FAST_KEYS = frozenset({"conversations", "system", "id"})
MESSAGE_KEYS = frozenset({"from", "value"})
PLAIN_SIDES = (tuple(r for r, c in ROLES.items() if c == "user"),  # user side, then assistant side (no tool turns)
               tuple(r for r, c in ROLES.items() if c == "assistant" and r != FUNCTION))


def fast(raw: Raw) -> bool:
    """{"conversations": [human, gpt, ...], "system"?, "id"?} with text values only."""
    if not raw.keys() <= FAST_KEYS or not is_ident(raw.get("id")):
        return False
    if "system" in raw and not is_text(raw["system"]):
        return False
    conv = raw.get("conversations")
    if type(conv) is not list or not conv or len(conv) % 2:
        return False
    for i, m in enumerate(conv):  # the hot loop: checks inlined
        if type(m) is not dict or len(m) != 2:
            return False
        v = m.get("value")
        if type(v) is not str or not v or v.isspace() or m.get("from") not in PLAIN_SIDES[i & 1]:
            return False
        if "<" in v and not no_tags(v):
            return False
    return True


# validate's fast lane goes further: function calls and observations, tools, preference pairs, KTO tags, media lists.
CHECK_KEYS = frozenset({"conversations", "system", "id", "tools", "chosen", "rejected", "kto_tag", *MEDIA_KINDS})
MEDIA_KINDS_SET = frozenset(MEDIA_KINDS)
SIDE = {r: ("assistant" if c == "assistant" else "user") for r, c in ROLES.items() if c != "system"}


def check(raw: Raw) -> bool:
    """Is this row certainly valid, warnings included? `fast`'s plain rows, and rows with function calls (JSON
    {name, arguments} objects, arguments encoded once) and observations, tools, a preference pair, a KTO tag, or
    media lists with their placeholders in the turns (the files themselves: `engine.check_lane`)."""
    return fast(raw) or _check_rich(raw)


def _check_rich(raw: Raw) -> bool:
    """`check` beyond `fast`."""
    return _read_rich(raw, False) is not None


def _read_rich(raw: Raw, build: bool) -> tuple[list[LightMessage], list[dict[str, Any]] | None] | None:
    """A row `check` takes beyond `fast`, in one pass: with `build`, its messages as the full lane reads them (a
    system message first; function calls decoded once) and its tools; else None."""
    if not raw.keys() <= CHECK_KEYS or not is_ident(raw.get("id")):
        return None
    if "system" in raw and not is_text(raw["system"]):
        return None
    tools: list[dict[str, Any]] | None = None
    if "tools" in raw:
        ok, tools = read_tools(raw["tools"])
        if not ok:
            return None
    conv = raw.get("conversations")
    if type(conv) is not list or not conv or not _answers_ok(raw, conv):
        return None
    msgs: list[LightMessage] = [LightMessage("system", raw["system"])] if build and "system" in raw else []
    expect, prev = "user", ""
    media = not MEDIA_KINDS_SET.isdisjoint(raw)
    for m in conv:
        if type(m) is not dict or m.keys() != MESSAGE_KEYS:
            return None
        role, value = m["from"], m["value"]
        side = SIDE.get(role) if type(role) is str else None
        if side is None or type(value) is not str or side != expect:
            return None
        if role == FUNCTION:
            calls = _read_calls(value)
            if calls is None:
                return None
            if build:
                msgs.append(RichMessage("assistant", "", [light_call(c) for c in calls]))
        elif (not value or value.isspace() or ("<" in value and (not (media or no_tags(value)) or has_tags(value)))
              or (ROLES[role] == "tool" and prev != FUNCTION)):
            return None  # blank, a placeholder without media, a think tag, or a result that follows no call
        elif build:
            msgs.append(LightMessage(ROLES[role], value))
        expect, prev = ("user" if side == "assistant" else "assistant"), role
    if media and not placeholders_match(raw, [m["value"] for m in conv if m["from"] != FUNCTION]):
        return None
    if "chosen" in raw:
        ends = expect == "assistant"  # the prompt ends on the user side
    else:
        ends = expect == "user" and ("kto_tag" not in raw or len(conv) > 1)  # ends with an answer (KTO: after a prompt)
    return (msgs, tools) if ends else None


def _answers_ok(raw: Raw, conv: list[Any]) -> bool:
    """A preference pair: both single plain, distinct answers (and no KTO tag); a KTO tag: a bool on a plain last
    answer."""
    if "chosen" in raw or "rejected" in raw:
        if not all(_plain_answer(raw.get(k)) for k in ("chosen", "rejected")) or "kto_tag" in raw:
            return False
        return distinct_answers(raw["chosen"]["value"], raw["rejected"]["value"])
    return "kto_tag" not in raw or (type(raw["kto_tag"]) is bool and _plain_answer(conv[-1]))


def _plain_answer(m: Any) -> bool:
    return (type(m) is dict and m.keys() == MESSAGE_KEYS and m["from"] in PLAIN_SIDES[1] and is_text(m["value"]))


def _read_calls(value: str) -> list[dict[str, Any]] | None:
    """A function_call value `convert_message` reads without a problem (a JSON call object or a list of them), as
    a list of calls; else None."""
    if value.startswith("<think>"):
        return None  # reasoning before the call: the full lane splits it off
    try:
        calls = loads_nested(value)
    except orjson.JSONDecodeError:  # NestedTooDeep too
        return None
    calls = calls if type(calls) is list else [calls]
    ok = bool(calls) and all(type(c) is dict and function_ok(c.get("name"), c.get("arguments", {})) for c in calls)
    return calls if ok else None


def light(raw: Raw) -> LightRecord:
    msgs = [LightMessage("system", raw["system"])] if "system" in raw else []
    msgs += [LightMessage(ROLES[m["from"]], m["value"]) for m in raw["conversations"]]
    return LightRecord(msgs, raw.get("id"))


def rich(raw: Raw) -> LightRecord | None:
    """convert's rich lane: a row `check` takes (function calls and observations, tools, a preference pair, a KTO
    tag; no media lists), as the light record of the full lane's `Record`, in one pass; None for any other row."""
    if fast(raw):
        return light(raw)
    if not MEDIA_KINDS_SET.isdisjoint(raw) or (read := _read_rich(raw, True)) is None:
        return None
    msgs, tools = read
    if "kto_tag" in raw:
        return RichRecord(msgs[:-1], raw.get("id"), tools=tools, completion=msgs[-1:], label=raw["kto_tag"],
                          plain_turns=True)
    if "chosen" in raw:  # `check`: both, single plain answers
        chosen, rejected = ([LightMessage(ROLES[raw[k]["from"]], raw[k]["value"])] for k in ("chosen", "rejected"))
        return RichRecord(msgs, raw.get("id"), tools=tools, chosen=chosen, rejected=rejected, plain_turns=True)
    return RichRecord(msgs, raw.get("id"), tools=tools, plain_turns=True)  # `check`: sides alternate, no names


MEDIA_LANE_KEYS = frozenset({"conversations", "system", "id", "chosen", "rejected", "kto_tag", *MEDIA_KINDS})


def rich_media(raw: Raw) -> LightRecord | None:
    """convert's media lane: a row `check` takes with media lists beside plain turns (human / gpt, a system message,
    an id; a preference pair, a KTO tag), as the light record of the full lane's `Record`; its files are the
    engine's to check. None for any other row (function calls or tools with media: the full lane)."""
    if MEDIA_KINDS_SET.isdisjoint(raw) or not raw.keys() <= MEDIA_LANE_KEYS or not _check_rich(raw):
        return None
    msgs: list[LightMessage] = [LightMessage("system", raw["system"])] if "system" in raw else []
    for m in raw["conversations"]:
        if m["from"] == FUNCTION:
            return None  # (and so no observation: `check` wants a call before each)
        msgs.append(LightMessage(ROLES[m["from"]], m["value"]))
    lists = raw.get("images"), raw.get("videos"), raw.get("audios")
    if "kto_tag" in raw:  # `check`: the last turn is a plain answer after a prompt
        return MediaRecord(msgs[:-1], raw.get("id"), *lists, completion=msgs[-1:], label=raw["kto_tag"])
    if "chosen" in raw:  # `check`: both, single plain answers
        chosen, rejected = ([LightMessage(ROLES[raw[k]["from"]], raw[k]["value"])] for k in ("chosen", "rejected"))
        return MediaRecord(msgs, raw.get("id"), *lists, chosen=chosen, rejected=rejected)
    return MediaRecord(msgs, raw.get("id"), *lists)


def light_writer(rec: LightRecord) -> Raw:
    out, msgs = rec.system_apart()
    out["conversations"] = [{"from": WRITE_ROLES[m.role], "value": m.content} for m in msgs]
    return with_meta(out, rec)


def as_is(raw: Raw) -> bool:
    """Already what the writer writes: the roles it writes, and the id as written (a string, or none)."""
    return id_as_written(raw) and all(m["from"] in (USER, ASSISTANT) for m in raw["conversations"])


FORMAT = Format(
    name="sharegpt",
    summary="conversations: [{from, value}] (+ system, tools, chosen/rejected, kto_tag, images)",
    shapes=shapes("conversations", "conversations chosen rejected"),
    rows=(ShareGPTRow,),
    schema_note=f"Roles: {USER}, {ASSISTANT}, {TOOL}, {FUNCTION}, {SYSTEM} (user/assistant accepted); a {FUNCTION} "
                "value is a JSON {name, arguments} object or a list of them; `tools` is a JSON string or a list.",
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello! How can I help?"}]},
    policy=Policy(user_side=f"'{USER}' or '{TOOL}'", assistant_side=f"'{ASSISTANT}' or '{FUNCTION}'"),
    roles=ROLES,
    fast=fast,
    check=check,
    light=light,
    rich=rich,
    rich_media=rich_media,
    light_writer=light_writer,
    writes_light=True,
    writes_flat=True,
    as_is={"sharegpt": as_is},
    llamafactory=LlamaFactory(
        "sharegpt",
        columns={"messages": "conversations", "system": "system", "tools": "tools", "images": "images",
                 "videos": "videos", "audios": "audios", "chosen": "chosen", "rejected": "rejected", "kto_tag": "kto_tag"},
        tags={"role_tag": "from", "content_tag": "value", "user_tag": USER, "assistant_tag": ASSISTANT,
              "observation_tag": TOOL, "function_tag": FUNCTION, "system_tag": SYSTEM}),
    shape_doc="`conversations: [{from, value}]`, `system`, `tools`",
    variants="preference (`chosen`/`rejected` messages), KTO, media, FastChat dumps (`id`, user/assistant roles)",
    carries={"system": KEPT, "multi_turn": KEPT, "consecutive_users": rejected("LLaMA-Factory alternates"),
             "tool_calls": kept("one result per call message"), "parallel_tools": rejected("one result per call message"),
             "call_ids": lossy("positional (ids not kept)"), "tools": kept("JSON string"),
             "reasoning": kept("leading `<think>` block; `--reasoning`"), "reasoning_call": KEPT,
             "weights": lossy("defaults only"), "preference": kept("single answer messages"), "kto": kept("`kto_tag`"),
             "images": KEPT, "videos": KEPT, "audios": KEPT, "id": kept("as text"), "meta": kept("`meta` object")},
    text_fields=("system",),
    v1_converters=("sharegpt",),  # LLaMA-Factory v1's converters that read these rows
)
