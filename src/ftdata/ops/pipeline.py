"""The one pipeline of the commands that write data (convert, fix, dedup): inputs -> formats -> target -> staged
outputs -> report.

    plan = Plan.make("fix", inputs, output, ".fixed", sides=("changes", "rejects"), force=False)
    with plan.staged() as run:            # OUT and its side files as temp files beside their targets
        ...write rows to run.files...     # Ctrl-C / SIGTERM here: nothing is put in place ("nothing was written")
        run.then(lambda: ...)             # bookkeeping after the commit (the dataset_info.json entry)
    report.placed = run.placed            # what is on disk now

One interrupt rule for every command: OUT, its side files and the bookkeeping after them are done in one block with
signals held, so a Ctrl-C or SIGTERM lands either before it (nothing of this run is on disk) or after it (all of it
is, and `Interrupted` says which files): what the message says is what is on disk.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, suppress
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Protocol

from ftdata.core.problems import Code
from ftdata.core.reports import ConvertReport
from ftdata.core.suggest import did_you_mean
from ftdata.descriptors.llamafactory_writer import (
    DESCRIPTOR,
    check_name,
    update_dataset_info,
)
from ftdata.engine.convert import Written
from ftdata.formats import TARGETS
from ftdata.io.readers import JSON_OUTPUT_SUFFIXES, STDIN, UsageError, same_file
from ftdata.io.staging import (
    Staged,
    check_replaceable,
    clean_stale,
    commit,
    is_regular_or_absent,
    new_run,
    refuse_inputs,
    signals_held,
)

STDOUT_REJECTS = "ftdata.rejects.jsonl"  # with -o -, rejected rows still land in a file, never lost


class Interrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM that came while the outputs were put in place: held until all of them (and the bookkeeping
    after them) were done, then delivered as this. `placed`: the files now on disk, whole; `report`: the run's."""

    def __init__(self, placed: list[Path], report: object = None) -> None:
        super().__init__("interrupted after the outputs were put in place")
        self.placed, self.report = placed, report


def check_target(target: str | None) -> None:
    if target is not None and target not in TARGETS:
        raise UsageError(f"unknown target '{target}'{did_you_mean(target, TARGETS)}; choose one of {', '.join(TARGETS)}")


@dataclass
class Plan:
    """The files one run writes: OUT (or standard output) and its side files (OUT.rejects.jsonl, ...), checked
    before any work. `entry`: the dataset_info.json entry name to add for OUT (None: no entry)."""

    command: str
    inputs: list[Path]
    out: Path
    sides: dict[str, Path]
    force: bool
    entry: str | None = None
    to_stdout: bool = False

    @classmethod
    def make(cls, command: str, inputs: list[Path], output: Path | None, suffix: str, sides: tuple[str, ...],
             force: bool, dataset_info: bool = False, name: str | None = None) -> Plan:
        """OUT = `output`, or `<first input stem><suffix>.jsonl` beside it; each side file OUT.<side>.jsonl."""
        if not inputs:
            raise UsageError("no input files")
        if output is None and str(inputs[0]) == STDIN:
            raise UsageError("reading stdin needs -o" + (" (a file, or - for stdout)" if command == "convert" else ""))
        out = output or inputs[0].with_name(f"{inputs[0].stem}{suffix}.jsonl")
        to_stdout = str(out) == STDIN
        files = {s: Path(STDOUT_REJECTS) if to_stdout else out.with_name(f"{out.name}.{s}.jsonl") for s in sides}
        others = [*files.values()] + ([] if to_stdout or not dataset_info else [out.parent / DESCRIPTOR])
        check_outputs(inputs, out, others, force, to_stdout, command)
        entry = None
        if dataset_info and not to_stdout:
            check_name(out, name, force)
            entry = name or out.stem
        return cls(command, inputs, out, files, force, entry, to_stdout)

    @contextmanager
    def staged(self, report: object = None) -> Iterator[Staging]:
        """Temp files for OUT and the side files, put in place together when the block ends (see the module);
        `report` goes with an `Interrupted` raised then."""
        run = Staging(self)
        try:
            yield run
            run.finish()
        except Interrupted as done:
            done.report = report
            raise
        except BaseException:
            run.discard()
            raise


class Staging:
    """The temp files of one run: OUT's (None for standard output), then the side files' in the plan's order."""

    def __init__(self, plan: Plan) -> None:
        self.plan, self.run = plan, new_run()
        self.placed: list[Path] = []
        self.rows: int | None = None  # rows written to OUT, when the command counts them: 0 leaves OUT out
        self._then: list[Callable[[], None]] = []
        clean_stale(next(iter(plan.sides.values()), plan.out).parent.resolve())
        self.staged: list[Staged | None] = []
        out = None if plan.to_stdout else Staged(plan.out, replace=plan.force, run=self.run)
        self.staged.append(out)
        # with -o -, an earlier run's rejects file is kept: ours takes the next free name
        spare = tuple(Path(f"ftdata.rejects.{i}.jsonl") for i in range(1, 100)) if plan.to_stdout else ()
        try:
            for path in plan.sides.values():
                self.staged.append(Staged(path, replace=not plan.to_stdout, run=self.run, alternatives=spare))
        except BaseException:
            self.discard()
            raise

    @property
    def out_file(self) -> BinaryIO | None:
        """OUT's temp file; None when OUT is standard output."""
        return self.staged[0].file if self.staged[0] is not None else None

    @property
    def side_files(self) -> list[BinaryIO]:
        return [s.file for s in self.staged[1:] if s is not None]

    def then(self, step: Callable[[], None]) -> None:
        """Run `step` right after the outputs are in place, in the same block with signals held."""
        self._then.append(step)

    def finish(self) -> None:
        """Put OUT (unless it holds no row) and the non-empty side files in place, drop empty ones (and an older
        side file of their name: it described another run's OUT), then the `then` steps; an interrupt meanwhile
        becomes `Interrupted`."""
        out, *sides = self.staged
        empty = [s for s in sides if s is not None and s.file.tell() == 0]
        no_rows = [out] if out is not None and self.rows == 0 else []
        placing = [s for s in self.staged if s is not None and s not in empty and s not in no_rows]
        try:
            with signals_held():
                commit(placing, discard=(*empty, *no_rows))
                self.placed = [s.placed for s in placing if s.placed is not None]
                for s in [*empty, *no_rows]:  # an older OUT (--force) held another run's rows: it goes too
                    self._drop_older(s.target)
                for step in self._then:
                    step()
        except KeyboardInterrupt:
            if self.placed and all(s.placed is not None for s in placing):
                raise Interrupted(self.placed) from None
            raise

    def discard(self) -> None:
        for s in self.staged:
            if s is not None and s.placed is None:
                s.discard()

    def _drop_older(self, path: Path) -> None:
        if self.plan.to_stdout or not os.path.lexists(path) or path.is_symlink() or not is_regular_or_absent(path):
            return
        if not any(str(p) != STDIN and same_file(path, p) for p in self.plan.inputs):
            with suppress(FileNotFoundError):
                path.unlink()


def check_outputs(inputs: list[Path], out: Path, others: list[Path], force: bool, to_stdout: bool = False,
                  command: str = "convert") -> None:
    """Refuse what would lose data: an output (OUT, or one of the `others` written beside it) that is an input by
    any name (links included), OUT of a kind that is not written as such, a missing folder, replacing a FIFO or
    device, an existing OUT without --force. `to_stdout`: OUT is standard output."""
    refuse_inputs(others if to_stdout else [out, *others], inputs)
    if to_stdout:
        return
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: the folder {out.parent} does not exist; create it or choose another -o")
    if out.suffix.lower() not in JSON_OUTPUT_SUFFIXES:
        raise UsageError(f"-o {out}: {command} writes JSON Lines (.jsonl, .ndjson) or a JSON array (.json), not "
                         f"'{out.suffix or 'no suffix'}'; name the output accordingly")
    check_replaceable(out, force)

class Described(Protocol):
    """A report that says where OUT's dataset_info.json entry went (convert, fix, dedup)."""

    dataset_info: str | None
    dataset_info_note: str | None


class Counted(Described, Protocol):
    """A report of fix or dedup: what the converters writing OUT rejected, and the warnings they met."""

    rejected: int
    reject_codes: Counter[Code]
    warnings: Counter[Code]


def written_by(run: Staging, written: ConvertReport, rows: Written, report: Counted) -> None:
    """After the rows: what the converters that wrote OUT rejected and warned about goes into `report`, and OUT's
    dataset_info.json entry (from `written` and `rows`) is added right after the commit (fix, dedup)."""
    report.rejected += written.rejected
    report.reject_codes.update(written.reject_codes)
    report.warnings.update(written.warnings)
    run.then(lambda: add_entry(run.plan, written, rows, report))


def add_entry(plan: Plan, written: ConvertReport, rows: Written, report: Described) -> None:
    """OUT's dataset_info.json entry, from what was written to it (`written`: kinds, keys, what LLaMA-Factory would
    not read; `rows`: their types across rows), as convert adds it; noted on `report`. A run that wrote no row adds
    none."""
    written.output_problems = rows.drift.problems()
    if plan.entry is not None and written.written:
        report.dataset_info, report.dataset_info_note = update_dataset_info(plan.out, written, plan.entry, plan.force)
