"""canonical: ftdata's own record shape (see `ftdata.canonical`), as written by `ftdata convert --to canonical`."""

from __future__ import annotations

from typing import Any

from ftdata.canonical import Record
from ftdata.formats.base import Converted, Format, parse_row
from ftdata.formats.write import canonical_messages
from ftdata.rules import Origins, Policy


def to_canonical(raw: dict[str, Any]) -> Converted:
    """Validate a canonical record as it is."""
    record, problems = parse_row(Record, raw)
    return Converted(record, Origins(), problems)


RECORD_FIELDS = frozenset(Record.model_fields)


FORMAT = Format(
    name="canonical",
    summary="ftdata's canonical record: messages (+ chosen/rejected | completion/label), tools, media, meta",
    detect=lambda k: "messages" in k and not (k & {"input", "preferred_output", "conversations", "prompt"}),
    sniff=lambda raw: "completion" in raw or "chosen" in raw or canonical_messages(raw.get("messages")),
    also_accepts=lambda raw: ("messages" in raw or "text" in raw) and raw.keys() <= RECORD_FIELDS,
    to_canonical=to_canonical,
    example={"messages": [{"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "4", "reasoning": "Add the numbers."}],
             "meta": {"source": "example"}},
    from_canonical=lambda w: w.record.to_json(),
    policy=Policy(parallel_tools=True),
)
