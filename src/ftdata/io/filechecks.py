"""Checks across the rows of a file: what no single row shows.

`TypeDrift` (code `type_drift`): a JSON path whose type differs between rows (an id that is a number in some rows
and a string in others), or a free-form object (tool schemas, tool-call arguments, meta) whose keys differ. Arrow,
which every `datasets`-based trainer reads JSON through, wants one type per column and one set of keys per
object: `datasets.load_dataset("json")` fails ("changed from number to string"), changes the values, or adds the
missing keys as nulls, which a chat template then renders and the model is trained on.

`ReasoningKeys` (code `type_drift`, in `ftdata.io.reasoning_keys`): reasoning under several keys in one file.

`LabelBalance` (code `label_imbalance`): a KTO label that is rarer than 10% of the rows, with the weights that
balance it.

Checks are streaming (one pass, flat memory: per path the types seen and where first) and cheap: the fast lane's
plain rows, whose nested values are known strings, cost one look at their top-level fields; other rows cost about
one tuple per object (objects are remembered by shape, see `TypeDrift`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from ftdata.core.problems import Problem
from ftdata.core.reports import Checked
from ftdata.io.reasoning_keys import ReasoningKeys

FREE_FORM = frozenset({"tools", "functions", "arguments", "meta"})  # objects rendered or kept verbatim
MAX_DEPTH = 32  # deeper values are not tracked (no training format nests that far)
MAX_PATHS = 20_000  # flat memory on files whose free-form objects have ever new keys
JSON_TYPE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null", list: "array",
             dict: "object"}


class FileCheck(Protocol):
    """Sees every row of a file (or of a byte range of it) and reports what holds across them."""

    def see(self, item: Checked) -> None: ...

    def see_plain(self, row: dict[str, Any], index: int, line: int | None, whole: bool = False) -> None:
        """A row the fast lane accepted (valid, no record built); `whole`: its nested values may vary from row to
        row (see `Format.check_walk`)."""

    def merge(self, later: Any, records: int, lines: int) -> None: ...

    def problems(self) -> list[Problem]: ...


@dataclass
class Seen:
    """Where something (a type at a path, an object's set of keys) was first seen."""

    index: int
    line: int | None


Shape = tuple[tuple[str, ...], tuple[type, ...]]  # an object's keys and the types of their values


@dataclass
class TypeDrift:
    """Per path (list items as `[*]`): the JSON types seen; per free-form object path: the key sets seen.

    Objects are remembered by shape (their keys and value types): an object whose shape was seen at its path before
    adds nothing, so only the objects and lists inside it are visited. Rows of a dataset repeat a few shapes, so a
    row costs about one tuple per object, not one step per value.
    """

    types: dict[str, dict[str, Seen]] = field(default_factory=dict)
    keys: dict[str, dict[frozenset[str], Seen]] = field(default_factory=dict)  # free-form path -> key set -> seen
    shapes: dict[str, dict[Shape, tuple[str, ...]]] = field(default_factory=dict)  # -> the keys holding containers
    free_seen: set[int] = field(default_factory=set)  # hashes of free-form values walked already (tools repeat)
    walked: bool = False  # one plain row walked whole (its nested paths, all strings, registered)

    def see(self, item: Checked) -> None:
        if isinstance(item.raw, dict):
            self._object("", item.raw, item.index, item.line, False, 0)

    def see_plain(self, row: dict[str, Any], index: int, line: int | None, whole: bool = False) -> None:
        if whole or not self.walked:
            self.walked = True
            self._object("", row, index, line, False, 0)
            return
        types = self.types
        for key, value in row.items():  # the hot path: plain rows vary only in their top-level fields
            at = types.get(key)
            kind = type(value)
            name = JSON_TYPE.get(kind, "other")
            if at is None:
                types[key] = {name: Seen(index, line)}
            elif name not in at:
                at[name] = Seen(index, line)
            if key in FREE_FORM and (kind is dict or kind is list):  # tools: their keys vary row to row
                self._free(key, value, index, line, 1)

    def _object(self, path: str, value: dict[str, Any], index: int, line: int | None, free: bool, depth: int) -> None:
        shape: Shape = (tuple(value), tuple(map(type, value.values())))
        known = self._shapes_at(path)
        inner = known.get(shape)
        if inner is None:
            inner = self._new_shape(path, shape, known, index, line, free)
        if inner and depth < MAX_DEPTH:
            self._inner(path, value, inner, index, line, free, depth)

    def _shapes_at(self, path: str) -> dict[Shape, tuple[str, ...]]:
        known = self.shapes.get(path)
        if known is None:
            known = {}
            if len(self.shapes) < MAX_PATHS:
                self.shapes[path] = known
        return known

    def _new_shape(self, path: str, shape: Shape, known: dict[Shape, tuple[str, ...]], index: int, line: int | None,
                   free: bool) -> tuple[str, ...]:
        """A shape not seen at `path` before: note its keys' types; returns the keys holding objects or lists."""
        prefix = f"{path}." if path else ""
        for key, kind in zip(*shape):
            self._type(prefix + key, JSON_TYPE.get(kind, "other"), index, line)
        if free:
            self.keys.setdefault(path, {}).setdefault(frozenset(shape[0]), Seen(index, line))
        inner = tuple(k for k, kind in zip(*shape) if kind is dict or kind is list)
        if len(known) < MAX_PATHS:
            known[shape] = inner
        return inner

    def _inner(self, path: str, value: dict[str, Any], inner: tuple[str, ...], index: int, line: int | None,
               free: bool, depth: int) -> None:
        for key in inner:
            child, sub = (f"{path}.{key}" if path else key), value[key]
            if not free and key in FREE_FORM:
                self._free(child, sub, index, line, depth + 1)
            elif type(sub) is dict:
                self._object(child, sub, index, line, free, depth + 1)
            else:
                self._list(child + "[*]", sub, index, line, free, depth + 1)

    def _free(self, path: str, value: Any, index: int, line: int | None, depth: int) -> None:
        """A free-form value (tool schemas, arguments, meta): walked once per distinct value (by its JSON text)."""
        digest = hash((path, orjson.dumps(value, option=orjson.OPT_SORT_KEYS)))
        if digest in self.free_seen:
            return
        if len(self.free_seen) < MAX_PATHS:
            self.free_seen.add(digest)
        if type(value) is dict:
            self._object(path, value, index, line, True, depth)
        elif type(value) is list:
            self._list(path + "[*]", value, index, line, True, depth)

    def _list(self, path: str, items: list[Any], index: int, line: int | None, free: bool, depth: int) -> None:
        kinds = set(map(type, items))
        for kind in kinds:
            self._type(path, JSON_TYPE.get(kind, "other"), index, line)
        if depth >= MAX_DEPTH:
            return
        if dict in kinds:  # the hot loop (messages, tool calls): objects inlined, recursing only into containers
            known = self._shapes_at(path)
            for sub in items:
                if type(sub) is dict:
                    shape: Shape = (tuple(sub), tuple(map(type, sub.values())))
                    inner = known.get(shape)
                    if inner is None:
                        inner = self._new_shape(path, shape, known, index, line, free)
                    if inner and depth + 1 < MAX_DEPTH:
                        self._inner(path, sub, inner, index, line, free, depth + 1)
        if list in kinds:
            for sub in items:
                if type(sub) is list:
                    self._list(path + "[*]", sub, index, line, free, depth + 1)

    def _type(self, path: str, name: str, index: int, line: int | None) -> None:
        at = self.types.get(path)
        if at is None:
            if len(self.types) < MAX_PATHS:
                self.types[path] = {name: Seen(index, line)}
        elif name not in at:
            at[name] = Seen(index, line)

    def merge(self, later: TypeDrift, records: int, lines: int) -> None:
        """Add what a later byte range saw (its indexes and lines counted from its own start)."""
        def moved(s: Seen) -> Seen:
            return Seen(s.index + records, None if s.line is None else s.line + lines)

        for path, names in later.types.items():
            at = self.types.setdefault(path, {})
            for name, s in names.items():
                at.setdefault(name, moved(s))
        for path, sets in later.keys.items():
            known = self.keys.setdefault(path, {})
            for key_set, s in sets.items():
                known.setdefault(key_set, moved(s))
        self.walked = self.walked or later.walked

    def problems(self) -> list[Problem]:
        out = [_type_problem(path, seen) for path, seen in self.types.items() if len(seen) > 1]
        by_root: dict[str, list[tuple[str, dict[frozenset[str], Seen]]]] = {}  # one warning per free-form field
        for path, sets in self.keys.items():
            if len(sets) > 1:
                by_root.setdefault(_free_root(path), []).append((path, sets))
        for varying in by_root.values():
            varying.sort(key=lambda v: len(v[0]))
            out.append(_keys_problem(*varying[0], len(varying) - 1))
        return sorted(out, key=lambda p: (p.index or 0, p.path))


def _where(s: Seen) -> str:
    return f"line {s.line}" if s.line is not None else f"record {s.index}"


def _type_problem(path: str, seen: dict[str, Seen]) -> Problem:
    ordered = sorted(seen.items(), key=lambda kv: kv[1].index)
    described = ", ".join(f"{name} (first: {_where(s)})" for name, s in ordered)
    kinds = set(seen) - {"null"}  # null fits any column
    if kinds == {"integer", "number"}:
        effect = "Arrow reads them all as floats, so datasets.load_dataset changes the integers (1 -> 1.0)"
    elif len(kinds) == 1:
        effect = "loaders read null as absent, which is fine only for an optional field"
    else:
        effect = (f"one Arrow column cannot hold {' and '.join(sorted(kinds))}: datasets.load_dataset (LLaMA-Factory, "
                  "axolotl, trl) fails or converts the values; write one type in every row (`ftdata convert` does)")
    first_other = ordered[1][1]
    return Problem(first_other.index, first_other.line, path, "type_drift", f"'{path}' is {described}: {effect}")


def _free_root(path: str) -> str:
    """'tools[*].parameters.properties' -> 'tools': the free-form field a path lies in."""
    parts = path.replace("[*]", "").split(".")
    for i, part in enumerate(parts):
        if part in FREE_FORM:
            return ".".join(parts[: i + 1])
    return path


def _keys_problem(path: str, sets: dict[frozenset[str], Seen], more: int) -> Problem:
    (first_keys, first), (other_keys, other) = sorted(sets.items(), key=lambda kv: kv[1].index)[:2]
    differ = sorted(first_keys ^ other_keys)
    shown = ", ".join(f"'{k}'" for k in differ[:4]) + (" ..." if len(differ) > 4 else "")
    also = f"; so do {more} object(s) inside it" if more else ""
    return Problem(other.index, other.line, path, "type_drift",
                   f"the keys of '{path}' differ between objects ({shown} in {_where(first)} or {_where(other)} but "
                   f"not both; {len(sets)} key sets in all){also}: datasets.load_dataset adds the missing keys as "
                   "nulls, which chat templates render and the model learns, or fails on large files; write it as "
                   "JSON text (`ftdata convert` does for tools, tool-call arguments and meta)")


MIN_LABEL_SHARE = 0.10  # a KTO label under this share of the rows is flagged ...
MIN_KTO_ROWS = 10  # ... in files with at least this many KTO rows (below, a 10% share is less than one row)
TRL_RATIO = 1.33  # trl's KTO range: desirable_weight * n_desirable / (undesirable_weight * n_undesirable) in [1, 1.33]


@dataclass
class LabelBalance:
    """KTO rows per label (code `label_imbalance`). KTO sums the desirable and undesirable losses weighted by
    `desirable_weight` / `undesirable_weight`; the KTO paper (and trl's warning) want
    desirable_weight * n_desirable / (undesirable_weight * n_undesirable) within [1, 4/3], so a rare label needs
    its weight raised (or the other lowered)."""

    counts: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    first: dict[bool, tuple[int, int | None, str]] = field(default_factory=dict)  # label -> (index, line, path)

    def see(self, item: Checked) -> None:
        record = item.record
        if record is None or record.kind != "kto" or record.label is None:
            return
        self.counts[record.label] += 1
        if record.label not in self.first:
            path = "kto_tag" if isinstance(item.raw, dict) and "kto_tag" in item.raw else "label"
            self.first[record.label] = (item.index, item.line, path)

    def see_plain(self, row: dict[str, Any], index: int, line: int | None, whole: bool = False) -> None:
        """A fast-lane row: its label is the top-level `kto_tag` (sharegpt) or `label` (openai), a boolean."""
        for key in ("kto_tag", "label"):
            label = row.get(key)
            if type(label) is bool:
                self.counts[label] += 1
                if label not in self.first:
                    self.first[label] = (index, line, key)
                return

    def merge(self, later: LabelBalance, records: int, lines: int) -> None:
        for label, (index, line, path) in later.first.items():
            if label not in self.first:
                self.first[label] = (index + records, None if line is None else line + lines, path)
        for label, n in later.counts.items():
            self.counts[label] += n

    def problems(self) -> list[Problem]:
        total = sum(self.counts.values())
        if total < MIN_KTO_ROWS:
            return []
        rare = min((True, False), key=lambda label: self.counts[label])
        n_rare, n_common = self.counts[rare], self.counts[not rare]
        if n_rare >= MIN_LABEL_SHARE * total:
            return []
        name = "desirable (label true)" if rare else "undesirable (label false)"
        index, line, path = self.first.get(rare) or self.first[not rare]
        said = f"{n_rare} of {total} KTO rows are {name} ({n_rare / total:.1%})"
        if n_rare == 0:
            return [Problem(index, line, path, "label_imbalance", f"{said}: KTO learns from both labels; add such rows")]
        up, down = ("desirable", "undesirable") if rare else ("undesirable", "desirable")
        ratio = n_common / n_rare
        return [Problem(index, line, path, "label_imbalance",
                        f"{said}: balance the losses with --{up}-weight {round(ratio, 2)} (trl's range "
                        f"{round(ratio, 2)}-{round(ratio * TRL_RATIO, 2)} with --{down}-weight 1), or --{down}-weight "
                        f"{round(1 / ratio, 2)} ({round(1 / ratio / TRL_RATIO, 2)}-{round(1 / ratio, 2)} with "
                        f"--{up}-weight 1)")]


def file_checks() -> list[FileCheck]:
    """A fresh set of the checks `validate` runs across a file's rows."""
    return [TypeDrift(), LabelBalance(), ReasoningKeys()]
