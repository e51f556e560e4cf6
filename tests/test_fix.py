"""`ftdata fix`: each fix logged exactly, only meaning-preserving ones by default, structure changes on request,
nothing lost (records = written + rejected, rejects hold the original rows), the output validates, bad input
exits 2."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA, fixture_files
from typer.testing import CliRunner

from ftdata import validate_file
from ftdata.cli import app
from ftdata.formats import FORMATS
from ftdata.ops.fix import fix_files
from ftdata.ops.fixes import fix_row, fix_structure

runner = CliRunner()


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_roles_and_whitespace_are_fixed_and_logged_exactly(tmp_path: Path) -> None:
    src = write(tmp_path / "s.jsonl", [
        {"conversations": [{"from": "Human", "value": "  hi "}, {"from": " Function Call", "value": "{\"name\": \"f\"}"},
                           {"from": "observation", "value": "r"}, {"from": "GPT", "value": "hello\n"}]},
        {"conversations": [{"from": "wizard", "value": "a"}, {"from": "gpt", "value": "b"}]},
        {"conversations": [{"from": "human", "value": "ok"}, {"from": "gpt", "value": "fine"}], "id": 4}])
    report = fix_files([src], output=tmp_path / "o.jsonl")
    assert (report.records, report.written, report.rejected, report.rows_changed) == (3, 2, 1, 1)
    assert lines(tmp_path / "o.jsonl.changes.jsonl") == [
        {"index": 0, "line": 1, "path": "conversations[0].from", "code": "role_name", "before": "Human", "after": "human"},
        {"index": 0, "line": 1, "path": "conversations[1].from", "code": "role_name", "before": " Function Call",
         "after": "function_call"},
        {"index": 0, "line": 1, "path": "conversations[3].from", "code": "role_name", "before": "GPT", "after": "gpt"},
        {"index": 0, "line": 1, "path": "conversations[0].value", "code": "whitespace", "before": "  hi ", "after": "hi"},
        {"index": 0, "line": 1, "path": "conversations[3].value", "code": "whitespace", "before": "hello\n",
         "after": "hello"}]
    written = lines(tmp_path / "o.jsonl")
    assert written[1] == {"conversations": [{"from": "human", "value": "ok"}, {"from": "gpt", "value": "fine"}], "id": 4}
    (reject,) = lines(tmp_path / "o.jsonl.rejects.jsonl")
    assert reject["record"]["conversations"][0]["from"] == "wizard" and reject["errors"][0]["code"] == "unknown_role"
    assert validate_file(tmp_path / "o.jsonl").invalid == 0


def test_double_encoded_arguments_and_moss_placeholders(tmp_path: Path) -> None:
    report = fix_files([DATA / "openai" / "valid" / "double_encoded.jsonl"], output=tmp_path / "o.jsonl")
    (change,) = lines(tmp_path / "o.jsonl.changes.jsonl")
    assert (change["path"], change["code"], change["before"]["arguments"], change["after"]["arguments"]) == (
        "messages[1].tool_calls[0].function", "double_encoded", '"{\\"x\\": 1}"', '{"x": 1}')
    assert report.written == 1 and validate_file(tmp_path / "o.jsonl").problems == []
    fix_files([DATA / "moss" / "valid" / "odd_variants.jsonl"], output=tmp_path / "m.jsonl")
    assert lines(tmp_path / "m.jsonl.changes.jsonl") == [
        {"index": 0, "line": 1, "path": "chat.turn_1.Commands", "code": "placeholder",
         "before": "<|Commands|>: None.<eoc>\n", "after": "<|Commands|>: None<eoc>\n"}]
    codes = [p.code for p in validate_file(tmp_path / "m.jsonl").problems]
    assert "odd_placeholder" in codes and codes.count("odd_placeholder") == 1  # the kept 'None' tool result stays


def test_blocks_and_parts_keep_their_inner_spaces_and_trl_strings_are_left_alone() -> None:
    v1 = {"messages": [{"role": "user", "content": [{"type": "text", "value": " It is "}, {"type": "text", "value": "18C. "}]},
                       {"role": "assistant", "content": [{"type": "text", "value": "ok"}]}]}
    row, changes = fix_row(v1, FORMATS["llamafactory-v1"])
    assert [b["value"] for b in row["messages"][0]["content"]] == ["It is ", "18C."]
    assert [c.path for c in changes] == ["messages[0].content[0].value", "messages[0].content[1].value"]
    assert v1["messages"][0]["content"][0]["value"] == " It is "  # the input is not changed
    trl = {"prompt": "The sky is", "completion": " blue."}
    assert fix_row(trl, FORMATS["trl"]) == (trl, [])
    alpaca = {"instruction": " q", "input": "x ", "output": "a", "history": [[" h", "a "]]}
    row, changes = fix_row(alpaca, FORMATS["alpaca"])
    assert row == {"instruction": "q", "input": "x", "output": "a", "history": [["h", "a"]]} and len(changes) == 4


def test_structure_fixes_only_on_request(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": " "},
                          {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]},
            {"messages": [{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]}]}]
    row = json.loads(json.dumps(rows[0]))
    changes = fix_structure(row, FORMATS["openai"], drop_empty=True, merge=True)
    assert [(c.path, c.code) for c in changes] == [("messages[1]", "drop_empty"), ("messages[2]", "merge_consecutive")]
    assert row["messages"] == [{"role": "user", "content": "a\nb"}, {"role": "assistant", "content": "c"}]
    tool_only = json.loads(json.dumps(rows[1]))
    assert fix_structure(tool_only, FORMATS["openai"], True, True) == [] and tool_only == rows[1]
    src = write(tmp_path / "a.jsonl", rows[:1])
    assert fix_files([src], output=tmp_path / "plain.jsonl").rejected == 1  # empty content stays an error
    report = fix_files([src], output=tmp_path / "s.jsonl", drop_empty=True, merge_consecutive=True)
    assert report.written == 1 and validate_file(tmp_path / "s.jsonl").invalid == 0


def test_to_another_format_and_several_inputs(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", [{"conversations": [{"from": "Human", "value": "q"}, {"from": "gpt", "value": "a"}]}])
    b = write(tmp_path / "b.jsonl", [{"messages": [{"role": "User", "content": "q2"}, {"role": "assistant", "content": "a2"}]}])
    report = fix_files([a, b], target="alpaca", output=tmp_path / "o.jsonl")
    assert lines(tmp_path / "o.jsonl") == [{"instruction": "q", "output": "a"}, {"instruction": "q2", "output": "a2"}]
    assert [(c["file"], c["path"]) for c in lines(tmp_path / "o.jsonl.changes.jsonl")] == [
        (str(a), "conversations[0].from"), (str(b), "messages[0].role")]
    assert report.records == report.written + report.rejected == 2


def test_cli_summary_and_bad_input(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "sharegpt" / "invalid" / "unknown_role.jsonl", tmp_path / "u.jsonl")
    result = runner.invoke(app, ["fix", "u.jsonl"])
    assert result.exit_code == 0, result.output
    assert result.output == ("read u.jsonl as sharegpt\n"
                             "records: 1  written: 1  rejected: 0  rows changed: 1\n"
                             "wrote u.fixed.jsonl (sharegpt)\n"
                             "changes in u.fixed.jsonl.changes.jsonl: role_name 1\n"
                             "dataset_info: entry 'u.fixed' in dataset_info.json\n")
    for args, message in ((["nope.jsonl"], "Error: nope.jsonl: no such file"),
                          (["u.jsonl"], "Error: u.fixed.jsonl exists; pass --force to replace it, or choose another -o"),
                          (["u.jsonl", "-o", "u.jsonl"], "Error: u.jsonl is the input u.jsonl (the same file); choose another -o"),
                          (["u.jsonl", "--to", "bogus", "-o", "x.jsonl"], "Error: unknown target 'bogus'")):
        result = runner.invoke(app, ["fix", *args])
        assert result.exit_code == 2 and result.output.startswith(message), result.output
    assert not (tmp_path / "x.jsonl").exists()


def test_fix_never_makes_a_valid_row_invalid(tmp_path: Path, monkeypatch) -> None:
    """Every golden and fixture file: no row that validates is rejected after fixing (and the output validates)."""

    files = sorted(DATA.glob("*/*/*.jsonl")) + fixture_files("*.json*")
    for i, src in enumerate(files):
        if src.suffix not in (".jsonl", ".json") or src.name == "dataset_info.json":
            continue
        before = validate_file(src)
        out = tmp_path / f"{i}.jsonl"
        report = fix_files([src], output=out, force=True)
        assert report.rejected <= before.invalid, src
        assert validate_file(out, media_dir=src.parent).invalid == 0, src


def test_a_fix_that_would_break_a_row_is_not_applied(tmp_path: Path, monkeypatch) -> None:
    import ftdata.ops.fix as fix_module
    from ftdata.ops.fixes import Change

    def breaking(raw, fmt):
        return {**raw, "conversations": []}, [Change("conversations", "whitespace", "x", "y")]

    monkeypatch.setattr(fix_module, "fix_row", breaking)
    row = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    report = fix_files([write(tmp_path / "a.jsonl", [row])], output=tmp_path / "o.jsonl")
    assert (report.written, report.unfixed, dict(report.changes)) == (1, 1, {})
    assert lines(tmp_path / "o.jsonl") == [row] and not (tmp_path / "o.jsonl.changes.jsonl").exists()


def test_rows_that_are_not_objects_are_rejected_with_their_reason(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    good = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}
    src.write_text("\n".join([json.dumps(good), "null", "3", "[1, 2]", "{broken"]) + "\n")
    report = fix_files([src])
    assert (report.records, report.written, report.rejected) == (5, 1, 4)
    assert report.reject_codes == {"not_an_object": 3, "invalid_json": 1}
    rejects = [json.loads(line) for line in Path(report.rejects).read_text().splitlines()]
    assert [r["errors"][0]["code"] for r in rejects] == ["not_an_object"] * 3 + ["invalid_json"]


@pytest.mark.parametrize("command", ["fix", "dedup"])
def test_the_output_entry_reads_back_every_field(tmp_path: Path, monkeypatch, command: str) -> None:
    """fix and dedup write OUT's dataset_info.json entry as convert does, from what they wrote: rows kept in their
    own format keep fields our writers never write (alpaca `input`), and the entry must map them (LLaMA-Factory
    sets every column an entry does not list to None)."""
    from ftdata import api

    monkeypatch.chdir(tmp_path)
    rows = [{"instruction": " Translate ", "input": "Good morning", "output": "Bonjour", "system": "Be terse."},
            {"instruction": "Add", "input": "2 and 2", "output": "4"}]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    result = runner.invoke(app, [command, "a.json", "-o", "out.jsonl"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("dataset_info: entry 'out' in dataset_info.json\n")
    entry = json.loads((tmp_path / "dataset_info.json").read_text())["out"]
    assert entry["columns"]["query"] == "input" and entry["columns"]["system"] == "system"
    (ds,) = api.open_datasets(tmp_path / "dataset_info.json")
    prompts = [item.record.messages[-2].content for item in ds.checked]
    assert prompts[1] == "Add\n2 and 2" and prompts[0].endswith("Good morning")
