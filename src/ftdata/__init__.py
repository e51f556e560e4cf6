"""ftdata: validate, normalize and convert LLM fine-tuning data. `ftdata.api` is the front door."""

from ftdata.api import Dataset, check_raw, open_checked, open_datasets, validate, validate_file
from ftdata.canonical import Message, Record, ToolCall
from ftdata.problems import Problem
from ftdata.reports import Checked, FileReport

__version__ = "0.1.0"
__all__ = ["Checked", "Dataset", "FileReport", "Message", "Problem", "Record", "ToolCall", "check_raw", "open_checked",
           "open_datasets", "validate", "validate_file"]
