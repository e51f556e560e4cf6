"""Validate files and dataset_info.json descriptors: every record checked, every problem located."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ftdata.core.canonical import Record, ToolCall
from ftdata.core.reports import FileReport
from ftdata.descriptors.base import descriptor_reports
from ftdata.descriptors.llamafactory import DATASET_INFO
from ftdata.engine.lanes import Tick, check_items, open_items, scan_range, see, walks
from ftdata.engine.parallel import PARALLEL_MIN_BYTES, map_ranges, workers_for
from ftdata.formats import FORMATS, Format
from ftdata.io.filechecks import FileCheck, file_checks
from ftdata.io.files import file_problems
from ftdata.io.media import Media, MediaRules
from ftdata.io.readers import JSONL_SUFFIXES, PROGRESS_EVERY, STDIN, UnreadableFile

# this process's range against a worker's (`map_ranges`), measured: a worker's range costs ~5% more CPU than one of
# the same size here (fork: its memory pages copied as it writes them); the merge comes after the worker has ended,
# where a smaller share for this process would not hide it but leave this process idle
LEAD = 1.05


def validate_file(path: str | Path, fmt: str | None = None, media_dir: str | Path | None = None,
                  workers: int = 1, progress: Tick | None = None, allow_outside: bool = False,
                  max_pixels: int | None = None, max_media_per_row: int | None = None,
                  max_duration: float | None = None) -> FileReport:
    """Validate every record of one file; an unreadable file gives a report with `error` set. Images are decoded;
    `max_pixels` / `max_media_per_row` / `max_duration`: budgets (`media_too_large`, `media_too_many`,
    `media_too_long`).

    With `workers` > 1 a large JSON Lines file is split into byte ranges checked in parallel processes; problems
    still carry exact global line numbers and indexes, in file order.
    """
    report = FileReport(str(path))
    path = Path(path)
    try:
        chosen, votes, items = open_items(path, fmt)
        report.format, report.votes = chosen.name, votes
        report.how = "detected" if fmt is None else "given"
        media = Media(Path(media_dir) if media_dir else path.resolve().parent, allow_outside,
                      max_pixels=max_pixels, max_per_row=max_media_per_row, max_seconds=max_duration)
        parts = workers_for(workers)
        if path.suffix.lower() in JSONL_SUFFIXES and str(path) != STDIN:
            items.close()  # JSON Lines are re-read by the hot loop (detection only sampled the head)
            if parts > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES:
                checks = _validate_ranges(report, path, chosen, media, parts)
            else:
                checks = file_checks()
                part, _ = scan_range(path, chosen, media, 0, None, checks, progress)
                report.merge(part, 0)
        else:
            checks, whole = file_checks(), walks(chosen)
            for item in check_items(items, chosen, media, records=False):
                report.add(item)
                see(checks, item, whole)
                if progress is not None and not report.records % PROGRESS_EVERY:
                    progress(report.records)
            report.media.update(media.seen)
            report.add_across(file_problems(items))  # a JSON array's comma after its last element: no record
        report.add_across(p for c in checks for p in c.problems())
    except UnreadableFile as err:
        report.error = str(err)
    except (UnicodeDecodeError, OSError) as err:
        report.error = f"{path}: cannot read: {err}"
    return report


def _validate_ranges(report: FileReport, path: Path, fmt: Format, media: Media, workers: int) -> list[FileCheck]:
    """Ranges checked in parallel, merged in file order (reports and file checks); returns the merged checks."""
    lines, merged = 0, None
    first_use(fmt)
    for part, part_lines, checks in map_ranges(path, workers, lambda a, b: _scan(path, fmt, media, a, b),
                                               _scan_remote, str(path), fmt.name, media, lead=LEAD):
        if merged is None:
            merged = checks
        else:
            for mine, theirs in zip(merged, checks):
                mine.merge(theirs, report.records, lines)
        report.merge(part, lines)
        lines += part_lines
    return merged or []


def first_use(fmt: Format) -> None:
    """Build the pydantic models that the full lane builds on its first row (`fmt`'s row models, the canonical
    record's): once here, before the workers fork, not again in every process (about 8 ms each)."""
    models: list[type[BaseModel]] = [*fmt.rows, Record, ToolCall]
    for model in models:
        model.model_rebuild()


def _scan(path: Path, fmt: Format, media: Media, start: int, end: int) -> tuple[FileReport, int, list[FileCheck]]:
    checks = file_checks()
    report, lines = scan_range(path, fmt, media, start, end, checks)
    return report, lines, checks


def _scan_remote(index: int, start: int, end: int, path: str, fmt: str,
                 media: Media) -> tuple[FileReport, int, list[FileCheck]]:
    return _scan(Path(path), FORMATS[fmt], media, start, end)


def validate_descriptor(path: Path, media_dir: Path | None = None, rules: MediaRules = MediaRules()
                        ) -> list[FileReport]:
    """Reports for the descriptor itself and for every local entry (media under `rules`: allowed paths, budgets);
    hub entries are listed as not loadable."""
    return descriptor_reports(path, DATASET_INFO, media_dir, rules)
