"""`ftdata validate / convert / stats` on Ray Data: many JSON Lines files, any number of machines, the CLI's results
(same rows, same rejects, same counts and problems). The work is `ftdata.engine.shards`' batch functions; this module adds
the two ends Ray needs, a reader of records as lines and a writer of rows and rejects, and runs them:

    lines = read_lines(["a.jsonl", "b.jsonl"])               # one (path, index, line, data) row per record
    shards = lines.map_batches(convert_lines, batch_format="pyarrow",
                               fn_kwargs={"source": "moss", "target": "sharegpt"})
    sink = ConvertSink("out/sharegpt", target="sharegpt")    # rows to out/sharegpt, rejects to out/sharegpt.rejects
    shards.write_datasink(sink)                              # one pass; sink.report counts as the CLI does

Needs Ray (`pip install 'ftdata[ray]'`); `import ftdata` and the rest of the library never load it.
"""

from __future__ import annotations

import os
import uuid
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

try:
    import ray.data
    from ray.data.block import Block, BlockAccessor
    from ray.data.datasource import Datasink, FileBasedDatasource, WriteResult
except ImportError as err:
    raise ImportError("ftdata.engine.distributed needs Ray Data: pip install 'ftdata[ray]'") from err

from ftdata.core.reports import ConvertReport, FileReport
from ftdata.core.stats import Stats
from ftdata.core.suggest import did_you_mean
from ftdata.engine.lanes import open_items
from ftdata.engine.shards import (
    BLOCK_ROWS,
    REJECT,
    REPORT,
    ROW,
    Source,
    convert_lines,
    lines_tables,
    merge_reports,
    merge_stats,
    merge_validation,
    stats_lines,
    validate_lines,
)
from ftdata.formats import TARGETS, get_format
from ftdata.formats.write import ReasoningPolicy
from ftdata.io.readers import JSONL_SUFFIXES, SUFFIXES, UnreadableFile, UsageError

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data._internal.execution.interfaces import TaskContext

NOT_LINES = SUFFIXES - JSONL_SUFFIXES  # files the CLI reads whole (a JSON array, Parquet, CSV, text), not as lines


def located(path: str | Path) -> str:
    """A local path as an absolute one (Ray's workers do not share the driver's folder); URIs as they are."""
    text = os.fspath(path)
    return text if "://" in text else os.path.abspath(text)


class JsonLines(FileBasedDatasource):
    """JSON Lines files (compressed too, by their suffix) as LINES rows: one per record, its line unparsed."""

    def __init__(self, paths: str | list[str], block_rows: int = BLOCK_ROWS, **kwargs: Any) -> None:
        super().__init__(paths, **kwargs)
        self.block_rows = block_rows

    def _read_stream(self, f: pa.NativeFile, path: str) -> Iterator[Block]:
        yield from lines_tables(f, path, self.block_rows)


def read_lines(paths: str | Path | Sequence[str | Path], block_rows: int = BLOCK_ROWS,
               **read_args: Any) -> ray.data.Dataset:
    """A dataset of LINES rows, one per record of the JSON Lines files (or folders, or URIs) at `paths`. Each file is
    read by one task, in order; `read_args` go to `ray.data.read_datasource`."""
    named = [paths] if isinstance(paths, (str, Path)) else paths
    lines: ray.data.Dataset = ray.data.read_datasource(JsonLines([located(p) for p in named], block_rows), **read_args)
    return lines


class ConvertSink(Datasink[ConvertReport]):
    """Writes what `convert_lines` made: rows to `output` and rejects to `rejects` (default OUTPUT.rejects), a folder
    each of JSON Lines part files (the CLI's lines, byte for byte); `report` adds up the batches' counts.

    A folder that holds files is refused (two runs' parts would mix); a part appears whole or not at all, and a failed
    run removes the parts it wrote."""

    def __init__(self, output: str | Path, rejects: str | Path | None = None, *, target: str,
                 inputs: Sequence[str | Path] = ()) -> None:
        self.output = located(output)
        self.rejects = located(rejects) if rejects is not None else self.output.rstrip("/") + ".rejects"
        self.run = uuid.uuid4().hex[:12]
        self.report = ConvertReport([str(p) for p in inputs], self.output, self.rejects, target)
        for folder in (self.output, self.rejects):
            held = _listing(folder)
            if held is None or held:
                raise UsageError(f"{folder} exists and is not an empty folder; choose another output")

    def write(self, blocks: Iterable[Block], ctx: TaskContext) -> ConvertReport:
        report = ConvertReport([], "", "", self.report.target)
        rows: list[bytes] = []
        rejects: list[bytes] = []
        for block in blocks:
            table = BlockAccessor.for_block(block).to_arrow()
            for kind, data in zip(table.column("kind").to_pylist(), table.column("data").to_pylist()):
                if kind == ROW:
                    rows.append(data)
                elif kind == REJECT:
                    rejects.append(data)
                elif kind == REPORT:
                    merge_reports([data], report)
        name = f"part-{self.run}-{ctx.task_idx:06}.jsonl"
        for folder, lines in ((self.output, rows), (self.rejects, rejects)):
            if lines:
                _write_whole(folder, name, b"".join(line + b"\n" for line in lines))
        return report

    def on_write_complete(self, write_result: WriteResult[ConvertReport]) -> None:
        for part in write_result.write_returns:
            self.report.merge(part)
            self.report.formats.update(part.formats)

    def on_write_failed(self, error: Exception) -> None:
        for folder in (self.output, self.rejects):
            fs, _ = _filesystem(folder)
            for info in _listing(folder) or []:
                if info.base_name.startswith((f"part-{self.run}-", f".part-{self.run}-")):
                    fs.delete_file(info.path)


def _filesystem(uri: str) -> tuple[Any, str]:
    from pyarrow import fs

    system, where = fs.FileSystem.from_uri(uri if "://" in uri else Path(uri).as_uri())
    return system, str(where)


def _listing(folder: str) -> list[Any] | None:
    """What the folder holds ([] when it does not exist); None when it is a file."""
    from pyarrow import fs

    system, where = _filesystem(folder)
    kind = system.get_file_info(where).type
    if kind == fs.FileType.NotFound:
        return []
    if kind != fs.FileType.Directory:
        return None
    return list(system.get_file_info(fs.FileSelector(where)))


def _write_whole(folder: str, name: str, data: bytes) -> None:
    """Write a part as a hidden temp file, then move it to its name: readers never see half a part."""
    fs, where = _filesystem(folder)
    fs.create_dir(where, recursive=True)
    temp = f"{where}/.{name}.tmp"
    with fs.open_output_stream(temp) as f:
        f.write(data)
    fs.move(temp, f"{where}/{name}")


def _source(files: Sequence[str | Path], fmt: str | None) -> tuple[dict[str, str], dict[str, FileReport]]:
    """Each local JSON Lines file's format, given or detected from its first records as the CLI does it, and a
    report for each file (with `error` set where it cannot be read)."""
    sources, reports = {}, {}
    for f in files:
        path = located(f)
        report = reports[path] = FileReport(str(f))
        try:
            if Path(path).suffix.lower() in NOT_LINES:
                raise UnreadableFile(f"{f}: the Ray path reads JSON Lines (.jsonl, .ndjson); turn it into JSON Lines "
                                     f"first (ftdata convert {f} --to <its format> -o <name>.jsonl)")
            chosen, votes, items = open_items(Path(path), fmt)
            items.close()
        except UnreadableFile as err:
            report.error = str(err)
            continue
        except (UnicodeDecodeError, OSError) as err:
            report.error = f"{f}: cannot read: {err}"
            continue
        report.format, report.votes, report.how = chosen.name, votes, "detected" if fmt is None else "given"
        sources[path] = chosen.name
    return sources, reports


def _payloads(shards: ray.data.Dataset) -> Iterator[bytes]:
    for row in shards.iter_rows():
        if row["kind"] == REPORT:
            yield row["data"]


def convert(files: Sequence[str | Path], target: str, output: str | Path, rejects: str | Path | None = None, *,
            source: str | None = None, media_dir: str | Path | None = None, reasoning: ReasoningPolicy = "think",
            allow_outside: bool = False, block_rows: int = BLOCK_ROWS, **map_args: Any) -> ConvertReport:
    """`ftdata convert` on Ray: rows to the folder `output`, rejects to `rejects` (see `ConvertSink`); counts as the
    CLI's. Without `source`, each local file's format is detected as the CLI does; with it, `files` may be anything
    Ray reads (folders, s3://..., .jsonl.gz). `map_args` go to `map_batches` (batch_size, concurrency, num_cpus)."""
    if target not in TARGETS:
        raise UsageError(f"unknown target '{target}'{did_you_mean(target, TARGETS)}; choose one of {', '.join(TARGETS)}")
    if not files:
        raise UsageError("no input files")
    formats: Source
    if source is None:
        formats, reports = _source(files, None)
        bad = [r.error for r in reports.values() if r.error]
        if bad:
            raise UnreadableFile(bad[0])
    else:
        try:
            formats = get_format(source).name
        except KeyError as err:
            raise UsageError(str(err.args[0])) from None
    sink = ConvertSink(output, rejects, target=target, inputs=files)
    work = partial(convert_lines, source=formats, target=target, reasoning=reasoning, media_dir=media_dir,
                   allow_outside=allow_outside, label=len(files) > 1)
    read_lines(files, block_rows).map_batches(work, batch_format="pyarrow", **map_args).write_datasink(sink)
    return sink.report


def validate(files: Sequence[str | Path], fmt: str | None = None, media_dir: str | Path | None = None,
             allow_outside: bool = False, block_rows: int = BLOCK_ROWS, **map_args: Any) -> list[FileReport]:
    """`ftdata validate` on Ray over local JSON Lines files: one report per file, as the CLI's."""
    sources, reports = _source(files, fmt)
    if sources:
        work = partial(validate_lines, source=sources, media_dir=media_dir, allow_outside=allow_outside)
        shards = read_lines(list(sources), block_rows).map_batches(work, batch_format="pyarrow", **map_args)
        for path, found in merge_validation(_payloads(shards)).items():
            report = reports[path]
            report.records, report.valid, report.invalid = found.records, found.valid, found.invalid
            report.warnings, report.problems = found.warnings, found.problems
    return list(reports.values())


def stats(files: Sequence[str | Path], fmt: str | None = None, tokenizer: str | None = None,
          max_length: int | None = None, block_rows: int = BLOCK_ROWS, **map_args: Any) -> Stats:
    """`ftdata stats` on Ray over local JSON Lines files: per-batch stats merged (`Stats.merge`); `tokenizer`:
    'tiny' or a tokenizer folder every worker can read."""
    sources, reports = _source(files, fmt)
    bad = [r.error for r in reports.values() if r.error]
    if bad:
        raise UnreadableFile(bad[0])
    work = partial(stats_lines, source=sources, tokenizer=tokenizer, max_length=max_length)
    shards = read_lines(list(sources), block_rows).map_batches(work, batch_format="pyarrow", **map_args)
    return merge_stats(_payloads(shards), [str(f) for f in files], max_length)


__all__ = ["ConvertSink", "JsonLines", "convert", "read_lines", "stats", "validate"]
