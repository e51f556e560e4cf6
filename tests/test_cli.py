"""The `ftdata` CLI through typer's CliRunner (exact output and exit codes) and one real subprocess."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DATA, FIXTURES
from ftdata.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_valid_file_exits_0() -> None:
    result = run("validate", str(FIXTURES / "firefly" / "sft.jsonl"))
    assert result.exit_code == 0, result.output
    assert "format: firefly (detected)  records: 12  valid: 12  invalid: 0" in result.output


def test_invalid_records_exit_1_with_located_messages() -> None:
    path = DATA / "sharegpt" / "invalid" / "unknown_role.jsonl"
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert f"{path}:1 conversations[0].from: unknown role 'Human'; did you mean 'human'?" in result.output
    assert "Traceback" not in result.output


def test_missing_file_exits_2_with_one_line() -> None:
    result = run("validate", "nope.jsonl")
    assert result.exit_code == 2
    assert result.output.strip() == "Error: nope.jsonl: no such file"


def test_unknown_format_and_undetectable_file_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_text('{"foo": 1}\n')
    result = run("validate", str(f))
    assert result.exit_code == 2 and "cannot tell the format" in result.output
    result = run("validate", str(f), "--format", "bogus")
    assert result.exit_code == 2 and "unknown format 'bogus'" in result.output


def test_not_json_file_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text("this is not json")
    result = run("validate", str(f))
    assert result.exit_code == 2 and result.output.startswith("Error: ") and "not valid JSON" in result.output


def test_format_override_and_mixed_file(tmp_path: Path) -> None:
    path = DATA / "alpaca" / "invalid" / "mixed_format.jsonl"
    result = run("validate", str(path), "--format", "sharegpt")
    assert result.exit_code == 1 and "format: sharegpt (given)" in result.output
    assert f"{path}:1: this record looks like alpaca" in result.output


def test_json_output_is_one_object_with_all_errors(tmp_path: Path) -> None:
    f = tmp_path / "many.jsonl"
    f.write_text("".join('{"instruction": "q"}\n' for _ in range(30)) + '{"instruction": "q", "output": "a"}\n')
    result = run("validate", str(f), "--json", "--max-errors", "1")
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert (payload["records"], payload["valid"], payload["invalid"]) == (31, 1, 30)
    file = payload["files"][0]
    assert file["format"] == "alpaca" and len(file["errors"]) == 30
    assert file["errors"][0] == {"index": 0, "line": 1, "path": "output", "code": "missing_field",
                                 "message": "required field 'output' is missing; add the answer", "severity": "error"}


def test_max_errors_caps_text_output(tmp_path: Path) -> None:
    f = tmp_path / "many.jsonl"
    f.write_text("".join('{"instruction": "q"}\n' for _ in range(10)))
    result = run("validate", str(f), "--max-errors", "2")
    assert result.output.count("missing_field]") == 2 and "... 8 more" in result.output


def test_formats_lists_every_format() -> None:
    from ftdata.formats import FORMATS

    result = run("formats")
    assert result.exit_code == 0
    for name in FORMATS:
        assert f"{name}: " in result.output


def test_every_command_has_help_with_an_example() -> None:
    for name in (["validate"], ["convert"], ["formats"], ["stats"], ["schema", "export"]):
        result = run(*name, "--help")
        assert result.exit_code == 0 and "Example: ftdata" in result.output, name
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in ("validate", "convert", "formats", "stats", "schema export"):
        assert f"ftdata {name}" in readme, name


def test_csv_and_parquet_inputs(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text('instruction,input,output\n"Say hi",,"hi"\n"Add",1 2,\n')
    result = run("validate", str(csv), "--json")
    errors = json.loads(result.output)["files"][0]["errors"]
    assert result.exit_code == 1 and [(e["line"], e["path"], e["code"]) for e in errors] == [(3, "output", "missing_field")]
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pa.table({"conversations": [[{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]], "system": [None]})
    pq.write_table(table, tmp_path / "s.parquet")
    result = run("validate", str(tmp_path / "s.parquet"))
    assert result.exit_code == 0, result.output


def test_console_script_runs_as_a_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("ftdata", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("console script not installed in this environment")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "q"}]}\n[]\n')
    proc = subprocess.run([exe, "validate", str(bad), "--json"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr == ""
    codes = [e["code"] for e in json.loads(proc.stdout)["files"][0]["errors"]]
    assert codes == ["missing_assistant", "not_an_object"]


def test_stdin_and_stdout_compose_in_a_pipe(tmp_path: Path) -> None:
    exe = shutil.which("ftdata", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("console script not installed in this environment")
    rows = '{"instruction": "q", "output": "a"}\n{"instruction": "q"}\n'
    convert = subprocess.run([exe, "convert", "-", "--to", "openai", "-o", "-"], input=rows, capture_output=True,
                             text=True, cwd=tmp_path)
    assert convert.returncode == 1 and "records: 2  written: 1  rejected: 1" in convert.stderr
    assert [json.loads(line) for line in convert.stdout.splitlines()] == [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]
    assert json.loads((tmp_path / "ftdata.rejects.jsonl").read_text())["record"] == {"instruction": "q"}
    validate = subprocess.run([exe, "validate", "-", "--json"], input=convert.stdout, capture_output=True, text=True)
    assert validate.returncode == 0 and json.loads(validate.stdout)["valid"] == 1
    missing = subprocess.run([exe, "convert", "-", "--to", "openai"], input=rows, capture_output=True, text=True)
    assert missing.returncode == 2 and "reading stdin needs -o" in missing.stderr
