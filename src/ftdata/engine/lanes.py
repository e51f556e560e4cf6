"""The engine's check lane: check one record, and validate's hot loop over a byte range of a JSON Lines file
(convert's side, which writes what this lane checked, is `ftdata.engine.convert`).

No file policy here (which output, which rejects file, when to run in parallel): `ftdata.ops.validate` and
`ftdata.ops.convert` decide that. Two lanes:
- the full lane: pydantic row model -> canonical `Record` + origins -> conversation rules -> media checks; every
  problem located;
- the fast lane (each format's `fast` check, for plainly valid text conversations): validate only counts such rows;
  convert writes them straight from the decoded row (`Converter.take`), as they are when already in the target's
  exact shape; everything else sees a real `Record` (`LightRecord.to_record()`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from ftdata.core.canonical import MEDIA_KINDS
from ftdata.core.depth import tools_too_deep
from ftdata.core.problems import Problem, capped, problem
from ftdata.core.reports import Checked, FileReport
from ftdata.core.rules import check_record
from ftdata.formats import (
    FORMATS,
    Converted,
    Format,
    accepts,
    detect,
    get_format,
    match,
)
from ftdata.formats.base import Fast, Raw
from ftdata.io.filechecks import FileCheck
from ftdata.io.files import file_problems, read_records
from ftdata.io.media import Media, check_media, refs_ok
from ftdata.io.readers import (
    Accept,
    Ahead,
    Item,
    Tally,
    UnreadableFile,
    read_jsonl_range,
)

SAMPLE = 200  # records read ahead to detect a file's format
Tick = Callable[[int], None]  # progress callback: records done so far


def convert_raw(raw: Any, fmt: Format, media: Media | Path | None = None) -> Converted:
    """The full lane for one decoded record: schema, conversion, conversation rules and media; keeps the origins
    map (where each canonical message came from) for writers."""
    if not isinstance(raw, dict):
        kind = "null" if raw is None else type(raw).__name__
        return Converted(None, problems=[problem("", "not_an_object", f"a record must be a JSON object, got {kind}")])
    if not accepts(fmt, raw):
        other = match(raw)
        if other is not None and other is not fmt:
            return Converted(None, problems=[problem(
                "", "mixed_format", f"this record looks like {other.name} (keys: {', '.join(sorted(raw))}) but the "
                f"file is {fmt.name}; split the file by format or pass --format")])
    converted = fmt.to_canonical(raw)
    if converted.record is not None:
        converted.problems = converted.problems + check_record(converted.record, converted.origins, fmt.policy)
        if media is not None:
            found = check_media(converted.record, media if isinstance(media, Media) else Media(media))
            moved = converted.origins.media_paths  # media read from content blocks: the block is where to look
            converted.problems += [problem(moved[p.path], p.code, p.message) if p.path in moved else p for p in found]
    return converted


class Adapter(Protocol):
    """Renames a row's fields to a format's own (a descriptor entry's columns and tags) and problem paths back."""

    def native(self, row: Any) -> tuple[Any, list[Problem]]: ...

    def source_path(self, path: str) -> str: ...


def check_items(items: Iterable[Item], fmt: Format, media: Media, records: bool = True, fast_done: bool = False,
                adapter: Adapter | None = None) -> Iterator[Checked]:
    """Check decoded items against `fmt` (see `check_item`). `fast_done`: the reader already ran the fast check
    and only yields the rows it refused."""
    fast = None if fast_done else fmt.fast if records else check_lane(fmt, media)  # records: light ones only
    return CheckedItems(items, (check_item(item, fmt, media, records, fast, adapter) for item in items))


class CheckedItems(Iterator[Checked]):
    """`check_items`' checked items; `file_problems`: those of the items' files that are no record (a JSON array's
    comma after its last element), complete once every item is read."""

    def __init__(self, items: Iterable[Item], checked: Iterator[Checked]) -> None:
        self.items, self._checked = items, checked

    def __next__(self) -> Checked:
        return next(self._checked)

    @property
    def file_problems(self) -> list[Problem]:
        return file_problems(self.items)


def check_item(item: Item, fmt: Format, media: Media, records: bool = True, fast: Fast | None = None,
               adapter: Adapter | None = None) -> Checked:
    """Check one decoded item against `fmt`. A row the `fast` check accepts skips the full lane (with `records` it
    still gets its `Record`). `adapter`: the row is renamed to `fmt`'s fields first and problem paths named back
    (descriptor entries)."""
    value, renamed = item.value, list[Problem]()
    if adapter is not None and not isinstance(value, Problem):
        value, renamed = adapter.native(value)
    if fast is not None and not renamed and type(value) is dict and fast(value):
        record = fmt.light(value).to_record() if records and fmt.light is not None else None
        return Checked(item.index, item.line, value, record, [], accepted=True)  # in the format's own names
    converted = Converted(None, problems=[value]) if isinstance(value, Problem) else convert_raw(value, fmt, media)
    found = converted.problems
    if adapter is not None:
        found = [problem(adapter.source_path(p.path), p.code, p.message) for p in found]
        said = {(p.path, p.code) for p in renamed}  # a missing column: the format says so too; say it once
        found = renamed + [p for p in found if (p.path, p.code) not in said]
    return Checked(item.index, item.line, item.value, None if renamed else converted.record,
                   [p.at(item.index, item.line, item.column) for p in capped(found)], converted.origins, item.text)


def open_items(path: Path, fmt: str | None = None) -> tuple[Format, dict[str, int], Ahead]:
    """The file's format (given, or detected from its first records), the detection votes, and all its items.

    Raises UnreadableFile when the file cannot be read or its format cannot be told.
    """
    items = read_records(path)
    if fmt is not None:  # nothing to detect: nothing read ahead
        try:
            return get_format(fmt), {}, Ahead([], items)
        except KeyError as err:
            raise UnreadableFile(str(err.args[0])) from None
    head = list(islice(items, SAMPLE))
    found, votes = detect(i.value for i in head if isinstance(i.value, dict))
    if found is None:
        if not head:
            raise UnreadableFile(f"{path}: no records (the file is empty)")
        raise UnreadableFile(f"{path}: cannot tell the format from the keys of its records; pass --format "
                             f"({', '.join(FORMATS)})")
    return found, dict(votes), Ahead(head, items)


def scan_range(path: Path, fmt: Format, media: Media, start: int, end: int | None, checks: list[FileCheck],
               progress: Tick | None = None) -> tuple[FileReport, int]:
    """Validate JSON Lines from byte `start` to `end`: a report (lines and indexes from the range's start) and the
    physical lines read; `checks` see every row. Rows the fast lane accepts are only counted while reading."""
    report = FileReport(str(path), fmt.name)

    def read(accept: Accept | None, tally: Tally) -> Iterator[Item]:  # shallow: `plain_rows` checks the depth
        return read_jsonl_range(path, start, end, tally, accept, progress, shallow=True)

    before = dict(media.seen)
    lines = scan_reader(read, fmt, media, checks, report).lines
    report.media.update({k: n - before.get(k, 0) for k, n in media.seen.items() if n > before.get(k, 0)})
    return report, lines


Reader = Callable[[Accept | None, Tally], Iterable[Item]]  # JSON Lines read with a hot-path test, counted in a Tally


def scan_reader(read: Reader, fmt: Format, media: Media, checks: list[FileCheck], report: FileReport) -> Tally:
    """validate's hot loop over one reader: rows the fast lane accepts are only counted (and shown to `checks`),
    the others checked into `report`."""
    tally = Tally()
    items = read(plain_rows(check_lane(fmt, media), checks, walks(fmt), fmt.check_shape), tally)
    for item in check_items(items, fmt, media, records=False, fast_done=True):
        report.add(item)
        see(checks, item)
    report.add_valid(tally.accepted)
    return tally


def check_lane(fmt: Format, media: Media) -> Fast | None:
    """validate's fast lane: the format's `check` (or `fast`); a row it accepts with media lists (`images`, ...) is
    accepted when its files are where they should be (otherwise the full lane says what is wrong)."""
    check = fmt.check or fmt.fast
    if check is None:
        return None
    kinds = frozenset(MEDIA_KINDS)

    def ok(row: Raw) -> bool:
        return check(row) and (kinds.isdisjoint(row) or refs_ok(row, media))

    return ok


def walks(fmt: Format) -> Fast | None:
    """Which rows `fmt`'s check lane takes must be shown to the file checks whole (`Format.check_walk`): those
    beyond its plain fast lane. None: none. A row it says no to is one the check lane accepts (the plain lane lies
    inside the check lane: tested), so `plain_rows` asks it first and the check lane only for the others."""
    if not fmt.check_walk:
        return None
    fast = fmt.fast
    return (lambda row: not fast(row)) if fast is not None else (lambda row: True)


def plain_rows(fast: Fast | None, checks: list[FileCheck], whole: Fast | None = None,
               shape: Callable[[Raw], tuple[Hashable, bool]] | None = None) -> Accept | None:
    """The reader's hot-path test: the fast check, showing each accepted row to the file checks (`whole`: which
    of them whole, see `walks`; `shape`: how to describe those, `Format.check_shape`)."""
    if fast is None:
        return None
    shows = [c.see_plain for c in checks]
    shaped = [c.see_shaped for c in checks]

    def accept(row: Raw, raw: memoryview, index: int, line: int) -> bool:
        deep = whole is not None and whole(row)
        if (deep or whole is None) and not fast(row):  # a plain row (not deep) is accepted already: see `walks`
            return False
        if tools_too_deep(row):
            return False  # the reader's depth guard, where the check lanes' shapes leave room (else: tested shallow)
        if deep and shape is not None:
            structure, reasoning = shape(row)
            for tell in shaped:
                tell(row, structure, reasoning, index, line)
            return True
        for show in shows:
            show(row, index, line, deep)
        return True

    return accept


def see(checks: list[FileCheck], item: Checked, whole: Fast | None = None) -> None:
    """Show a valid checked row to the file checks (the fast lane's rows as plain rows, `whole` as in
    `plain_rows`); invalid rows are reported already and would only add noise."""
    if not item.valid:
        return
    for c in checks:
        if item.accepted and isinstance(item.raw, dict):
            c.see_plain(item.raw, item.index, item.line, whole is not None and whole(item.raw))
        else:
            c.see(item)


__all__ = ["Adapter", "Checked", "check_item", "check_items", "convert_raw", "open_items", "scan_range", "scan_reader"]
