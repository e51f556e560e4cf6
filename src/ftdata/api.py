"""The library's front door: validate, convert, read and summarise records, from data files or from the entries of
a dataset_info.json descriptor or a LLaMA-Factory v1 dataset YAML (the one place that tells them apart). Everything here is plain Python, no
printing; the CLI and fttrain call it.

    from ftdata import api
    reports = api.validate("moss.jsonl")                       # [FileReport]
    for ds in api.open_datasets("dataset_info.json"):          # every local entry (or a plain data file)
        for item in ds.checked:                                # Checked(index, line, raw, record, problems)
            if item.valid:
                print(item.record.messages[-1].content)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ftdata.core.canonical import Record
from ftdata.core.problems import Problem
from ftdata.core.reports import Checked, ConvertReport, FileReport
from ftdata.core.suggest import did_you_mean
from ftdata.core.stats import Stats, collect
from ftdata.descriptors.base import DescriptorKind, E
from ftdata.descriptors.llamafactory import DATASET_INFO, Entry, is_descriptor
from ftdata.descriptors.v1 import V1_YAML, dump_yaml, is_v1_yaml, validate_v1_yaml
from ftdata.engine.lanes import Tick, check_items, convert_raw, open_items
from ftdata.formats import Format
from ftdata.formats.write import ReasoningPolicy
from ftdata.io.media import Media, MediaRules, media_sizes
from ftdata.io.processor import image_tokens
from ftdata.io.readers import UnreadableFile, UsageError
from ftdata.io.staging import check_output, check_replaceable, refuse_inputs, write_output
from ftdata.ops.convert import OutputExists, convert_files
from ftdata.ops.pipeline import Interrupted
from ftdata.ops.validate import validate_descriptor, validate_file

if TYPE_CHECKING:  # the commands below load their modules on first use: every CLI command imports this one
    from ftdata.descriptors.export import Exported
    from ftdata.ops.dedup import DedupReport
    from ftdata.ops.fix import FixReport


class DescriptorError(UnreadableFile):
    """A descriptor cannot be used as asked (errors in it, unknown or non-local entries); `report` holds its
    problems when it has some."""

    def __init__(self, message: str, report: FileReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class Dataset:
    """One dataset opened for reading: a data file, or one entry of a descriptor."""

    name: str  # the file's stem, or the entry's name
    path: str  # for reports: the file, or 'dataset_info.json#entry'
    format: Format
    how: str  # how the format was chosen: detected, given, descriptor
    checked: Iterator[Checked]  # every record, checked, with a real `Record` when valid
    entry: Entry | None = None

    def report(self) -> FileReport:
        """An empty report for this dataset, to `add` its checked records to."""
        return FileReport(self.path, format=self.format.name, how=self.how)


def check_raw(raw: Any, fmt: Format, media: Media | Path | None = None) -> tuple[Record | None, list[Problem]]:
    """Check one decoded record against `fmt`: schema, conversion, conversation rules and media."""
    converted = convert_raw(raw, fmt, media)
    return converted.record, converted.problems


def open_checked(path: str | Path, fmt: str | None = None, media_dir: str | Path | None = None,
                 allow_outside: bool = False) -> tuple[Format, dict[str, int], Iterator[Checked]]:
    """A data file's format (given, or detected), the detection votes, and a lazy stream of its checked records.

    Raises UnreadableFile when the file cannot be read or its format cannot be told.
    """
    path = Path(path)
    chosen, votes, items = open_items(path, fmt)
    media = Media(Path(media_dir) if media_dir is not None else path.resolve().parent, allow_outside)
    return chosen, votes, check_items(items, chosen, media, records=True)


def open_datasets(source: str | Path, names: list[str] | None = None, fmt: str | None = None,
                  media_dir: str | Path | None = None, allow_outside: bool = False) -> list[Dataset]:
    """The datasets at `source`: a data file (one dataset), or a dataset_info.json's entries (`names`, default
    every local entry). Raises DescriptorError / UnreadableFile with a one-line reason."""
    source = Path(source)
    if is_v1_yaml(source):
        return _open_descriptor(source, V1_YAML, names, Path(media_dir) if media_dir else None, allow_outside)
    if is_descriptor(source):
        return _open_descriptor(source, DATASET_INFO, names, Path(media_dir) if media_dir else None, allow_outside)
    chosen, _, checked = open_checked(source, fmt, media_dir, allow_outside)
    return [Dataset(source.stem, str(source), chosen, "detected" if fmt is None else "given", checked)]


def _open_descriptor(source: Path, kind: DescriptorKind[E], names: list[str] | None, media_dir: Path | None,
                     allow_outside: bool) -> list[Dataset]:
    """The entries `names` (default: every one readable here) of a descriptor, each a `Dataset`."""
    entries, problems = kind.read(source)
    if problems:
        raise DescriptorError(f"{source}: the descriptor has errors", FileReport(
            str(source), format=kind.name, how="descriptor", invalid=len(problems), problems=problems))
    wanted = names if names is not None else [n for n, e in entries.items() if kind.skipped(e) is None]
    unknown = [n for n in wanted if n not in entries]
    if unknown:
        hint = did_you_mean(unknown[0], entries) if len(unknown) == 1 else ""
        raise DescriptorError(f"no entry {', '.join(unknown)} in {source}{hint}; it has: {', '.join(entries)}")
    out = []
    for name in wanted:
        entry = entries[name]
        skip = kind.skipped(entry)
        if skip is not None:
            raise DescriptorError(f"entry '{name}': {skip[1]}")
        found, checked = kind.checked(source, entry, media_dir, MediaRules(allow_outside), True)
        out.append(Dataset(name, f"{source}#{name}", found, "descriptor", checked,
                           entry if isinstance(entry, Entry) else None))
    return out


def stats(paths: list[Path], fmt: str | None = None, tokenizer: Any = None, max_length: int | None = None,
          processor: str | Path | None = None, progress: Tick | None = None) -> Stats:
    """`ftdata stats` over data files and descriptors (every local entry); `processor`: a vision-language model's
    folder whose preprocessor_config.json says how many tokens each image adds (counted in the tokens);
    `progress`: told the records counted so far, now and then."""
    per_image = image_tokens(processor) if processor is not None else None
    streams = []
    for path in paths:
        base = Path(path).resolve().parent  # a file's media, and a dataset_info.json's (LLaMA-Factory's dataset dir)
        media = Media(base)
        for ds in open_datasets(path, fmt=fmt):
            streams.append((ds.checked, partial(media_sizes, media=media) if not is_v1_yaml(Path(path)) else None))
    return collect(streams, [str(p) for p in paths], tokenizer, max_length, per_image, progress)


def validate(path: str | Path, fmt: str | None = None, media_dir: str | Path | None = None, workers: int = 1,
             progress: Tick | None = None, allow_outside: bool = False, max_pixels: int | None = None,
             max_media_per_row: int | None = None, max_duration: float | None = None) -> list[FileReport]:
    """Validate a data file (one report) or a descriptor (a report for it and one per entry); media are decoded and
    held to the budgets `max_pixels`, `max_media_per_row` and `max_duration` (a descriptor's entries each against
    their own media folder, as LLaMA-Factory resolves them)."""
    path = Path(path)
    budgets = (max_pixels, max_media_per_row, max_duration)
    rules = MediaRules(allow_outside, *budgets)
    if is_v1_yaml(path):
        return validate_v1_yaml(path, Path(media_dir) if media_dir else None, rules)
    if is_descriptor(path):
        return validate_descriptor(path, Path(media_dir) if media_dir else None, rules)
    return [validate_file(path, fmt, media_dir, workers, progress, allow_outside, *budgets)]


def fix_files(*args: Any, **kwargs: Any) -> FixReport:
    """`ftdata fix` (`ftdata.ops.fix.fix_files`)."""
    from ftdata.ops.fix import fix_files as run

    return run(*args, **kwargs)


def dedup_files(*args: Any, **kwargs: Any) -> DedupReport:
    """`ftdata dedup` (`ftdata.ops.dedup.dedup_files`)."""
    from ftdata.ops.dedup import dedup_files as run

    return run(*args, **kwargs)


def export_descriptor(*args: Any, **kwargs: Any) -> Exported:
    """`ftdata descriptor export` (`ftdata.descriptors.export.export`)."""
    from ftdata.descriptors.export import export

    return export(*args, **kwargs)


def import_descriptor(*args: Any, **kwargs: Any) -> Exported:
    """`ftdata descriptor import` (`ftdata.descriptors.imports.import_descriptor`)."""
    from ftdata.descriptors.imports import import_descriptor as run

    return run(*args, **kwargs)


def save_descriptor(out: Path | None, text: str, inputs: list[Path], force: bool) -> None:
    """A descriptor's text to `out`, staged (nothing when `out` is None: it was printed)."""
    from ftdata.descriptors.export import save

    save(out, text, inputs, force)


def run_inputs(source: Path) -> list[Path]:
    """`source` and the local data files it names when it is a descriptor: what no output may be written onto."""
    from ftdata.descriptors.outputs import run_inputs as inputs

    return inputs(source)


def export_schemas(directory: Path) -> list[Path]:
    """`ftdata schema export`: one JSON Schema per format."""
    from ftdata.ops.schemas import export

    return export(directory)


def load_tokenizer(name: str) -> Any:
    """'tiny' (bundled) or a local Hugging Face tokenizer folder (transformers loads on first use)."""
    from ftdata.core.tokens import load_tokenizer as load

    return load(name)


def plot_stats(result: Stats, out: Path, inputs: list[Path]) -> None:
    """`ftdata stats --plot`: histograms as a PNG (matplotlib loads on first use), written as every output is
    (never onto one of `inputs`; an older plot is replaced)."""
    from ftdata.core.stats import plot

    name = ", ".join(p.name for p in inputs)
    write_output(out, plot(result, name if len(name) <= 80 else name[:77] + "..."), inputs, force=True, flag="--plot")


__all__ = ["ConvertReport", "Dataset", "DedupReport", "DescriptorError", "Exported", "FileReport", "FixReport",
           "Interrupted", "OutputExists", "ReasoningPolicy", "UnreadableFile", "UsageError", "check_output", "check_raw", "convert_files",
           "dedup_files", "check_replaceable", "refuse_inputs", "run_inputs", "write_output",
           "dump_yaml", "export_descriptor", "export_schemas", "fix_files", "import_descriptor", "load_tokenizer",
           "open_checked", "open_datasets", "plot_stats", "save_descriptor", "stats", "validate", "validate_file"]
