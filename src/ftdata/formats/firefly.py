"""Firefly: SFT rows `{"conversation": [{"human", "assistant"}], "system"?, "category"?, "conversation_id"?}`
and DPO rows (`prompt`, `prompt_id`, `chosen`/`rejected` holding the whole conversation, scores).
Loss is on every assistant turn, which the canonical form keeps (one message per turn).
"""

from __future__ import annotations

from typing import Any

from ftdata.core.rules import Origin, Origins
from ftdata.formats import trl
from ftdata.formats.base import (
    ClosedPart,
    Converted,
    Format,
    Raw,
    Row,
    build_record,
    parse_row,
    shapes,
    text_message,
)
from ftdata.formats.light import LightMessage, LightRecord, is_ident, is_text


class Turn(ClosedPart):
    human: str
    assistant: str


class FireflyRow(Row):
    conversation: list[Turn]
    system: str | None = None
    conversation_id: int | str | None = None


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"conversation": [{"human": "Hi", "assistant": "Hello"}]} -> messages [user, assistant]."""
    if "conversation" not in raw and "prompt_id" in raw:
        return trl.to_canonical(raw)  # DPO rows are trl's implicit-prompt preference shape
    row, problems = parse_row(FireflyRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    origins = Origins(list_paths={"messages": "conversation"})
    messages = []
    if row.system is not None:
        messages.append(text_message("system", row.system))
        origins.add("messages", Origin("system", "system"))
    for i, turn in enumerate(row.conversation):
        messages += [text_message("user", turn.human), text_message("assistant", turn.assistant)]
        origins.add("messages", Origin(f"conversation[{i}]", f"conversation[{i}].human", "human"))
        origins.add("messages", Origin(f"conversation[{i}]", f"conversation[{i}].assistant", "assistant"))
    return build_record(dict(messages=messages, id=row.conversation_id, meta=row.extras()), origins, problems)


# The fast lane: plain SFT rows in this exact shape (see ftdata.formats).
FAST_KEYS = frozenset({"conversation", "system", "conversation_id", "category"})


def fast(raw: Raw) -> bool:
    """{"conversation": [{"human", "assistant"}, ...], "system"?, "conversation_id"?, "category"?}."""
    if not raw.keys() <= FAST_KEYS or not is_ident(raw.get("conversation_id")):
        return False
    if "category" in raw and type(raw["category"]) is not str:
        return False  # the full lane, where type_drift walks what is inside it
    if "system" in raw and not is_text(raw["system"]):
        return False
    conv = raw.get("conversation")
    if type(conv) is not list or not conv:
        return False
    for turn in conv:
        if type(turn) is not dict or len(turn) != 2 or not is_text(turn.get("human")) or not is_text(turn.get("assistant")):
            return False
    return True


def light(raw: Raw) -> LightRecord:
    msgs = [LightMessage("system", raw["system"])] if "system" in raw else []
    for turn in raw["conversation"]:
        msgs += [LightMessage("user", turn["human"]), LightMessage("assistant", turn["assistant"])]
    return LightRecord(msgs, raw.get("conversation_id"), {"category": raw["category"]} if "category" in raw else None)


FORMAT = Format(
    name="firefly",
    summary="conversation: [{human, assistant}] (+ system, category); DPO with prompt_id and scored chosen/rejected",
    # DPO rows hold trl's keys too (prompt, chosen, rejected): prompt_id makes them ours
    shapes=shapes("conversation", "prompt_id chosen", "prompt_id rejected", "prompt_id chosen rejected"),
    rows=(FireflyRow,),
    schema_note="Firefly DPO rows (prompt_id, whole-conversation chosen/rejected) follow the trl schema.",
    to_canonical=to_canonical,
    fast=fast,
    light=light,
    example={"conversation_id": 1, "category": "Brainstorming",
             "conversation": [{"human": "Name a colour.", "assistant": "Blue."}]},
    shape_doc="`conversation: [{human, assistant}]`, `system`",
    variants="DPO rows (`prompt_id`, whole-conversation chosen/rejected)",
    text_fields=("system", "prompt", "conversation[*].human", "conversation[*].assistant"),
)
