"""The canonical record: the one shape every source format becomes and the trainer consumes.

A record's kind follows from the keys it has (trl's key-set idea):

    {"messages"}                             -> sft         (trl: conversational language modeling)
    {"messages", "chosen", "rejected"}       -> preference  (trl: prompt / chosen / rejected)
    {"messages", "completion", "label"}      -> kto         (trl: unpaired preference)
    {"text"}                                 -> text        (trl: language modeling, standard)
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ftdata.core.depth import TOO_DEEP, NestedTooDeep, loads_nested
from ftdata.core.reasoning import join_think

Role = Literal["system", "user", "assistant", "tool"]
Kind = Literal["sft", "preference", "kto", "text"]
MEDIA_KINDS = ("images", "videos", "audios")
PLACEHOLDERS = {"images": "<image>", "videos": "<video>", "audios": "<audio>"}


class Closed(BaseModel):
    """Strict and closed: no `1` -> `"1"` coercion, unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


def json_text(value: Any) -> str:
    """A value as compact JSON text: how files hold free-form objects (tool schemas, tool-call arguments, meta)
    whose keys vary between rows, which Arrow-based loaders would otherwise fill with nulls or fail on."""
    return orjson.dumps(value).decode()


def from_json_text(value: Any) -> Any:
    """The reverse of `json_text` for a field that may hold either form: a string holding JSON is decoded."""
    if isinstance(value, str):
        try:
            return loads_nested(value)
        except NestedTooDeep:
            raise PydanticCustomError("too_deep", f"this JSON text: {TOO_DEEP}") from None
        except orjson.JSONDecodeError:
            raise PydanticCustomError("invalid_value", "a string here must hold JSON") from None
    return value


def id_text(value: str | int) -> str:
    """Ids are written as strings: one JSON type per column (published MOSS mixes numbers and strings)."""
    return value if isinstance(value, str) else str(value)


class ToolCall(Closed):
    """A function call made by the assistant; `arguments` is the decoded JSON object (a JSON string is read too)."""

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None

    _decode = field_validator("arguments", mode="before", json_schema_input_type=dict[str, Any] | str)(from_json_text)


class Message(Closed):
    """One turn. `weight` 0 masks the message from the loss; `reasoning` holds inner thoughts."""

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] | None = None
    reasoning: str | None = None
    weight: Literal[0, 1] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    @field_validator("reasoning")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        """Blank reasoning is no reasoning (as a null key or an empty `<think>` block is)."""
        return value if value is None or value.strip() else None


class Record(Closed):
    """A canonical record; see the module docstring for how its kind is derived."""

    messages: list[Message] | None = None
    chosen: list[Message] | None = None
    rejected: list[Message] | None = None
    completion: list[Message] | None = None
    label: bool | None = None
    text: str | None = None
    tools: list[dict[str, Any]] | None = None
    images: list[str] | None = None
    videos: list[str] | None = None
    audios: list[str] | None = None
    id: str | int | None = None
    meta: dict[str, Any] | None = None

    _decode_tools = field_validator("tools", mode="before", json_schema_input_type=list[dict[str, Any]] | str | None)(
        from_json_text)
    _decode_meta = field_validator("meta", mode="before", json_schema_input_type=dict[str, Any] | str | None)(
        from_json_text)

    @model_validator(mode="after")
    def _one_kind(self) -> Record:
        has = {k for k in ("messages", "chosen", "rejected", "completion", "label", "text") if getattr(self, k) is not None}
        if has not in ({"messages"}, {"messages", "chosen", "rejected"}, {"messages", "completion", "label"}, {"text"}):
            raise PydanticCustomError(
                "invalid_value", "a record has either messages, messages+chosen+rejected, messages+completion+label, "
                "or text; got {got}", {"got": str(sorted(has) or "none of them")})
        return self

    @property
    def kind(self) -> Kind:
        if self.text is not None:
            return "text"
        if self.chosen is not None:
            return "preference"
        if self.completion is not None:
            return "kto"
        return "sft"

    def message_lists(self) -> list[tuple[str, list[Message]]]:
        """The message lists this record holds, by field name, in order."""
        return [(k, v) for k in ("messages", "chosen", "rejected", "completion") if (v := getattr(self, k)) is not None]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict without unset optional fields."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_file_json(self) -> dict[str, Any]:
        """`to_json` as a file holds it, stable under Arrow: the id a string; tools, tool-call arguments and meta
        as JSON text (the model reads both forms back)."""
        out = self.to_json()
        if "id" in out:
            out["id"] = id_text(out["id"])
        for key in ("tools", "meta"):
            if key in out:
                out[key] = json_text(out[key])
        for name, _ in self.message_lists():
            for m in out[name]:
                for call in m.get("tool_calls", ()):
                    call["arguments"] = json_text(call["arguments"])
        return out

    def sequences(self) -> list[list[Message]]:
        """The conversations a trainer sees: sft [messages]; preference [prompt+chosen, prompt+rejected];
        kto [prompt+completion]; text none."""
        prompt = self.messages or []
        if self.kind == "preference":
            return [prompt + (self.chosen or []), prompt + (self.rejected or [])]
        if self.kind == "kto":
            return [prompt + (self.completion or [])]
        return [prompt] if self.kind == "sft" else []


def tool_calls_json(calls: list[ToolCall], text_arguments: bool) -> list[dict[str, Any]]:
    """Tool calls in OpenAI's shape, `{id?, type: "function", function: {name, arguments}}`; arguments as JSON text
    (`text_arguments`, as files hold them) or as objects (as chat templates take them)."""
    return [{**({"id": c.id} if c.id else {}), "type": "function",
             "function": {"name": c.name, "arguments": json_text(c.arguments) if text_arguments else c.arguments}}
            for c in calls]


def chat_messages(messages: Sequence[Message], text_arguments: bool = False,
                  reasoning_key: str | None = "reasoning_content") -> list[dict[str, Any]]:
    """Canonical messages -> the dicts HF chat templates and trl take: the one such function (stats, fttrain and the
    trl writer all use it). Tool call arguments stay objects (`text_arguments`: JSON text, as files hold them);
    reasoning goes under `reasoning_key` (the key the template reads: `ftdata.core.tokens.reasoning_key`), into the
    content as a leading <think> block ("content"), or nowhere (None).

    [Message(role="assistant", content="", tool_calls=[ToolCall(name="f", arguments={"x": 1})])]
    -> [{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f",
        "arguments": {"x": 1}}}]}]
    """
    out = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            item["tool_calls"] = tool_calls_json(m.tool_calls, text_arguments)
        if m.reasoning is not None and reasoning_key == "content":
            item["content"] = join_think(m.reasoning, m.content)
        elif m.reasoning is not None and reasoning_key is not None:
            item[reasoning_key] = m.reasoning
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        if m.name is not None:
            item["name"] = m.name
        out.append(item)
    return out
