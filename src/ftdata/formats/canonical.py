"""canonical: ftdata's own record shape (see `ftdata.canonical`), as written by `ftdata convert --to canonical`."""

from __future__ import annotations

from typing import Any

from ftdata.canonical import Record
from ftdata.formats.base import Converted, Format, parse_row
from ftdata.rules import Origins


def to_canonical(raw: dict[str, Any]) -> Converted:
    """Validate a canonical record as it is."""
    record, problems = parse_row(Record, raw)
    return Converted(record, Origins(), problems)


FORMAT = Format(
    name="canonical",
    summary="ftdata's canonical record: messages (+ chosen/rejected | completion/label), tools, media, meta",
    detect=lambda k: "messages" in k and bool(k & {"chosen", "rejected", "completion", "meta"}),
    to_canonical=to_canonical,
    example={"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
             "meta": {"source": "example"}},
    from_canonical=lambda w: w.record.to_json(),
)
