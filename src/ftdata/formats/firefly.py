"""Firefly: SFT rows `{"conversation": [{"human", "assistant"}], "system"?, "category"?, "conversation_id"?}`
and DPO rows (`prompt`, `prompt_id`, `chosen`/`rejected` holding the whole conversation, scores).
Loss is on every assistant turn, which the canonical form keeps (one message per turn).
"""

from __future__ import annotations

from typing import Any

from ftdata.formats import trl
from ftdata.formats.base import ClosedPart, Converted, Format, Row, build_record, parse_row, text_message
from ftdata.rules import Origin, Origins


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


FORMAT = Format(
    name="firefly",
    summary="conversation: [{human, assistant}] (+ system, category); DPO with prompt_id and scored chosen/rejected",
    detect=lambda k: "conversation" in k or "prompt_id" in k,
    to_canonical=to_canonical,
    example={"conversation_id": 1, "category": "Brainstorming",
             "conversation": [{"human": "Name a colour.", "assistant": "Blue."}]},
)
