"""`convert_files`: any format in, any format out; every input record is written or rejected, never lost."""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ftdata.api import PARALLEL_MIN_BYTES, Checked, check_items, open_checked
from ftdata.dataset_info import update_dataset_info
from ftdata.formats import FORMATS, Format
from ftdata.formats.write import ReasoningPolicy, Writing
from ftdata.fast import FAST
from ftdata.io import JSONL_SUFFIXES, PROGRESS_EVERY, STDIN, Accept, Tally, UnreadableFile, read_jsonl_range
from ftdata.sink import JsonWriter, atomic_write
from ftdata.light import AS_IS, LIGHT, LIGHT_WRITERS, LightRecord
from ftdata.media import Media
from ftdata.problems import Problem
from ftdata.rules import Origins

TARGETS = [name for name, f in FORMATS.items() if f.from_canonical is not None]


class UsageError(Exception):
    """Bad arguments (unknown target, output equal to input, ...): exit code 2."""


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
    reject_codes: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)  # top-level fields of the written rows
    dataset_info: str | None = None
    dataset_info_note: str | None = None

    def merge(self, part: "ConvertReport") -> None:
        """Add the counts of a part (a byte range converted by a worker process)."""
        self.records += part.records
        self.written += part.written
        self.rejected += part.rejected
        self.reject_codes.update(part.reject_codes)
        self.warnings.update(part.warnings)
        self.kinds.update(part.kinds)
        self.keys |= part.keys


def default_output(first: Path, target: str) -> Path:
    """moss.jsonl --to sharegpt -> moss.sharegpt.jsonl beside the input."""
    return first.with_name(f"{first.stem}.{target}.jsonl")


def convert_files(
    inputs: list[Path], target: str, output: Path | None = None, source: str | None = None,
    media_dir: Path | None = None, reasoning: ReasoningPolicy = "think", name: str | None = None,
    dataset_info: bool = True, progress: Callable[[int], None] | None = None, force: bool = False,
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
    # with -o - the rows go to stdout; rejected ones still land in a file, never lost
    rejects = Path("ftdata.rejects.jsonl") if to_stdout else out.with_name(out.name + ".rejects.jsonl")
    report = ConvertReport([str(p) for p in inputs], str(out), str(rejects), target)
    fmt = FORMATS[target]
    with ExitStack() as stack:
        sink = sys.stdout.buffer if to_stdout else stack.enter_context(atomic_write(out))
        writer = JsonWriter(sink, array=not to_stdout and out.suffix == ".json")
        reject_writer = JsonWriter(stack.enter_context(atomic_write(rejects)), array=False)
        for path in inputs:
            found, _, stream = open_checked(path, source, media_dir, allow_outside=allow_outside)
            report.formats[str(path)] = found.name
            label = path if len(inputs) > 1 else None
            if str(path) == STDIN or path.suffix.lower() not in JSONL_SUFFIXES:
                consume(stream, report, fmt, reasoning, writer, reject_writer, label, progress)
                continue
            stream.close()  # JSON Lines are re-read by the hot loop (detection only sampled the head)
            media = Media(Path(media_dir) if media_dir else path.resolve().parent, allow_outside)
            if workers > 1 and not writer.array and not to_stdout and path.stat().st_size >= PARALLEL_MIN_BYTES:
                from ftdata.parallel import convert_ranges

                convert_ranges(report, path, found, target, reasoning, media, workers, writer, reject_writer, label,
                               out.parent)
            else:
                done = report.records
                convert_range(report, path, 0, None, found, fmt, reasoning, media, writer, reject_writer, label,
                              (lambda n: progress(done + n)) if progress is not None else None)
        writer.close()
    if report.rejected == 0:
        rejects.unlink(missing_ok=True)  # only a run with rejects leaves a rejects file
    if to_stdout:
        sys.stdout.buffer.flush()
    elif dataset_info and report.written:
        report.dataset_info, report.dataset_info_note = update_dataset_info(out, target, report.kinds, report.keys, name)
    return report


def convert_range(report: ConvertReport, path: Path, start: int, end: int | None, source: Format, target: Format,
                  reasoning: ReasoningPolicy, media: Media, writer: JsonWriter, reject_writer: JsonWriter,
                  label: Path | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Convert JSON Lines from byte `start` to `end` into the writers, counting in `report`; returns lines read.

    Rows the fast check accepts are written from the hot loop (`fast_take`); the rest take the full path.
    """
    tally = Tally()
    take = fast_take(source, target, writer, report.keys)
    items = read_jsonl_range(path, start, end, tally, take, progress)
    consume(check_items(items, source, media, records=True, fast_done=take is not None), report, target, reasoning,
            writer, reject_writer, label)
    report.records += tally.accepted
    report.written += tally.accepted
    if tally.accepted:
        report.kinds["sft"] += tally.accepted  # the fast path only accepts plain SFT conversations
    return tally.lines


def fast_take(source: Format, target: Format, writer: JsonWriter, keys: set[str]) -> Accept | None:
    """For rows the fast check accepts: write the target row straight from the decoded one, or copy the line as
    it is when the row is already in the target's exact shape; no canonical record, no `Checked`.

    None when the (source, target) pair has no fast path; the property tests in tests/test_fast.py hold each
    piece (check, light record, light writer, as-is test) to the full path.
    """
    fast, build, write = FAST.get(source.name), LIGHT.get(source.name), LIGHT_WRITERS.get(target.name)
    if fast is None or build is None or write is None:
        return None
    as_is = AS_IS.get((source.name, target.name))

    def take(row: dict[str, Any], line: memoryview) -> bool:
        if not fast(row):
            return False
        if as_is is not None and as_is(row):
            writer.write_json(line[:-1] if line[-1] == CR else line)  # CRLF files: the row without its "\r"
            keys.update(row)
        else:
            out = write(build(row))
            writer.write(out)
            keys.update(out)
        return True

    return take


CR = ord("\r")


def consume(stream: Iterable[Checked], report: ConvertReport, fmt: Format, reasoning: ReasoningPolicy,
            writer: JsonWriter, reject_writer: JsonWriter, label: Path | None = None,
            progress: Callable[[int], None] | None = None) -> None:
    """Write each checked record to `writer` or `reject_writer`, counting everything in `report`."""
    for item in stream:
        report.records += 1
        if progress is not None and not report.records % PROGRESS_EVERY:
            progress(report.records)
        row, problems = _write_one(item, fmt, reasoning)
        for p in problems:
            if p.severity == "warning":
                report.warnings[p.code] += 1
        if row is None:
            report.rejected += 1
            report.reject_codes.update({p.code for p in problems if p.severity == "error"})
            reject_writer.write(_reject(item, problems, label))
        else:
            report.written += 1
            report.kinds[item.record.kind] += 1  # type: ignore[union-attr]
            report.keys.update(row)
            writer.write(row)


def _write_one(item: Checked, fmt: Format, reasoning: ReasoningPolicy) -> tuple[dict[str, Any] | None, list[Problem]]:
    if not item.valid or item.record is None:
        return None, item.problems
    if type(item.record) is LightRecord and fmt.name in LIGHT_WRITERS:
        return LIGHT_WRITERS[fmt.name](item.record), []
    w = Writing(item.record, item.origins or Origins(), reasoning)
    row = fmt.from_canonical(w)  # type: ignore[misc]
    problems = item.problems + [p.at(item.index, item.line) for p in w.problems]
    return (row if w.ok() else None), problems


def _reject(item: Checked, problems: list[Problem], path: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {"index": item.index, "line": item.line,
                           "errors": [p.to_dict() for p in problems if p.severity == "error"]}
    if item.raw_text is not None:
        out["record_text"] = item.raw_text  # the line was not JSON: its text, byte for byte where UTF-8
    else:
        out["record"] = item.raw
    if path is not None:
        out = {"file": str(path), **out}
    return out


__all__ = ["ConvertReport", "TARGETS", "UnreadableFile", "UsageError", "convert_files", "default_output"]
