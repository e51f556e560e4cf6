"""`validate --workers N`: byte ranges of one JSON Lines file checked in parallel processes."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ftdata.api import FileReport, scan_range
from ftdata.formats import FORMATS, Format
from ftdata.io import line_ranges
from ftdata.media import Media
from ftdata.problems import Problem


def _check_range(args: tuple[str, int, int, str, Media]) -> tuple[int, int, int, int, int, list[Problem]]:
    """(physical lines, records, valid, invalid, warnings, problems) of one range; lines/indexes range-local."""
    path, start, end, fmt, media = args
    part = FileReport(path)
    lines = scan_range(part, Path(path), FORMATS[fmt], media, start, end)
    return lines, part.records, part.valid, part.invalid, part.warnings, part.problems


def validate_ranges(report: FileReport, path: Path, fmt: Format, media: Media, workers: int) -> None:
    """Fill `report` from `workers` processes; local lines and indexes are shifted to global ones, in order."""
    jobs = [(str(path), a, b, fmt.name, media) for a, b in line_ranges(path, workers)]
    line_offset = index_offset = 0
    with ProcessPoolExecutor(max_workers=len(jobs)) as pool:
        for lines, records, valid, invalid, warnings, problems in pool.map(_check_range, jobs):
            for p in problems:
                p.line = p.line + line_offset if p.line is not None else None
                p.index = p.index + index_offset if p.index is not None else None
            report.problems += problems
            report.records += records
            report.valid += valid
            report.invalid += invalid
            report.warnings += warnings
            line_offset += lines
            index_offset += records
