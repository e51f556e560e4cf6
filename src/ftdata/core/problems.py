"""Problems are values: every issue found in a record is a `Problem`, never an exception or a log line.

The codes are one closed set (`Code`); each has one severity and one meaning, documented here and listed in the
docs' code table, docs/problem-codes.md, generated from `CODES` (a test holds the three together).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Iterable, Literal, get_args

from pydantic import ValidationError

Severity = Literal["error", "warning"]

Code = Literal[
    "invalid_json", "not_an_object", "missing_field", "unknown_field", "wrong_type", "invalid_value", "unknown_role",
    "role_order", "empty_content", "empty_conversation", "missing_assistant", "tool_call_invalid", "marker_mismatch",
    "turn_count_mismatch", "placeholder_mismatch", "media_missing", "media_outside",
    "media_undecodable", "media_too_large", "media_too_long", "media_too_many", "mixed_format",
    "unrepresentable", "odd_placeholder", "odd_commands", "double_encoded", "reasoning_embedded", "reasoning_dropped",
    "type_drift", "more_problems", "identical_answers", "similar_answers", "label_imbalance", "too_deep",
    "reasoning_misplaced", "reasoning_tags", "reasoning_is_answer", "reasoning_encrypted", "call_unmatched",
]

# code -> (severity, meaning): the one place both are written
CODES: dict[Code, tuple[Severity, str]] = {
    "invalid_json": ("error", "the line or file cannot be read as a record (not valid JSON, UTF-8 or CSV)"),
    "not_an_object": ("error", "a record must be a JSON object"),
    "too_deep": ("error", "a record nests objects / arrays more than 128 levels deep (no format does)"),
    "missing_field": ("error", "a required field is absent"),
    "unknown_field": ("error", "a field the format does not know (often a typo)"),
    "wrong_type": ("error", "a field has the wrong JSON type"),
    "invalid_value": ("error", "a field has a value outside what the format allows"),
    "unknown_role": ("error", "a message role the format does not know"),
    "role_order": ("error", "messages are not in the order the format requires"),
    "empty_content": ("error", "a message has empty or whitespace-only content"),
    "empty_conversation": ("error", "a conversation has no messages"),
    "missing_assistant": ("error", "a conversation has no assistant turn to train on"),
    "tool_call_invalid": ("error", "a tool call is not a JSON object with a name and JSON-object arguments"),
    "marker_mismatch": ("error", "a MOSS field is not wrapped in its markers"),
    "turn_count_mismatch": ("error", "MOSS num_turns disagrees with the turns present"),
    "placeholder_mismatch": ("error", "the number of <image>/<video>/<audio> placeholders differs from the media items"),
    "media_missing": ("error", "a media file does not exist"),
    "media_outside": ("error", "a media path leaves the media folder (.., absolute, symlink)"),
    "media_undecodable": ("error", "a media file or data URL cannot be decoded as the image, audio or video a loader expects (Pillow, PyAV)"),
    "media_too_large": ("error", "an image has more pixels than --max-pixels allows"),
    "media_too_long": ("error", "an audio or video file lasts longer than --max-duration allows"),
    "media_too_many": ("error", "a row names more media files than --max-media-per-row allows"),
    "mixed_format": ("error", "the record has the shape of another format than the file's"),
    "unrepresentable": ("error", "convert: the target format cannot hold part of the record (the row is rejected)"),
    "odd_placeholder": ("warning", "a MOSS field holds an unusual 'None' variant (usable, but check the source)"),
    "odd_commands": ("warning", "MOSS Commands hold text besides the calls (numbering, comments); the calls were read"),
    "double_encoded": ("warning", "tool call arguments were JSON-encoded twice; decoded"),
    "reasoning_embedded": ("warning", "convert: reasoning written as a <think>...</think> prefix (the target has no field)"),
    "reasoning_dropped": ("warning", "convert: reasoning dropped (--reasoning drop)"),
    "more_problems": ("warning", "a record had more problems than are listed; the rest are counted by code"),
    "type_drift": ("warning", "a field's type, or a free-form object's keys, differ between rows: Arrow-based loaders "
                              "(datasets, so LLaMA-Factory, axolotl, trl) fail or add nulls"),
    "identical_answers": ("error", "chosen and rejected are the same answer: the pair teaches a preference method nothing"),
    "similar_answers": ("warning", "chosen and rejected differ only slightly (normalised edit similarity >= 0.95)"),
    "reasoning_misplaced": ("error", "reasoning on a user, system or tool turn (only assistant turns carry it)"),
    "reasoning_tags": ("error", "an unclosed, unopened or repeated <think> block, or reasoning given twice (two keys, "
                                "or a key and a <think> block)"),
    "reasoning_is_answer": ("warning", "a turn's reasoning repeats its answer word for word"),
    "reasoning_encrypted": ("warning", "an OpenAI Responses reasoning item holds only encrypted content: nothing to "
                                       "train on"),
    "call_unmatched": ("error", "a function call output whose call_id matches no earlier call, or a call that gets "
                                "no output before the trace goes on"),
    "label_imbalance": ("warning", "one KTO label is under 10% of the rows; the message names the weights that balance "
                                   "them"),
}
assert set(CODES) == set(get_args(Code)), "every code has a severity and a meaning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem: `index` is the 0-based record index, `line` the 1-based file line (None where none),
    `column` the 1-based column where the element starts on that line (JSON arrays; None elsewhere)."""

    index: int | None
    line: int | None
    path: str
    code: Code
    message: str
    column: int | None = None

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    def location(self, file: str) -> str:
        """'data.json:6:3' (a JSON array's element), 'data.jsonl:12', or 'data.parquet[11]' (no lines)."""
        if self.line is None:
            return file if self.index is None else f"{file}[{self.index}]"
        return f"{file}:{self.line}" + (f":{self.column}" if self.column is not None else "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "line": self.line, "path": self.path, "code": self.code,
                               "message": self.message, "severity": self.severity}
        if self.column is not None:
            out["column"] = self.column
        return out

    def at(self, index: int | None, line: int | None, column: int | None = None) -> Problem:
        """A copy located at a record; converters build problems without knowing where the record sits."""
        return replace(self, index=index, line=line, column=column)

    def shifted(self, records: int, lines: int) -> Problem:
        """A copy moved by `records` indexes and `lines` lines (a range's local position -> the file's)."""
        return replace(self, index=None if self.index is None else self.index + records,
                       line=None if self.line is None else self.line + lines)


def problem(path: str, code: Code, message: str) -> Problem:
    """A problem not yet located in a file (index/line are filled in by the reader)."""
    return Problem(None, None, path, code, message)


ROW_PROBLEMS = 100  # problems listed per record: a row with 20,000 broken messages is one broken row, not a flood


def capped(problems: list[Problem]) -> list[Problem]:
    """At most ROW_PROBLEMS problems, then one `more_problems` counting the rest by code."""
    if len(problems) <= ROW_PROBLEMS:
        return problems
    rest = problems[ROW_PROBLEMS:]
    counts = Counter(p.code for p in rest)
    listed = ", ".join(f"{code} x{n}" for code, n in counts.most_common())
    return problems[:ROW_PROBLEMS] + [problem("", "more_problems", f"{len(rest)} more problems in this record "
                                                                   f"({listed}); fix the ones above first")]


def is_error(p: Problem) -> bool:
    return CODES[p.code][0] == "error"


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(CODES[p.code][0] == "error" for p in problems)


def odd_characters(text: str) -> str:
    """' (it holds U+0435 CYRILLIC SMALL LETTER IE)' when a name has characters that are not printable ASCII: a
    look-alike letter or an invisible character is why 'usеr' is not 'user'. '' otherwise."""
    odd = dict.fromkeys(c for c in text if not (c.isascii() and c.isprintable()))
    if not odd:
        return ""
    return " (it holds " + ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'a control character')}" for c in odd) + ")"


def join_path(prefix: str, *parts: str | int) -> str:
    """join_path("conversations", 3, "from") -> "conversations[3].from"; a key that is not a plain name is quoted:
    join_path("messages", 0, "content[0].text") -> 'messages[0]["content[0].text"]' (never read as a path)."""
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = key_step(out, part)
    return out


PLAIN_KEY = re.compile(r"[^.\[\]\"]+")


@lru_cache(maxsize=8192)  # TypeDrift asks for the same few steps on every row
def key_step(path: str, key: str) -> str:
    """`path` followed by the object key `key`: '.key', or '["key"]' (JSON-quoted) when the key holds a dot,
    bracket or quote, or is empty, so that every path names one place."""
    if PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


_TYPE_NAMES = {
    "string": "a string",
    "int": "an integer",
    "bool": "true or false",
    "list": "a list",
    "dict": "a JSON object",
    "float": "a number",
    "model": "a JSON object",
    "tuple": "a list",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def from_validation_error(
    err: ValidationError, raw: Any, prefix: str = "", known: Iterable[str] = ()
) -> list[Problem]:
    """Translate pydantic's errors into Problems with JSON paths into `raw`.

    Union branches are pruned: when one branch got deeper into the value (the input is a list, so the
    `list[...]` branch's errors are the useful ones), the other branches' "wrong type" errors are dropped.
    """
    known = list(known)
    found: list[Problem] = []
    for e in err.errors(include_url=False):
        loc = _json_loc(raw, e["loc"])
        path = join_path(prefix, *loc)
        found.append(_translate(e, path, loc[-1] if loc else "", known))
    return _prune_union_noise(found)


def _json_loc(raw: Any, loc: tuple[Any, ...]) -> list[str | int]:
    """Keep the parts of pydantic's loc that are real keys / indexes of `raw` (drop union and tag labels)."""
    out: list[str | int] = []
    value = raw
    for i, part in enumerate(loc):
        if isinstance(value, dict) and isinstance(part, str) and (part in value or i == len(loc) - 1):
            out.append(part)
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int):
            out.append(part)
            value = value[part] if 0 <= part < len(value) else None
    return out


def _translate(e: Any, path: str, field: str | int, known: list[str]) -> Problem:
    kind = e["type"]
    if kind in CODES:  # our own validators raise PydanticCustomError(code, message)
        return problem(path, kind, e["msg"])
    if kind == "missing":
        return problem(path, "missing_field", f"required field '{field}' is missing; add it")
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(str(field), known, n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else "; remove it"
        return problem(path, "unknown_field", f"unknown field '{field}'{odd_characters(str(field))}{tip}")
    if kind.endswith("_type") or kind in ("model_attributes_type", "model_type", "is_instance_of"):
        want = _TYPE_NAMES.get(kind.removesuffix("_type").removeprefix("model_attributes"), "a JSON object")
        return problem(path, "wrong_type", f"expected {want}, got {_json_type(e.get('input'))}")
    if kind == "literal_error":
        expected = e.get("ctx", {}).get("expected", "")
        return problem(path, "invalid_value", f"got {e.get('input')!r}, expected {expected}")
    if kind == "union_tag_invalid":
        return problem(path, "invalid_value", f"unknown type {e.get('ctx', {}).get('tag')!r}; "
                                              f"expected {e.get('ctx', {}).get('expected_tags')}")
    if kind in ("too_short", "too_long"):
        return problem(path, "invalid_value", f"{e['msg'].lower()}; e.g. history is a list of [question, answer] pairs"
                       if "history" in path else e["msg"])
    return problem(path, "invalid_value", str(e.get("ctx", {}).get("error", e["msg"])))


def _prune_union_noise(found: list[Problem]) -> list[Problem]:
    """Drop a union branch's "wrong type" where another branch matched deeper; merge two branches' wants."""
    deeper = {d[:i] for d in {p.path for p in found} for i, ch in enumerate(d) if ch in ".[" and i}
    kept: list[Problem] = []
    merged: dict[str, int] = {}  # path -> position in kept of its first "wrong type"
    for p in found:
        if p.code == "wrong_type":
            if p.path in deeper:
                continue  # another branch of the union matched the value's shape further down
            if p.path in merged:  # two branches, same place: "expected a string or a list"
                first = kept[merged[p.path]]
                want = p.message.removeprefix("expected ").split(", got ")[0]
                kept[merged[p.path]] = replace(first, message=first.message.replace(", got ", f" or {want}, got ", 1))
                continue
            merged[p.path] = len(kept)
        kept.append(p)
    return kept
