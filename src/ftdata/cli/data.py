"""The data commands: validate, convert, fix, dedup, stats, formats."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Optional, cast

import typer

from ftdata import render
from ftdata.cli.app import (
    AllowOutside,
    Force,
    Json,
    MediaDir,
    Name,
    NoEntry,
    Source,
    app,
    fail,
    file_arg,
    guarded,
    summary,
)
from ftdata.core.suggest import did_you_mean
from ftdata.formats import FORMATS, TARGETS

Files = Annotated[list[Path], typer.Argument(parser=file_arg, help="Data files (any format ftdata reads).", metavar="FILE...")]
Workers = Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes for large JSON Lines files (default: all cores).")]


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(parser=file_arg, help="Data files: .jsonl, .json, .parquet, .csv, .txt", metavar="FILE...")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", metavar="FORMAT", help="Skip detection: " + ", ".join(FORMATS))] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object with every problem.")] = False,
    max_errors: Annotated[int, typer.Option("--max-errors", min=0, help="Problems shown per file (text output).")] = 20,
    media_dir: MediaDir = None,
    workers: Workers = os.cpu_count() or 1,
    allow_outside_media: AllowOutside = False,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", min=1, help="Images with more pixels are invalid (media_too_large).")] = None,
    max_media_per_row: Annotated[Optional[int], typer.Option("--max-media-per-row", min=0, help="Rows naming more media files are invalid (media_too_many).")] = None,
    max_duration: Annotated[Optional[float], typer.Option("--max-duration", min=0, help="Audio and video longer than this many seconds are invalid (media_too_long).")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", metavar="PATH", help="Also write the report as a self-contained HTML page: totals, problems by code with their locations, a summary per file (and the stats charts with --tokenizer).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --html page.")] = False,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="With --html: 'tiny' (bundled) or a local HF tokenizer folder; the page gets the stats charts, tokens counted with its chat template.")] = None,
    max_length: Annotated[Optional[int], typer.Option("--max-length", min=1, help="With --tokenizer: count the records over this many tokens (a line on the tokens chart).")] = None,
) -> None:
    """Check every record and report each problem with file, line and JSON path; images are decoded (Pillow).

    Exit code 0: all records valid; 1: some invalid; 2: a file could not be read (or --html cannot be written).

    Example: ftdata validate moss.jsonl --max-errors 5 --html moss.report.html
    """
    from ftdata import api

    page = _page_plan(files, html, force, tokenizer, max_length)
    reports = []
    for f in files:
        with render.LazyProgress(f"validating {f}") as progress:
            reports += api.validate(f, format, media_dir, workers, progress, allow_outside_media,
                                    max_pixels, max_media_per_row, max_duration)
    if json:
        render.validation_json(reports)
    else:
        render.validation_text(reports, max_errors)
    if page is not None:
        _write_page(page, reports, files, format, max_length)
    if any(r.error for r in reports):
        raise typer.Exit(2)
    raise typer.Exit(1 if any(r.failed for r in reports) else 0)


class _Page(NamedTuple):
    """Where --html goes, what it may not overwrite, and the tokenizer for its charts (None: no charts)."""

    out: Path
    inputs: list[Path]
    force: bool
    tokenizer: Any


def _page_plan(files: list[Path], html: Optional[Path], force: bool, tokenizer: Optional[str],
               max_length: Optional[int]) -> Optional[_Page]:
    """--html checked before any work, like every output (never an input, its folder exists, --force to replace);
    the tokenizer loaded. Options that only shape the page need --html."""
    from ftdata import api

    if html is None:
        if tokenizer is not None or max_length is not None:
            fail("--tokenizer and --max-length shape the --html page's charts; add --html PATH (or use ftdata stats)")
        return None
    if max_length is not None and tokenizer is None:
        fail("--max-length counts tokens: add --tokenizer (e.g. --tokenizer tiny)")
    inputs = [p for f in files for p in api.run_inputs(f)]
    guarded(lambda: api.check_output(html, inputs, force, flag="--html"))
    try:
        tok = api.load_tokenizer(tokenizer) if tokenizer else None
    except (ValueError, OSError, api.UsageError) as err:
        fail(str(err))
    return _Page(html, inputs, force, tok)


def _write_page(page: _Page, reports: list[Any], files: list[Path], fmt: Optional[str],
                max_length: Optional[int]) -> None:
    """The stats over the readable inputs (with a tokenizer), then the page, staged as every output is."""
    from ftdata import api

    stats = None
    if page.tokenizer is not None and any(str(f) == "-" for f in files):
        render.side_line("--html: no charts for standard input (it can be read only once)")
    elif page.tokenizer is not None and not any(r.error for r in reports):
        with render.LazyProgress("counting tokens for --html") as progress:
            try:
                stats = api.stats(files, fmt, page.tokenizer, max_length, progress=progress)
            except (ValueError, api.UnreadableFile, api.UsageError) as err:
                render.side_line(f"--html: no charts: {err}")
    data = render.validation_html(reports, [str(f) for f in files], stats)
    guarded(lambda: api.write_output(page.out, data, page.inputs, page.force, flag="--html"))
    render.side_line(f"wrote {page.out}")


@app.command()
def convert(
    files: Annotated[list[Path], typer.Argument(parser=file_arg, help="Input data files (any format ftdata reads).", metavar="FILE...")],
    to: Annotated[str, typer.Option("--to", "-t", metavar="FORMAT", help="Target: " + ", ".join(TARGETS))],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output (.jsonl or .json); default <input stem>.<target>.jsonl beside the input.")] = None,
    source: Source = None,
    name: Name = None,
    reasoning: Annotated[str, typer.Option("--reasoning", metavar="POLICY", help="Reasoning where the target has no field: think (<think>..</think> prefix), drop, reject.")] = "think",
    media_dir: MediaDir = None,
    no_dataset_info: NoEntry = False,
    force: Force = False,
    workers: Workers = os.cpu_count() or 1,
    allow_outside_media: AllowOutside = False,
    json: Json = False,
) -> None:
    """Convert records to another format; invalid or unrepresentable ones go to OUT.rejects.jsonl.

    Exit code 0: all written; 1: some rejected (outputs still written); 2: usage error or unreadable input.

    Example: ftdata convert moss.jsonl --to sharegpt
    """
    from ftdata import api

    if reasoning not in ("think", "drop", "reject"):
        fail(f"--reasoning must be think, drop or reject, not '{reasoning}'{did_you_mean(reasoning, ('think', 'drop', 'reject'))}")
    with render.LazyProgress(f"converting to {to}") as progress:
        report = guarded(lambda: api.convert_files(
            files, to, output, source, media_dir, cast("api.ReasoningPolicy", reasoning), name,
            dataset_info=not no_dataset_info, progress=progress, force=force, allow_outside=allow_outside_media,
            workers=workers), render.conversion)
    summary(report, json, render.conversion)


@app.command()
def fix(
    files: Files,
    to: Annotated[Optional[str], typer.Option("--to", "-t", metavar="FORMAT", help="Write in this format (default: the inputs' own): " + ", ".join(TARGETS))] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Fixed rows (.jsonl or .json); default <first input stem>.fixed.jsonl beside it.")] = None,
    source: Source = None,
    merge_consecutive: Annotated[bool, typer.Option("--merge-consecutive", help="Join text turns of the same role that follow each other (changes the structure; logged).")] = False,
    drop_empty: Annotated[bool, typer.Option("--drop-empty", help="Remove turns with blank content and no tool call (changes the structure; logged).")] = False,
    name: Name = None,
    no_dataset_info: NoEntry = False,
    force: Force = False,
    media_dir: MediaDir = None,
    allow_outside: AllowOutside = False,
    json: Json = False,
) -> None:
    """Apply only fixes that cannot change meaning (role names in another case, whitespace around content, tool
    arguments encoded twice, MOSS 'None.' placeholders), each logged in OUT.changes.jsonl as {index, line, path,
    code, before, after}; rows still invalid go to OUT.rejects.jsonl; OUT gets its dataset_info.json entry.

    Exit code 0: every row written; 1: some rejected (outputs still written); 2: usage error or unreadable input.

    Example: ftdata fix data.jsonl --drop-empty -o data.fixed.jsonl
    """
    from ftdata import api

    report = guarded(lambda: api.fix_files(files, to, output, source, merge_consecutive, drop_empty, force,
                                           allow_outside, media_dir, name, not no_dataset_info), render.fixed)
    summary(report, json, render.fixed)


@app.command()
def dedup(
    files: Annotated[list[Path], typer.Argument(parser=file_arg, help="Training data files (any format ftdata reads).", metavar="FILE...")],
    near: Annotated[Optional[float], typer.Option("--near", help="Also remove near duplicates: estimated Jaccard similarity of word 3-grams from this value on (0.5-1.0; 0.8 is a common choice).")] = None,
    against: Annotated[Optional[list[Path]], typer.Option("--against", help="Eval / benchmark file: remove training rows whose prompt matches one of its rows (repeat for several).")] = None,
    compare: Annotated[str, typer.Option("--compare", metavar="WHAT", help="What two rows are compared on: conversation (default: every message and the tools, without the lines a large share of the rows carry, such as a shared system prompt), prompt (user turns), answer (assistant turns), all (everything, shared lines included).")] = "conversation",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Kept rows (.jsonl or .json); default <first input stem>.dedup.jsonl beside it.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", "-t", metavar="FORMAT", help="Write kept rows in this format (default: the inputs' own): " + ", ".join(TARGETS))] = None,
    source: Source = None,
    name: Name = None,
    no_dataset_info: NoEntry = False,
    force: Force = False,
    media_dir: MediaDir = None,
    allow_outside: AllowOutside = False,
    json: Json = False,
) -> None:
    """Remove exact duplicates (the same normalised conversation, in any format) and, with --near, near duplicates
    (MinHash LSH, on what --compare names: by default without the lines a large share of the rows carry), across
    files; with --against, rows whose prompt is in an eval set. Kept rows go to OUT (with its dataset_info.json
    entry), removed ones to OUT.dupes.jsonl (each naming the row it duplicates and the similarity), invalid ones to
    OUT.rejects.jsonl.

    Exit code 0: nothing rejected; 1: some rows rejected (outputs still written); 2: usage error or unreadable input.

    Example: ftdata dedup train.jsonl more.jsonl --near 0.8 --against eval.jsonl -o train.dedup.jsonl
    """
    from ftdata import api

    report = guarded(lambda: api.dedup_files(files, output, near, against, to, source, force, allow_outside,
                                             media_dir, compare, name, not no_dataset_info), render.dedup)
    summary(report, json, render.dedup)


@app.command()
def stats(
    files: Files,
    format: Annotated[Optional[str], typer.Option("--format", "-f", metavar="FORMAT", help="Skip detection.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="'tiny' (bundled) or a local HF tokenizer folder: count tokens with its chat template.")] = None,
    max_length: Annotated[Optional[int], typer.Option("--max-length", help="Count records over this many tokens (with --tokenizer).")] = None,
    processor: Annotated[Optional[Path], typer.Option("--processor", help="A vision-language model's folder: its preprocessor_config.json's image tokens are counted in the tokens (no weights read).")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write histograms to this PNG (needs matplotlib).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Turns, roles, lengths (chars, tokens), duplicates, short answers, and the share with tools/media/system.

    Example: ftdata stats moss.jsonl --tokenizer tiny --max-length 1024 --plot moss.png
    """
    from ftdata import api

    if plot is not None:  # like any output: never an input, never a device; an older plot is replaced
        guarded(lambda: api.check_output(plot, files, force=True, flag="--plot"))
    try:
        tok = api.load_tokenizer(tokenizer) if tokenizer else None
        with render.LazyProgress("counting" + (" tokens" if tok is not None else "")) as progress:
            result = api.stats(files, format, tok, max_length, processor, progress)
        if plot is not None:
            guarded(lambda: api.plot_stats(result, plot, files))
    except (ValueError, api.UnreadableFile, api.UsageError) as err:
        fail(str(err))
    if json:
        render.json_out(result.summary())
    else:
        render.stats_text(result.summary())


@app.command()
def formats() -> None:
    """List the supported formats, each with a minimal example record.

    Example: ftdata formats
    """
    render.formats(FORMATS.values())
