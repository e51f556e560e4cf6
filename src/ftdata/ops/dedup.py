"""`dedup_files`: remove exact and near duplicates across files (and rows that match an eval set), losing nothing.

Two passes over the inputs. The first keeps, per valid row, only a 64-bit conversation hash and (with a near
threshold) a 128-byte MinHash signature (`ftdata.core.textkeys`, `ftdata.ops.minhash`); `ftdata.ops.dedup_index` decides from
those. The second reads the files again and writes each row to exactly one place: OUT (kept, in the inputs' format
or `target`), OUT.dupes.jsonl (removed, naming the row it duplicates and the estimated similarity) or
OUT.rejects.jsonl (invalid, or not representable in `target`), so `records = kept + removed + rejected`.

What is compared (`compare`, `ftdata.core.textkeys.COMPARE`) leaves out the lines that a large share of the rows
carry verbatim; they are found first, in a sample of rows spread over the inputs (`ftdata.ops.dedup_text`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ftdata.core.problems import Code
from ftdata.core.reports import Checked, ConvertReport
from ftdata.core.suggest import did_you_mean
from ftdata.core.textkeys import COMPARE
from ftdata.engine.convert import Converter, Written, reject
from ftdata.engine.lanes import check_items, open_items
from ftdata.formats import FORMATS
from ftdata.io.media import Media
from ftdata.io.readers import STDIN, UnreadableFile, UsageError
from ftdata.io.sink import JsonWriter
from ftdata.ops.dedup_scan import MediaOf, Places, scan
from ftdata.ops.dedup_text import Text, shared_of
from ftdata.ops.pipeline import Plan, check_target, written_by

LARGEST = 5  # clusters listed in the summary


@dataclass
class DedupReport:
    """What a dedup run did; `records == kept + sum(removed.values()) + rejected`."""

    inputs: list[str]
    output: str
    dupes: str
    rejects: str
    target: str
    threshold: float | None = None
    evals: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    compare: str = "conversation"
    shared_lines: int = 0  # distinct lines left out of the comparison (carried by a large share of the rows)
    records: int = 0
    kept: int = 0
    rejected: int = 0
    eval_records: int = 0
    removed: Counter[str] = field(default_factory=Counter)  # exact / near / contamination
    reject_codes: Counter[Code] = field(default_factory=Counter)
    warnings: Counter[Code] = field(default_factory=Counter)  # from writing kept rows in another format
    clusters: int = 0  # kept rows that others duplicate
    largest: list[dict[str, Any]] = field(default_factory=list)  # {"file", "index", "line", "rows"}
    capped: int = 0
    dataset_info: str | None = None  # the dataset_info.json that got OUT's entry
    dataset_info_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in self.__dict__.items()}


def dedup_files(inputs: list[Path], output: Path | None = None, threshold: float | None = None,
                against: list[Path] | None = None, target: str | None = None, source: str | None = None,
                force: bool = False, allow_outside: bool = False, media_dir: Path | None = None,
                compare: str = "conversation", name: str | None = None, dataset_info: bool = True) -> DedupReport:
    """Deduplicate `inputs` into OUT (see the module docstring), comparing what `compare` names, and add OUT's
    dataset_info.json entry. Raises UsageError / UnreadableFile (exit 2). Media paths are checked against
    `media_dir`, or each file's folder."""
    against = against or []

    def media_of(path: Path) -> Media:
        return Media(media_dir or path.resolve().parent, allow_outside)

    if compare not in COMPARE:
        raise UsageError(f"unknown --compare '{compare}'{did_you_mean(compare, COMPARE)}; choose one of {', '.join(COMPARE)}")
    plan = _check_args(inputs, output, threshold, against, target, force, dataset_info, name)
    out = plan.out
    formats = {}
    for p in inputs:
        fmt, _, items = open_items(p, source)
        items.close()
        formats[str(p)] = fmt.name
    stamps = _stamps(inputs)  # before the passes: a change after this stops the run (`_changed`)
    if target is None and len(set(formats.values())) > 1:
        raise UsageError("the inputs have different formats (" + ", ".join(f"{p}: {f}" for p, f in formats.items())
                         + "); pass --to to write them in one")
    target = target or next(iter(formats.values()))
    report = DedupReport([str(p) for p in inputs], str(out), str(plan.sides["dupes"]), str(plan.sides["rejects"]),
                         target, threshold, [str(p) for p in against], formats, compare)
    from ftdata.ops.dedup_index import Columns, decide  # numpy only from here on

    train, evals = Columns(), Columns() if against else None
    near = threshold is not None
    shared = shared_of(inputs, formats, compare) if near and compare != "all" else frozenset()
    report.shared_lines = len(shared)
    text = Text(compare, shared)
    scan(inputs, source, train, media_of, text, sigs=near, prompts=bool(against), prompt_sigs=near)
    if evals is not None:
        scan(against, None, evals, media_of, text, sigs=False, prompts=True, prompt_sigs=near)
        report.eval_records = _rows(evals)
    decisions = decide(train, evals, threshold)
    report.capped = decisions.capped
    _write(plan, source, report, decisions, Places(train), Places(evals) if evals is not None else None, media_of,
           stamps)
    _clusters(report, decisions, Places(train))
    return report


def _rows(cols: Any) -> int:
    index = cols.get("index")
    return 0 if index is None else len(index)


def _check_args(inputs: list[Path], output: Path | None, threshold: float | None, against: list[Path],
                target: str | None, force: bool, dataset_info: bool, name: str | None) -> Plan:
    if not inputs:
        raise UsageError("no input files")
    if any(str(p) == STDIN for p in inputs + against):
        raise UsageError("dedup reads its inputs twice; it cannot read standard input (save it to a file)")
    if threshold is not None and not 0.5 <= threshold <= 1.0:
        raise UsageError(f"--near must be between 0.5 and 1.0 (an estimated Jaccard similarity), not {threshold}")
    check_target(target)
    try:
        import numpy  # noqa: F401
        if threshold is not None or against:
            import rensa  # noqa: F401
    except ImportError:
        raise UsageError("ftdata dedup needs numpy and rensa: pip install 'ftdata[dedup]'") from None
    plan = Plan.make("dedup", inputs + against, output, ".dedup", ("dupes", "rejects"), force, dataset_info, name)
    plan.inputs = inputs  # the eval files are inputs for the output checks, not rows to write
    return plan


def _checked(path: Path, source: str | None, media_of: MediaOf, records: bool = True) -> Iterator[Checked]:
    fmt, _, items = open_items(path, source)
    return check_items(items, fmt, media_of(path), records=records)


def _write(plan: Plan, source: str | None, report: DedupReport, decisions: Any, places: Places,
           eval_places: Places | None, media_of: MediaOf, stamps: list[tuple[int, int, int]] | None = None) -> None:
    """Pass 2: every row to OUT, OUT.dupes.jsonl or OUT.rejects.jsonl (put in place together with OUT's entry),
    unless an input changed since `stamps` (or its valid rows differ from pass 1's)."""
    written, rows = ConvertReport([], report.output, report.rejects, report.target), Written()  # OUT's, for its entry
    inputs = plan.inputs
    with plan.staged(report) as run:
        writer = JsonWriter(run.out_file, array=plan.out.suffix == ".json")  # type: ignore[arg-type]
        dupes, rejects = (JsonWriter(f, array=False) for f in run.side_files)
        row = 0
        for number, path in enumerate(inputs):
            conv = Converter(FORMATS[report.formats[str(path)]], FORMATS[report.target], "think", writer, rejects,
                             written, path if len(inputs) > 1 else None, rows)
            row = _write_file(number, path, source, media_of, conv, dupes, report, decisions, places, eval_places,
                              row)
        if row != len(decisions.status):
            raise _changed(inputs[places[row][0]])
        now = _stamps(inputs)
        for path, before, after in zip(inputs, stamps or now, now):
            if before != after:  # rewritten in place with as many valid rows: the decisions would name others
                raise _changed(path)
        writer.close()  # only a run that removed or rejected rows leaves OUT.dupes.jsonl / OUT.rejects.jsonl
        report.kept = written.written
        written_by(run, written, rows, report)


def _write_file(number: int, path: Path, source: str | None, media_of: MediaOf, conv: Converter, dupes: JsonWriter,
                report: DedupReport, decisions: Any, places: Places, eval_places: Places | None, row: int) -> int:
    """One input's rows of pass 2; returns the number of the next valid row of pass 1."""
    from ftdata.ops.dedup_index import CONTAMINATION, KEPT, KINDS

    status, refs, sims = decisions.status, decisions.ref, decisions.sim
    copy = conv.source is conv.target
    for item in _checked(path, source, media_of, records=not copy):
        report.records += 1
        if not item.valid:
            reject(report, item, item.problems, conv.rejects, conv.label)
            continue
        if row >= len(status) or places[row][:2] != (number, item.index):
            raise _changed(path)
        state, ref, sim = int(status[row]), int(refs[row]), float(sims[row])
        if state == KEPT:
            if copy:
                conv.write_as_is(item, item.raw, places.kind(row))
            else:
                conv.write_checked(item)
        else:
            report.removed[KINDS[state]] += 1
            named = eval_places[ref] if state == CONTAMINATION and eval_places is not None else places[ref]
            files = report.evals if state == CONTAMINATION else report.inputs
            dupes.write({"file": str(path), "index": item.index, "line": item.line, "kind": KINDS[state],
                         "duplicate_of": {"file": files[named[0]], "index": named[1], "line": named[2]},
                         "similarity": round(sim, 3), "record": item.raw})
        row += 1
    return row


def _stamps(paths: list[Path]) -> list[tuple[int, int, int]]:
    """Each file's size, modification time and inode: any write to it changes one of them."""
    return [(st.st_size, st.st_mtime_ns, st.st_ino) for st in (p.stat() for p in paths)]


def _changed(path: Path) -> UnreadableFile:
    """The file was written to or replaced while dedup read it (exit 2, nothing written: every decision names rows
    by their place in the first pass)."""
    return UnreadableFile(f"{path}: changed while dedup was reading it (written to or replaced between the two "
                          "passes); nothing was written; run again when nothing writes to it")


def _clusters(report: DedupReport, decisions: Any, places: Places) -> None:
    """Clusters: a kept row and the rows that duplicate it (contamination is not a cluster)."""
    import numpy as np

    from ftdata.ops.dedup_index import EXACT, NEAR

    dup = (decisions.status == EXACT) | (decisions.status == NEAR)
    if not dup.any():
        return
    sizes = np.bincount(decisions.ref[dup], minlength=len(decisions.ref))
    report.clusters = int((sizes > 0).sum())
    for row in np.argsort(-sizes, kind="stable")[:LARGEST].tolist():
        if sizes[row]:
            number, index, line = places[row]
            report.largest.append({"file": report.inputs[number], "index": index, "line": line,
                                   "rows": int(sizes[row]) + 1})
