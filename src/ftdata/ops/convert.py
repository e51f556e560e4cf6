"""`convert_files`: any format in, any format out; every input record is written or rejected, never lost.

OUT and OUT.rejects.jsonl are written as temp files beside their targets and put in place together at the end
(`ftdata.io.staging`): an interrupted or failed run leaves neither, a run racing another to the same new OUT stops
without touching it, and no output path may be an input under any name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from ftdata.core.canonical import MEDIA_KINDS
from ftdata.core.reports import ConvertReport
from ftdata.engine.convert import Converter, Written, convert_range
from ftdata.engine.lanes import Tick, open_items
from ftdata.engine.parallel import PARALLEL_MIN_BYTES, map_ranges, workers_for
from ftdata.formats import FORMATS, TARGETS, Format
from ftdata.formats.write import ReasoningPolicy
from ftdata.io.files import file_problems
from ftdata.io.media import Media
from ftdata.io.readers import JSONL_SUFFIXES, STDIN, UnreadableFile, UsageError
from ftdata.io.sink import BatchWriter, JsonWriter
from ftdata.io.staging import OutputExists, create, file_mode, temp_name
from ftdata.ops.pipeline import Interrupted, Plan, Staging, add_entry, check_target
from ftdata.ops.validate import first_use

# this process's range against a worker's: as `ftdata.ops.validate.LEAD` (appending the workers' parts, like the
# merge there, comes after they have ended)
LEAD = 1.05


def default_output(first: Path, target: str) -> Path:
    """moss.jsonl --to sharegpt -> moss.sharegpt.jsonl beside the input."""
    return first.with_name(f"{first.stem}.{target}.jsonl")


def convert_files(
    inputs: list[Path], target: str, output: Path | None = None, source: str | None = None,
    media_dir: Path | None = None, reasoning: ReasoningPolicy = "think", name: str | None = None,
    dataset_info: bool = True, progress: Tick | None = None, force: bool = False,
    allow_outside: bool = False, workers: int = 1,
) -> ConvertReport:
    """Convert every record of `inputs` to `target`, writing OUT and OUT.rejects.jsonl together (and OUT's
    dataset_info.json entry). An existing OUT is replaced only with `force` (regular files only); no output may be
    an input."""
    check_target(target)
    plan = Plan.make("convert", inputs, output, f".{target}", ("rejects",), force, dataset_info, name)
    report = ConvertReport([str(p) for p in inputs], str(plan.out), str(plan.sides["rejects"]), target)
    written = Written()
    with plan.staged(report) as run:
        out_f, (rejects_f,) = run.out_file, run.side_files
        batch = BatchWriter(sys.stdout.buffer if out_f is None else out_f, early_sync=out_f is not None)
        writer = JsonWriter(batch, array=not plan.to_stdout and plan.out.suffix.lower() == ".json")
        reject_batch = BatchWriter(rejects_f, early_sync=True)
        _convert_inputs(plan, FORMATS[target], source, media_dir, reasoning, allow_outside, workers, progress,
                        writer, JsonWriter(reject_batch, array=False), report, written, run.run)
        writer.close()
        batch.close()
        reject_batch.close()
        run.rows = report.written  # no row written: no OUT (the summary says so)
        run.then(lambda: _finish(plan, run, report, written, media_dir))
    if plan.to_stdout:
        sys.stdout.buffer.flush()
    return report


def _finish(plan: Plan, run: Staging, report: ConvertReport, written: Written, media_dir: Path | None) -> None:
    """After the commit: where the rejects went, what holds across the output, OUT's dataset_info.json entry."""
    rejects = run.staged[1]
    if report.rejected and rejects is not None:
        report.rejects = str(rejects.placed)
    if report.written == 0 and not plan.to_stdout:
        return  # OUT was not created: no entry for it
    _note_media(report, plan.inputs, media_dir, plan.out, plan.to_stdout)
    add_entry(plan, report, written, report)


def _convert_inputs(plan: Plan, fmt: Format, source: str | None, media_dir: Path | None,
                    reasoning: ReasoningPolicy, allow_outside: bool, workers: int, progress: Tick | None,
                    writer: JsonWriter, reject_writer: JsonWriter, report: ConvertReport, written: Written,
                    run: str) -> None:
    inputs = plan.inputs
    for path in inputs:
        found, _, items = open_items(path, source)
        report.formats[str(path)] = found.name
        label = path if len(inputs) > 1 else None
        media = Media(Path(media_dir) if media_dir else path.resolve().parent, allow_outside)
        conv = Converter(found, fmt, reasoning, writer, reject_writer, report, label, written)
        if str(path) == STDIN or path.suffix.lower() not in JSONL_SUFFIXES:
            conv.consume(items, media, fast=True, progress=progress)
            report.notes += [f"{path}:{p.line}: {p.message}; it is no row: nothing was lost" for p in file_problems(items)]
            continue
        items.close()  # JSON Lines are re-read by the hot loop (detection only sampled the head)
        parts = workers_for(workers)
        if parts > 1 and not writer.array and not plan.to_stdout and path.stat().st_size >= PARALLEL_MIN_BYTES:
            _convert_ranges(conv, path, media, parts, plan.out.parent, run)
        else:
            done = report.records
            convert_range(conv, path, 0, None, media, (lambda n: progress(done + n)) if progress is not None else None)


def _note_media(report: ConvertReport, inputs: list[Path], media_dir: Path | None, out: Path, to_stdout: bool) -> None:
    bases = {Path(media_dir).resolve() if media_dir else Path(p).resolve().parent for p in inputs if str(p) != STDIN}
    if report.keys & set(MEDIA_KINDS) and not to_stdout and bases != {out.parent.resolve()}:
        report.notes.append(f"media paths are written as the input has them, relative to "
                            f"{', '.join(map(str, sorted(bases)))}; pass that folder as --media-dir when you validate "
                            f"or train on {out.name}, or copy the media beside it")


def _convert_ranges(conv: Converter, path: Path, media: Media, workers: int, part_dir: Path, run: str) -> None:
    """Convert byte ranges in parallel and append them to the writers in file order.

    This process converts the first range straight into the output while worker processes convert the others into
    part files (dot-files in `part_dir`, unique to this run, removed in every case), which are then appended
    inside the kernel.
    """
    sink = conv.writer.f
    assert isinstance(sink, BatchWriter)
    report = conv.report
    before = report.records  # records of earlier inputs
    lines = records = 0  # of this file so far
    first_use(conv.source)
    for writer in (sink, conv.rejects.f):
        if isinstance(writer, BatchWriter):
            writer.settle()  # no sync thread left running when the workers fork
    try:
        ranges = map_ranges(path, workers, lambda a, b: (convert_range(conv, path, a, b, media), None, None),
                            _convert_remote, str(path), conv.source.name, conv.target.name, conv.reasoning, media,
                            str(part_dir), run, lead=LEAD)
        for index, (part_lines, part, written) in enumerate(ranges):
            if part is None or written is None:  # this process's range went straight into the output
                records = report.records - before
            else:
                conv.written.merge(written)
                out_part, rejects_part = _part_paths(part_dir, path, index, run)
                sink.append_file(out_part)
                with open(rejects_part, "rb") as f:
                    for raw in f:
                        reject = _shift(orjson.loads(raw), lines, records)
                        conv.rejects.write({"file": str(conv.label), **reject} if conv.label is not None else reject)
                report.merge(part)
                records += part.records
            lines += part_lines
    finally:
        for index in range(1, workers):
            for p in _part_paths(part_dir, path, index, run):
                p.unlink(missing_ok=True)


def _part_paths(part_dir: Path, path: Path, index: int, run: str) -> tuple[Path, Path]:
    base = part_dir / path.name
    return temp_name(base, run, f"part{index}.out"), temp_name(base, run, f"part{index}.rejects")


def _convert_remote(index: int, start: int, end: int, path: str, source: str, target: str,
                    reasoning: ReasoningPolicy, media: Media, part_dir: str, run: str) -> tuple[int, ConvertReport, Written]:
    """Convert one range into its own part files (created exclusively); lines and indexes in them are range-local."""
    out_part, rejects_part = _part_paths(Path(part_dir), Path(path), index, run)
    part = ConvertReport([path], str(out_part), str(rejects_part), target)
    mode = file_mode(Path(part_dir) / ".part")
    with create(out_part, mode) as out, create(rejects_part, mode) as rejects:
        batch = BatchWriter(out)  # a part is copied into the output, which is synced: no sync here
        conv = Converter(FORMATS[source], FORMATS[target], reasoning, JsonWriter(batch, False),
                         JsonWriter(rejects, False), part)
        lines = convert_range(conv, Path(path), start, end, media)
        batch.close()
    return lines, part, conv.written


def _shift(reject: dict[str, Any], lines: int, records: int) -> dict[str, Any]:
    """Range-local index / line of a reject (and of its errors) -> file-global ones."""
    for item in [reject, *reject.get("errors", [])]:
        if item.get("index") is not None:
            item["index"] += records
        if item.get("line") is not None:
            item["line"] += lines
    return reject


__all__ = ["ConvertReport", "Format", "Interrupted", "OutputExists", "TARGETS", "UnreadableFile", "UsageError",
           "convert_files", "default_output"]
