"""`fttrain` command line. The stage commands' flags are generated from `fttrain.spec.RunSpec` (documented once)."""

from __future__ import annotations

import importlib.util
import inspect
import os
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Callable, NoReturn, Optional

import typer

from ftdata.cli import usage
from fttrain import __version__, render
from fttrain.spec import CLI_FIELDS, RunSpec, SpecError, Stage, load_spec, option

app = typer.Typer(help="Fine-tune LLMs on ftdata datasets with trl + peft (SFT, DPO, KTO).", no_args_is_help=True,
                  rich_markup_mode=None)
usage.install()  # usage lines as FILE / N / PATH, "did you mean" for an unknown option
TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes")
INSTALL = "pip install torch==2.13.0 && pip install 'ftdata[train]'"


def _version(value: bool) -> None:
    if value:
        render.line(f"fttrain {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """Fine-tune LLMs on ftdata datasets."""


def installed() -> dict[str, str | None]:
    """Version of each training dependency, None where it is not installed."""
    versions: dict[str, str | None] = {}
    for name in TRAIN_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@app.command()
def env() -> None:
    """Show the training stack's versions; exit 2 with the install command when the `train` extra is missing.

    Example: fttrain env
    """
    versions = installed()
    render.versions(versions)
    missing = [n for n, v in versions.items() if v is None]
    if missing:
        _fail(f"missing {', '.join(missing)}; install the training extra: {INSTALL}")


def _fail(message: str, code: int = 2) -> NoReturn:
    render.error(message)
    raise typer.Exit(code)


def _option(name: str) -> inspect.Parameter:
    """A CLI option for one RunSpec field: `--kebab-name`, help from the field's description, default None."""
    flag = "--" + name.replace("_", "-")
    py_type, help_text = option(name)
    decl = [f"{flag}/--no-{name.replace('_', '-')}"] if py_type is bool else [flag]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[Optional[py_type], typer.Option(*decl, help=help_text, show_default=False)])


def _need_train(what: str) -> None:
    """Exit 2 with the install command when the `train` extra is missing."""
    missing = [n for n in ("torch", "transformers", "trl", "peft", "datasets", "jinja2")
               if importlib.util.find_spec(n) is None]
    if missing:
        _fail(f"{what} needs {', '.join(missing)}; install the training extra: {INSTALL}")


def _stage_command(stage: Stage, summary: str) -> None:
    def command(**kwargs: Any) -> None:
        source, config = kwargs.pop("source"), kwargs.pop("config")
        dry_run, debug = kwargs.pop("dry_run"), kwargs.pop("debug")
        quiet_third_party(kwargs.pop("verbose"))
        _need_train("training")
        from fttrain.checks import UsageError, check_run

        try:
            spec = load_spec(kwargs, config)
            check_run(stage, source, spec)
        except (SpecError, UsageError) as error:
            _fail(str(error))
        _guarded(lambda: _run(stage, source, spec, dry_run), debug)

    params = [
        inspect.Parameter("source", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
            Path, typer.Argument(help="A dataset_info.json (or a data file) with the training data.")]),
        inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Optional[Path], typer.Option("--config", help="A YAML file with these options; flags override it.")]),
        inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--dry-run", help="Read, validate, render and tokenize every row, print the pre-flight "
                               "summary and stop (the tokenizer only; no model weights are loaded).")]),
        inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--debug", help="Show the traceback of an internal error.")]),
        inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--verbose", help=VERBOSE)]),
    ] + [_option(name) for name in CLI_FIELDS]
    setattr(command, "__signature__", inspect.Signature(params))  # typer reads the generated options from it
    command.__doc__ = f"{summary}\n\nExample: fttrain {stage} dataset_info.json --max-steps 20"
    app.command(name=stage)(command)


VERBOSE = "Also show the training libraries' deprecation notices and bitsandbytes' kernel messages (hidden by default)."


def quiet_third_party(verbose: bool) -> None:
    """Hide what the training libraries say that is not about this run: deprecation notices about their own calls
    to each other (peft reads transformers' deprecated `is_gradient_checkpointing`) and bitsandbytes' attempt to
    fetch a CPU 4-bit kernel (at import, whether or not a 4-bit model is used). --verbose shows them."""
    if verbose:
        return
    import logging
    import warnings

    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    for name in ("bitsandbytes", "kernels"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _guarded(work: Callable[[], None], debug: bool) -> None:
    """Run a command body; an unexpected exception is an internal error: one line and exit 3 (the traceback only
    with --debug), never a traceback for the user to read through. Ctrl-C stays 130."""
    try:
        work()
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except KeyboardInterrupt:
        _fail("interrupted; resume with --resume-from-checkpoint last", code=130)
    except Exception as error:  # noqa: BLE001 - the last line of defence: report, do not crash
        if debug:
            import traceback

            traceback.print_exc()
        render.internal_error(type(error).__name__, (str(error).strip().splitlines() or [""])[0][:300])
        raise typer.Exit(3) from None


def _local_only() -> None:
    """Models are local folders: never reach for the Hub, for weights or for transformers' hub kernels."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # transformers 5.2x with `kernels` installed fetches kernels-community layers (rotary, ...) on a GPU and, offline,
    # stops with "not available in the local cache" (seen on an H200); USE_HUB_KERNELS=1 turns them back on.
    os.environ.setdefault("USE_HUB_KERNELS", "0")


def _run(stage: Stage, source: Path, spec: RunSpec, dry_run: bool, prepare_only: bool = False) -> None:
    _local_only()
    from ftdata.api import UnreadableFile
    from fttrain.checks import UsageError
    from fttrain.data import DataError, RenderError
    from fttrain.model import ModelError
    from fttrain.run import train
    from fttrain.template import TemplateError
    from fttrain.trainers import ResumeError

    try:
        result = train(stage, source, spec, render.preflight, dry_run=dry_run)
    except DataError as error:
        render.data_problems(error.reports)
        _fail(str(error), code=1)
    except RenderError as error:
        _fail(str(error), code=1)
    except (UnreadableFile, ModelError, TemplateError, ResumeError, UsageError) as error:
        _fail(str(error))
    render.result(result, dry_run, prepare_only)


SKIP_BAD_INSPECT = ("Show the valid rows when some are invalid or the chat template cannot render them (they are "
                    "counted); default: stop, naming the row.")


@app.command("inspect")
def inspect_command(
    source: Annotated[Path, typer.Argument(help="A dataset_info.json (or a data file).")],
    dataset: Annotated[Optional[str], typer.Option("--dataset", help=option("dataset")[1])] = None,
    model: Annotated[Optional[str], typer.Option("--model", help=option("model")[1])] = None,
    chat_template: Annotated[Optional[str], typer.Option("--chat-template", help=option("chat_template")[1])] = None,
    train_on: Annotated[Optional[str], typer.Option("--train-on", help=option("train_on")[1])] = None,
    reasoning: Annotated[Optional[str], typer.Option("--reasoning", help=option("reasoning")[1])] = None,
    reasoning_history: Annotated[Optional[str], typer.Option("--reasoning-history",
                                                             help=option("reasoning_history")[1])] = None,
    rows: Annotated[int, typer.Option("--rows", min=0, help="How many rows to show token by token.")] = 3,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the view as a self-contained HTML page.")] = None,
    skip_bad_rows: Annotated[bool, typer.Option("--skip-bad-rows", help=SKIP_BAD_INSPECT)] = False,
    drop_media: Annotated[bool, typer.Option("--drop-media", help=option("drop_media")[1])] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help=VERBOSE)] = False,
) -> None:
    """Show what training would see: each row's tokens with the trained ones highlighted, supervised-token counts,
    EOS trained or not, the masking strategy; over the dataset, rows with nothing to train on and the share of
    supervised tokens per role and per source.

    Example: fttrain inspect dataset_info.json --dataset moss --rows 1 --html moss.html
    """
    from fttrain.checks import UsageError, check_folder, check_inputs

    _need_train("inspect")
    quiet_third_party(verbose)
    overrides = {"dataset": dataset, "model": model, "chat_template": chat_template, "train_on": train_on,
                 "skip_bad_rows": skip_bad_rows, "reasoning": reasoning, "reasoning_history": reasoning_history,
                 "drop_media": drop_media}
    try:
        spec = load_spec(overrides, None)
        check_inputs(source, spec)
        if html is not None:
            check_folder(html.parent, "--html")
            if html.is_dir():
                raise UsageError(f"--html {html}: a folder, not a file path; give a path such as out.html")
            _check_html(html, source)
    except (SpecError, UsageError) as error:
        _fail(str(error))
    _guarded(lambda: _inspect(source, spec, rows, html), debug)


def _check_html(html: Path, source: Path) -> None:
    """--html is an output like any other (`ftdata.io.staging`): never one of the files read (the descriptor and
    its data files, under any name), never a device; an older page is replaced."""
    from ftdata import api

    api.refuse_inputs([html], api.run_inputs(source), "--html")  # its folder may not exist yet: it is created
    api.check_replaceable(html, True, "--html")


def _inspect(source: Path, spec: RunSpec, rows: int, html: Path | None) -> None:
    _local_only()
    from ftdata.api import UnreadableFile
    from fttrain.checks import UsageError
    from fttrain.data import DataError
    from fttrain.inspection import html_page, inspect_data, row_heading, summary_lines
    from fttrain.model import ModelError

    try:
        found = inspect_data(source, spec, rows)
    except DataError as error:
        render.data_problems(error.reports)
        _fail(str(error), code=1)
    except (UnreadableFile, ModelError, UsageError) as error:
        _fail(str(error))
    render.inspection(found, row_heading, summary_lines(found))
    if html is not None:
        _write_html(html, source, html_page(found))
        render.line(f"wrote {html}")


def _write_html(html: Path, source: Path, page: str) -> None:
    """The page, staged and renamed into place (its folder created first); a place that cannot be written (/proc, a
    full disk, no permission) is one line and exit 2."""
    from ftdata import api

    try:
        html.parent.mkdir(parents=True, exist_ok=True)
        api.write_output(html, page.encode("utf-8"), api.run_inputs(source), True, "--html")
    except OSError as error:
        _fail(f"--html {html}: cannot create its folder: {error.strerror or error}")
    except api.UsageError as error:
        _fail(str(error))


def _prepare_command() -> None:
    def command(**kwargs: Any) -> None:
        source, config, stage = kwargs.pop("source"), kwargs.pop("config"), kwargs.pop("stage")
        debug = kwargs.pop("debug")
        from fttrain.checks import UsageError, check_folder, check_inputs

        if stage not in ("sft", "dpo", "kto"):
            _fail(f"--stage {stage}: give sft, dpo or kto")
        try:
            spec = load_spec({**kwargs, "cache": True}, config)
            check_inputs(source, spec)
            if spec.cache_dir:
                check_folder(Path(spec.cache_dir), "--cache-dir")
        except (SpecError, UsageError) as error:
            _fail(str(error))
        _guarded(lambda: _run(stage, source, spec, dry_run=True, prepare_only=True), debug)

    params = [
        inspect.Parameter("source", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
            Path, typer.Argument(help="A dataset_info.json (or a data file) with the training data.")]),
        inspect.Parameter("stage", inspect.Parameter.KEYWORD_ONLY, default="sft", annotation=Annotated[
            str, typer.Option("--stage", help="The stage the rows are prepared for: sft, dpo or kto.")]),
        inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Optional[Path], typer.Option("--config", help="A YAML file with these options; flags override it.")]),
        inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
            bool, typer.Option("--debug", help="Show the traceback of an internal error.")]),
    ] + [_option(name) for name in CLI_FIELDS if name != "cache"]
    setattr(command, "__signature__", inspect.Signature(params))
    command.__doc__ = ("Tokenize the rows once into the cache, exactly as sft/dpo/kto will train on them (with the same "
                       "options): they reuse it, and only edited rows are tokenized again.\n\nExample: fttrain "
                       "prepare dataset_info.json --max-length 2048")
    app.command(name="prepare")(command)


@app.command("cache")
def cache_command(
    source: Annotated[Optional[Path], typer.Argument(help="The data whose default cache (beside it) to show.")] = None,
    cache_dir: Annotated[Optional[str], typer.Option("--cache-dir", help=option("cache_dir")[1])] = None,
    clear: Annotated[Optional[str], typer.Option("--clear", help="stale or all: remove the stale run keys (model gone, tokenizer changed, superseded on the same data) "
                          "or all of them.")] = None,
) -> None:
    """List the tokenized cache (each run key: stage, model, datasets, size, last use, stale or not) or clear it.

    Example: fttrain cache dataset_info.json --clear stale
    """
    from fttrain.cache import cache_root, clear as clear_cache, human, list_cache

    if clear not in (None, "stale", "all"):
        _fail(f"--clear {clear}: give stale or all")
    if source is not None and not source.exists():
        _fail(f"{source}: no such file or folder; give the data (or dataset_info.json) whose cache to show")
    root = cache_root(source or Path("."), load_spec({"cache_dir": cache_dir}, None))
    if clear is not None:
        removed, freed = clear_cache(root, stale_only=clear == "stale")
        render.line(f"removed {removed} run key(s), {human(freed)} freed from {root}")
        return
    render.cache_listing(list_cache(root), str(root), human)


_stage_command("sft", "Supervised fine-tuning: loss on every assistant turn (EOS included), prompts and tool results masked.")
_stage_command("dpo", "Direct preference optimisation on chosen/rejected pairs.")
_stage_command("kto", "KTO on completions labelled desirable (true) or undesirable (false).")
_prepare_command()


def main() -> None:
    app()
