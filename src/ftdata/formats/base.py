"""What every source format provides, and the helpers they share."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from ftdata.core.canonical import Kind, Record
from ftdata.core.depth import loads_nested
from ftdata.core.problems import (
    Code,
    Problem,
    from_validation_error,
    has_errors,
    odd_characters,
    problem,
)
from ftdata.core.reasoning import OPEN, split_think
from ftdata.core.rules import STRICT, Origins, Policy
from ftdata.formats.declare import Carry, Feature, LlamaFactory
from ftdata.formats.declare import (
    Raw as Raw,  # re-exported: a decoded row, as every format module names it
)
from ftdata.formats.light import LightRecord
from ftdata.formats.write import ReasoningPolicy, Writing


@dataclass(slots=True)
class Converted:
    """The result of reading one source record: a canonical record (None when unusable) and its problems."""

    record: Record | None
    origins: Origins = field(default_factory=Origins)
    problems: list[Problem] = field(default_factory=list)


Fast = Callable[[Raw], bool]  # "is this decoded row certainly valid?" (the fast lane; see formats/__init__.py)
Direct = Callable[[Raw, ReasoningPolicy], tuple[Raw, Mapping[Code, int]] | None]  # see `Format.direct`


@dataclass(frozen=True)
class Shape:
    """A key set that identifies a format's records, optionally with a look at values where keys alone tie.

    Detection (`ftdata.formats.match`) takes the shape with the most keys that a record has; see there.
    """

    keys: frozenset[str]
    sniff: Callable[[Raw], bool] | None = None


def shapes(*key_sets: str, sniff: Callable[[Raw], bool] | None = None) -> tuple[Shape, ...]:
    """shapes("conversations", "conversations chosen rejected") -> two Shapes (space-separated key sets)."""
    return tuple(Shape(frozenset(keys.split()), sniff) for keys in key_sets)


@dataclass(frozen=True)
class Format:
    """Everything about one source format, in one place.

    Reading: `shapes` (detection), `rows` (the pydantic row models: the schema of record), `to_canonical`, `policy`
    (turn order), `roles` (source role -> canonical role). The fast lane, for plainly valid text conversations:
    `fast` (accept a decoded row), `light` (its light canonical record); `check` accepts more rows that are
    certainly valid (tool calls, preference pairs, ...) for validate, which builds no record. Writing: `from_canonical` (full),
    `light_writer` (for light records), `as_is` (target name -> "an accepted row is already exactly what that
    target's writer writes": convert copies its line). `llamafactory`: how LLaMA-Factory reads it, if it does.
    """

    name: str
    summary: str
    shapes: tuple[Shape, ...]
    rows: tuple[type[BaseModel], ...]
    to_canonical: Callable[[Raw], Converted]
    example: Raw
    schema_note: str = ""  # what JSON Schema cannot say about its rows (checked by `ftdata validate`)
    policy: Policy = STRICT
    roles: Mapping[str, str] = field(default_factory=dict)
    # a file of this format may also hold records of this shape (canonical files hold plain openai-like rows)
    also_accepts: Fast | None = None
    from_canonical: Callable[[Writing], Raw] | None = None
    fast: Fast | None = None
    check: Fast | None = None  # validate's fast lane: `fast`, and richer rows no light record is built for
    # the rows `check` takes beyond `fast` hold nested values whose JSON type other rows may hold differently
    # (OpenAI tool-call arguments as text here, objects there): type_drift walks them whole
    check_walk: bool = False
    # for those rows (`check` takes them, `fast` does not): (their structure: equal for rows whose objects hold the
    # same keys with values of the same types at every path but in free-form values; whether their message lists may
    # hold reasoning); the file checks walk a structure once and such a row's free-form values only
    check_shape: Callable[[Raw], tuple[Hashable, bool]] | None = None
    light: Callable[[Raw], LightRecord] | None = None
    light_writer: Callable[[LightRecord], Raw] | None = None
    # convert's rich lane: a row `check` takes (tool calls, reasoning, pairs), as the light record of the full lane's
    # record (`RichRecord`; a plain `LightRecord` for the rows `fast` takes), or None (the full lane); written by a
    # target's `from_canonical` when `writes_light`. The rows it takes nest no deeper than their shape but in `tools`;
    # it takes no row with media lists (images, videos, audios: `rich_media`'s, whose files the engine checks).
    rich: Callable[[Raw], LightRecord | None] | None = None
    # convert's media lane: a row `check` takes with media lists, as the light record of the full lane's record
    # (`MediaRecord`), or None; the engine takes it only once its files are checked (`io.media.refs_ok` on the
    # record's lists: located, inside the media folder, decoded, within the budgets), else the full lane says why
    rich_media: Callable[[Raw], LightRecord | None] | None = None
    writes_light: bool = False  # `from_canonical` reads light records as well as `Record`s
    # every value `from_canonical` writes below the top level is a string (sharegpt's {from, value} turns), so
    # `type_drift` needs only the top-level fields of the rows the rich lane writes (the full lane's are walked)
    writes_flat: bool = False
    # the rows the rich and media lanes write hold, for one top-level structure (keys and their values' types), one
    # JSON type per path below the top level but in free-form values (tools), whatever the record (OpenAI's messages,
    # tool calls as text; trl's content parts in rows with images): `type_drift` walks such a row whole once per
    # structure, which this tells, then only its top-level free-form values; None for a row to walk whole
    # (free-form values below the top level)
    written_shape: Callable[[Raw], Hashable | None] | None = None
    as_is: Mapping[str, Fast] = field(default_factory=dict)
    # convert's direct lanes, by target name: a row `rich` takes, written straight as that target's `from_canonical`
    # writes its record (an SFT row, and its warnings by code); None where that writer refuses it, or `rich` does
    direct: Mapping[str, Direct] = field(default_factory=dict)
    llamafactory: LlamaFactory | None = None
    # for the docs' Formats table: the shape in a few words, and its variants
    shape_doc: str = ""
    variants: str = ""
    # a convert target: what it carries (the round-trip tests and the docs' feature matrix come from this)
    carries: Mapping[Feature, Carry] = field(default_factory=dict)
    # `ftdata fix`: the row's plain turn texts outside message lists, as paths (`history[*][*]`,
    # `conversation[*].human`), whose outer whitespace is trimmed; message contents are found by fix itself
    text_fields: tuple[str, ...] = ()
    # `ftdata fix`: the value that means what a warned-about source value says (MOSS `None.` -> `None`), or None
    repair: Callable[[Problem, Any, Any], Any] | None = None
    # LLaMA-Factory v1's converters that read rows of this format (None: v1's own rows, no converter)
    v1_converters: tuple[str | None, ...] = ()
    # the record kinds trl's own loaders and trainers read in rows of this format as they are
    trl_reads: frozenset[Kind] = frozenset()
    # rows LLaMA-Factory reads through another format's entry: the entry (without file_name) for a file whose rows
    # have these top-level keys, or None (trl's plain prompt/completion rows as alpaca entries)
    llamafactory_as: Callable[[set[str]], dict[str, Any] | None] | None = None
    # `ftdata schema export`: what the row models' schema does not say by itself (the canonical record's kinds)
    schema_extra: Mapping[str, Any] = field(default_factory=dict)

    def write(self, w: Writing) -> Raw:
        """Canonical -> a row of this format (see `from_canonical`); only for convert targets."""
        if self.from_canonical is None:
            raise ValueError(f"{self.name} is not a convert target")
        return self.from_canonical(w)


class Row(BaseModel):
    """Source row: strict types; unknown top-level fields are kept (they go to `meta`, nothing is dropped)."""

    model_config = ConfigDict(extra="allow", strict=True, defer_build=True)

    def extras(self) -> dict[str, Any] | None:
        """Unknown fields for `meta`; a nested `meta` object (or its JSON text, as our writers emit it) is unwrapped."""
        if not self.model_extra:
            return None
        extra = dict(self.model_extra)
        inner = extra.pop("meta", None)
        if isinstance(inner, str) and inner.startswith("{"):  # our writers' JSON text
            try:
                inner = loads_nested(inner)
            except orjson.JSONDecodeError:  # kept as the text (NestedTooDeep too: never written out nested)
                pass
        if isinstance(inner, dict):
            return {**inner, **extra}
        if inner is not None:
            extra["meta"] = inner
        return extra


class ClosedPart(BaseModel):
    """A nested object of a closed shape (a message): unknown keys are errors, usually typos."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


M = TypeVar("M", bound=BaseModel)


def parse_row(model: type[M], raw: dict[str, Any], prefix: str = "") -> tuple[M | None, list[Problem]]:
    """Validate `raw` with a pydantic model; on failure return its errors as Problems."""
    try:
        return model.model_validate(raw), []
    except ValidationError as err:
        return None, from_validation_error(err, raw, prefix, known=_known_fields(model))


@functools.cache
def _known_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Field names for "did you mean": of the nested model the extra key sits in, when we can tell (once per model:
    every invalid row of a file asks)."""
    names = _field_names(model)
    for f in model.model_fields.values():
        for sub in _submodels(f.annotation):
            names |= _field_names(sub)
    return tuple(sorted(names))


def _field_names(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    out: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        out += _submodels(arg)
    return out


def build_record(fields: dict[str, Any], origins: Origins, problems: list[Problem], path: str = "") -> Converted:
    """Construct the canonical Record unless conversion already found errors (then rules would only add noise);
    leading `<think>` blocks of assistant turns become their reasoning (`split_reasoning`)."""
    problems = problems + split_reasoning(fields, origins)
    if has_errors(problems):
        return Converted(None, origins, problems)
    try:
        return Converted(Record.model_validate({k: v for k, v in fields.items() if v is not None}), origins, problems)
    except ValidationError as err:
        return Converted(None, origins, problems + from_validation_error(err, fields, path))


MESSAGE_LISTS = ("messages", "chosen", "rejected", "completion")


def split_reasoning(fields: dict[str, Any], origins: Origins) -> list[Problem]:
    """Split the leading `<think>` block off each assistant turn's content (the message dicts of `fields` are
    replaced, never changed); an empty block is counted in `origins.empty_think`. A block beside reasoning given
    under a key is reasoning given twice."""
    problems: list[Problem] = []
    for name in MESSAGE_LISTS:
        msgs = fields.get(name)
        if not isinstance(msgs, list):
            continue
        for i, m in enumerate(msgs):
            content = m.get("content") if isinstance(m, dict) else None
            if type(content) is not str or not content.startswith(OPEN) or m.get("role") != "assistant":
                continue
            found = split_think(content)
            if found.reasoning is None and not found.empty:
                continue  # unclosed: the `think tags` rule names it
            origins.empty_think += found.empty
            if found.reasoning is not None and m.get("reasoning") is not None:
                problems.append(problem(origins.get(name, i).content_path, "reasoning_tags",
                                        "reasoning given twice: under a key and as a <think> block in the content; "
                                        "keep one"))
                continue
            msgs[i] = {**m, "content": found.content}
            if found.reasoning is not None:
                msgs[i]["reasoning"] = found.reasoning
    return problems


def pick_reasoning(given: Mapping[str, str | None], path: str) -> tuple[str | None, list[Problem]]:
    """The reasoning of a message that may hold it under several keys ({"reasoning_content": ..., "thinking": ...});
    null or blank values are none; the same text under two keys is one (vLLM writes both `reasoning` and
    `reasoning_content`), different texts are a problem."""
    texts = {k: v for k, v in given.items() if v is not None and v.strip()}
    if len(set(texts.values())) > 1:
        keys = " and ".join(f"'{k}'" for k in texts)
        return None, [problem(f"{path}.{next(iter(texts))}", "reasoning_tags",
                              f"reasoning given twice, different under {keys}; keep one")]
    return next(iter(texts.values()), None), []


def shared_prefix(chosen: Sequence[Any], rejected: Sequence[Any]) -> int:
    """How many leading messages two preference answers share (their implicit prompt, as trl's `extract_prompt`
    finds it); each side keeps at least its last message as the answer."""
    n = 0
    while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
        n += 1
    return n

def unknown_role(path: str, spelled: str, roles: Iterable[str]) -> Problem:
    """An unknown role, with its look-alike or invisible characters named and the closest known role suggested."""
    known = list(roles)
    near = difflib.get_close_matches(spelled.strip().lower(), known, n=1, cutoff=0.5)
    tip = f"; did you mean '{near[0]}'?" if near else ""
    return problem(path, "unknown_role",
                   f"unknown role '{spelled}'{odd_characters(spelled)}{tip} (known: {', '.join(known)})")

Msg = dict[str, Any]  # a canonical message as a plain dict; pydantic validates a whole record at once (in Rust)


def text_message(role: str, content: str, **extra: Any) -> Msg:
    """{"role": role, "content": content, ...extra fields that are set}."""
    msg = {"role": role, "content": content}
    for key, value in extra.items():
        if value is not None:
            msg[key] = value
    return msg


def top_level_shape(row: Raw) -> Hashable:
    """A row's top-level keys and the types of their values (`Format.written_shape` of the targets that write one
    type per path below the top level)."""
    return tuple(row), tuple(map(type, row.values()))
