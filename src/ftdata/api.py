"""What the CLI calls: check records, validate files. Everything here is plain Python, no printing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ftdata.canonical import Record
from ftdata.fast import FAST
from ftdata.light import LIGHT
from ftdata.formats import FORMATS, Converted, Format, detect, get_format, match
from ftdata.io import JSONL_SUFFIXES, PROGRESS_EVERY, STDIN, Item, Tally, UnreadableFile, read_jsonl_range, read_records
from ftdata.media import Media, check_media
from ftdata.problems import Problem, problem
from ftdata.rules import Origins
from ftdata.rules import check_record as check_rules

SAMPLE = 200  # records read ahead to detect a file's format


@dataclass(slots=True)
class Checked:
    """One input record after checking: the raw value, its canonical form (None if unusable), its problems."""

    index: int
    line: int | None
    raw: Any
    record: Record | None
    problems: list[Problem]
    origins: Origins | None = None
    raw_text: str | None = None  # source text of a line that is not JSON
    accepted: bool = False  # passed the fast path: valid, though no canonical record was built

    @property
    def valid(self) -> bool:
        if self.accepted:
            return True
        return self.record is not None and not any(p.severity == "error" for p in self.problems)


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

    @property
    def codes(self) -> Counter[str]:
        return Counter(p.code for p in self.problems)

    def add(self, item: Checked) -> None:
        if item.accepted:  # the fast path: valid, nothing to count
            self.records += 1
            self.valid += 1
            return
        self.records += 1
        if item.valid:
            self.valid += 1
        else:
            self.invalid += 1
        self.warnings += sum(p.severity == "warning" for p in item.problems)
        self.problems += item.problems

    def to_dict(self) -> dict[str, Any]:
        out = {"path": self.path, "format": self.format, "records": self.records, "valid": self.valid,
               "invalid": self.invalid,
               "errors": [p.to_dict() for p in self.problems if p.severity == "error"],
               "warnings": [p.to_dict() for p in self.problems if p.severity == "warning"]}
        if self.error:
            out["error"] = self.error
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def check_raw(raw: Any, fmt: Format, media: Media | Path | None = None) -> tuple[Record | None, list[Problem]]:
    """Check one decoded record against `fmt`: schema, conversion, conversation rules and media."""
    converted = convert_raw(raw, fmt, media)
    return converted.record, converted.problems


def convert_raw(raw: Any, fmt: Format, media: Media | Path | None = None) -> Converted:
    """`check_raw`, keeping the origins map (where each canonical message came from) for writers."""
    if not isinstance(raw, dict):
        kind = "null" if raw is None else type(raw).__name__
        return Converted(None, problems=[problem("", "not_an_object", f"a record must be a JSON object, got {kind}")])
    if not fmt.accepts(raw):
        other = match(raw)
        if other is not None and other is not fmt:
            return Converted(None, problems=[problem(
                "", "mixed_format", f"this record looks like {other.name} (keys: {', '.join(sorted(raw))}) but the "
                f"file is {fmt.name}; split the file by format or pass --format")])
    converted = fmt.to_canonical(raw)
    if converted.record is not None:
        converted.problems = converted.problems + check_rules(converted.record, converted.origins, fmt.policy)
        if media is not None:
            converted.problems += check_media(converted.record, media if isinstance(media, Media) else Media(media))
    return converted


def open_checked(
    path: str | Path, fmt: str | None = None, media_dir: str | Path | None = None, records: bool = True,
    allow_outside: bool = False,
) -> tuple[Format, dict[str, int], Iterator[Checked]]:
    """Detect (or take) the file's format and return it with a lazy stream of checked records.

    Plainly valid rows are accepted by the fast path (`Checked.accepted`): with `records=False` (validation only)
    no canonical record is built for them, otherwise a light one; every other row takes the full path.

    Raises UnreadableFile when the file cannot be read or its format cannot be told.
    """
    path = Path(path)
    items = read_records(path)
    head = list(islice(items, SAMPLE))
    votes: dict[str, int] = {}
    if fmt is not None:
        try:
            chosen = get_format(fmt)
        except KeyError as err:
            raise UnreadableFile(str(err.args[0])) from None
    else:
        found, counts = detect(i.value for i in head if isinstance(i.value, dict))
        votes = dict(counts)
        if found is None:
            if not head:
                raise UnreadableFile(f"{path}: no records (the file is empty)")
            raise UnreadableFile(f"{path}: cannot tell the format from the keys of its records; pass --format "
                                 f"({', '.join(FORMATS)})")
        chosen = found
    base = Media(Path(media_dir) if media_dir is not None else path.resolve().parent, allow_outside)

    return chosen, votes, check_items(chain(head, items), chosen, base, records)


def check_items(items: Iterable[Item], fmt: Format, base: Media, records: bool = True,
                fast_done: bool = False) -> Iterator[Checked]:
    """Check decoded items against `fmt`; see `open_checked` for `records`.

    Rows the fast path accepts skip the full path; with `records` they get a light canonical record
    (`ftdata.light`), which the writers read like a `Record`. `fast_done`: the reader already ran the fast
    check and only yields the rows it refused.
    """
    fast = None if fast_done else FAST.get(fmt.name)
    light = LIGHT.get(fmt.name) if records else None
    for item in items:
        if fast is not None and type(item.value) is dict and fast(item.value):
            record = light(item.value) if light is not None else None
            yield Checked(item.index, item.line, item.value, record, [], accepted=True)  # type: ignore[arg-type]
            continue
        converted = (Converted(None, problems=[item.value]) if isinstance(item.value, Problem)
                     else convert_raw(item.value, fmt, base))
        yield Checked(item.index, item.line, item.value, converted.record,
                      [p.at(item.index, item.line) for p in converted.problems], converted.origins, item.text)


def scan_range(report: FileReport, path: Path, fmt: Format, media: Media, start: int, end: int | None,
               progress: Tick | None = None) -> int:
    """Validate JSON Lines from byte `start` to `end` into `report`; returns the physical lines read.

    The fast path's accepted rows are only counted while reading; the rest go through the full path.
    """
    tally = Tally()
    fast = FAST.get(fmt.name)
    items = read_jsonl_range(path, start, end, tally, (lambda row, _line: fast(row)) if fast is not None else None,
                             progress)
    for item in check_items(items, fmt, media, records=False, fast_done=True):
        report.add(item)
    report.records += tally.accepted
    report.valid += tally.accepted
    return tally.lines


PARALLEL_MIN_BYTES = 16 << 20  # below this, starting worker processes costs more than it saves


Tick = Callable[[int], None]  # progress callback: records done so far


def validate_file(path: str | Path, fmt: str | None = None, media_dir: str | Path | None = None,
                  workers: int = 1, progress: Tick | None = None, allow_outside: bool = False) -> FileReport:
    """Validate every record of one file; an unreadable file gives a report with `error` set.

    With `workers` > 1 a large JSON Lines file is split into byte ranges checked in parallel processes; problems
    still carry exact global line numbers and indexes, in file order.
    """
    report = FileReport(str(path))
    try:
        chosen, votes, stream = open_checked(path, fmt, media_dir, records=False, allow_outside=allow_outside)
        report.format, report.votes = chosen.name, votes
        report.how = "detected" if fmt is None else "given"
        path = Path(path)
        media = Media(Path(media_dir) if media_dir else path.resolve().parent, allow_outside)
        if path.suffix.lower() in JSONL_SUFFIXES and str(path) != STDIN:
            stream.close()  # JSON Lines are re-read by the hot loop (detection only sampled the head)
            if workers > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES:
                from ftdata.parallel import validate_ranges

                validate_ranges(report, path, chosen, media, workers)
            else:
                scan_range(report, path, chosen, media, 0, None, progress)
            return report
        for item in stream:
            report.add(item)
            if progress is not None and not report.records % PROGRESS_EVERY:
                progress(report.records)
    except UnreadableFile as err:
        report.error = str(err)
    except (UnicodeDecodeError, OSError) as err:
        report.error = f"{path}: cannot read: {err}"
    return report
