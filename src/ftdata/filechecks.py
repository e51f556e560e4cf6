"""Checks across the rows of a file: what no single row shows.

`TypeDrift` (code `type_drift`): a JSON path whose type differs between rows (an id that is a number in some rows
and a string in others), or a free-form object (tool schemas, tool-call arguments, meta) whose keys differ. Arrow,
which every `datasets`-based trainer reads JSON through, wants one type per column and one set of keys per
object: `datasets.load_dataset("json")` fails ("changed from number to string"), changes the values, or adds the
missing keys as nulls, which a chat template then renders and the model is trained on.

`LabelBalance` (code `label_imbalance`): a KTO label that is rarer than 10% of the rows, with the weights that
balance it.

Checks are streaming (one pass, flat memory: per path a few counters) and cheap on the fast lane's plain rows,
whose nested values are known strings: only their top-level fields are looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ftdata.problems import Problem
from ftdata.reports import Checked

FREE_FORM = frozenset({"tools", "functions", "arguments", "meta"})  # objects rendered or kept verbatim
MAX_DEPTH = 32  # deeper values are not tracked (no training format nests that far)
MAX_PATHS = 20_000  # flat memory on files whose free-form objects have ever new keys
JSON_TYPE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null", list: "array",
             dict: "object"}


class FileCheck(Protocol):
    """Sees every row of a file (or of a byte range of it) and reports what holds across them."""

    def see(self, item: Checked) -> None: ...

    def see_plain(self, row: dict[str, Any], index: int, line: int | None) -> None: ...

    def merge(self, later: Any, records: int, lines: int) -> None: ...

    def problems(self) -> list[Problem]: ...


@dataclass
class Seen:
    """How often a type (or a key) was seen at a path, and where first."""

    count: int
    index: int
    line: int | None


@dataclass
class TypeDrift:
    """Per path (list items as `[*]`): the JSON types seen; per free-form object path: the keys seen."""

    types: dict[str, dict[str, Seen]] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)  # free-form path -> objects seen there
    keys: dict[str, dict[str, Seen]] = field(default_factory=dict)  # free-form path -> key -> seen
    walked: bool = False  # one plain row walked whole (its nested paths, all strings, registered)

    def see(self, item: Checked) -> None:
        if isinstance(item.raw, dict):
            self._walk(item.raw, item.index, item.line)

    def see_plain(self, row: dict[str, Any], index: int, line: int | None) -> None:
        if not self.walked:
            self.walked = True
            self._walk(row, index, line)
            return
        types = self.types
        for key, value in row.items():  # the hot path: plain rows vary only in their top-level fields
            name = JSON_TYPE.get(type(value), "other")
            at = types.get(key)
            if at is None:
                types[key] = {name: Seen(1, index, line)}
            elif (slot := at.get(name)) is not None:
                slot.count += 1
            else:
                at[name] = Seen(1, index, line)

    def _walk(self, row: dict[str, Any], index: int, line: int | None) -> None:
        stack: list[tuple[str, Any, int, bool]] = [(k, v, 1, k in FREE_FORM) for k, v in row.items()]
        while stack:
            path, value, depth, free = stack.pop()
            self._type(path, JSON_TYPE.get(type(value), "other"), index, line)
            if depth >= MAX_DEPTH:
                continue
            if isinstance(value, dict):
                if free:
                    self._keys(path, value, index, line)
                stack += [(f"{path}.{k}", v, depth + 1, free or k in FREE_FORM) for k, v in value.items()]
            elif isinstance(value, list):
                stack += [(f"{path}[*]", v, depth + 1, free) for v in value]

    def _type(self, path: str, name: str, index: int, line: int | None) -> None:
        at = self.types.get(path)
        if at is None:
            if len(self.types) < MAX_PATHS:
                self.types[path] = {name: Seen(1, index, line)}
        elif name in at:
            at[name].count += 1
        else:
            at[name] = Seen(1, index, line)

    def _keys(self, path: str, value: dict[str, Any], index: int, line: int | None) -> None:
        self.objects[path] = self.objects.get(path, 0) + 1
        at = self.keys.setdefault(path, {})
        for key in value:
            if key in at:
                at[key].count += 1
            elif len(at) < MAX_PATHS:
                at[key] = Seen(1, index, line)

    def merge(self, later: TypeDrift, records: int, lines: int) -> None:
        """Add what a later byte range saw (its indexes and lines counted from its own start)."""
        for mine, theirs in ((self.types, later.types), (self.keys, later.keys)):
            for path, seen in theirs.items():
                at = mine.setdefault(path, {})
                for name, s in seen.items():
                    if name in at:
                        at[name].count += s.count
                    else:
                        at[name] = Seen(s.count, s.index + records, None if s.line is None else s.line + lines)
        for path, n in later.objects.items():
            self.objects[path] = self.objects.get(path, 0) + n
        self.walked = self.walked or later.walked

    def problems(self) -> list[Problem]:
        out = [_type_problem(path, seen) for path, seen in self.types.items() if len(seen) > 1]
        by_root: dict[str, list[tuple[str, int, dict[str, Seen]]]] = {}  # one warning per free-form field
        for path, keys in self.keys.items():
            total = self.objects[path]
            partial = {k: s for k, s in keys.items() if s.count < total}
            if partial:
                by_root.setdefault(_free_root(path), []).append((path, total, partial))
        for varying in by_root.values():
            varying.sort(key=lambda v: len(v[0]))
            out.append(_keys_problem(*varying[0], len(varying) - 1))
        return sorted(out, key=lambda p: (p.index or 0, p.path))


def _where(s: Seen) -> str:
    return f"line {s.line}" if s.line is not None else f"record {s.index}"


def _type_problem(path: str, seen: dict[str, Seen]) -> Problem:
    ordered = sorted(seen.items(), key=lambda kv: kv[1].index)
    described = " and ".join(f"{name} {s.count} times (first: {_where(s)})" for name, s in ordered)
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


def _keys_problem(path: str, total: int, partial: dict[str, Seen], more: int) -> Problem:
    shown = sorted(partial.items(), key=lambda kv: kv[1].index)
    keys = ", ".join(f"'{k}' in {s.count} of {total}" for k, s in shown[:4]) + (" ..." if len(shown) > 4 else "")
    also = f"; so do {more} object(s) inside it" if more else ""
    first = shown[0][1]
    return Problem(first.index, first.line, path, "type_drift",
                   f"the keys of '{path}' differ between objects ({keys}){also}: datasets.load_dataset adds the missing keys "
                   "as nulls, which chat templates render and the model learns, or fails on large files; write it as "
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

    def see_plain(self, row: dict[str, Any], index: int, line: int | None) -> None:
        """Plain rows are SFT conversations: no label."""

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
    return [TypeDrift(), LabelBalance()]
