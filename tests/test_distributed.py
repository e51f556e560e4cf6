"""ftdata.engine.distributed on a local Ray instance (2 CPUs): convert, validate and stats give what `ftdata convert`,
`ftdata validate --json` and `ftdata stats --json` give on the same files."""

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from conftest import ROOT
from shard_inputs import moss_file, plain_file
from typer.testing import CliRunner

from ftdata.cli import app
from ftdata.io.readers import UnreadableFile, UsageError

ray = pytest.importorskip("ray")
fd = pytest.importorskip("ftdata.engine.distributed")
from ftdata.engine.shards import convert_lines  # noqa: E402  (needs pyarrow, which Ray brings)

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray's own, from its DataContext


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def part_lines(folder: Path) -> list[bytes]:
    return [line for part in sorted(folder.glob("*.jsonl")) for line in part.read_bytes().splitlines()]


def test_convert_gives_the_rows_rejects_and_counts_of_ftdata_convert(tmp_path: Path) -> None:
    files = [moss_file(tmp_path), plain_file(tmp_path)]
    cli_out = tmp_path / "cli.jsonl"
    result = runner.invoke(app, ["convert", *map(str, files), "--to", "sharegpt", "-o", str(cli_out),
                                 "--no-dataset-info", "--workers", "1"])
    assert result.exit_code == 1, result.output  # some rejected
    report = fd.convert(files, "sharegpt", tmp_path / "ray", batch_size=8, block_rows=16)
    assert Counter(part_lines(tmp_path / "ray")) == Counter(cli_out.read_bytes().splitlines())
    assert Counter(part_lines(tmp_path / "ray.rejects")) == Counter(
        (tmp_path / "cli.jsonl.rejects.jsonl").read_bytes().splitlines())
    assert f"records: {report.records}  written: {report.written}  rejected: {report.rejected}" in result.output
    codes = re.search(r"rejected 6 to \S+: (.*)", result.output)  # ties in any order
    assert codes and dict(re.findall(r"(\w+) \((\d+)\)", codes[1])) == {c: str(n) for c, n in
                                                                      report.reject_codes.items()}
    assert sorted(re.findall(r"warning: (\w+): (\d+)", result.output)) == sorted(
        (c, str(n)) for c, n in report.warnings.items())
    assert (report.records, report.written, report.rejected) == (62, 56, 6)
    assert report.formats == {str(files[0]): "moss", str(files[1]): "sharegpt"}
    assert not [p for p in (tmp_path / "ray").iterdir() if not p.name.startswith("part-")]  # no temp files left


def test_the_real_moss_003_sample_as_the_cli(tmp_path: Path, upstream: Path) -> None:
    """49 real rows whose ids are numbers in some and text in others: Ray's read_json stops on them."""
    sample = str(upstream / "moss" / "moss-003-sft-sample.jsonl")
    result = runner.invoke(app, ["validate", sample, "--json"])
    assert [r.to_dict() for r in fd.validate([sample])] == json.loads(result.output)["files"]
    report = fd.convert([sample], "sharegpt", tmp_path / "ray")
    runner.invoke(app, ["convert", sample, "--to", "sharegpt", "-o", str(tmp_path / "cli.jsonl"), "--no-dataset-info"])
    assert Counter(part_lines(tmp_path / "ray")) == Counter((tmp_path / "cli.jsonl").read_bytes().splitlines())
    cli_rejects = tmp_path / "cli.jsonl.rejects.jsonl"
    assert Counter(part_lines(tmp_path / "ray.rejects")) == Counter(
        cli_rejects.read_bytes().splitlines() if cli_rejects.exists() else [])
    assert report.records == 49 and report.written == len(part_lines(tmp_path / "ray"))


def test_convert_reads_what_ray_reads_when_the_format_is_given(tmp_path: Path) -> None:
    plain = plain_file(tmp_path)
    packed = tmp_path / "plain.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    report = fd.convert([packed], "openai", tmp_path / "ray", source="sharegpt")
    assert runner.invoke(app, ["convert", str(plain), "--to", "openai", "-o", str(tmp_path / "cli.jsonl"),
                               "--no-dataset-info"]).exit_code == 1
    assert sorted(part_lines(tmp_path / "ray")) == sorted((tmp_path / "cli.jsonl").read_bytes().splitlines())
    assert (report.written, report.rejected) == (37, 3)


def test_convert_refuses_what_it_would_mix_or_misread(tmp_path: Path) -> None:
    plain = plain_file(tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "part-old.jsonl").write_text("{}\n")
    with pytest.raises(UsageError, match="taken exists and is not an empty folder"):
        fd.convert([plain], "openai", tmp_path / "taken")
    with pytest.raises(UsageError, match="unknown target 'nope'"):
        fd.convert([plain], "nope", tmp_path / "out")
    array = tmp_path / "rows.json"
    array.write_text("[" + plain.read_text().splitlines()[0] + "]")
    with pytest.raises(UnreadableFile, match=r"rows.json: the Ray path reads JSON Lines \(.jsonl, .ndjson\)"):
        fd.convert([array], "openai", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_validate_gives_the_reports_of_ftdata_validate(tmp_path: Path) -> None:
    files = [str(moss_file(tmp_path)), str(plain_file(tmp_path)), str(tmp_path / "missing.jsonl")]
    result = runner.invoke(app, ["validate", *files, "--json"])
    assert result.exit_code == 2, result.output  # a file that cannot be read
    reports = fd.validate(files, batch_size=5, block_rows=7)
    assert [r.to_dict() for r in reports] == json.loads(result.output)["files"]
    assert [(r.records, r.invalid) for r in reports] == [(22, 3), (40, 3), (0, 0)]


def test_stats_merge_into_the_stats_of_ftdata_stats(tmp_path: Path) -> None:
    files = [str(moss_file(tmp_path)), str(plain_file(tmp_path))]
    result = runner.invoke(app, ["stats", *files, "--tokenizer", "tiny", "--max-length", "1024", "--json"])
    assert result.exit_code == 0, result.output
    merged = fd.stats(files, tokenizer="tiny", max_length=1024, batch_size=4, block_rows=9).summary()
    assert merged == json.loads(result.output)
    assert (merged["exact_duplicates"], merged["over_max_length"], merged["tokens"]["max"]) == (29, 16, 4665)


def test_a_failed_run_removes_its_parts(tmp_path: Path) -> None:
    rows = fd.read_lines(plain_file(tmp_path)).map_batches(convert_lines, batch_format="pyarrow",
                                                           fn_kwargs={"source": "sharegpt", "target": "openai"})
    sink = fd.ConvertSink(tmp_path / "out", target="openai")
    written = sink.write(rows.iter_batches(batch_format="pyarrow"), SimpleNamespace(task_idx=7))
    assert written.written == 37
    (tmp_path / "out" / "part-of-another-run.jsonl").write_text("{}\n")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "part-of-another-run.jsonl", f"part-{sink.run}-000007.jsonl"}
    sink.on_write_failed(RuntimeError("a later task failed"))
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["part-of-another-run.jsonl"]
    assert [p.name for p in (tmp_path / "out.rejects").iterdir()] == []


def test_a_failing_worker_fails_the_run_with_its_error(tmp_path: Path) -> None:
    def convert_or_fail(batch: Any) -> Any:
        if batch["index"][0].as_py() >= 20:
            raise RuntimeError("a worker fails")
        return convert_lines(batch, source="sharegpt", target="openai")

    rows = fd.read_lines(plain_file(tmp_path), block_rows=10).map_batches(convert_or_fail, batch_format="pyarrow",
                                                                          batch_size=10)
    with pytest.raises(Exception, match="a worker fails"):
        rows.write_datasink(fd.ConvertSink(tmp_path / "out", target="openai"))
    assert list((tmp_path / "out").glob("part-*")) == []


def test_the_docs_recipe_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    recipe = re.search(r"<!-- recipe: ray -->\n```python\n(.*?)```", (ROOT / "docs" / "library.md").read_text(), re.S)
    assert recipe
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    exec(compile(recipe[1], "docs/library.md", "exec"), {})
    assert capsys.readouterr().out == "20 20 0\n"
    assert len(part_lines(tmp_path / "out" / "moss.sharegpt")) == 20
