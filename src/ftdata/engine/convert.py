"""The engine's convert lane: write checked records (or their rejects) as target rows, the fast lane from a source
format to a target, the rows written to one output (checked across for Arrow), and convert's hot loop over a byte
range of a JSON Lines file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, cast

from ftdata.core.canonical import MEDIA_KINDS, Kind, Record
from ftdata.core.depth import tools_too_deep
from ftdata.core.problems import Code, Problem
from ftdata.core.reports import Checked, ConvertReport
from ftdata.core.rules import Origins
from ftdata.engine.lanes import Reader, Tick, check_item
from ftdata.engine.written import Written
from ftdata.formats import Format
from ftdata.formats.base import Direct, Fast, Raw
from ftdata.formats.light import LightRecord
from ftdata.formats.write import ReasoningPolicy, Writing
from ftdata.io.media import Media, refs_ok
from ftdata.io.readers import PROGRESS_EVERY, Accept, Item, Tally, read_jsonl_range
from ftdata.io.sink import JsonWriter

CR = ord("\r")
NO_ORIGINS = Origins()  # the rich lane's rows: the writers only name paths in problems, and those rows have none


@dataclass(frozen=True)
class Lane:
    """The fast lane from a source format to a target: accept a row, build its light record, write that; or copy
    an accepted row's line as it is (`as_is`)."""

    fast: Fast
    light: Callable[[Raw], LightRecord]
    write: Callable[[LightRecord], Raw]
    as_is: Fast | None

    @staticmethod
    def between(source: Format, target: Format, copies: bool) -> Lane | None:
        """The lane from `source` to `target`, if both have their part; `copies`: lines may be copied as they are."""
        if source.fast is None or source.light is None or target.light_writer is None:
            return None
        return Lane(source.fast, source.light, target.light_writer, source.as_is.get(target.name) if copies else None)


def rich_lane(source: Format, target: Format) -> Callable[[Raw], LightRecord | None] | None:
    """The rich lane from `source` to `target` (tool calls, reasoning, pairs: `Format.rich`), if both have their
    part. `rich` returns None for rows with media lists (the media lane's, `media_lane`, or the full lane's)."""
    return source.rich if source.rich is not None and target.writes_light else None


def media_lane(source: Format, target: Format) -> Callable[[Raw], LightRecord | None] | None:
    """convert's media lane from `source` to `target` (rows with media lists: `Format.rich_media`), if both have
    their part; `Converter.media_record` checks the files of what it vouches for."""
    return source.rich_media if source.rich_media is not None and target.writes_light else None


@dataclass
class Converter:
    """Writes checked records of one source format as `target` rows (or rejects), counting in `report`."""

    source: Format
    target: Format
    reasoning: ReasoningPolicy
    writer: JsonWriter
    rejects: JsonWriter
    report: ConvertReport
    label: Path | None = None  # the input named in rejects when several are converted together
    written: Written = field(default_factory=Written)
    lane: Lane | None = field(init=False)

    def __post_init__(self) -> None:
        self.lane = Lane.between(self.source, self.target, copies=not self.writer.array)
        self.rich = rich_lane(self.source, self.target)
        self.direct = self.source.direct.get(self.target.name) if self.rich is not None else None
        self.media: Media | None = None  # where the rows' media are (`consume`, `convert_reader`)
        self.rich_media = media_lane(self.source, self.target)
        if self.rich_media is not None:
            self.rich = self.media_record if self.rich is None else _either(self.rich, self.media_record)
        self.rich_taken = 0  # rows `take` wrote through the rich lane (counted there, not by `count_taken`)
        lf = self.target.llamafactory
        self.lf_unread = lf.unread if lf is not None else None

    def takes(self) -> bool:
        """Has this converter a hot path (`take`)?"""
        return self.lane is not None or self.rich is not None

    def take(self, row: Raw, line: memoryview | None, index: int = 0, line_no: int = 0) -> bool:
        """The hot path: write an accepted row straight from the decoded one, or copy its line as it is when it is
        already in the target's exact shape; else the rich lane's (first, in one pass, where no line is copied).
        False when both refuse the row."""
        lane = self.lane
        if self.rich is not None and (lane is None or lane.as_is is None):
            return self.take_rich(row, line)
        if lane is None or not lane.fast(row):
            return self.rich is not None and self.take_rich(row, line)
        if lane.as_is is not None and line is not None and lane.as_is(row):
            self.writer.write_json(line[:-1] if line[-1] == CR else line)  # CRLF files: the row without its "\r"
            out = row
        else:
            out = lane.write(lane.light(row))
            self.writer.write(out)
        self.report.keys.update(out)
        self.written.plain(out)
        return True

    def take_rich(self, row: Raw, line: memoryview | None) -> bool:
        """A row the source's rich lane vouches for, written by the target's writer from its light record (no
        pydantic model, no rules: `check` proved them); a row the writer finds a problem in (unrepresentable, ...)
        is left to the full lane, which locates it. Counted here, but plain conversations (the plain lane's)."""
        if self.direct is not None:
            return self.take_direct(self.direct, row)
        rec = self.rich(row) if self.rich is not None else None
        if rec is None:
            return False
        if type(rec) is LightRecord and self.lane is not None:  # a plain conversation: as the plain lane writes it
            out = self.lane.write(rec)
            self.writer.write(out)
            self.report.keys.update(out)
            self.written.plain(out)
            return True
        if tools_too_deep(row):
            return False  # the reader's depth guard, where the lane's shape leaves room (`Format.rich`)
        w = Writing(cast(Record, rec), NO_ORIGINS, self.reasoning)  # the writers read what a light record has (tested)
        out = self.target.write(w)
        if not w.ok():
            return False
        for p in w.problems:
            self.report.warnings[p.code] += 1
        self._write_taken(out, rec.kind)
        return True

    def media_record(self, row: Raw) -> LightRecord | None:
        """A row with media lists as the media lane's light record, once its files are found clean (located, inside
        the media folder, decoded, within the budgets: `refs_ok`); None: the full lane, which says what is wrong."""
        rec = self.rich_media(row) if self.rich_media is not None and self.media is not None else None
        if rec is None or self.media is None or not refs_ok({k: getattr(rec, k) for k in MEDIA_KINDS}, self.media):
            return None
        return rec

    def take_direct(self, direct: Direct, row: Raw) -> bool:
        """As `take_rich`, for a source that writes the target's rows itself (`Format.direct`: one pass, no record)."""
        done = direct(row, self.reasoning)
        if done is None:
            return False
        out, warnings = done
        self.report.warnings.update(warnings)
        self._write_taken(out, "sft")
        return True

    def _write_taken(self, out: Raw, kind: Kind) -> None:
        """Write and count a row the rich or direct lane took (`type_drift` per `Format.written_shape`)."""
        r = self.report
        self.rich_taken += 1
        r.records += 1
        r.written += 1
        r.kinds[kind] += 1
        r.keys.update(out)
        self.writer.write(out)
        if self.lf_unread is not None and (what := self.lf_unread(out)) is not None:
            r.lf_unread[what] += 1
        self.written.rich(out, self.target)

    def count_taken(self, n: int) -> None:
        """Count `n` rows `take` wrote (the fast lane only takes plain SFT conversations)."""
        self.report.records += n
        self.report.written += n
        if n:
            self.report.kinds["sft"] += n

    def consume(self, items: Iterable[Item], media: Media, fast: bool, progress: Tick | None = None) -> None:
        """Convert items (the rows `take` did not take, or all of them when `fast`)."""
        r = self.report
        fast = fast and self.takes()
        self.media = media
        for item in items:
            before = self.rich_taken
            if fast and type(item.value) is dict and self.take(item.value, None):
                self.count_taken(1 - (self.rich_taken - before))
            else:
                self.write_checked(check_item(item, self.source, media))
            if progress is not None and not r.records % PROGRESS_EVERY:
                progress(r.records)

    def write_checked(self, item: Checked) -> None:
        r = self.report
        r.records += 1
        row, problems = self.target_row(item)
        for p in problems:
            if p.severity == "warning":
                r.warnings[p.code] += 1
        if row is None or item.record is None:
            reject(r, item, problems, self.rejects, self.label)
        else:
            r.written += 1
            r.kinds[item.record.kind] += 1
            r.keys.update(row)
            self.writer.write(row)
            if self.lf_unread is not None and (what := self.lf_unread(row)) is not None:
                r.lf_unread[what] += 1
            self.written.full(row, item.record)

    def write_as_is(self, item: Checked, row: Raw, kind: Kind) -> None:
        """A valid row written in its own format as it is (fix's fixed row, dedup's kept row), counted as
        `write_checked` counts what it writes (the descriptor entry needs the kinds, keys and what LLaMA-Factory
        would not read)."""
        r = self.report
        r.records += 1
        r.written += 1
        r.kinds[kind] += 1
        r.keys.update(row)
        self.writer.write(row)
        if self.lf_unread is not None and (what := self.lf_unread(row)) is not None:
            r.lf_unread[what] += 1
        if item.record is not None:
            self.written.full(row, item.record)
        else:
            self.written.plain(row)

    def target_row(self, item: Checked) -> tuple[Raw | None, list[Problem]]:
        """The target row for a checked record, or None and why (invalid, or unrepresentable in the target)."""
        if not item.valid or item.record is None:
            return None, item.problems
        w = Writing(item.record, item.origins or Origins(), self.reasoning)
        row = self.target.write(w)
        problems = item.problems + [p.at(item.index, item.line) for p in w.problems]
        return (row if w.ok() else None), problems


def _either(rich: Callable[[Raw], LightRecord | None], media: Callable[[Raw], LightRecord | None]
            ) -> Callable[[Raw], LightRecord | None]:
    """The rich lane, and for the rows it refuses the media lane (which refuses rows without media lists first)."""
    return lambda row: rich(row) or media(row)


class Rejects(Protocol):
    """A report that counts rejected rows and their error codes (convert, dedup, fix)."""

    rejected: int
    reject_codes: Counter[Code]


def reject(r: Rejects, item: Checked, problems: list[Problem], rejects: JsonWriter, path: Path | None) -> None:
    """Count a rejected row and its error codes (each once, in order) in `r`, and write its rejects-file line."""
    r.rejected += 1
    r.reject_codes.update(list(dict.fromkeys(p.code for p in problems if p.severity == "error")))
    rejects.write(reject_row(item, problems, path))


def reject_row(item: Checked, problems: list[Problem], path: Path | None) -> dict[str, Any]:
    """A rejects-file line: where the record was, why, and the record itself, untouched."""
    out: dict[str, Any] = {"index": item.index, "line": item.line,
                           "errors": [p.to_dict() for p in problems if p.severity == "error"]}
    if item.raw_text is not None:
        out["record_text"] = item.raw_text  # the line was not JSON: its text, byte for byte where UTF-8
    else:  # null when nothing could be read (a Problem stands in for it: an unreadable CSV row, an empty element)
        out["record"] = None if isinstance(item.raw, Problem) else item.raw
    if path is not None:
        out = {"file": str(path), **out}
    return out


def convert_range(conv: Converter, path: Path, start: int, end: int | None, media: Media,
                  progress: Tick | None = None) -> int:
    """Convert JSON Lines from byte `start` to `end` through `conv`; returns the physical lines read."""
    def read(take: Accept | None, tally: Tally) -> Iterator[Item]:
        return read_jsonl_range(path, start, end, tally, take, progress, shallow=True)  # take: the plain fast lane

    return convert_reader(conv, read, media).lines


def convert_reader(conv: Converter, read: Reader, media: Media) -> Tally:
    """convert's hot loop over one reader: rows its lane takes are written from the read loop, the others checked
    and written (or rejected) by `conv`."""
    tally, before = Tally(), conv.rich_taken
    conv.media = media
    conv.consume(read(conv.take if conv.takes() else None, tally), media, fast=False)
    conv.count_taken(tally.accepted - (conv.rich_taken - before))  # the rich lane counted its own
    return tally


__all__ = ["Converter", "Lane", "Written", "convert_range", "convert_reader", "reject", "reject_row"]
