"""openai: chat fine-tuning rows `{"messages": [...], "tools"?}` and the preference shape
`{"input": {"messages"}, "preferred_output": [...], "non_preferred_output": [...]}`.

Also read: `messages` + `label` (LLaMA-Factory's KTO demo) and `messages` + `images` (its multimodal demos).
Content may be a string or a list of parts; an `image_url` part becomes an `<image>` placeholder + an `images` item.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import Field

from ftdata.canonical import Message
from ftdata.formats.base import (
    ClosedPart, Converted, Format, Msg, Row, build_record, has, parse_row, parse_tool_call, parse_tools, text_message,
)
from ftdata.formats.write import Writing, canonical_messages, media, with_meta
from ftdata.problems import Problem, problem
from ftdata.rules import Origin, Origins, Policy

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


class Function(ClosedPart):
    name: str
    arguments: str | dict[str, Any] = "{}"


class OAToolCall(ClosedPart):
    id: str | None = None
    type: Literal["function"] = "function"
    function: Function


class TextPart(ClosedPart):
    type: Literal["text"]
    text: str


class ImageURL(ClosedPart):
    url: str
    detail: str | None = None


class ImagePart(ClosedPart):
    type: Literal["image_url"]
    image_url: ImageURL


Part = Annotated[Union[TextPart, ImagePart], Field(discriminator="type")]


class OAMessage(ClosedPart):
    role: str
    content: str | list[Part] | None = None
    tool_calls: list[OAToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    weight: Literal[0, 1] | None = None
    reasoning_content: str | None = None  # trl / HF chat templates (Qwen3, DeepSeek-R1)


class OpenAIRow(Row):
    messages: list[OAMessage]
    tools: list[dict[str, Any]] | str | None = None
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
    items: list[OAMessage], path: str, list_name: str, origins: Origins, images: list[str]
) -> tuple[list[Msg], list[Problem]]:
    """OpenAI messages -> canonical Messages; image parts are appended to `images` in order."""
    out: list[Msg] = []
    problems: list[Problem] = []
    for i, m in enumerate(items):
        where = f"{path}[{i}]"
        role = ROLES.get(m.role)
        if role is None:
            problems.append(problem(f"{where}.role", "unknown_role",
                                    f"unknown role '{m.role}'; use one of {', '.join(ROLES)}"))
            continue
        calls = []
        for j, tc in enumerate(m.tool_calls or []):
            call, found = parse_tool_call(
                {"name": tc.function.name, "arguments": tc.function.arguments, "id": tc.id}, f"{where}.tool_calls[{j}].function")
            problems += found
            if call:
                calls.append(call)
        if m.tool_calls and role != "assistant":
            problems.append(problem(f"{where}.tool_calls", "invalid_value", f"only assistant messages may carry tool_calls, not {m.role}"))
        content = _content_text(m.content, images)
        out.append(text_message(role, content, tool_calls=calls or None, weight=m.weight,
                                tool_call_id=m.tool_call_id, name=m.name, reasoning=m.reasoning_content))
        origins.add(list_name, Origin(f"{where}.role", f"{where}.content", m.role))
    return out, problems


def _content_text(content: str | list[Any] | None, images: list[str]) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    text = []
    for part in content:
        if isinstance(part, TextPart):
            text.append(part.text)
        else:
            text.append("<image>")
            images.append(part.image_url.url)
    return "".join(text)


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]} -> messages."""
    if "preferred_output" in raw or "non_preferred_output" in raw or "input" in raw:
        return _preference(raw)
    row, problems = parse_row(OpenAIRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins()
    images = list(row.images or [])
    messages, found = convert_messages(row.messages, "messages", "messages", origins, images)
    tools, more = parse_tools(row.tools, "tools")
    fields: dict[str, Any] = dict(messages=messages, tools=tools, id=row.id, images=images or None,
                                  videos=row.videos, audios=row.audios, meta=_meta(row))
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
    images: list[str] = []
    messages, found = convert_messages(row.input.messages, "input.messages", "messages", origins, images)
    chosen, more = convert_messages(row.preferred_output, "preferred_output", "chosen", origins, images)
    rejected, rest = convert_messages(row.non_preferred_output, "non_preferred_output", "rejected", origins, images)
    meta = row.extras() or {}
    if row.input.parallel_tool_calls is not None:
        meta["parallel_tool_calls"] = row.input.parallel_tool_calls
    fields = dict(messages=messages, chosen=chosen, rejected=rejected, tools=row.input.tools, id=row.id,
                  images=images or None, meta=meta or None)
    return build_record(fields, origins, problems + found + more + rest)


def _meta(row: OpenAIRow) -> dict[str, Any] | None:
    meta = row.extras() or {}
    if row.parallel_tool_calls is not None:
        meta["parallel_tool_calls"] = row.parallel_tool_calls
    return meta or None

def _out_messages(w: Writing, list_name: str, msgs: list[Message]) -> list[dict[str, Any]]:
    out = []
    for i, m in enumerate(msgs):
        item: dict[str, Any] = {"role": m.role, "content": w.text_with_reasoning(m, list_name, i, "openai")}
        if m.tool_calls:
            item["tool_calls"] = [{**({"id": c.id} if c.id else {}), "type": "function",
                                   "function": {"name": c.name, "arguments": orjson.dumps(c.arguments).decode()}}
                                  for c in m.tool_calls]
        for key in ("tool_call_id", "name", "weight"):
            if getattr(m, key) is not None:
                item[key] = getattr(m, key)
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
    messages = _out_messages(w, "messages", rec.messages or [])
    if rec.kind == "preference":
        if any(getattr(rec, k) for k in ("images", "videos", "audios")):
            w.refuse("images", "the openai preference shape here carries no media lists")
        inputs: dict[str, Any] = {"messages": messages}
        if rec.tools is not None:
            inputs["tools"] = rec.tools
        out = {"input": inputs, "preferred_output": _out_messages(w, "chosen", rec.chosen or []),
               "non_preferred_output": _out_messages(w, "rejected", rec.rejected or [])}
        return with_meta(out, rec)
    out = {"messages": messages}
    if rec.kind == "kto":
        if len(rec.completion or []) != 1:
            w.refuse(w.origins.list_path("completion"), "openai KTO rows hold one completion message")
        messages += _out_messages(w, "completion", rec.completion or [])
        out["label"] = rec.label
    if rec.tools is not None:
        out["tools"] = rec.tools
    return with_meta(media(out, rec), rec)


FORMAT = Format(
    name="openai",
    summary="messages: [{role, content, tool_calls?, weight?}] (+ tools); input/preferred_output/non_preferred_output",
    detect=lambda k: ("messages" in k and not (k & {"chosen", "rejected", "completion", "prompt"}))
    or has(k, "input", "preferred_output"),
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "4"}]},
    policy=Policy(parallel_tools=True),
    sniff=lambda raw: not canonical_messages(raw.get("messages")),  # canonical tool calls / reasoning are not OpenAI's
)
