"""text: pretraining rows `{"text": ...}` (also each line of a .txt file)."""

from __future__ import annotations

from typing import Any

from ftdata.core.rules import Origins
from ftdata.formats.base import Converted, Format, Row, build_record, parse_row, shapes
from ftdata.formats.declare import KEPT, LlamaFactory, kept
from ftdata.formats.write import Writing, with_meta


class TextRow(Row):
    text: str
    id: str | int | None = None


def to_canonical(raw: dict[str, Any]) -> Converted:
    """{"text": "Once upon a time"} -> Record(text=...)."""
    row, problems = parse_row(TextRow, raw)
    if row is None:
        return Converted(None, problems=problems)
    return build_record(dict(text=row.text, id=row.id, meta=row.extras()), Origins(), problems)

def from_canonical(w: Writing) -> dict[str, Any]:
    """Canonical text record -> {"text": ...}; conversations have no plain-text form here."""
    if w.record.kind != "text":
        w.refuse("messages", "only pretraining text records convert to text; use --to sharegpt/openai/trl")
        return {}
    return with_meta({"text": w.record.text}, w.record)


FORMAT = Format(
    name="text",
    summary="pretraining text: {text}",
    shapes=shapes("text"),
    rows=(TextRow,),
    to_canonical=to_canonical,
    from_canonical=from_canonical,
    example={"text": "The quick brown fox jumps over the lazy dog."},
    shape_doc="`{\"text\"}`",
    variants="`.txt` files: one record per line",
    carries={"text": KEPT, "id": kept("as text"), "meta": kept("`meta` object")},
    text_fields=("text",),
    # LLaMA-Factory reads pretraining text as an alpaca entry whose only column is `prompt`
    llamafactory=LlamaFactory("alpaca", columns={"prompt": "text"}, required=frozenset({"prompt"}),
                              entry=lambda lf, kind, keys: {"columns": {"prompt": "text"}}),
    trl_reads=frozenset({"text"}),  # trl reads language modeling text
)
