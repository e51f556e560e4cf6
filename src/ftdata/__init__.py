"""ftdata: validate, normalize and convert LLM fine-tuning data."""

from ftdata.api import FileReport, check_raw, open_checked, validate_file
from ftdata.canonical import Message, Record, ToolCall
from ftdata.problems import Problem

__version__ = "0.1.0"
__all__ = ["FileReport", "Message", "Problem", "Record", "ToolCall", "check_raw", "open_checked", "validate_file"]
