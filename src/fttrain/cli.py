"""`fttrain` command line. Training commands build on the `train` extra (torch, transformers, trl, peft)."""

from __future__ import annotations

from importlib import metadata
from typing import Annotated

import typer

from fttrain import __version__

app = typer.Typer(help="Fine-tune LLMs on ftdata datasets with trl + peft.", no_args_is_help=True,
                  rich_markup_mode=None)

TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes")


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
    out: dict[str, str | None] = {}
    for name in TRAIN_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


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
        print(f"Error: missing {', '.join(missing)}; install the training extra: "
              "pip install torch==2.13.0 && pip install 'ftdata[train]'")
        raise typer.Exit(2)


def main() -> None:
    app()
