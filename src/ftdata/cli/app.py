"""The `ftdata` typer app and what its commands share: one-line errors (exit 2), the interrupt messages (exit
130), the common options. Each command is a few lines over `ftdata.api` and `ftdata.render`."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Any, Callable, NoReturn, Optional, TypeVar

import typer

from ftdata import __version__, render
from ftdata.cli import usage

app = typer.Typer(
    help="Validate and convert LLM fine-tuning data (alpaca, sharegpt, openai, trl, moss, firefly, text, "
         "llamafactory-v1).",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # an internal error is a short message (exit 3); the traceback only with --debug
)
usage.install()
REPORT = "please report it: https://github.com/ftdata/ftdata/issues"
RACED = ("{} was created by another run while this one was writing; it was left as it is and nothing of this run was "
         "kept (run again with another -o, or --force)")
NOTHING_WRITTEN = "interrupted: nothing was written (outputs are only put in place when complete)"
debug = False

MediaDir = Annotated[Optional[Path], typer.Option("--media-dir", help="Base folder of media paths (default: each file's folder).")]
AllowOutside = Annotated[bool, typer.Option("--allow-outside", "--allow-outside-media", help="Accept media paths (and a descriptor's file_name) outside their folder.")]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing OUT.")]
Json = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]
Name = Annotated[Optional[str], typer.Option("--name", help="dataset_info.json entry name for OUT (default: OUT's stem).")]
NoEntry = Annotated[bool, typer.Option("--no-dataset-info", help="Do not add OUT's entry to the dataset_info.json beside it.")]
Source = Annotated[Optional[str], typer.Option("--from", metavar="FORMAT", help="Input format (default: detected per file).")]


def file_arg(value: str) -> Path:
    """A file argument as typed: "-" is standard input, but "./-" is the file named "-" (a Path would drop the
    "./" and make the two one), kept apart as an absolute path."""
    path = Path(value)
    return path.absolute() if str(path) == "-" and value != "-" else path


def _version(value: bool) -> None:
    if value:
        render.line(f"ftdata {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    debug_: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error (exit code 3).")] = False,
) -> None:
    """Validate and convert LLM fine-tuning data."""
    global debug
    debug = debug_
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a kill or a closed terminal cleans up like Ctrl-C
        signal.signal(sig, terminate)


def fail(message: str, code: int = 2) -> NoReturn:
    render.error(message)
    raise typer.Exit(code)


def terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


T = TypeVar("T")


def guarded(call: Callable[[], T], show: Callable[[Any], None] | None = None) -> T:
    """Run a command's library call: usage errors and unreadable input exit 2 with one line; Ctrl-C / SIGTERM exit
    130 saying what is on disk: nothing (before the outputs were put in place) or every output, whole (`show`
    prints the run's summary then)."""
    from ftdata import api

    signal.signal(signal.SIGTERM, terminate)
    try:
        return call()
    except (api.UsageError, api.UnreadableFile) as err:
        fail(str(err))
    except api.OutputExists as err:
        fail(RACED.format(err.args[0]))
    except api.Interrupted as done:
        if show is not None and done.report is not None:
            show(done.report)
        fail(f"interrupted after the outputs were put in place: {', '.join(map(str, done.placed))} (whole"
             f"{'; dataset_info.json updated' if getattr(done.report, 'dataset_info', None) else ''})", code=130)
    except KeyboardInterrupt:
        fail(NOTHING_WRITTEN, code=130)
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        fail(f"{where}{err.strerror or err}; nothing was written and the inputs are untouched")


def summary(report: Any, json: bool, text: Callable[[Any], None]) -> NoReturn:
    """Print a run's summary (text, or one JSON object) and exit: 1 when rows were rejected, else 0."""
    if json:
        render.json_out(report.to_dict())
    else:
        text(report)
    raise typer.Exit(1 if report.rejected else 0)
