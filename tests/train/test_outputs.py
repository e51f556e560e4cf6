"""fttrain's side of reliability round 3 (issue 25): `inspect --html` is an output like any other, and every YAML
fttrain reads goes through the one bounded loader. Each test failed on the code before the fix."""

import errno
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fttrain.cli import app

runner = CliRunner()
ROWS = "".join(json.dumps({"instruction": f"Say {w}.", "output": f"{w}!"}) + "\n" for w in "abcd")


def error_line(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    (tmp_path / "sft.jsonl").write_text(ROWS)
    (tmp_path / "dataset_info.json").write_text(json.dumps({"s": {"file_name": "sft.jsonl"}}))
    (tmp_path / "link.html").symlink_to("sft.jsonl")
    return tmp_path


@pytest.mark.parametrize("source, target", [("sft.jsonl", "sft.jsonl"), ("sft.jsonl", "link.html"),
                                            ("dataset_info.json", "sft.jsonl"),
                                            ("dataset_info.json", "dataset_info.json")])
def test_inspect_html_never_replaces_an_input(ds: Path, source: str, target: str) -> None:
    line = error_line(["inspect", str(ds / source), "--rows", "0", "--html", str(ds / target)])
    assert "is the input" in line
    assert (ds / "sft.jsonl").read_text() == ROWS and json.loads((ds / "dataset_info.json").read_text())


def test_inspect_html_into_proc_or_onto_a_full_disk_is_one_line(ds: Path, monkeypatch) -> None:
    assert "cannot" in error_line(["inspect", str(ds / "sft.jsonl"), "--rows", "0", "--html",
                                   "/proc/self/nope/view.html"])

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ftdata.io.staging.os.fsync", full)
    page = ds / "view.html"
    assert "No space left on device" in error_line(["inspect", str(ds / "sft.jsonl"), "--rows", "0", "--html",
                                                    str(page)])
    assert not page.exists() and not [p for p in ds.iterdir() if ".ftdata-" in p.name]


@pytest.mark.parametrize("text", ["lr: " + "[" * 50_000 + "]" * 50_000 + "\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(3_000)) + "  " * 3_000 + "v: 1\n",
                                  "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
                                      f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
                                      for p, c in zip("abcdefgh", "bcdefghi"))])
def test_a_hostile_run_config_or_dataset_yaml_is_one_line(ds: Path, text: str) -> None:
    config = ds / "run.yaml"
    config.write_text(text)
    line = error_line(["sft", str(ds / "sft.jsonl"), "--config", str(config), "--dry-run"])
    assert "nested too deeply" in line or "aliases are expanded" in line
    line = error_line(["sft", str(config), "--dry-run"])  # the same text as a v1 dataset YAML
    assert "nested too deeply" in line or "aliases are expanded" in line
