"""`--workers N`: byte ranges of one JSON Lines file validated or converted in parallel processes."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, cast

import orjson

from ftdata.api import FileReport, scan_range
from ftdata.convert import ConvertReport, convert_range
from ftdata.formats import FORMATS, Format
from ftdata.formats.write import ReasoningPolicy
from ftdata.io import line_ranges
from ftdata.sink import BatchWriter, JsonWriter
from ftdata.media import Media
from ftdata.problems import Problem


def _check_range(args: tuple[str, int, int, str, Media]) -> tuple[int, int, int, int, int, list[Problem]]:
    """(physical lines, records, valid, invalid, warnings, problems) of one range; lines/indexes range-local."""
    path, start, end, fmt, media = args
    part = FileReport(path)
    lines = scan_range(part, Path(path), FORMATS[fmt], media, start, end)
    return lines, part.records, part.valid, part.invalid, part.warnings, part.problems


def validate_ranges(report: FileReport, path: Path, fmt: Format, media: Media, workers: int) -> None:
    """Fill `report` from `workers` processes (this one checks the first range); local lines and indexes are
    shifted to global ones, in order."""
    (first_start, first_end), *rest = line_ranges(path, workers) or [(0, 0)]
    jobs = [(str(path), a, b, fmt.name, media) for a, b in rest]
    with ProcessPoolExecutor(max_workers=max(len(jobs), 1)) as pool:
        results = pool.map(_check_range, jobs)  # started now; collected in order below
        before = report.records
        line_offset = scan_range(report, path, fmt, media, first_start, first_end)
        index_offset = report.records - before
        for lines, records, valid, invalid, warnings, problems in results:
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


def _convert_range(args: tuple[str, int, int, str, str, ReasoningPolicy, Media, str, str]) -> tuple[int, ConvertReport]:
    """Convert one range into its own part files; lines and indexes in them are range-local."""
    path, start, end, source, target, reasoning, media, out_part, rejects_part = args
    part = ConvertReport([path], out_part, rejects_part, target)
    with open(out_part, "wb") as out, open(rejects_part, "wb") as rejects:
        batch = BatchWriter(out)  # a part is copied into the output, which is synced: no sync here
        lines = convert_range(part, Path(path), start, end, FORMATS[source], FORMATS[target], reasoning, media,
                              JsonWriter(batch, False), JsonWriter(rejects, False))
        batch.close()
    return lines, part


def _shift(reject: dict[str, Any], lines: int, records: int) -> dict[str, Any]:
    """Range-local index / line of a reject (and of its errors) -> file-global ones."""
    for item in [reject, *reject.get("errors", [])]:
        if item.get("index") is not None:
            item["index"] += records
        if item.get("line") is not None:
            item["line"] += lines
    return reject


def convert_ranges(report: ConvertReport, path: Path, source: Format, target: str, reasoning: ReasoningPolicy,
                   media: Media, workers: int, writer: JsonWriter, rejects: JsonWriter, label: Path | None,
                   part_dir: Path) -> None:
    """Convert byte ranges in parallel and append them to `writer` / `rejects` in file order.

    This process converts the first range straight into `writer` while worker processes convert the others into
    part files (dot-files in `part_dir`, the output's folder, removed in every case), which are then appended
    inside the kernel. `writer` writes JSON Lines into an `atomic_write` file (a `BatchWriter`).
    """
    sink = cast(BatchWriter, writer.f)
    (first_start, first_end), *rest = line_ranges(path, workers) or [(0, 0)]
    parts = [part_dir / f".{path.name}.part{i}.out.tmp" for i in range(len(rest))]
    parts_rej = [part_dir / f".{path.name}.part{i}.rejects.tmp" for i in range(len(rest))]
    jobs = [(str(path), a, b, source.name, target, reasoning, media, str(o), str(r))
            for (a, b), o, r in zip(rest, parts, parts_rej)]
    try:
        with ProcessPoolExecutor(max_workers=max(len(jobs), 1)) as pool:
            results = pool.map(_convert_range, jobs)  # started now; collected in order below
            before = report.records
            lines = convert_range(report, path, first_start, first_end, source, FORMATS[target], reasoning, media,
                                  writer, rejects, label)
            records = report.records - before
            for (part_lines, part), out_part, rejects_part in zip(results, parts, parts_rej):
                sink.append_file(out_part)
                with open(rejects_part, "rb") as f:
                    for raw in f:
                        reject = _shift(orjson.loads(raw), lines, records)
                        rejects.write({"file": str(label), **reject} if label is not None else reject)
                report.merge(part)
                lines += part_lines
                records += part.records
    finally:
        for p in parts + parts_rej:
            p.unlink(missing_ok=True)
