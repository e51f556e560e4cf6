"""canonical: ftdata's own record shape (see `ftdata.core.canonical`), as written by `ftdata convert --to canonical`."""

from __future__ import annotations

from typing import Any

from ftdata.core.canonical import Record
from ftdata.core.problems import Problem, has_errors
from ftdata.core.rules import OPEN, Origins
from ftdata.formats import openai
from ftdata.formats.base import (
    MESSAGE_LISTS,
    Converted,
    Format,
    Raw,
    parse_row,
    pick_reasoning,
    shapes,
    split_reasoning,
)
from ftdata.formats.blocks import canonical_parts
from ftdata.formats.declare import FEATURES, KEPT

RECORD_FIELDS = frozenset(Record.model_fields)
OPENAI_KEYS = frozenset({"reasoning_content", "thinking", "function_call"})  # message keys of OpenAI's shape only
OTHER_KEYS = ("reasoning_content", "thinking")  # reasoning under the chat conventions' keys, read as `reasoning`


def to_canonical(raw: Raw) -> Converted:
    """Validate a canonical record as it is (reasoning under another convention's key, or as a leading <think>
    block, read into `reasoning`; content parts, `ftdata.formats.blocks`, into text and media lists)."""
    fields, problems = _reasoning_keys(raw)
    origins = Origins()
    problems += canonical_parts(fields, MESSAGE_LISTS, origins)
    problems += split_reasoning(fields, origins)
    record, found = parse_row(Record, fields)
    problems += found
    return Converted(None if has_errors(problems) else record, origins, problems)


def _reasoning_keys(raw: Raw) -> tuple[Raw, list[Problem]]:
    """A copy of `raw` whose messages hold reasoning_content / thinking (text or null) as `reasoning`."""
    out, problems = dict(raw), []
    for name in MESSAGE_LISTS:
        msgs = raw.get(name)
        if not isinstance(msgs, list):
            continue
        out[name] = msgs = list(msgs)
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or not any(k in m for k in OTHER_KEYS):
                continue
            given = {k: m[k] for k in ("reasoning", *OTHER_KEYS) if k in m and (m[k] is None or isinstance(m[k], str))}
            reasoning, found = pick_reasoning(given, f"{name}[{i}]")
            problems += found
            msgs[i] = {k: v for k, v in m.items() if k not in given}
            if reasoning is not None:
                msgs[i]["reasoning"] = reasoning
    return out, problems


def canonical_only(raw: Raw) -> bool:
    """Do the messages use canonical-only features (tool calls as {name, arguments}, `reasoning`) and nothing of
    OpenAI's (its call layout, content parts, its reasoning keys)? Plain {role, content} messages
    look the same in OpenAI's shape, which wins then."""
    messages = raw.get("messages")
    if not isinstance(messages, list):
        return False
    found = False
    for m in messages:
        if not isinstance(m, dict):
            continue
        calls = m.get("tool_calls")
        calls = calls if isinstance(calls, list) else []
        if not OPENAI_KEYS.isdisjoint(m) or not isinstance(m.get("content", ""), str) or any(
                isinstance(c, dict) and "function" in c for c in calls):
            return False
        found = found or "reasoning" in m or any(isinstance(c, dict) and "name" in c for c in calls)
    return found


# The record's kinds, as sets of fields that are set (present and not null); see ftdata.core.canonical.
KIND_FIELDS = [("messages",), ("messages", "chosen", "rejected"), ("messages", "completion", "label"), ("text",)]
KIND_KEYS = ("messages", "chosen", "rejected", "completion", "label", "text")


def _is_set(field: str) -> dict[str, Any]:
    return {"required": [field], "properties": {field: {"not": {"type": "null"}}}}


def kind_schema(fields: tuple[str, ...]) -> dict[str, Any]:
    """JSON Schema: these fields set, the other kind fields not."""
    return {"allOf": [_is_set(f) for f in fields] + [{"not": _is_set(f)} for f in KIND_KEYS if f not in fields]}


FORMAT = Format(
    name="canonical",
    summary="ftdata's canonical record: messages (+ chosen/rejected | completion/label), tools, media, meta",
    shapes=shapes("messages chosen rejected", "messages completion label", "messages chosen", "messages completion")
    + shapes("messages", sniff=canonical_only),
    rows=(Record,),
    schema_note="A record holds messages; messages+chosen+rejected; messages+completion+label; or text. Reasoning "
                "under `reasoning_content` or `thinking`, or as a leading <think> block in an assistant's content, is "
                "read as `reasoning`.",
    also_accepts=lambda raw: ("messages" in raw or "text" in raw) and raw.keys() <= RECORD_FIELDS,
    to_canonical=to_canonical,
    example={"messages": [{"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "4", "reasoning": "Add the numbers."}],
             "meta": {"source": "example"}},
    from_canonical=lambda w: w.record.to_file_json(),
    light_writer=openai.light_writer,  # a plain conversation is {"messages": [{role, content}]} here too
    policy=OPEN,
    shape_doc="ftdata's own record",
    variants="see below",
    carries={feature: KEPT for feature in FEATURES},
    text_fields=("text",),
    schema_extra={"oneOf": [kind_schema(fields) for fields in KIND_FIELDS]},  # exactly one kind's fields set
)
