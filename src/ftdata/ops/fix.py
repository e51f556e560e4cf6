"""`fix_files`: apply the meaning-preserving fixes of `ftdata.ops.fixes` to every row, log each change, lose nothing.

Every input row goes to exactly one place: OUT (valid after fixing; in its own format, as it was apart from the
logged changes, or converted with `target`) or OUT.rejects.jsonl (still invalid, or not representable in
`target`: the original row with the problems of the fixed one), so `records = written + rejected`. Each change is
a line of OUT.changes.jsonl: `{index, line, path, code, before, after}` (and `file` with several inputs); only
changes of rows written to OUT are logged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdata.core.problems import Code, Problem, has_errors
from ftdata.core.reports import Checked, ConvertReport
from ftdata.engine.convert import Converter, Written, reject
from ftdata.engine.lanes import convert_raw, open_items
from ftdata.formats import FORMATS, Format
from ftdata.io.media import Media
from ftdata.io.readers import STDIN, Item, UsageError
from ftdata.io.sink import JsonWriter
from ftdata.ops.fixes import Change, FixCode, fix_reported, fix_row, fix_structure
from ftdata.ops.pipeline import Plan, check_target, written_by


@dataclass
class FixReport:
    """What a fix run did; `records == written + rejected`."""

    inputs: list[str]
    output: str
    changes_file: str
    rejects: str
    target: str
    formats: dict[str, str] = field(default_factory=dict)
    records: int = 0
    written: int = 0
    rejected: int = 0
    rows_changed: int = 0
    unfixed: int = 0  # valid rows whose fixes would have made them invalid: written as they were
    changes: Counter[FixCode] = field(default_factory=Counter)
    reject_codes: Counter[Code] = field(default_factory=Counter)
    warnings: Counter[Code] = field(default_factory=Counter)
    dataset_info: str | None = None  # the dataset_info.json that got OUT's entry
    dataset_info_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in self.__dict__.items()}


def fix_files(inputs: list[Path], target: str | None = None, output: Path | None = None, source: str | None = None,
              merge_consecutive: bool = False, drop_empty: bool = False, force: bool = False,
              allow_outside: bool = False, media_dir: Path | None = None, name: str | None = None,
              dataset_info: bool = True) -> FixReport:
    """Fix every row of `inputs` into OUT (see the module docstring), and add OUT's dataset_info.json entry.
    Raises UsageError / UnreadableFile."""
    check_target(target)
    plan = Plan.make("fix", inputs, output, ".fixed", ("changes", "rejects"), force, dataset_info, name)
    opened = []
    for path in inputs:
        fmt, _, items = open_items(path, source)
        opened.append((path, fmt, items))
    formats = {str(p): f.name for p, f, _ in opened}
    if target is None and len(set(formats.values())) > 1:
        raise UsageError("the inputs have different formats (" + ", ".join(f"{p}: {f}" for p, f in formats.items())
                         + "); pass --to to write them in one")
    target = target or opened[0][1].name
    report = FixReport([str(p) for p in inputs], str(plan.out), str(plan.sides["changes"]),
                       str(plan.sides["rejects"]), target, formats)
    written, rows = ConvertReport([], str(plan.out), report.rejects, target), Written()  # OUT's, for its entry
    with plan.staged(report) as run:
        writer = JsonWriter(run.out_file, array=plan.out.suffix == ".json")  # type: ignore[arg-type]
        log, rejects = (JsonWriter(f, array=False) for f in run.side_files)
        for path, fmt, items in opened:
            label = path if len(inputs) > 1 else None
            media = Media(media_dir or (path.resolve().parent if str(path) != STDIN else Path(".")), allow_outside)
            conv = Converter(fmt, FORMATS[target], "think", writer, rejects, written, label, rows)
            for item in items:
                _one(item, fmt, media, (drop_empty, merge_consecutive), conv, log, rejects, label, report)
        writer.close()
        report.written = written.written
        written_by(run, written, rows, report)
    return report


def _one(item: Item, fmt: Format, media: Media, structure: tuple[bool, bool], conv: Converter, log: JsonWriter,
         rejects: JsonWriter, label: Path | None, report: FixReport) -> None:
    """Fix, check and write one row."""
    report.records += 1
    raw = item.value
    changes: list[Change] = []
    if isinstance(raw, dict):
        raw, changes = fix_row(raw, fmt)
        checked = convert_raw(raw, fmt, media)
        reported = fix_reported(raw, fmt, checked.problems)
        more = fix_structure(raw, fmt, *structure)
        changes += reported + more
        if reported or more:
            checked = convert_raw(raw, fmt, media)
        if changes and has_errors(checked.problems):
            original = convert_raw(item.value, fmt, media)
            if original.record is not None and not has_errors(original.problems):
                # a fix must never make a valid row invalid (a field that has to match another one): keep it as is
                raw, changes, checked = item.value, [], original
                report.unfixed += 1
        problems = [p.at(item.index, item.line) for p in checked.problems]
        record, origins = checked.record, checked.origins
    else:  # a line that is not JSON, or a value that is not an object
        record, origins = None, None
        found = [raw] if isinstance(raw, Problem) else convert_raw(raw, fmt, media).problems
        problems = [p.at(item.index, item.line) for p in found]
    done = Checked(item.index, item.line, item.value, record, problems, origins, item.text)  # rejects: the original
    if not done.valid:
        reject(report, done, problems, rejects, label)
        return
    before = conv.report.written
    if conv.source is conv.target and record is not None:
        conv.write_as_is(done, raw, record.kind)  # its own format: the row as read, with only the logged changes
    else:
        conv.write_checked(done)
    if conv.report.written == before:
        return  # not representable in the target: rejected by the converter, nothing logged
    if changes:
        report.rows_changed += 1
    for c in changes:
        report.changes[c.code] += 1
        entry = {"index": item.index, "line": item.line, "path": c.path, "code": c.code, "before": c.before,
                 "after": c.after}
        log.write({"file": str(label), **entry} if label is not None else entry)
