"""dolly (a toy format for tests/test_toy_format.py): Databricks Dolly rows, {instruction, context, response,
category}. Everything about it is in this module; the test adds it to a copy of the project with one registry line."""

from __future__ import annotations

from typing import Any

from ftdata.core.rules import Origins
from ftdata.formats.base import Converted, Format, Row, build_record, parse_row, shapes
from ftdata.formats.declare import KEPT, kept, rejected
from ftdata.formats.write import Writing, with_meta


class DollyRow(Row):
    instruction: str
    response: str
    context: str = ""
    category: str | None = None
    id: str | int | None = None


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"instruction", "context", "response"} -> a user turn (instruction, then the context) and the answer."""
    row, problems = parse_row(DollyRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    prompt = row.instruction + ("\n" + row.context if row.context else "")
    meta = {**(row.extras() or {}), **({"category": row.category} if row.category is not None else {})}
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": row.response}]
    return build_record(dict(messages=messages, id=row.id, meta=meta or None), Origins(), problems)


def from_canonical(w: Writing) -> dict[str, Any]:
    """A one-turn conversation -> a dolly row; anything else is unrepresentable."""
    msgs = w.record.messages or []
    if w.record.kind != "sft" or [m.role for m in msgs] != ["user", "assistant"] or msgs[1].tool_calls \
            or msgs[1].reasoning:
        w.refuse("messages", "dolly holds one instruction and one response")
        return {}
    return with_meta({"instruction": msgs[0].content, "response": msgs[1].content}, w.record)


FORMAT = Format(
    name="dolly",
    summary="Databricks Dolly: instruction/context/response (+ category)",
    shapes=shapes("instruction response"),
    rows=(DollyRow,),
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"instruction": "Name a colour.", "context": "", "response": "Blue.", "category": "open_qa"},
    shape_doc="`instruction`, `context`, `response`, `category`",
    variants="-",
    carries={"tool_calls": rejected(), "preference": rejected(), "id": kept("as text"), "meta": KEPT},
    text_fields=("instruction", "context", "response"),
)
