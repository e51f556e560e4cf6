"""text: pretraining rows `{"text": ...}` (also each line of a .txt file)."""

from __future__ import annotations

from typing import Any

from ftdata.formats.base import Converted, Format, Row, build_record, parse_row
from ftdata.rules import Origins


class TextRow(Row):
    text: str


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"text": "Once upon a time"} -> Record(text=...)."""
    row, problems = parse_row(TextRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    return build_record(dict(text=row.text, meta=row.extras()), Origins(), problems)


FORMAT = Format(
    name="text",
    summary="pretraining text: {text}",
    detect=lambda k: "text" in k and not (k & {"messages", "conversations", "prompt"}),
    to_canonical=to_canonical,
    example={"text": "The quick brown fox jumps over the lazy dog."},
)
