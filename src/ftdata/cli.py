"""`ftdata` command line: each command is a few lines over `ftdata.api` and `ftdata.render`."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar, cast

import orjson
import typer

from ftdata import __version__, render
from ftdata.formats import FORMATS, TARGETS
from ftdata.formats.write import ReasoningPolicy
from ftdata.io.readers import UnreadableFile, UsageError
from ftdata.io.staging import OutputExists

app = typer.Typer(
    help="Validate and convert LLM fine-tuning data (alpaca, sharegpt, openai, trl, moss, firefly, text).",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # an internal error is a short message (exit 3); the traceback only with --debug
)
REPORT = "please report it: https://github.com/ftdata/ftdata/issues"
_debug = False


def _version(value: bool) -> None:
    if value:
        print(f"ftdata {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error (exit code 3).")] = False,
) -> None:
    """Validate and convert LLM fine-tuning data."""
    global _debug
    _debug = debug
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a kill or a closed terminal cleans up like Ctrl-C
        signal.signal(sig, _terminate)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Data files: .jsonl, .json, .parquet, .csv, .txt")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Skip detection: " + ", ".join(FORMATS))] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object with every problem.")] = False,
    max_errors: Annotated[int, typer.Option("--max-errors", min=0, help="Problems shown per file (text output).")] = 20,
    media_dir: Annotated[Optional[Path], typer.Option("--media-dir", help="Base folder of media paths (default: each file's folder).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes for large JSON Lines files (default: all cores).")] = os.cpu_count() or 1,
    allow_outside_media: Annotated[bool, typer.Option("--allow-outside", "--allow-outside-media", help="Accept media paths (and a descriptor's file_name) outside their folder.")] = False,
) -> None:
    """Check every record and report each problem with file, line and JSON path.

    Exit code 0: all records valid; 1: some invalid; 2: a file could not be read.

    Example: ftdata validate moss.jsonl --max-errors 5
    """
    from ftdata import api

    reports = []
    for f in files:
        with render.LazyProgress(f"validating {f}") as progress:
            reports += api.validate(f, format, media_dir, workers, progress, allow_outside_media)
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
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes for large JSON Lines files (default: all cores).")] = os.cpu_count() or 1,
    allow_outside_media: Annotated[bool, typer.Option("--allow-outside", "--allow-outside-media", help="Accept media paths (and a descriptor's file_name) outside their folder.")] = False,
) -> None:
    """Convert records to another format; invalid or unrepresentable ones go to OUT.rejects.jsonl.

    Exit code 0: all written; 1: some rejected (outputs still written); 2: usage error or unreadable input.

    Example: ftdata convert moss.jsonl --to sharegpt
    """
    from ftdata import api

    if reasoning not in ("think", "drop", "reject"):
        _fail(f"--reasoning must be think, drop or reject, not '{reasoning}'")
    try:
        with render.LazyProgress(f"converting to {to}") as progress:
            report = api.convert_files(files, to, output, source, media_dir, cast(ReasoningPolicy, reasoning), name,
                                       dataset_info=not no_dataset_info, progress=progress, force=force,
                                       allow_outside=allow_outside_media, workers=workers)
    except (api.UsageError, UnreadableFile) as err:
        _fail(str(err))
    except api.OutputsWritten as done:
        render.conversion(done.report)
        _fail("interrupted just after the outputs were put in place (they are whole); dataset_info.json was not "
              "updated", code=130)
    except OutputExists as err:
        _fail(RACED.format(err.args[0]))
    except KeyboardInterrupt:
        _fail("interrupted: nothing was written (outputs are only put in place when complete)", code=130)
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        _fail(f"{where}{err.strerror or err}; nothing was written and the inputs are untouched")
    render.conversion(report)
    raise typer.Exit(1 if report.rejected else 0)



RACED = ("{} was created by another run while this one was writing; it was left as it is and nothing of this run was "
         "kept (run again with another -o, or --force)")

def _fail(message: str, code: int = 2) -> None:
    render.err.print(f"Error: {render.safe(message)}", soft_wrap=True)
    raise typer.Exit(code)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def stats(
    files: Annotated[list[Path], typer.Argument(help="Data files (any format ftdata reads).")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Skip detection.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="'tiny' (bundled) or a local HF tokenizer folder: count tokens with its chat template.")] = None,
    max_length: Annotated[Optional[int], typer.Option("--max-length", help="Count records over this many tokens (with --tokenizer).")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write histograms to this PNG (needs matplotlib).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Turns, roles, lengths (chars, tokens), duplicates, short answers, and the share with tools/media/system.

    Example: ftdata stats moss.jsonl --tokenizer tiny --max-length 1024 --plot moss.png
    """
    from ftdata import api
    from ftdata.core import stats as st
    from ftdata.core.tokens import load_tokenizer

    if plot is not None and not plot.parent.is_dir():
        _fail(f"--plot {plot}: the folder {plot.parent} does not exist; create it or choose another path")
    try:
        tok = load_tokenizer(tokenizer) if tokenizer else None
        result = api.stats(files, format, tok, max_length)
        if plot is not None:
            st.plot(result, plot)
    except (ValueError, UnreadableFile) as err:
        _fail(str(err))
    if json:
        render.json_out(result.summary())
    else:
        render.stats_text(result.summary())


T = TypeVar("T")


def _guarded(call: Callable[[], T]) -> T:
    """Run a command's library call: usage errors and unreadable input exit 2 with one line, Ctrl-C / SIGTERM 130
    (outputs are only renamed into place when complete, so nothing partial is left)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return call()
    except (UsageError, UnreadableFile) as err:
        _fail(str(err))
    except OutputExists as err:
        _fail(RACED.format(err.args[0]))
    except KeyboardInterrupt:
        _fail("interrupted: nothing was written (outputs are only renamed into place when complete)", code=130)
    except OSError as err:
        _fail(f"{err.filename + ': ' if err.filename else ''}{err.strerror or err}; nothing was written")
    raise AssertionError("unreachable: _fail exits")


MediaDir = Annotated[Optional[Path], typer.Option("--media-dir", help="Base folder of media paths (default: each file's folder).")]
AllowOutside = Annotated[bool, typer.Option("--allow-outside", help="Accept media paths outside their folder.")]


@app.command()
def dedup(
    files: Annotated[list[Path], typer.Argument(help="Training data files (any format ftdata reads).")],
    near: Annotated[Optional[float], typer.Option("--near", help="Also remove near duplicates: estimated Jaccard similarity of word 3-grams from this value on (0.5-1.0; 0.8 is a common choice).")] = None,
    against: Annotated[Optional[list[Path]], typer.Option("--against", help="Eval / benchmark file: remove training rows whose prompt matches one of its rows (repeat for several).")] = None,
    compare: Annotated[str, typer.Option("--compare", help="What two rows are compared on: conversation (default: every message and the tools, without the lines a large share of the rows carry, such as a shared system prompt), prompt (user turns), answer (assistant turns), all (everything, shared lines included).")] = "conversation",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Kept rows (.jsonl or .json); default <first input stem>.dedup.jsonl beside it.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", "-t", help="Write kept rows in this format (default: the inputs' own): " + ", ".join(TARGETS))] = None,
    source: Annotated[Optional[str], typer.Option("--from", help="Input format (default: detected per file).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
    media_dir: MediaDir = None,
    allow_outside: AllowOutside = False,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Remove exact duplicates (the same normalised conversation, in any format) and, with --near, near duplicates
    (MinHash LSH, on what --compare names: by default without the lines a large share of the rows carry), across
    files; with --against, rows whose prompt is in an eval set. Kept rows go to OUT, removed
    ones to OUT.dupes.jsonl (each naming the row it duplicates and the similarity), invalid ones to
    OUT.rejects.jsonl.

    Exit code 0: nothing rejected; 1: some rows rejected (outputs still written); 2: usage error or unreadable input.

    Example: ftdata dedup train.jsonl more.jsonl --near 0.8 --against eval.jsonl -o train.dedup.jsonl
    """
    from ftdata.ops.dedup import dedup_files

    report = _guarded(lambda: dedup_files(files, output, near, against, to, source, force, allow_outside, media_dir,
                                           compare))
    if json:
        render.json_out(report.to_dict())
    else:
        render.dedup(report)
    raise typer.Exit(1 if report.rejected else 0)


@app.command()
def fix(
    files: Annotated[list[Path], typer.Argument(help="Data files (any format ftdata reads).")],
    to: Annotated[Optional[str], typer.Option("--to", "-t", help="Write in this format (default: the inputs' own): " + ", ".join(TARGETS))] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Fixed rows (.jsonl or .json); default <first input stem>.fixed.jsonl beside it.")] = None,
    source: Annotated[Optional[str], typer.Option("--from", help="Input format (default: detected per file).")] = None,
    merge_consecutive: Annotated[bool, typer.Option("--merge-consecutive", help="Join text turns of the same role that follow each other (changes the structure; logged).")] = False,
    drop_empty: Annotated[bool, typer.Option("--drop-empty", help="Remove turns with blank content and no tool call (changes the structure; logged).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
    media_dir: MediaDir = None,
    allow_outside: AllowOutside = False,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Apply only fixes that cannot change meaning (role names in another case, whitespace around content, tool
    arguments encoded twice, MOSS 'None.' placeholders), each logged in OUT.changes.jsonl as {index, line, path,
    code, before, after}; rows still invalid go to OUT.rejects.jsonl.

    Exit code 0: every row written; 1: some rejected (outputs still written); 2: usage error or unreadable input.

    Example: ftdata fix data.jsonl --drop-empty -o data.fixed.jsonl
    """
    from ftdata.ops.fix import fix_files

    report = _guarded(lambda: fix_files(files, to, output, source, merge_consecutive, drop_empty, force, allow_outside,
                                        media_dir))
    if json:
        render.json_out(report.to_dict())
    else:
        render.fixed(report)
    raise typer.Exit(1 if report.rejected else 0)


schema_app = typer.Typer(help="JSON Schemas of the formats.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(schema_app, name="schema")


@schema_app.command("export")
def schema_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write <format>.schema.json files into.")] = Path("schemas"),
) -> None:
    """Write one JSON Schema per format (and the canonical record), generated from the pydantic models.

    Example: ftdata schema export schemas/
    """
    from ftdata.ops.schemas import export

    for path in export(directory):
        render.out.print(f"wrote {path}", markup=False)


descriptor_app = typer.Typer(help="Other trainers' dataset descriptors (axolotl, trl, LLaMA-Factory v1) from and to a "
                                   "dataset_info.json.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(descriptor_app, name="descriptor")


@descriptor_app.command("export")
def descriptor_export(
    info: Annotated[Path, typer.Argument(help="A LLaMA-Factory dataset_info.json.")],
    to: Annotated[str, typer.Option("--to", "-t", help="axolotl (its datasets: block), trl (its dataset mixture YAML) or llamafactory-v1 (a v1 dataset YAML).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the YAML here (default: print it).")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Entry names, comma-separated (default: all).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
) -> None:
    """Write the entries of a dataset_info.json as another trainer's dataset YAML; entries it cannot read as they
    are are left out, each with the reason and the ftdata convert that fixes it (exit 1).

    Example: ftdata descriptor export data/dataset_info.json --to trl -o mixture.yaml
    """
    from ftdata.descriptors.export import export, save
    from ftdata.descriptors.v1 import dump_yaml

    names = dataset.split(",") if dataset else None
    result = _guarded(lambda: export(info, to, output.parent if output else Path.cwd(), names,
                                     refuse=output if not force else None))
    text = _guarded(lambda: dump_yaml(result.document))
    _guarded(lambda: save(output, text))
    render.exported(result, text if output is None else None, str(output) if output else None)
    raise typer.Exit(1 if result.refused else 0)


@descriptor_app.command("import")
def descriptor_import(
    source: Annotated[Path, typer.Argument(help="An axolotl config, a trl dataset mixture YAML or a LLaMA-Factory v1 dataset YAML.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the dataset_info.json here (default: print it).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")] = False,
) -> None:
    """Read another trainer's dataset YAML back into dataset_info.json entries (file names relative to OUT's folder);
    entries LLaMA-Factory cannot read are left out with the reason (exit 1).

    Example: ftdata descriptor import mixture.yaml -o data/dataset_info.json
    """
    from ftdata.descriptors.export import import_descriptor, save

    result = _guarded(lambda: import_descriptor(source, output.parent if output else Path.cwd(),
                                                refuse=output if not force else None))
    text = orjson.dumps(result.document, option=orjson.OPT_INDENT_2).decode() + "\n"
    _guarded(lambda: save(output, text))
    render.exported(result, text if output is None else None, str(output) if output else None)
    raise typer.Exit(1 if result.refused else 0)


@app.command()
def formats() -> None:
    """List the supported formats, each with a minimal example record.

    Example: ftdata formats
    """
    for f in FORMATS.values():
        render.out.print(f"[bold]{f.name}[/bold]: {f.summary}", soft_wrap=True)
        render.out.print("  " + orjson.dumps(f.example).decode(), soft_wrap=True, markup=False)


def _usage_error(err: Exception) -> bool:
    """A command-line parsing error (no such option, a missing argument, a bad value): click's `ClickException`, or
    its copy inside typer (typer >= 0.29 vendors click and no longer depends on it)."""
    return any(c.__name__ == "ClickException" for c in type(err).__mro__) and isinstance(
        getattr(err, "exit_code", None), int) and callable(getattr(err, "show", None))


def main() -> None:
    """The console script: exit codes 0 valid, 1 invalid rows, 2 usage or unreadable input, 3 an internal error,
    130 interrupted."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        code = done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        render.err.print("Error: interrupted", soft_wrap=True)
        code = 130
    except Exception as crash:
        if _usage_error(crash):  # bad arguments: the parser's own message
            cast(Any, crash).show()
            code = cast(Any, crash).exit_code
        elif _debug or "--debug" in sys.argv:  # a bug of ours, not the user's mistake
            raise
        else:
            render.err.print(f"internal error: {type(crash).__name__}: {render.safe(crash)} (run again with --debug "
                             f"for the traceback; {REPORT})", soft_wrap=True)
            code = 3
    sys.exit(code if isinstance(code, int) else 0)
