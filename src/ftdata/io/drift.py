"""`TypeDrift` (code `type_drift`), a check across the rows of a file: a JSON path whose type differs between rows
(an id that is a number in some rows and a string in others), or a free-form object (tool schemas, tool-call
arguments, meta) whose keys differ. Arrow, which every `datasets`-based trainer reads JSON through, wants one type per
column and one set of keys per object: `datasets.load_dataset("json")` fails ("changed from number to string"),
changes the values, or adds the missing keys as nulls, which a chat template then renders and the model is trained
on.

Streaming (one pass, flat memory: per path the types seen and where first, within a budget) and cheap: the fast
lane's plain rows, whose nested values are known strings, cost one look at their top-level fields; other rows cost
about one tuple per object (objects are remembered by shape).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ftdata.core.problems import Problem, key_step
from ftdata.core.reports import Checked

FREE_FORM = frozenset({"tools", "functions", "arguments", "meta"})  # objects rendered or kept verbatim
MAX_DEPTH = 32  # deeper values are not tracked (no training format nests that far)
MAX_PATHS = 20_000  # flat memory on files whose free-form objects have ever new keys
# What TypeDrift remembers (a path, or a key of a remembered key set or shape, counts one), whatever the input: a file
# whose tool schemas each name 1,000 properties of their own would otherwise keep every key path of every row.
MAX_REMEMBERED = 50_000
JSON_TYPE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null", list: "array",
             dict: "object"}


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
    last_free: dict[str, Any] = field(default_factory=dict)  # path -> the free-form value walked last there
    walked: bool = False  # one plain row walked whole (its nested paths, all strings, registered)
    structures: set[Hashable] = field(default_factory=set)  # check-lane rows' structures walked (`see_shaped`)
    remembered: int = 0  # paths and keys held in types / keys / shapes, up to MAX_REMEMBERED
    full: Seen | None = None  # the row at which MAX_REMEMBERED was reached: later new paths go unchecked

    def see(self, item: Checked) -> None:
        if isinstance(item.raw, dict):
            self._object("", item.raw, item.index, item.line, False, 0)

    def see_shaped(self, row: dict[str, Any], structure: Hashable, reasoning: bool, index: int, line: int | None) -> None:
        """A row the check lane took and described (`Format.check_shape`): walked whole the first time its
        structure is seen; after that, walking it again would add nothing (every object's shape at every path is
        known), so only its free-form values (tools), which the structure leaves out, are walked."""
        self.walked = True
        if structure not in self.structures:
            if len(self.structures) < MAX_PATHS:
                self.structures.add(structure)
            self._object("", row, index, line, False, 0)
            return
        for key, value in row.items():  # as `_inner` walks them at the top level, in the row's order
            if key in FREE_FORM and (type(value) is dict or type(value) is list):
                self._free(key_step("", key), value, index, line, 1)

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
                self._type(key, name, index, line)
            elif name not in at:
                at[name] = Seen(index, line)
            if key in FREE_FORM and (kind is dict or kind is list):  # tools: their keys vary row to row
                self._free(key, value, index, line, 1)

    def _object(self, path: str, value: dict[str, Any], index: int, line: int | None, free: bool, depth: int) -> None:
        known = self._shapes_at(path, index, line)
        if known is None:
            return
        shape: Shape = (tuple(value), tuple(map(type, value.values())))
        inner = known.get(shape)
        if inner is None:
            inner = self._new_shape(path, shape, known, index, line, free)
        if inner and depth < MAX_DEPTH:
            self._inner(path, value, inner, index, line, free, depth)

    def _shapes_at(self, path: str, index: int, line: int | None) -> dict[Shape, tuple[str, ...]] | None:
        """The shapes seen at `path`; None for a new path when there is no room left (it is not walked: time and
        memory stay bounded on rows whose keys are all new)."""
        known = self.shapes.get(path)
        if known is None:
            if len(self.shapes) >= MAX_PATHS or not self._afford(1, index, line):
                self.full = self.full or Seen(index, line)
                return None
            known = self.shapes[path] = {}
        return known

    def _afford(self, cost: int, index: int = 0, line: int | None = None) -> bool:
        """Room to remember `cost` more paths or keys? Past MAX_REMEMBERED nothing new is kept, and the first row
        that found no room is noted for the "too many distinct keys" warning."""
        if self.remembered + cost <= MAX_REMEMBERED:
            self.remembered += cost
            return True
        if self.full is None:
            self.full = Seen(index, line)
        return False

    def _new_shape(self, path: str, shape: Shape, known: dict[Shape, tuple[str, ...]], index: int, line: int | None,
                   free: bool) -> tuple[str, ...]:
        """A shape not seen at `path` before: note its keys' types; returns the keys holding objects or lists."""
        for key, kind in zip(*shape):
            self._type(key_step(path, key), JSON_TYPE.get(kind, "other"), index, line)
        if free:
            sets = self.keys.get(path)
            key_set = frozenset(shape[0])
            if (sets is None and self._afford(1 + len(key_set), index, line)) or \
                    (sets is not None and key_set not in sets and self._afford(len(key_set), index, line)):
                self.keys.setdefault(path, {})[key_set] = Seen(index, line)
        inner = tuple(k for k, kind in zip(*shape) if kind is dict or kind is list)
        if len(known) < MAX_PATHS and self._afford(len(shape[0]), index, line):
            known[shape] = inner
        return inner

    def _inner(self, path: str, value: dict[str, Any], inner: tuple[str, ...], index: int, line: int | None,
               free: bool, depth: int) -> None:
        for key in inner:
            child, sub = key_step(path, key), value[key]
            if not free and key in FREE_FORM:
                self._free(child, sub, index, line, depth + 1)
            elif type(sub) is dict:
                self._object(child, sub, index, line, free, depth + 1)
            else:
                self._list(child + "[*]", sub, index, line, free, depth + 1)

    def _free(self, path: str, value: Any, index: int, line: int | None, depth: int) -> None:
        """A free-form value (tool schemas, arguments, meta): walked once per distinct value (by its JSON text; the
        very object seen last at this path, as the lanes share decoded tool sets, without writing it out)."""
        if self.last_free.get(path) is value:
            return
        self.last_free[path] = value  # held: its id cannot be reused while it is compared
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
        known = self._shapes_at(path, index, line) if dict in kinds else None
        if known is not None:  # the hot loop (messages, tool calls): objects inlined, recursing only into containers
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
            if len(self.types) < MAX_PATHS and self._afford(1, index, line):
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
        self.remembered += later.remembered
        if later.full is not None and self.full is None:
            self.full = moved(later.full)

    def problems(self) -> list[Problem]:
        out = [_type_problem(path, seen) for path, seen in self.types.items() if len(seen) > 1]
        by_root: dict[str, list[tuple[str, dict[frozenset[str], Seen]]]] = {}  # one warning per free-form field
        for path, sets in self.keys.items():
            if len(sets) > 1:
                by_root.setdefault(_free_root(path), []).append((path, sets))
        for varying in by_root.values():
            varying.sort(key=lambda v: len(v[0]))
            out.append(_keys_problem(*varying[0], len(varying) - 1))
        if self.full is not None:
            out.append(Problem(self.full.index, self.full.line, "", "type_drift",
                               f"too many distinct keys: the rows' objects use over {MAX_REMEMBERED:,} distinct key "
                               f"paths (tool schemas or meta with keys of their own?); from {_where(self.full)} on, "
                               "new paths were not checked for type drift (the paths seen before were)"))
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
