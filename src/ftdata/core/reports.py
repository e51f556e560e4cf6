"""What checking and converting found: per record (`Checked`), per file (`FileReport`), per conversion
(`ConvertReport`). Plain values; `ftdata.render` prints them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from ftdata.core.canonical import Record
from ftdata.core.problems import Code, Problem, has_errors
from ftdata.core.rules import Origins


@dataclass(slots=True)
class Checked:
    """One input record after checking: the raw value, its canonical form (None if unusable), its problems.

    `accepted`: the fast lane found it plainly valid (no problems; `record` is built only when asked for).
    """

    index: int
    line: int | None
    raw: Any
    record: Record | None
    problems: list[Problem]
    origins: Origins | None = None
    raw_text: str | None = None  # source text of a line that is not JSON
    accepted: bool = False

    @property
    def valid(self) -> bool:
        if self.accepted:
            return True
        return self.record is not None and not has_errors(self.problems)


DESCRIPTORS = ("dataset_info", "llamafactory-v1 yaml")  # reports of descriptors: their entries are no data records


@dataclass
class FileReport:
    """Counts and problems for one file; `error` is set when the file could not be read at all."""

    path: str
    format: str | None = None
    how: str = "given"  # how the format was chosen: detected, given (--format), descriptor
    votes: dict[str, int] = field(default_factory=dict)
    records: int = 0
    valid: int = 0
    invalid: int = 0
    warnings: int = 0
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # a descriptor entry that names no local file (hub datasets)
    media: Counter[str] = field(default_factory=Counter)  # "remote" (never fetched), "unchecked" (not decoded)
    file_errors: int = 0  # errors of the file that are no record's (a JSON array's comma after its last element)

    @property
    def failed(self) -> bool:
        """Some record is invalid or the file has an error of its own: validate exits 1."""
        return self.invalid > 0 or self.file_errors > 0

    @property
    def codes(self) -> Counter[Code]:
        return Counter(p.code for p in self.problems)

    def add(self, item: Checked) -> None:
        self.records += 1
        if item.accepted:  # the fast lane: valid, nothing to count
            self.valid += 1
            return
        if item.valid:
            self.valid += 1
        else:
            self.invalid += 1
        self.warnings += sum(p.severity == "warning" for p in item.problems)
        self.problems += item.problems

    def add_valid(self, n: int) -> None:
        """Count `n` records the fast lane accepted while reading (no `Checked` was made for them)."""
        self.records += n
        self.valid += n

    def add_across(self, problems: Iterable[Problem]) -> None:
        """Add problems found across rows (file checks); they are warnings about the file, not invalid rows."""
        for p in problems:
            self.problems.append(p)
            self.warnings += p.severity == "warning"
            self.file_errors += p.severity == "error"

    def merge(self, part: FileReport, lines: int) -> None:
        """Add a later part of the same file (a byte range checked apart) whose lines and indexes count from its own
        start: they move by `lines` and by the records counted so far."""
        self.problems += [p.shifted(self.records, lines) for p in part.problems]
        self.records += part.records
        self.valid += part.valid
        self.invalid += part.invalid
        self.warnings += part.warnings
        self.file_errors += part.file_errors
        self.media.update(part.media)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "format": self.format, "records": self.records, "valid": self.valid,
               "invalid": self.invalid,
               "errors": [p.to_dict() for p in self.problems if p.severity == "error"],
               "warnings": [p.to_dict() for p in self.problems if p.severity == "warning"]}
        if self.media:
            out["media_not_checked"] = dict(self.media)
        if self.error:
            out["error"] = self.error
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass
class ConvertReport:
    """What a conversion did; `records == written + rejected` always holds."""

    inputs: list[str]
    output: str
    rejects: str
    target: str
    formats: dict[str, str] = field(default_factory=dict)  # input -> detected format
    records: int = 0
    written: int = 0
    rejected: int = 0
    reject_codes: Counter[Code] = field(default_factory=Counter)
    warnings: Counter[Code] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)  # top-level fields of the written rows
    lf_unread: Counter[str] = field(default_factory=Counter)  # what LLaMA-Factory would not read in written rows
    output_problems: list[Problem] = field(default_factory=list)  # found across the written rows (type_drift)
    notes: list[str] = field(default_factory=list)  # things a user should know about the output
    dataset_info: str | None = None
    dataset_info_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """`ftdata convert --json`: the counts, where each row went, warnings and notes."""
        return {"inputs": self.inputs, "formats": self.formats, "output": self.output, "target": self.target,
                "records": self.records, "written": self.written, "rejected": self.rejected,
                "rejects": self.rejects if self.rejected else None, "reject_codes": dict(self.reject_codes),
                "warnings": dict(self.warnings), "kinds": dict(self.kinds),
                "output_problems": [p.to_dict() for p in self.output_problems], "notes": self.notes,
                "dataset_info": self.dataset_info, "dataset_info_note": self.dataset_info_note}

    def merge(self, part: ConvertReport) -> None:
        """Add the counts of a part (a byte range converted apart)."""
        self.records += part.records
        self.written += part.written
        self.rejected += part.rejected
        self.reject_codes.update(part.reject_codes)
        self.warnings.update(part.warnings)
        self.kinds.update(part.kinds)
        self.keys |= part.keys
        self.lf_unread.update(part.lf_unread)
