"""`fttrain` command line. The stage commands' flags are generated from `fttrain.spec.RunSpec` (documented once)."""

from __future__ import annotations

import importlib.util
import inspect
import os
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from fttrain import __version__
from fttrain.spec import CLI_FIELDS, RunSpec, Stage, load_spec, option

app = typer.Typer(help="Fine-tune LLMs on ftdata datasets with trl + peft (SFT, DPO, KTO).", no_args_is_help=True,
                  rich_markup_mode=None)
# Under torchrun / accelerate every rank runs this CLI: only rank 0 prints.
out = Console(highlight=False, quiet=os.environ.get("RANK", "0") != "0")
err = Console(stderr=True, highlight=False)
TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes")
INSTALL = "pip install torch==2.13.0 && pip install 'ftdata[train]'"


def _version(value: bool) -> None:
    if value:
        print(f"fttrain {__version__}")
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
    for name, version in versions.items():
        print(f"{name:14} {version or 'not installed'}")
    missing = [n for n, v in versions.items() if v is None]
    if missing:
        _fail(f"missing {', '.join(missing)}; install the training extra: {INSTALL}")


def _fail(message: str, code: int = 2) -> None:
    err.print(f"Error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _option(name: str) -> inspect.Parameter:
    """A CLI option for one RunSpec field: `--kebab-name`, help from the field's description, default None."""
    flag = "--" + name.replace("_", "-")
    py_type, help_text = option(name)
    decl = [f"{flag}/--no-{name.replace('_', '-')}"] if py_type is bool else [flag]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[Optional[py_type], typer.Option(*decl, help=help_text, show_default=False)])


def _stage_command(stage: Stage, summary: str) -> None:
    def command(**kwargs: Any) -> None:
        source, config = kwargs.pop("source"), kwargs.pop("config")
        missing = [n for n in ("torch", "transformers", "trl", "peft", "datasets") if importlib.util.find_spec(n) is None]
        if missing:
            _fail(f"training needs {', '.join(missing)}; install the training extra: {INSTALL}")
        try:
            spec = load_spec(kwargs, config)
        except (ValidationError, ValueError, OSError) as error:
            _fail(f"bad options: {error}")
        _run(stage, source, spec)

    params = [
        inspect.Parameter("source", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
            Path, typer.Argument(help="A dataset_info.json (or a data file) with the training data.")]),
        inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
            Optional[Path], typer.Option("--config", help="A YAML file with these options; flags override it.")]),
    ] + [_option(name) for name in CLI_FIELDS]
    setattr(command, "__signature__", inspect.Signature(params))  # typer reads the generated options from it
    command.__doc__ = f"{summary}\n\nExample: fttrain {stage} dataset_info.json --max-steps 20"
    app.command(name=stage)(command)


def _run(stage: Stage, source: Path, spec: RunSpec) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are local folders; never reach for a hub
    from ftdata import render
    from ftdata.io import UnreadableFile
    from fttrain.data import DataError
    from fttrain.model import ModelError
    from fttrain.run import train
    from fttrain.template import TemplateError
    from fttrain.trainers import ResumeError

    try:
        result = train(stage, source, spec, show_preflight)
    except DataError as error:
        render.validation_text(error.reports, max_errors=10)
        _fail(str(error), code=1)
    except (UnreadableFile, ModelError, TemplateError, ResumeError) as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail("interrupted; resume with --resume-from-checkpoint last", code=130)
    out.print(f"[green]done[/green]: {result.steps} steps, loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}"
              if result.losses else f"[green]done[/green]: {result.steps} steps")
    for prompt, answer in result.samples:
        out.print(f"[bold]sample[/bold] {escape(prompt[:60])!s} -> {escape(answer)}", soft_wrap=True)
    for path in result.saved:
        out.print(f"saved {escape(str(path))}", soft_wrap=True)


def show_preflight(p: Any) -> None:
    """The pre-flight summary: data and its counts, model, method, trainable parameters, effective batch."""
    if p.bundled:
        out.print(f"[bold yellow]No --model given: using the bundled tiny test model ({escape(p.model)}). "
                  "It is for demos and tests, not for real fine-tuning.[/bold yellow]", soft_wrap=True)
    for s in p.sources:
        out.print(f"dataset {escape(s.name)}: {s.report.records} records, {len(s.records)} used"
                  + (f", {s.report.invalid} invalid skipped" if s.report.invalid else ""), soft_wrap=True)
    c = p.counts
    lengths = sorted(c.lengths)
    longest = lengths[-1] if lengths else 0
    out.print(f"samples: {c.samples}  over max length: {c.over_length} (truncated {c.truncated}, dropped "
              f"{c.dropped_over_length})  dropped with nothing to train on: {c.dropped_no_target}  longest: {longest} tokens")
    out.print(f"train: {p.train_samples}  eval: {p.eval_samples}")
    out.print(f"model: {escape(p.model)}  method: {p.method}  trainable parameters: {p.trainable:,} of {p.total:,} "
              f"({100 * p.trainable / max(p.total, 1):.2f}%)  effective batch size: {p.effective_batch}", soft_wrap=True)
    for note in p.notes:
        out.print(f"note: {escape(note)}", soft_wrap=True)


_stage_command("sft", "Supervised fine-tuning: loss on every assistant turn (EOS included), prompts and tool results masked.")
_stage_command("dpo", "Direct preference optimisation on chosen/rejected pairs.")
_stage_command("kto", "KTO on completions labelled desirable (true) or undesirable (false).")


def main() -> None:
    app()
