"""The only module that prints: rich text reports and JSON reports.

Text output is terminal-safe: every value that comes from data or the file system (paths, roles, keys, messages
quoting them) goes through `safe`, which shows control, bidi and invisible characters as visible escapes (a role
holding an escape sequence cannot clear the screen or forge a report line) and rich markup and emoji codes
literally. JSON output carries the values unchanged.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ftdata.core.problems import CODES, Problem

if TYPE_CHECKING:  # annotations only: `ftdata --help` need not load the canonical models (pydantic)
    from rich.progress import Progress

    from ftdata.core.reports import ConvertReport, FileReport
    from ftdata.core.stats import Stats

out = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)

# Characters a terminal acts on or hides: C0/C1 controls, DEL, bidi overrides and isolates, zero-width and other
# invisible format characters, line/paragraph separators. Shown as \xNN / \uNNNN.
_INVISIBLE = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010),
              *range(0x2028, 0x202F), *range(0x2060, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFC)]
_VISIBLE = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _INVISIBLE}


def safe(value: object) -> str:
    """A value as text a terminal shows as it is: invisible and control characters escaped visibly, rich markup
    escaped. 'usr\u202e' -> 'usr\\u202e'; '[red]' -> '\\[red]'."""
    return escape(str(value).translate(_VISIBLE))


def where(path: str, p: Problem) -> str:
    """'data.jsonl:12 conversations[3].from' (JSONL), 'data.json:6:3 ...' (a JSON array's element at line:column)
    or 'data.json[11] ...' (no line numbers)."""
    loc = p.location(path)
    return f"{loc} {p.path}".rstrip() if p.path else loc


def validation_text(reports: list[FileReport], max_errors: int) -> None:
    """Per file: format, counts, a table of codes and the first `max_errors` problems."""
    from ftdata.core.reports import DESCRIPTORS

    for r in reports:
        if r.error:
            err.print(f"[red]Error:[/red] {safe(r.error)}", soft_wrap=True)
            continue
        if r.skipped:
            out.print(f"[dim]{safe(r.path)}  skipped: {safe(r.skipped)}[/dim]", soft_wrap=True)
            continue
        status = ("[green]ok[/green]" if not r.failed else "[red]invalid records[/red]" if r.invalid else
                  "[red]invalid file[/red]")
        out.print(f"[bold]{safe(r.path)}[/bold]  format: {r.format} ({r.how})  records: {r.records}  valid: {r.valid}  "
                  f"invalid: {r.invalid}  warnings: {r.warnings}  {status}", soft_wrap=True)
        if r.media:
            out.print("  [yellow]note:[/yellow] " + safe(media_note(r.media)), soft_wrap=True)
        mixed = {k: v for k, v in r.votes.items() if k != r.format}
        if mixed:
            out.print("  [yellow]note:[/yellow] sampled records also looked like: "
                      + ", ".join(f"{k} ({v})" for k, v in mixed.items()), soft_wrap=True)
        if r.problems:
            table = Table("code", "severity", "count", "meaning", box=None, pad_edge=False)
            for code, n in r.codes.most_common():
                severity, meaning = CODES[code]
                table.add_row(code, severity, str(n), meaning)
            out.print(table)
            for p in r.problems[:max_errors]:
                colour = "red" if p.severity == "error" else "yellow"
                out.print(f"  [{colour}]{safe(where(r.path, p))}[/{colour}]: {safe(p.message)} [dim]\\[{p.code}][/dim]",
                          soft_wrap=True)
            if len(r.problems) > max_errors:
                out.print(f"  ... {len(r.problems) - max_errors} more (raise --max-errors or use --json for all)")
    if len(reports) > 1:
        ok = [r for r in reports if not r.error and r.format not in DESCRIPTORS]
        out.print(f"[bold]total[/bold]  files: {len(reports)}  records: {sum(r.records for r in ok)}  "
                  f"valid: {sum(r.valid for r in ok)}  invalid: {sum(r.invalid for r in ok)}")


def media_note(counts: dict[str, int]) -> str:
    """'3 media URLs not fetched (remote URLs never are); 2 media files exist but were not decoded (...)'."""
    said = []
    if counts.get("remote"):
        said.append(f"{counts['remote']} media URLs not fetched (remote URLs never are)")
    if counts.get("unchecked"):
        said.append(f"{counts['unchecked']} media files exist but were not decoded (no decoder here for them: "
                    "pip install 'ftdata[media]' for Pillow and PyAV)")
    return "; ".join(said)


def validation_html(reports: list[FileReport], names: list[str], stats: Stats | None = None) -> bytes:
    """`ftdata validate --html`: the report page (`ftdata.htmlreport.page`) as UTF-8 bytes, for the CLI to write
    through `ftdata.io.staging` as every output is."""
    from ftdata import __version__
    from ftdata.htmlreport.page import html_report

    return html_report(reports, names, stats, __version__).encode("utf-8", "backslashreplace")  # lone surrogates


def validation_json(reports: list[FileReport]) -> None:
    """Exactly one JSON object on stdout: totals and every problem of every file."""
    from ftdata.core.reports import DESCRIPTORS

    data = [r for r in reports if r.format not in DESCRIPTORS]  # a descriptor's entries are not data records
    payload: dict[str, Any] = {
        "records": sum(r.records for r in data),
        "valid": sum(r.valid for r in data),
        "invalid": sum(r.invalid for r in data),  # records, as the text total counts them: records = valid + invalid
        "invalid_entries": sum(r.invalid for r in reports if r.format in DESCRIPTORS),  # a descriptor's bad entries
        "files": [r.to_dict() for r in reports],
    }
    sys.stdout.buffer.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def conversion(r: ConvertReport) -> None:
    """Summary of a conversion: in = written + rejected, where each went, warnings by code (on stderr when the
    rows themselves go to stdout)."""
    console = err if r.output == "-" else out
    formats_read(console, r.formats)
    console.print(f"records: {r.records}  written: {r.written}  rejected: {r.rejected}", soft_wrap=True)
    if r.written or r.output == "-":
        console.print(f"wrote {safe(r.output)} ({r.target})", soft_wrap=True)
    else:
        console.print(f"no row was written, so {safe(r.output)} was not created (nor its dataset_info.json entry)",
                      soft_wrap=True)
    rejected_and_warnings(console, r)
    for p in r.output_problems:
        console.print(f"[yellow]warning:[/yellow] {p.code} in the output: {safe(p.message)}", soft_wrap=True)
    if r.output_problems:
        console.print(f"  ({r.target} keeps these as objects, as its own layout says; for trainers that load through "
                      "datasets (LLaMA-Factory, axolotl, trl) convert --to sharegpt or trl, which write them as JSON text)",
                      soft_wrap=True)
    for note in r.notes:
        console.print(f"note: {safe(note)}", soft_wrap=True)
    dataset_info(console, r)


def dataset_info(console: Console, r: Any) -> None:
    """Where OUT's dataset_info.json entry went (convert, fix, dedup), or why there is none."""
    if r.dataset_info:
        console.print(f"dataset_info: {safe(r.dataset_info_note or '')} in {safe(r.dataset_info)}", soft_wrap=True)
    elif r.dataset_info_note:
        console.print(f"dataset_info: {safe(r.dataset_info_note)}", soft_wrap=True)


class LazyProgress:
    """A transient rich progress line on stderr that appears only once a job has run for `delay` seconds; when
    stderr is not a terminal (a log, a pipe), a plain line every `every` seconds instead; `quiet`: nothing."""

    def __init__(self, label: str, delay: float = 1.0, every: float = 10.0, quiet: bool = False) -> None:
        self.label, self.delay, self.every, self.quiet = label, delay, every, quiet
        self.started = time.monotonic()
        self.next_line = self.started + max(delay, every / 2)
        self.bar: Progress | None = None
        self.task: Any = None

    def __call__(self, done: int) -> None:
        if self.quiet:
            return
        if not err.is_terminal:
            now = time.monotonic()
            if now >= self.next_line:
                err.print(f"{safe(self.label)}: {done:,} records so far ({now - self.started:.0f} s)", soft_wrap=True,
                          markup=False)
                self.next_line = now + self.every
            return
        if self.bar is None:
            if time.monotonic() - self.started < self.delay:
                return
            from rich.progress import (
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} records"),
                                TimeElapsedColumn(), console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(safe(self.label), total=None)
        self.bar.update(self.task, completed=done)

    def __enter__(self) -> "LazyProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def formats_read(console: Console, formats: dict[str, str]) -> None:
    """"read FILE as FORMAT", a line per input (convert, dedup, fix)."""
    for path, fmt in formats.items():
        console.print(f"read {safe(path)} as {fmt}", soft_wrap=True)


def rejected_and_warnings(console: Console, r: Any) -> None:
    """Where the rejected rows went with their codes, then the warnings' counts (convert, dedup, fix reports)."""
    if r.rejected:
        codes = ", ".join(f"{c} ({n})" for c, n in r.reject_codes.most_common())
        console.print(f"[red]rejected {r.rejected} to {safe(r.rejects)}[/red]: {codes}", soft_wrap=True)
    for code, n in r.warnings.most_common():
        console.print(f"[yellow]warning:[/yellow] {code}: {n}", soft_wrap=True)


def json_out(payload: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def stats_text(s: dict[str, Any]) -> None:
    """The stats summary as rich tables."""
    out.print(f"[bold]{safe(', '.join(s['files']))}[/bold]  records: {s['records']}  valid: {s['valid']}  "
              f"invalid: {s['invalid']}  kinds: {safe(str(s['kinds']))}", soft_wrap=True)
    table = Table("per record", "min", "p50", "p95", "max", "mean", box=None, pad_edge=False)
    for name, key in (("turns", "turns"), ("chars", "chars"), ("tokens", "tokens"),
                      ("chosen/rejected chars", "chosen_rejected_length_ratio")):
        if s.get(key):
            d = s[key]
            table.add_row(name, *(str(d[k]) for k in ("min", "p50", "p95", "max", "mean")))
    out.print(table)
    if "chosen_longer" in s:
        out.print(f"chosen answer longer than rejected: {s['chosen_longer']:.1%}")
    if "kto_labels" in s:
        out.print(f"KTO labels: desirable {s['kto_labels']['desirable']}  undesirable {s['kto_labels']['undesirable']}")
    roles = "  ".join(f"{k}: {v}" for k, v in s["messages_per_role"].items())
    out.print(f"messages per role: {roles}")
    out.print(f"exact duplicates: {s['exact_duplicates']}  very short answers: {s['short_answers']}  "
              f"with tools: {s['share_with_tools']:.1%}  with media: {s['share_with_media']:.1%}  "
              f"with system prompt: {s['share_with_system']:.1%}")
    if s.get("media_per_record"):
        m, px, sec = s["media_per_record"], s.get("image_pixels"), s.get("media_seconds")
        sizes = f"  image pixels p50 {px['p50']:,} max {px['max']:,}" if px else ""
        sizes += f"  audio/video seconds p50 {sec['p50']:g} max {sec['max']:g}" if sec else ""
        tokens = f"  image tokens: {s['image_tokens']:,} (in the tokens)" if s.get("image_tokens") else ""
        out.print(f"media per record with media: p50 {m['p50']} max {m['max']}{sizes}{tokens}", soft_wrap=True)
    r = s["reasoning"]
    if r["records"] or r["empty_think_blocks"]:
        tokens = f"  tokens: {r['tokens']}" if r["tokens"] is not None else ""
        empty = f"  empty <think> blocks (no reasoning): {r['empty_think_blocks']}" if r["empty_think_blocks"] else ""
        out.print(f"reasoning: {r['records']} records ({r['share']:.1%})  turns: {r['turns']}{tokens}{empty}")
    if "over_max_length" in s:
        out.print(f"over max length {s['max_length']}: {s['over_max_length']} (would be truncated)")


def dedup(r: Any) -> None:
    """Summary of a dedup run (`ftdata.ops.dedup.DedupReport`): in = kept + removed + rejected, where each went, the
    largest clusters."""
    formats_read(out, r.formats)
    removed = sum(r.removed.values())
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(r.removed.items()))
    out.print(f"records: {r.records}  kept: {r.kept}  removed: {removed}{f' ({kinds})' if kinds else ''}  "
              f"rejected: {r.rejected}", soft_wrap=True)
    if r.threshold is not None and (r.shared_lines or r.compare != "conversation"):
        n = r.shared_lines
        left = f" (left out: {n} line{'s' if n != 1 else ''} that many rows share)" if n else ""
        out.print(f"compared: {r.compare}{left}", soft_wrap=True)
    if r.evals:
        out.print(f"checked against {r.eval_records} eval records in {safe(', '.join(r.evals))}", soft_wrap=True)
    out.print(f"wrote {safe(r.output)} ({r.target})", soft_wrap=True)
    if removed:
        out.print(f"removed rows in {safe(r.dupes)}", soft_wrap=True)
    rejected_and_warnings(out, r)
    if r.clusters:
        out.print(f"clusters: {r.clusters} kept rows have duplicates; largest:", soft_wrap=True)
        for c in r.largest:
            loc = f"{c['file']}:{c['line']}" if c["line"] is not None else f"{c['file']}[{c['index']}]"
            out.print(f"  {safe(loc)}  {c['rows']} rows", soft_wrap=True)
    if r.capped:
        out.print(f"[yellow]note:[/yellow] {r.capped} comparisons skipped in over-full LSH buckets (rows that are all "
                  "alike but under the threshold); some near duplicates there may remain", soft_wrap=True)
    dataset_info(out, r)


def fixed(r: Any) -> None:
    """Summary of a fix run (`ftdata.ops.fix.FixReport`): in = written + rejected, the changes by code."""
    formats_read(out, r.formats)
    out.print(f"records: {r.records}  written: {r.written}  rejected: {r.rejected}  rows changed: {r.rows_changed}",
              soft_wrap=True)
    out.print(f"wrote {safe(r.output)} ({r.target})", soft_wrap=True)
    if r.unfixed:
        out.print(f"[yellow]note:[/yellow] {r.unfixed} valid rows written unchanged: their fixes would have made them "
                  "invalid", soft_wrap=True)
    if r.changes:
        out.print(f"changes in {safe(r.changes_file)}: "
                  + ", ".join(f"{c} {n}" for c, n in r.changes.most_common()), soft_wrap=True)
    rejected_and_warnings(out, r)
    dataset_info(out, r)


def exported(r: Any, text: str | None, output: str | None) -> None:
    """A descriptor export / import (`ftdata.descriptors.export.Exported`): the document (or where it went), then on
    stderr each entry left out and why, and the notes."""
    if text is not None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        err.print(f"wrote {safe(output or '')} ({r.kind})", soft_wrap=True)
    for name, why in r.refused.items():
        err.print(f"[red]left out[/red] {safe(name)}: {safe(why)}", soft_wrap=True)
    for note in r.notes:
        err.print(f"note: {safe(note)}", soft_wrap=True)


def error(message: str) -> None:
    """'Error: ...' on stderr (the caller exits)."""
    err.print(f"Error: {safe(message)}", soft_wrap=True)


def internal_error(crash: BaseException, report: str) -> None:
    err.print(f"internal error: {type(crash).__name__}: {safe(crash)} (run again as `ftdata --debug COMMAND ...` for the traceback; "
              f"{report})", soft_wrap=True)


def line(text: str) -> None:
    """One plain line on stdout (the version, a file written)."""
    out.print(text, soft_wrap=True, markup=False, highlight=False)


def side_line(text: str) -> None:
    """One plain line on stderr (a page written beside a report that stdout holds: --json stays one object)."""
    err.print(safe(text), soft_wrap=True, highlight=False)


def formats(found: Any) -> None:
    """`ftdata formats`: each format's summary and a minimal example record."""
    for f in found:
        out.print(f"[bold]{f.name}[/bold]: {safe(f.summary)}", soft_wrap=True)
        out.print("  " + orjson.dumps(f.example).decode(), soft_wrap=True, markup=False)
