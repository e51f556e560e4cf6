"""What a `Format` declares for code outside its module: what it carries as a convert target (`carries`: the
round-trip property tests draw records from these declarations, and the docs' format x feature matrix is
generated from them) and how LLaMA-Factory reads it (`LlamaFactory`: dataset_info.json entries, read and written).

    FORMAT = Format(..., carries={"system": KEPT, "tools": kept("JSON string"), "weights": lossy("defaults only"),
                                  "kto": REJECTED})

A feature a target does not name is "-" in the matrix (not applicable: a pretraining text has no system prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, get_args

from ftdata.core.canonical import Kind

Raw = dict[str, Any]

Feature = Literal["system", "multi_turn", "consecutive_users", "tool_calls", "parallel_tools", "call_ids", "tools",
                  "reasoning", "reasoning_call", "weights", "preference", "kto", "images", "videos", "audios", "text",
                  "id", "meta"]
FEATURES: tuple[Feature, ...] = get_args(Feature)

LABELS: dict[Feature, str] = {  # the matrix's rows, in this order
    "system": "system prompt",
    "multi_turn": "multi-turn (loss on every assistant turn)",
    "consecutive_users": "several user messages in a row",
    "tool_calls": "tool calls + tool results",
    "parallel_tools": "several tool calls in one assistant turn",
    "call_ids": "tool call ids",
    "tools": "`tools` schemas",
    "reasoning": "reasoning on an answer",
    "reasoning_call": "reasoning beside a tool call",
    "weights": "per-message `weight`",
    "preference": "preference (chosen/rejected)",
    "kto": "KTO (label)",
    "images": "images",
    "videos": "videos",
    "audios": "audios",
    "text": "pretraining text",
    "id": "`id`",
    "meta": "unknown source fields",
}


@dataclass(frozen=True)
class Carry:
    """How a target carries one feature: `kept` (canonical -> target -> canonical gives it back unchanged; the
    round-trip tests rely on it) and `how`, the matrix's cell."""

    kept: bool
    how: str


def kept(how: str = "") -> Carry:
    """Carried unchanged; `how` says in what shape ("JSON string")."""
    return Carry(True, f"yes ({how})" if how else "yes")


def lossy(how: str) -> Carry:
    """Carried in a shape that does not come back as it was (ids by position, `<think>` in the content, ...)."""
    return Carry(False, how)


def rejected(why: str = "") -> Carry:
    """A record with this feature is rejected as unrepresentable (never flattened)."""
    return Carry(False, f"**rejected** ({why})" if why else "**rejected**")


KEPT = kept()


def carries(declared: Mapping[Feature, Carry], feature: Feature) -> bool:
    """Does a target keep `feature` unchanged through a round trip?"""
    carry = declared.get(feature)
    return carry is not None and carry.kept


def matrix_markdown(targets: Mapping[str, Mapping[Feature, Carry]]) -> str:
    """The docs' format x feature matrix: a row per feature, a column per target (name -> its `carries`)."""
    names = list(targets)
    lines = ["| feature | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for feature in FEATURES:
        cells = [targets[n][feature].how if feature in targets[n] else "-" for n in names]
        lines.append(f"| {LABELS[feature]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class LlamaFactory:
    """How LLaMA-Factory reads this format from a dataset_info.json entry: its `formatting` value, each of its
    column names -> our row's field, and its tag defaults (role/content keys and role values). An entry whose
    columns all name fields of this format (and of no format with fewer columns) is read as this format."""

    formatting: str
    columns: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    # for a row we wrote: why LLaMA-Factory would not read all of it (tool calls it has no place for, ...), or None
    unread: Callable[[Raw], str | None] | None = None
    # the entry (without file_name) that reads a file of these rows, of one record kind and these top-level keys;
    # default `standard_entry`
    entry: Callable[[LlamaFactory, Kind, set[str]], dict[str, Any]] | None = None
    # columns an entry must name to be read as this format rather than another of the same `formatting`
    required: frozenset[str] = frozenset()

    def entry_for(self, kind: Kind, keys: set[str]) -> dict[str, Any]:
        return (self.entry or standard_entry)(self, kind, keys)


def standard_entry(lf: LlamaFactory, kind: Kind, keys: set[str]) -> dict[str, Any]:
    """{"formatting", "ranking"?, "columns"} with the columns the rows have (LLaMA-Factory sets the others to None)."""
    entry: dict[str, Any] = {"formatting": lf.formatting}
    if kind == "preference":
        entry["ranking"] = True
    entry["columns"] = {col: f for col, f in lf.columns.items() if f in keys}
    return entry
