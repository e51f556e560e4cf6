"""`ftdata` command line: each command is a few lines over `ftdata.api` and `ftdata.render`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer

from ftdata import __version__, api, render
from ftdata.convert import TARGETS, UsageError, convert_files
from ftdata.dataset_info import is_descriptor, validate_descriptor
from ftdata.io import UnreadableFile
from ftdata.formats import FORMATS

app = typer.Typer(
    help="Validate and convert LLM fine-tuning data (alpaca, sharegpt, openai, trl, moss, firefly, text).",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"ftdata {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """Validate and convert LLM fine-tuning data."""


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Data files: .jsonl, .json, .parquet, .csv, .txt")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Skip detection: " + ", ".join(FORMATS))] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object with every problem.")] = False,
    max_errors: Annotated[int, typer.Option("--max-errors", min=0, help="Problems shown per file (text output).")] = 20,
    media_dir: Annotated[Optional[Path], typer.Option("--media-dir", help="Base folder of media paths (default: each file's folder).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes for large JSON Lines files (default: all cores).")] = os.cpu_count() or 1,
) -> None:
    """Check every record and report each problem with file, line and JSON path.

    Exit code 0: all records valid; 1: some invalid; 2: a file could not be read.

    Example: ftdata validate moss.jsonl --max-errors 5
    """
    reports = []
    for f in files:
        if is_descriptor(f):
            reports += validate_descriptor(f, media_dir)
            continue
        with render.LazyProgress(f"validating {f}") as progress:
            reports.append(api.validate_file(f, format, media_dir, workers, progress))
    if json:
        render.validation_json(reports)
    else:
        render.validation_text(reports, max_errors)
    if any(r.error for r in reports):
        raise typer.Exit(2)
    raise typer.Exit(1 if any(r.invalid for r in reports) else 0)


@app.command()
def convert(
    files: Annotated[list[Path], typer.Argument(help="Input data files (any format ftdata reads).")],
    to: Annotated[str, typer.Option("--to", "-t", help="Target: " + ", ".join(TARGETS))],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output (.jsonl or .json); default <input stem>.<target>.jsonl beside the input.")] = None,
    source: Annotated[Optional[str], typer.Option("--from", help="Input format (default: detected per file).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="dataset_info.json entry name (default: output stem).")] = None,
    reasoning: Annotated[str, typer.Option("--reasoning", help="Reasoning where the target has no field: think (<think>..</think> prefix), drop, reject.")] = "think",
    media_dir: Annotated[Optional[Path], typer.Option("--media-dir", help="Base folder of media paths.")] = None,
    no_dataset_info: Annotated[bool, typer.Option("--no-dataset-info", help="Do not add an entry to dataset_info.json.")] = False,
) -> None:
    """Convert records to another format; invalid or unrepresentable ones go to OUT.rejects.jsonl.

    Exit code 0: all written; 1: some rejected (outputs still written); 2: usage error or unreadable input.

    Example: ftdata convert moss.jsonl --to sharegpt
    """
    if reasoning not in ("think", "drop", "reject"):
        _fail(f"--reasoning must be think, drop or reject, not '{reasoning}'")
    try:
        with render.LazyProgress(f"converting to {to}") as progress:
            report = convert_files(files, to, output, source, media_dir, reasoning, name,  # type: ignore[arg-type]
                                   dataset_info=not no_dataset_info, progress=progress)
    except (UsageError, UnreadableFile) as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"{err.filename or ''}: {err.strerror}")
    render.conversion(report)
    raise typer.Exit(1 if report.rejected else 0)


def _fail(message: str) -> None:
    render.err.print(f"Error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(2)


@app.command()
def formats() -> None:
    """List the supported formats, each with a minimal example record.

    Example: ftdata formats
    """
    for f in FORMATS.values():
        render.out.print(f"[bold]{f.name}[/bold]: {f.summary}", soft_wrap=True)
        render.out.print("  " + orjson.dumps(f.example).decode(), soft_wrap=True, markup=False)


def main() -> None:
    app()
