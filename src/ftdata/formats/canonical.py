"""canonical: ftdata's own record shape (see `ftdata.core.canonical`), as written by `ftdata convert --to canonical`."""

from __future__ import annotations

from typing import Any

from ftdata.core.canonical import Record
from ftdata.core.rules import OPEN, Origins
from ftdata.formats import openai
from ftdata.formats.base import Converted, Format, Raw, parse_row, shapes
from ftdata.formats.declare import FEATURES, KEPT

RECORD_FIELDS = frozenset(Record.model_fields)


def to_canonical(raw: Raw) -> Converted:
    """Validate a canonical record as it is."""
    record, problems = parse_row(Record, raw)
    return Converted(record, Origins(), problems)


def canonical_only(raw: Raw) -> bool:
    """Do the messages use canonical-only features (tool calls as {name, arguments}, `reasoning`)? Plain
    {role, content} messages look the same in OpenAI's shape, which wins then."""
    messages = raw.get("messages")
    if not isinstance(messages, list):
        return False
    for m in messages:
        if not isinstance(m, dict):
            continue
        calls = m.get("tool_calls")
        if "reasoning" in m or (isinstance(calls, list) and any(isinstance(c, dict) and "name" in c for c in calls)):
            return True
    return False


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
    schema_note="A record holds messages; messages+chosen+rejected; messages+completion+label; or text.",
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
