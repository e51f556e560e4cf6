"""What every kind of descriptor shares: a kind says how it is read, which entries cannot be read here and how an
entry's rows are checked; `descriptor_reports` turns any kind into the reports `ftdata validate` prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, Iterator, TypeVar

from ftdata.core.problems import Problem
from ftdata.core.reports import Checked, ConvertReport, FileReport
from ftdata.engine.convert import Written
from ftdata.engine.lanes import check_items, open_items, see, walks
from ftdata.io.files import file_problems
from ftdata.formats import Format
from ftdata.io.filechecks import file_checks
from ftdata.io.media import Media, MediaRules
from ftdata.io.readers import UnreadableFile

E = TypeVar("E")


@dataclass(frozen=True)
class DescriptorKind(Generic[E]):
    """What differs between kinds of descriptor (dataset_info.json, LLaMA-Factory v1 YAML): how it is read, which
    entries cannot be read here (their format and why), and an entry's checked rows (`records`: with `Record`s)."""

    name: str
    read: Callable[[Path], tuple[dict[str, E], list[Problem]]]
    skipped: Callable[[E], tuple[str, str] | None]
    checked: Callable[[Path, E, Path | None, MediaRules, bool], tuple[Format, Iterator[Checked]]]


def descriptor_reports(path: Path, kind: DescriptorKind[E], media_dir: Path | None,
                       rules: MediaRules) -> list[FileReport]:
    """A descriptor's own report (its entries are its records) and one per entry: the entries `kind` cannot read
    here listed as skipped, the others' rows checked (media under `rules`: allowed paths, budgets)."""
    head = FileReport(str(path), format=kind.name, how="descriptor")
    try:
        entries, problems = kind.read(path)
    except UnreadableFile as err:
        head.error = str(err)
        return [head]
    bad = {p.index for p in problems} - {None}
    head.records, head.invalid, head.problems = len(entries) + len(bad), len(bad), problems
    head.valid = head.records - head.invalid
    reports = [head]
    for name, entry in entries.items():
        report = FileReport(f"{path}#{name}", how="descriptor")
        reports.append(report)
        skip = kind.skipped(entry)
        if skip is not None:
            report.format, report.skipped = skip
            continue
        try:
            fmt, items = kind.checked(path, entry, media_dir, rules, False)
            report.format = fmt.name
            checks, whole = file_checks(), walks(fmt)
            for item in items:
                report.add(item)
                see(checks, item, whole)
            report.add_across(file_problems(items))  # a JSON array's comma after its last element: no record
            report.add_across(p for c in checks for p in c.problems())
        except UnreadableFile as err:
            report.error = f"{path}#{name}: {err}"
        except (UnicodeDecodeError, OSError) as err:
            report.error = f"{path}#{name}: cannot read: {err}"
    return reports


def tally_file(path: Path) -> tuple[Format, ConvertReport]:
    """A data file's format and its valid rows counted as convert counts the rows it writes (kinds, top-level keys,
    what LLaMA-Factory would not read, types across rows): what a descriptor entry for the file as it is needs."""
    fmt, _, items = open_items(path)
    report = ConvertReport([str(path)], str(path), "", fmt.name)
    rows, lf = Written(), fmt.llamafactory
    for item in check_items(items, fmt, Media(path.parent, allow_outside=True), records=True):
        if item.valid and item.record is not None and isinstance(item.raw, dict):
            report.written += 1
            report.kinds[item.record.kind] += 1
            report.keys.update(item.raw)
            if lf is not None and lf.unread is not None and (what := lf.unread(item.raw)) is not None:
                report.lf_unread[what] += 1
            rows.full(item.raw, item.record)
    report.output_problems = rows.drift.problems()
    return fmt, report
