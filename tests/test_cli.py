"""The `ftdata` CLI through typer's CliRunner (exact output and exit codes) and one real subprocess."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, FIXTURES
from typer.testing import CliRunner

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


def commands(typer_app, prefix=()) -> list[tuple[str, ...]]:
    """Every registered command path of a typer app, sub-apps included: [("validate",), ("schema", "export"), ...]."""
    out = [prefix + (c.name or c.callback.__name__,) for c in typer_app.registered_commands]
    for group in typer_app.registered_groups:
        out += commands(group.typer_instance, prefix + (group.name,))
    return out


def test_every_registered_command_has_help_with_an_example_and_a_docs_mention() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    pages = "\n".join(page.read_text() for page in sorted(docs.rglob("*.md")))
    found = commands(app)
    assert ("validate",) in found and ("schema", "export") in found
    for path in found:
        result = run(*path, "--help")
        assert result.exit_code == 0 and "Example: ftdata" in result.output, path
        assert f"ftdata {' '.join(path)}" in pages, path


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


@pytest.mark.parametrize("args,said", [(["validate", "--no-such-option", "x"], "No such option"),
                                       (["convert", "x.jsonl"], "Missing option"), (["nosuchcmd"], "No such command")])
def test_bad_arguments_are_usage_errors_not_internal_ones(args: list[str], said: str) -> None:
    """The console script (not CliRunner): the parser's message and exit 2, whichever click typer uses (typer >= 0.29
    vendors its own copy)."""
    exe = shutil.which("ftdata", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    assert proc.returncode == 2 and said in proc.stderr and "internal error" not in proc.stderr, proc.stderr


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


def test_validate_text_report_exactly(monkeypatch) -> None:
    monkeypatch.chdir(DATA.parent.parent)
    result = run("validate", "tests/data/sharegpt/invalid/two_humans.jsonl", "tests/data/moss/valid/odd_variants.jsonl")
    assert result.exit_code == 1
    # rich pads table rows to the terminal width (CliRunner: 80 columns)
    assert result.output.splitlines() == [
        "tests/data/sharegpt/invalid/two_humans.jsonl  format: sharegpt (detected)  records: 1  valid: 0  invalid: 1  "
        "warnings: 0  invalid records",
        "code        severity  count  meaning                                          ",
        "role_order  error     1      messages are not in the order the format requires",
        "  tests/data/sharegpt/invalid/two_humans.jsonl:1 conversations[1].from: expected 'gpt' or 'function_call' at "
        "this position, got 'human'; turns must alternate [role_order]",
        "tests/data/moss/valid/odd_variants.jsonl  format: moss (detected)  records: 3  valid: 3  invalid: 0  "
        "warnings: 4  ok",
        "code             severity  count  meaning                                       ",
        "odd_placeholder  warning   2      a MOSS field holds an unusual 'None' variant  ",
        "                                  (usable, but check the source)                ",
        "odd_commands     warning   1      MOSS Commands hold text besides the calls     ",
        "                                  (numbering, comments); the calls were read    ",
        "type_drift       warning   1      a field's type, or a free-form object's keys, ",
        "                                  differ between rows: Arrow-based loaders      ",
        "                                  (datasets, so LLaMA-Factory, axolotl, trl)    ",
        "                                  fail or add nulls                             ",
        "  tests/data/moss/valid/odd_variants.jsonl:1 chat.turn_1.Commands: 'None.' read as absent (the published data "
        "means None) [odd_placeholder]",
        "  tests/data/moss/valid/odd_variants.jsonl:2 chat.turn_1.Commands: text around the 1 command(s) ignored: "
        "'1. # current' [odd_commands]",
        "  tests/data/moss/valid/odd_variants.jsonl:3 chat.turn_1.Tool Responses: commands were issued but Tool "
        "Responses is None; kept as the tool result 'None' [odd_placeholder]",
        "  tests/data/moss/valid/odd_variants.jsonl:3 conversation_id: 'conversation_id' is integer (first: line 1), "
        "string (first: line 3): one Arrow column cannot hold integer and string: "
        "datasets.load_dataset (LLaMA-Factory, axolotl, trl) fails or converts the values; write one type in every "
        "row (`ftdata convert` does) [type_drift]",
        "total  files: 2  records: 4  valid: 3  invalid: 1",
    ]


def test_convert_summary_exactly(tmp_path: Path) -> None:
    src = tmp_path / "calls.jsonl"
    src.write_bytes((DATA / "convert" / "tool_calls.jsonl").read_bytes())
    result = run("convert", str(src), "--to", "alpaca")
    assert result.exit_code == 1
    assert result.output == (
        f"read {src} as sharegpt\n"
        "records: 2  written: 1  rejected: 1\n"
        f"wrote {tmp_path}/calls.alpaca.jsonl (alpaca)\n"
        f"rejected 1 to {tmp_path}/calls.alpaca.jsonl.rejects.jsonl: unrepresentable (1)\n"
        f"dataset_info: entry 'calls.alpaca' in {tmp_path}/dataset_info.json\n")
