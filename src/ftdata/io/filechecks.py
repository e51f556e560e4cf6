"""Checks across the rows of a file: what no single row shows. Each is streaming (one pass, flat memory).

`TypeDrift` (code `type_drift`, in `ftdata.io.drift`): a JSON path whose type, or a free-form object whose keys,
differ between rows, which Arrow (every `datasets`-based trainer) cannot hold.

`ReasoningKeys` (code `type_drift`, in `ftdata.io.reasoning_keys`): reasoning under several keys in one file.

`LabelBalance` (code `label_imbalance`): a KTO label that is rarer than 10% of the rows, with the weights that
balance it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ftdata.core.problems import Problem
from ftdata.core.reports import Checked
from ftdata.io.drift import TypeDrift
from ftdata.io.reasoning_keys import ReasoningKeys


class FileCheck(Protocol):
    """Sees every row of a file (or of a byte range of it) and reports what holds across them."""

    def see(self, item: Checked) -> None: ...

    def see_plain(self, row: dict[str, Any], index: int, line: int | None, whole: bool = False) -> None:
        """A row the fast lane accepted (valid, no record built); `whole`: its nested values may vary from row to
        row (see `Format.check_walk`)."""

    def see_shaped(self, row: dict[str, Any], structure: Hashable, reasoning: bool, index: int, line: int | None) -> None:
        """A row the check lane accepted beyond its plain rows, as `Format.check_shape` describes it: `structure`
        (equal for rows whose objects have the same keys and value types outside free-form values) and `reasoning`
        (whether its message lists may hold reasoning)."""

    def merge(self, later: Any, records: int, lines: int) -> None: ...

    def problems(self) -> list[Problem]: ...


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

    def see_shaped(self, row: dict[str, Any], structure: Hashable, reasoning: bool, index: int, line: int | None) -> None:
        self.see_plain(row, index, line)

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
