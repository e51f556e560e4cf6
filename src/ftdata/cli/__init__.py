"""`ftdata` command line: each command is a few lines over `ftdata.api` and `ftdata.render` (commands in
`data` and `describe`, what they share in `app`)."""

from __future__ import annotations

import sys
from typing import Any, cast

import typer

from ftdata import render
from ftdata.cli import app as app_module
from ftdata.cli import data, describe  # noqa: F401  (they register their commands on the app)
from ftdata.cli.app import REPORT, app


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
        render.error("interrupted")
        code = 130
    except Exception as crash:
        if _usage_error(crash):  # bad arguments: the parser's own message
            cast(Any, crash).show()
            code = cast(Any, crash).exit_code
        elif app_module.debug or "--debug" in sys.argv:  # a bug of ours, not the user's mistake
            raise
        else:
            render.internal_error(crash, REPORT)
            code = 3
    sys.exit(code if isinstance(code, int) else 0)
