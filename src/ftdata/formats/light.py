"""Light canonical records: the fast lane's stand-in for `Record` inside `convert`'s hot loop.

A row that its format's fast check accepted is a plainly valid text conversation; building and re-validating a
pydantic `Record` for it costs more than the rest of the conversion. These slotted classes carry the attributes
the light writers read; `to_json()` equals `Record.to_json()` of the full path's record and `to_record()` builds
that very `Record` without validating again (property-tested), for everything outside the hot loop.

Also here: the small predicates the formats' fast checks share.
"""

from __future__ import annotations

import re
from typing import Any

from ftdata.core.canonical import MEDIA_KINDS, PLACEHOLDERS, Kind, Message, Record, Role
from ftdata.core.reasoning import CLOSE, OPEN
from ftdata.core.rules import SIMILAR_ANSWERS
from ftdata.core.similarity import edit_similarity, normalise, normalised_apart

PLACEHOLDER = re.compile("|".join(map(re.escape, PLACEHOLDERS.values())))
TAGS = (*PLACEHOLDERS.values(), OPEN, CLOSE)  # think tags too: the full lane splits a leading block off


def blank(value: str) -> bool:
    return not value or value.isspace()  # isspace() stops at the first non-space: O(1) in practice


def no_tags(value: str) -> bool:
    """No `<image>` / `<video>` / `<audio>` placeholder and no `<think>` / `</think>` tag in the text."""
    return "<" not in value or not any(tag in value for tag in TAGS)


def is_text(value: Any) -> bool:
    """A non-blank string without media placeholders."""
    return type(value) is str and not blank(value) and no_tags(value)


def placeholders_match(raw: dict[str, Any], texts: list[str]) -> bool:
    """The row's media lists (`images`, ...; lists of strings) hold as many items as `texts` hold placeholders."""
    # one scan of the texts holding a "<" (answers rarely do) for every kind's placeholder, not one per kind: the
    # tags cannot overlap (each holds one "<", its first character), so these are `str.count`'s numbers
    found = [tag for text in texts if "<" in text for tag in PLACEHOLDER.findall(text)]
    for kind in MEDIA_KINDS:
        refs = raw.get(kind, ())
        if kind in raw and (type(refs) is not list or not all(type(r) is str for r in refs)):
            return False
        if len(refs) != (found.count(PLACEHOLDERS[kind]) if found else 0):
            return False
    return True


def distinct_answers(chosen: str, rejected: str) -> bool:
    """Two plain answer texts the `distinct answers` rule finds nothing in: not identical, and under its edit
    similarity threshold."""
    if chosen == rejected:
        return False
    if (chosen.isascii() or rejected.isascii()) and normalised_apart(chosen, rejected, SIMILAR_ANSWERS):
        return True  # (two texts with hardly any ASCII: normalising them costs less than counting)
    return edit_similarity(normalise(chosen), normalise(rejected), SIMILAR_ANSWERS) is None


def is_ident(value: Any) -> bool:
    """An absent id, or a string or integer one."""
    return value is None or type(value) is str or type(value) is int


def id_as_written(raw: dict[str, Any], key: str = "id") -> bool:
    """The row's id is as the writers write it: absent, or a string (not a number, not an explicit null)."""
    return key not in raw or type(raw[key]) is str


class LightCall:
    """A tool call of a light message: `ToolCall`'s attributes, its arguments already an object."""

    __slots__ = ("arguments", "id", "name")

    def __init__(self, name: str, arguments: dict[str, Any], id: str | None = None) -> None:
        self.name, self.arguments, self.id = name, arguments, id

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "arguments": self.arguments}
        if self.id is not None:
            out["id"] = self.id
        return out


class LightMessage:
    __slots__ = ("role", "content")
    # a plain text message has none of these (`RichMessage` has)
    tool_calls: list[LightCall] | None = None
    reasoning: str | None = None
    tool_call_id: str | None = None
    name: str | None = None
    weight: int | None = None

    def __init__(self, role: Role, content: str) -> None:
        self.role, self.content = role, content

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content}


# what the writers (typed for `Message`, which light messages stand in for) test to write role and text only
PLAIN_MESSAGE: type[Any] = LightMessage


class RichMessage(LightMessage):
    """A light message with tool calls, reasoning (never blank), a tool call id, a name or a weight (convert's rich
    lane)."""

    __slots__ = ("name", "reasoning", "tool_call_id", "tool_calls", "weight")

    def __init__(self, role: Role, content: str, tool_calls: list[LightCall] | None = None,
                 reasoning: str | None = None, tool_call_id: str | None = None, name: str | None = None,
                 weight: int | None = None) -> None:
        self.role, self.content, self.tool_calls, self.reasoning = role, content, tool_calls, reasoning
        self.tool_call_id, self.name, self.weight = tool_call_id, name, weight

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls is not None:
            out["tool_calls"] = [c.to_json() for c in self.tool_calls]
        for key, value in (("reasoning", self.reasoning), ("weight", self.weight), ("tool_call_id", self.tool_call_id),
                           ("name", self.name)):
            if value is not None:
                out[key] = value
        return out


class LightRecord:
    """An SFT conversation of plain text messages, with optional id and meta."""

    __slots__ = ("messages", "id", "meta")
    chosen: list[LightMessage] | None = None
    rejected: list[LightMessage] | None = None
    completion: list[LightMessage] | None = None
    label: bool | None = None
    tools: list[dict[str, Any]] | None = None
    text: str | None = None
    images: list[str] | None = None  # `MediaRecord` has them (and videos, audios)
    videos: list[str] | None = None
    audios: list[str] | None = None
    kind: Kind = "sft"
    # the lane proved the turns plain (no name, no weight but the default, no two user messages in a row): the
    # writers' passes that refuse those (`Writing.default_weights_only`, `no_names`, `alternating`) are skipped
    plain_turns = False

    def __init__(self, messages: list[LightMessage], id: Any = None, meta: dict[str, Any] | None = None) -> None:
        self.messages, self.id, self.meta = messages, id, meta or None

    def system_apart(self) -> tuple[dict[str, Any], list[LightMessage]]:
        """({"system": ...} when the conversation opens with one, the remaining messages)."""
        msgs = self.messages
        if msgs[0].role == "system":
            return {"system": msgs[0].content}, msgs[1:]
        return {}, msgs

    def message_lists(self) -> list[tuple[str, list[LightMessage]]]:
        """As `Record.message_lists`."""
        return [(k, v) for k in ("messages", "chosen", "rejected", "completion") if (v := getattr(self, k)) is not None]

    def to_json(self) -> dict[str, Any]:
        """Equal to `Record.to_json()` of the full lane's record."""
        out: dict[str, Any] = {name: [m.to_json() for m in msgs] for name, msgs in self.message_lists()}
        if self.label is not None:
            out["label"] = self.label
        if self.tools is not None:
            out["tools"] = self.tools
        if self.id is not None:
            out["id"] = self.id
        if self.meta:
            out["meta"] = self.meta
        return out

    def to_record(self) -> Record:
        """The `Record` the full path builds for this row, without validating it again (the fast check did)."""
        if type(self) is not LightRecord:
            return Record.model_validate(self.to_json())  # rich records: outside the hot loop only
        fields: dict[str, Any] = {"messages": [Message.model_construct(role=m.role, content=m.content)
                                               for m in self.messages]}
        if self.id is not None:
            fields["id"] = self.id
        if self.meta:
            fields["meta"] = self.meta
        return Record.model_construct(**fields)


class RichRecord(LightRecord):
    """A light record with tool calls, reasoning, tools, a preference pair or a KTO completion (the rich lane)."""

    __slots__ = ("chosen", "completion", "kind", "label", "plain_turns", "rejected", "tools")

    def __init__(self, messages: list[LightMessage], id: Any = None, meta: dict[str, Any] | None = None,
                 tools: list[dict[str, Any]] | None = None, chosen: list[LightMessage] | None = None,
                 rejected: list[LightMessage] | None = None, completion: list[LightMessage] | None = None,
                 label: bool | None = None, plain_turns: bool = False) -> None:
        self.messages, self.id, self.meta, self.tools = messages, id, meta or None, tools
        self.plain_turns = plain_turns
        self.chosen, self.rejected, self.completion, self.label = chosen, rejected, completion, label
        self.kind = "preference" if chosen is not None else "kto" if completion is not None else "sft"


class MediaRecord(RichRecord):
    """A light record with media lists (`images`, `videos`, `audios`: paths and URLs as the row names them; convert's
    media lane, `Format.rich_media`): the engine checks their files before a writer writes it."""

    __slots__ = ("audios", "images", "videos")

    def __init__(self, messages: list[LightMessage], id: Any = None, images: list[str] | None = None,
                 videos: list[str] | None = None, audios: list[str] | None = None,
                 chosen: list[LightMessage] | None = None, rejected: list[LightMessage] | None = None,
                 completion: list[LightMessage] | None = None, label: bool | None = None) -> None:
        super().__init__(messages, id, chosen=chosen, rejected=rejected, completion=completion, label=label,
                         plain_turns=True)
        self.images, self.videos, self.audios = images, videos, audios

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        tail: dict[str, Any] = {k: out.pop(k) for k in ("id", "meta") if k in out}  # `Record`'s order: the lists before the id
        out.update({kind: refs for kind in MEDIA_KINDS if (refs := getattr(self, kind)) is not None})
        return {**out, **tail}
