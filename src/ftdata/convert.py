"""`convert_files`: any format in, any format out; every input record is written or rejected, never lost."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson

from ftdata.dataset_info_writer import check_name, update_dataset_info
from ftdata.canonical import MEDIA_KINDS
from ftdata.engine import Converter, Tick, Written, convert_range, open_items
from ftdata.formats import FORMATS, TARGETS, Format
from ftdata.formats.write import ReasoningPolicy
from ftdata.io import JSONL_SUFFIXES, STDIN, UnreadableFile, UsageError
from ftdata.media import Media
from ftdata.parallel import map_ranges
from ftdata.reports import ConvertReport
from ftdata.sink import BatchWriter, JsonWriter, Sink, atomic_write
from ftdata.validation import PARALLEL_MIN_BYTES


def default_output(first: Path, target: str) -> Path:
    """moss.jsonl --to sharegpt -> moss.sharegpt.jsonl beside the input."""
    return first.with_name(f"{first.stem}.{target}.jsonl")


def convert_files(
    inputs: list[Path], target: str, output: Path | None = None, source: str | None = None,
    media_dir: Path | None = None, reasoning: ReasoningPolicy = "think", name: str | None = None,
    dataset_info: bool = True, progress: Tick | None = None, force: bool = False,
    allow_outside: bool = False, workers: int = 1,
) -> ConvertReport:
    """Convert every record of `inputs` to `target`, writing OUT and OUT.rejects.jsonl atomically.

    An existing OUT is replaced only with `force`; OUT may never be one of the inputs.
    """
    if target not in TARGETS:
        raise UsageError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}")
    if not inputs:
        raise UsageError("no input files")
    if output is None and str(inputs[0]) == STDIN:
        raise UsageError("reading stdin needs -o (a file, or - for stdout)")
    out = output or default_output(inputs[0], target)
    to_stdout = str(out) == STDIN
    if not to_stdout and any(str(p) != STDIN and out.resolve() == p.resolve() for p in inputs):
        raise UsageError(f"output {out} is also an input; choose another -o")
    if not to_stdout and out.exists() and not force:
        raise UsageError(f"{out} exists; pass --force to replace it, or choose another -o")
    if dataset_info and not to_stdout:
        check_name(out, name, force)
    # with -o - the rows go to stdout; rejected ones still land in a file, never lost
    rejects = Path("ftdata.rejects.jsonl") if to_stdout else out.with_name(out.name + ".rejects.jsonl")
    report = ConvertReport([str(p) for p in inputs], str(out), str(rejects), target)
    fmt = FORMATS[target]
    written = Written()
    with ExitStack() as stack:
        sink: Sink = sys.stdout.buffer if to_stdout else stack.enter_context(atomic_write(out))
        writer = JsonWriter(sink, array=not to_stdout and out.suffix == ".json")
        reject_writer = JsonWriter(stack.enter_context(atomic_write(rejects)), array=False)
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
            if workers > 1 and not writer.array and not to_stdout and path.stat().st_size >= PARALLEL_MIN_BYTES:
                _convert_ranges(conv, path, media, workers, out.parent)
            else:
                done = report.records
                convert_range(conv, path, 0, None, media, (lambda n: progress(done + n)) if progress is not None else None)
        writer.close()
    if report.rejected == 0:
        rejects.unlink(missing_ok=True)  # only a run with rejects leaves a rejects file
    report.output_problems = written.drift.problems()
    media_bases = {Path(media_dir).resolve() if media_dir else Path(p).resolve().parent for p in inputs if str(p) != STDIN}
    if report.keys & set(MEDIA_KINDS) and not to_stdout and media_bases != {out.parent.resolve()}:
        report.notes.append(f"media paths are written as the input has them, relative to {', '.join(map(str, sorted(media_bases)))}; "
                            f"pass that folder as --media-dir when you validate or train on {out.name}, or copy the media beside it")
    if to_stdout:
        sys.stdout.buffer.flush()
    elif dataset_info and report.written:
        report.dataset_info, report.dataset_info_note = update_dataset_info(out, report, name)
    return report


def _convert_ranges(conv: Converter, path: Path, media: Media, workers: int, part_dir: Path) -> None:
    """Convert byte ranges in parallel and append them to the writers in file order.

    This process converts the first range straight into the output while worker processes convert the others into
    part files (dot-files in `part_dir`, the output's folder, removed in every case), which are then appended
    inside the kernel. The output is a JSON Lines `atomic_write` file (a `BatchWriter`).
    """
    sink = conv.writer.f
    assert isinstance(sink, BatchWriter)
    report = conv.report
    before = report.records  # records of earlier inputs
    lines = records = 0  # of this file so far
    try:
        ranges = map_ranges(path, workers, lambda a, b: (convert_range(conv, path, a, b, media), None, None),
                            _convert_remote, str(path), conv.source.name, conv.target.name, conv.reasoning, media,
                            str(part_dir))
        for index, (part_lines, part, written) in enumerate(ranges):
            if part is None or written is None:  # this process's range went straight into the output
                records = report.records - before
            else:
                conv.written.merge(written)
                out_part, rejects_part = _part_paths(part_dir, path, index)
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
            for p in _part_paths(part_dir, path, index):
                p.unlink(missing_ok=True)


def _part_paths(part_dir: Path, path: Path, index: int) -> tuple[Path, Path]:
    return (part_dir / f".{path.name}.part{index - 1}.out.tmp", part_dir / f".{path.name}.part{index - 1}.rejects.tmp")


def _convert_remote(index: int, start: int, end: int, path: str, source: str, target: str,
                    reasoning: ReasoningPolicy, media: Media, part_dir: str) -> tuple[int, ConvertReport, Written]:
    """Convert one range into its own part files; lines and indexes in them are range-local."""
    out_part, rejects_part = _part_paths(Path(part_dir), Path(path), index)
    part = ConvertReport([path], str(out_part), str(rejects_part), target)
    with open(out_part, "wb") as out, open(rejects_part, "wb") as rejects:
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


__all__ = ["ConvertReport", "Format", "TARGETS", "UnreadableFile", "UsageError", "convert_files", "default_output"]
