"""ftdata: validate, normalize and convert LLM fine-tuning data. `ftdata.api` is the front door.

The names below are loaded on first use, so that importing one module of the package (`ftdata.core.problems`, say)
does not load the whole engine: the package imports nothing of its own eagerly (no hidden import circle).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Dataset": "ftdata.api", "check_raw": "ftdata.api", "open_checked": "ftdata.api", "open_datasets": "ftdata.api",
    "validate": "ftdata.api", "validate_file": "ftdata.api",
    "Message": "ftdata.core.canonical", "Record": "ftdata.core.canonical", "ToolCall": "ftdata.core.canonical",
    "Problem": "ftdata.core.problems", "Checked": "ftdata.core.reports", "FileReport": "ftdata.core.reports",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from ftdata.api import (
        Dataset,
        check_raw,
        open_checked,
        open_datasets,
        validate,
        validate_file,
    )
    from ftdata.core.canonical import Message, Record, ToolCall
    from ftdata.core.problems import Problem
    from ftdata.core.reports import Checked, FileReport


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ftdata' has no attribute {name!r}")
