"""The rows written to one output, checked across for what Arrow (every `datasets`-based trainer's reader) needs:
one type per column (`TypeDrift`), as each lane wrote them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ftdata.core.canonical import Record
from ftdata.core.reports import Checked
from ftdata.formats import Format
from ftdata.formats.base import Raw
from ftdata.io.drift import TypeDrift


@dataclass
class Written:
    """The rows written to one output, checked across (`TypeDrift`: the output must load in Arrow); shared by the
    converters of every input written to it."""

    drift: TypeDrift = field(default_factory=TypeDrift)
    rows: int = 0

    def plain(self, row: Raw) -> None:
        self.drift.see_plain(row, self.rows, self.rows + 1)
        self.rows += 1

    def rich(self, row: Raw, target: Format) -> None:
        """A row the rich lane wrote for `target`: one look at the top level where the target writes only strings
        below it (`Format.writes_flat`), a walk of its free-form values where it writes one type per nested path
        (`Format.written_shape`), else a walk of the whole row."""
        if target.writes_flat:
            self.drift.see_plain(row, self.rows, self.rows + 1)
        elif target.written_shape is not None and (structure := target.written_shape(row)) is not None:
            self.drift.see_shaped(row, structure, False, self.rows, self.rows + 1)
        else:
            self.drift.see(Checked(self.rows, self.rows + 1, row, None, []))
        self.rows += 1

    def full(self, row: Raw, record: Record) -> None:
        self.drift.see(Checked(self.rows, self.rows + 1, row, record, []))
        self.rows += 1

    def merge(self, part: Written) -> None:
        """Append a part's rows (written apart, then copied after ours)."""
        self.drift.merge(part.drift, self.rows, self.rows)
        self.rows += part.rows
