"""`dedup_files`: remove exact and near duplicates across files (and rows that match an eval set), losing nothing.

Two passes over the inputs. The first keeps, per valid row, only a 64-bit conversation hash and (with a near
threshold) a 128-byte MinHash signature (`ftdata.core.textkeys`, `ftdata.ops.minhash`); `ftdata.ops.dedup_index` decides from
those. The second reads the files again and writes each row to exactly one place: OUT (kept, in the inputs' format
or `target`), OUT.dupes.jsonl (removed, naming the row it duplicates and the estimated similarity) or
OUT.rejects.jsonl (invalid, or not representable in `target`), so `records = kept + removed + rejected`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, get_args

from ftdata.core.canonical import Kind, Record
from ftdata.core.problems import Code
from ftdata.core.reports import Checked, ConvertReport
from ftdata.core.textkeys import (
    conversation_key,
    conversation_text,
    prompt_key,
    prompt_text,
)
from ftdata.engine.convert import Converter, Written, reject
from ftdata.engine.lanes import check_items, open_items
from ftdata.formats import FORMATS
from ftdata.formats.light import LightRecord
from ftdata.io.media import Media
from ftdata.io.readers import JSONL_SUFFIXES, STDIN, UsageError
from ftdata.io.sink import JsonWriter
from ftdata.ops.pipeline import Interrupted, Plan, add_entry, check_target

KINDS_OF: tuple[Kind, ...] = get_args(Kind)
BATCH = 2000  # rows signed at a time (numpy arrays of a batch's characters stay a few MB)
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


MediaOf = Callable[[Path], Media]  # a file's media folder and policy


def dedup_files(inputs: list[Path], output: Path | None = None, threshold: float | None = None,
                against: list[Path] | None = None, target: str | None = None, source: str | None = None,
                force: bool = False, allow_outside: bool = False, media_dir: Path | None = None,
                name: str | None = None, dataset_info: bool = True) -> DedupReport:
    """Deduplicate `inputs` into OUT (see the module docstring) and add OUT's dataset_info.json entry. Raises
    UsageError / UnreadableFile (exit 2). Media paths are checked against `media_dir`, or each file's folder."""
    against = against or []

    def media_of(path: Path) -> Media:
        return Media(media_dir or path.resolve().parent, allow_outside)

    plan = _check_args(inputs, output, threshold, against, target, force, dataset_info, name)
    out = plan.out
    formats = {}
    for p in inputs:
        fmt, _, items = open_items(p, source)
        items.close()
        formats[str(p)] = fmt.name
    if target is None and len(set(formats.values())) > 1:
        raise UsageError("the inputs have different formats (" + ", ".join(f"{p}: {f}" for p, f in formats.items())
                         + "); pass --to to write them in one")
    target = target or next(iter(formats.values()))
    report = DedupReport([str(p) for p in inputs], str(out), str(plan.sides["dupes"]), str(plan.sides["rejects"]),
                         target, threshold, [str(p) for p in against], formats)
    from ftdata.ops.dedup_index import Columns, decide  # numpy only from here on

    train, evals = Columns(), Columns() if against else None
    near = threshold is not None
    _scan(inputs, source, train, media_of, sigs=near, prompts=bool(against), prompt_sigs=near)
    if evals is not None:
        _scan(against, None, evals, media_of, sigs=False, prompts=True, prompt_sigs=near)
        report.eval_records = _rows(evals)
    decisions = decide(train, evals, threshold)
    report.capped = decisions.capped
    _write(plan, source, report, decisions, Places(train), Places(evals) if evals is not None else None, media_of)
    _clusters(report, decisions, Places(train))
    return report


def _rows(cols: Any) -> int:
    index = cols.get("index")
    return 0 if index is None else len(index)


class Places:
    """Where each valid row of pass 1 is: (input number, row index, line or None), from numpy columns; and its
    record's kind (`kind(row)`)."""

    def __init__(self, cols: Any) -> None:
        self.file, self.index, self.line = cols.get("file"), cols.get("index"), cols.get("line")
        self.kinds = cols.get("kind")

    def kind(self, row: int) -> Kind:
        return KINDS_OF[int(self.kinds[row])]

    def __getitem__(self, row: int) -> tuple[int, int, int | None]:
        line = int(self.line[row])
        return int(self.file[row]), int(self.index[row]), None if line < 0 else line


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


def _scan(paths: list[Path], source: str | None, cols: Any, media_of: MediaOf, sigs: bool, prompts: bool,
          prompt_sigs: bool) -> None:
    """Pass 1: per valid row its place and keys (and signatures) into `cols`, in batches."""
    import numpy as np

    from ftdata.ops.minhash import signatures

    batch: list[Any] = []
    where: list[tuple[int, int, int]] = []
    if paths and all(p.suffix.lower() in JSONL_SUFFIXES for p in paths):
        cols.reserve(sum(_lines(p) for p in paths))  # at most one row a line: the columns are filled in place

    def flush() -> None:
        cols.add("file", np.array([w[0] for w in where], dtype=np.int32))
        cols.add("index", np.array([w[1] for w in where], dtype=np.int64))
        cols.add("line", np.array([w[2] for w in where], dtype=np.int64))
        where.clear()
        cols.add("key", np.fromiter((conversation_key(r) for r in batch), dtype=np.uint64, count=len(batch)))
        cols.add("kind", np.fromiter((KINDS_OF.index(r.kind) for r in batch), dtype=np.uint8, count=len(batch)))
        if sigs:
            cols.add("sig", signatures([conversation_text(r) for r in batch]))
        if prompts:
            texts = [prompt_text(r) for r in batch]
            cols.add("prompt_key", np.fromiter((prompt_key(t) for t in texts), dtype=np.uint64, count=len(texts)))
            cols.add("has_prompt", np.array([bool(t) for t in texts], dtype=bool))
            if prompt_sigs:
                cols.add("prompt_sig", signatures(texts))
        batch.clear()

    for number, path in enumerate(paths):
        fmt, _, items = open_items(path, source)
        light, plain = fmt.light, fmt.fast
        for item in check_items(items, fmt, media_of(path), records=False):
            record: Record | LightRecord | None = item.record
            if item.accepted:  # valid by the fast lane: plain rows as light records (no pydantic object)
                if light is not None and plain is not None and plain(item.raw):
                    record = light(item.raw)
                else:
                    record = fmt.to_canonical(item.raw).record
            if item.valid and record is not None:
                where.append((number, item.index, -1 if item.line is None else item.line))
                batch.append(record)
                if len(batch) >= BATCH:
                    flush()
    if batch:
        flush()


def _lines(path: Path) -> int:
    """Lines in a file (a last line without a newline counts): ~0.3 s for 600 MB."""
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _write(plan: Plan, source: str | None, report: DedupReport, decisions: Any, places: Places,
           eval_places: Places | None, media_of: MediaOf) -> None:
    """Pass 2: every row to OUT, OUT.dupes.jsonl or OUT.rejects.jsonl (put in place together), then OUT's entry."""
    written, rows = ConvertReport([], report.output, report.rejects, report.target), Written()  # OUT's, for its entry
    try:
        with plan.staged() as run:
            writer = JsonWriter(run.out_file, array=plan.out.suffix == ".json")  # type: ignore[arg-type]
            dupes, rejects = (JsonWriter(f, array=False) for f in run.side_files)
            row = 0
            for number, path in enumerate(plan.inputs):
                fmt = FORMATS[report.formats[str(path)]]
                label = path if len(plan.inputs) > 1 else None
                conv = Converter(fmt, FORMATS[report.target], "think", writer, rejects, written, label, rows)
                row = _write_file(number, path, source, media_of, conv, dupes, report, decisions, places,
                                  eval_places, row)
            if row != len(decisions.status):
                raise UsageError(f"{', '.join(report.inputs)} changed while dedup was reading (rows of the first pass "
                                 "are gone); nothing was written: run again on files that stay put")
            writer.close()  # only a run that removed or rejected rows leaves OUT.dupes.jsonl / OUT.rejects.jsonl
            report.kept, report.rejected = written.written, report.rejected + written.rejected
            report.reject_codes.update(written.reject_codes)
            report.warnings.update(written.warnings)
            run.then(lambda: add_entry(plan, written, rows, report))
    except Interrupted as done:
        done.report = report
        raise


def _write_file(number: int, path: Path, source: str | None, media_of: MediaOf, conv: Converter, dupes: JsonWriter,
                report: DedupReport, decisions: Any, places: Places, eval_places: Places | None, row: int) -> int:
    """One input's rows of pass 2; returns the number of the next valid row."""
    from ftdata.ops.dedup_index import CONTAMINATION, KEPT, KINDS

    status, refs, sims = decisions.status, decisions.ref, decisions.sim
    copy = conv.source is conv.target
    for item in _checked(path, source, media_of, records=not copy):
        report.records += 1
        if not item.valid:
            reject(report, item, item.problems, conv.rejects, conv.label)
            continue
        if row >= len(status) or places[row][:2] != (number, item.index):
            raise UsageError(f"{path} changed while dedup was reading it (row {item.index} was not there in the first "
                             "pass); nothing was written: run again on files that stay put")
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
