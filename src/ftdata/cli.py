"""`ftdata` command line: each command is a few lines over `ftdata.api` and `ftdata.render`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer

from ftdata import __version__, api, render
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
) -> None:
    """Check every record and report each problem with file, line and JSON path.

    Exit code 0: all records valid; 1: some invalid; 2: a file could not be read.

    Example: ftdata validate moss.jsonl --max-errors 5
    """
    reports = [api.validate_file(f, format, media_dir) for f in files]
    if json:
        render.validation_json(reports)
    else:
        render.validation_text(reports, max_errors)
    if any(r.error for r in reports):
        raise typer.Exit(2)
    raise typer.Exit(1 if any(r.invalid for r in reports) else 0)


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
