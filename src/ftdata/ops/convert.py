"""`convert_files`: any format in, any format out; every input record is written or rejected, never lost.

OUT and OUT.rejects.jsonl are written as temp files beside their targets and put in place together at the end
(`ftdata.io.staging`): an interrupted or failed run leaves neither, a run racing another to the same new OUT stops
without touching it, and no output path may be an input under any name.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import orjson

from ftdata.core.canonical import MEDIA_KINDS
from ftdata.core.reports import ConvertReport
from ftdata.descriptors.llamafactory_writer import (
    DESCRIPTOR,
    check_name,
    update_dataset_info,
)
from ftdata.engine.lanes import Converter, Tick, Written, convert_range, open_items
from ftdata.engine.parallel import PARALLEL_MIN_BYTES, map_ranges, workers_for
from ftdata.formats import FORMATS, TARGETS, Format
from ftdata.formats.write import ReasoningPolicy
from ftdata.io.media import Media
from ftdata.io.readers import (
    JSON_OUTPUT_SUFFIXES,
    JSONL_SUFFIXES,
    STDIN,
    UnreadableFile,
    UsageError,
    same_file,
)
from ftdata.io.sink import BatchWriter, JsonWriter
from ftdata.io.staging import (
    OutputExists,
    Staged,
    check_replaceable,
    clean_stale,
    commit,
    create,
    file_mode,
    is_regular_or_absent,
    new_run,
    refuse_inputs,
    temp_name,
)

STDOUT_REJECTS = "ftdata.rejects.jsonl"  # with -o -, rejected rows still land in a file, never lost


class OutputsWritten(KeyboardInterrupt):
    """Interrupted just after the outputs were put in place: they are whole; nothing after them was done."""

    def __init__(self, report: ConvertReport) -> None:
        super().__init__("interrupted after the outputs were written")
        self.report = report


def default_output(first: Path, target: str) -> Path:
    """moss.jsonl --to sharegpt -> moss.sharegpt.jsonl beside the input."""
    return first.with_name(f"{first.stem}.{target}.jsonl")


def check_outputs(inputs: list[Path], out: Path, others: list[Path], force: bool, to_stdout: bool = False,
                  command: str = "convert") -> None:
    """Refuse what would lose data: an output (OUT, or one of the `others` written beside it) that is an input by
    any name (links included), OUT of a kind that is not written as such, a missing folder, replacing a FIFO or
    device, an existing OUT without --force. `to_stdout`: OUT is standard output. (convert, fix and dedup.)"""
    refuse_inputs(others if to_stdout else [out, *others], inputs)
    if to_stdout:
        return
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: the folder {out.parent} does not exist; create it or choose another -o")
    if out.suffix.lower() not in JSON_OUTPUT_SUFFIXES:
        raise UsageError(f"-o {out}: {command} writes JSON Lines (.jsonl, .ndjson) or a JSON array (.json), not "
                         f"'{out.suffix or 'no suffix'}'; name the output accordingly")
    check_replaceable(out, force)


def convert_files(
    inputs: list[Path], target: str, output: Path | None = None, source: str | None = None,
    media_dir: Path | None = None, reasoning: ReasoningPolicy = "think", name: str | None = None,
    dataset_info: bool = True, progress: Tick | None = None, force: bool = False,
    allow_outside: bool = False, workers: int = 1,
) -> ConvertReport:
    """Convert every record of `inputs` to `target`, writing OUT and OUT.rejects.jsonl together.

    An existing OUT is replaced only with `force` (regular files only); no output may be an input.
    """
    if target not in TARGETS:
        raise UsageError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}")
    if not inputs:
        raise UsageError("no input files")
    if output is None and str(inputs[0]) == STDIN:
        raise UsageError("reading stdin needs -o (a file, or - for stdout)")
    out = output or default_output(inputs[0], target)
    to_stdout = str(out) == STDIN
    rejects = Path(STDOUT_REJECTS) if to_stdout else out.with_name(out.name + ".rejects.jsonl")
    check_outputs(inputs, out, [rejects] if to_stdout else [rejects, out.parent / DESCRIPTOR], force, to_stdout)
    if dataset_info and not to_stdout:
        check_name(out, name, force)
    clean_stale(rejects.parent.resolve())
    run = new_run()
    staged_out = None if to_stdout else Staged(out, replace=force, run=run)
    try:
        # with -o -, an earlier run's rejects file is kept: ours takes the next free name
        staged_rejects = Staged(rejects, replace=not to_stdout, run=run,
                                alternatives=tuple(Path(f"ftdata.rejects.{i}.jsonl") for i in range(1, 100))
                                if to_stdout else ())
    except BaseException:
        if staged_out is not None:
            staged_out.discard()
        raise
    report = ConvertReport([str(p) for p in inputs], str(out), str(rejects), target)
    written = Written()
    try:
        batch = BatchWriter(sys.stdout.buffer if staged_out is None else staged_out.file)
        writer = JsonWriter(batch, array=not to_stdout and out.suffix.lower() == ".json")
        reject_batch = BatchWriter(staged_rejects.file)
        reject_writer = JsonWriter(reject_batch, array=False)
        _convert_inputs(inputs, FORMATS[target], source, media_dir, reasoning, allow_outside, workers, progress,
                        writer, reject_writer, report, written, to_stdout, out, run)
        writer.close()
        batch.close()
        reject_batch.close()
        placed = [s for s in (staged_out, staged_rejects if report.rejected else None) if s is not None]
        try:
            commit(placed, discard=() if report.rejected else (staged_rejects,))
        except KeyboardInterrupt:  # held during the commit, delivered right after it
            if all(s.placed is not None for s in placed):
                _finish(report, staged_rejects, rejects, inputs, written, media_dir, out, to_stdout)
                raise OutputsWritten(report) from None
            raise
    except BaseException:
        for s in (staged_out, staged_rejects):
            if s is not None:
                s.discard()
        raise
    _finish(report, staged_rejects, rejects, inputs, written, media_dir, out, to_stdout)
    if to_stdout:
        sys.stdout.buffer.flush()
    elif dataset_info and report.written:
        report.dataset_info, report.dataset_info_note = update_dataset_info(out, report, name, force)
    return report


def _convert_inputs(inputs: list[Path], fmt: Format, source: str | None, media_dir: Path | None,
                    reasoning: ReasoningPolicy, allow_outside: bool, workers: int, progress: Tick | None,
                    writer: JsonWriter, reject_writer: JsonWriter, report: ConvertReport, written: Written,
                    to_stdout: bool, out: Path, run: str) -> None:
    for path in inputs:
        found, _, items = open_items(path, source)
        report.formats[str(path)] = found.name
        label = path if len(inputs) > 1 else None
        media = Media(Path(media_dir) if media_dir else path.resolve().parent, allow_outside)
        conv = Converter(found, fmt, reasoning, writer, reject_writer, report, label, written)
        if str(path) == STDIN or path.suffix.lower() not in JSONL_SUFFIXES:
            conv.consume(items, media, fast=True, progress=progress)
            continue
        items.close()  # JSON Lines are re-read by the hot loop (detection only sampled the head)
        parts = workers_for(workers)
        if parts > 1 and not writer.array and not to_stdout and path.stat().st_size >= PARALLEL_MIN_BYTES:
            _convert_ranges(conv, path, media, parts, out.parent, run)
        else:
            done = report.records
            convert_range(conv, path, 0, None, media, (lambda n: progress(done + n)) if progress is not None else None)


def _finish(report: ConvertReport, staged_rejects: Staged, rejects: Path, inputs: list[Path], written: Written,
            media_dir: Path | None, out: Path, to_stdout: bool) -> None:
    """After the commit: where the rejects went, an older rejects file dropped, what holds across the output."""
    if report.rejected:
        report.rejects = str(staged_rejects.placed)
    elif not to_stdout:
        _drop_old_rejects(rejects, inputs)
    report.output_problems = written.drift.problems()
    _note_media(report, inputs, media_dir, out, to_stdout)


def _drop_old_rejects(rejects: Path, inputs: list[Path]) -> None:
    """A clean run's OUT has no rejects: an older OUT.rejects.jsonl beside it described another output."""
    if os.path.lexists(rejects) and is_regular_or_absent(rejects) and not rejects.is_symlink():
        if not any(str(p) != STDIN and same_file(rejects, p) for p in inputs):
            rejects.unlink(missing_ok=True)


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
    try:
        ranges = map_ranges(path, workers, lambda a, b: (convert_range(conv, path, a, b, media), None, None),
                            _convert_remote, str(path), conv.source.name, conv.target.name, conv.reasoning, media,
                            str(part_dir), run)
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


__all__ = ["ConvertReport", "Format", "OutputExists", "OutputsWritten", "TARGETS", "UnreadableFile", "UsageError",
           "convert_files", "default_output"]
