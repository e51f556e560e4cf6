"""`ftdata convert`: counts, rejects, atomic output, unrepresentable records, real samples field by field."""

import json
from pathlib import Path

import orjson
import pytest
from conftest import FIXTURES, fixture_files
from typer.testing import CliRunner

from ftdata.cli import app
from ftdata.ops.convert import convert_files

runner = CliRunner()
MIXED = [
    '{"conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "a1"}]}',
    '{"conversations": [{"from": "human", "value": "q2"}, {"from": "human", "value": "again"}]}',
    'not json at all \\u00ff',
    '[1, 2]',
    '{"conversations": [{"from": "human", "value": "q3"}, {"from": "function_call", "value": "{\\"name\\": \\"f\\", \\"arguments\\": {}}"}, {"from": "observation", "value": "r"}, {"from": "gpt", "value": "a3"}]}',
    '{"conversations": [{"from": "human", "value": "q4"}, {"from": "gpt", "value": "a4"}], "source": "kept"}',
]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join(MIXED) + "\n")
    return f


def read_jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_counts_hold_and_rejects_keep_the_original_records(mixed: Path) -> None:
    report = convert_files([mixed], "alpaca")
    out = mixed.with_name("mixed.alpaca.jsonl")
    assert report.output == str(out)
    assert (report.records, report.written, report.rejected) == (6, 2, 4)
    written = read_jsonl(out)
    assert written == [{"instruction": "q1", "output": "a1"}, {"instruction": "q4", "output": "a4", "meta": '{"source":"kept"}'}]
    rejects = read_jsonl(Path(report.rejects))
    assert [(r["line"], [e["code"] for e in r["errors"]]) for r in rejects] == [
        (2, ["role_order", "missing_assistant"]), (3, ["invalid_json"]), (4, ["not_an_object"]), (5, ["unrepresentable"] * 2)]
    assert rejects[0]["record"] == json.loads(MIXED[1])
    assert rejects[1]["record_text"] == MIXED[2]
    assert rejects[2]["record"] == [1, 2]
    assert rejects[3]["errors"][0]["path"] == "conversations[1].value"


def test_cli_exit_codes_and_summary(mixed: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", str(mixed), "--to", "sharegpt", "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1
    assert "records: 6  written: 3  rejected: 3" in result.output
    good = tmp_path / "good.jsonl"
    good.write_text(MIXED[0] + "\n")
    result = runner.invoke(app, ["convert", str(good), "--to", "openai"])
    assert result.exit_code == 0 and f"wrote {tmp_path / 'good.openai.jsonl'} (openai)" in result.output
    assert not (tmp_path / "good.openai.jsonl.rejects.jsonl").exists()
    result = runner.invoke(app, ["convert", str(good), "--to", "sharegpt", "-o", str(good)])
    assert result.exit_code == 2 and "is the input" in result.output
    result = runner.invoke(app, ["convert", str(good), "--to", "yaml"])
    assert result.exit_code == 2 and "unknown target 'yaml'" in result.output
    result = runner.invoke(app, ["convert", str(tmp_path / "missing.jsonl"), "--to", "alpaca"])
    assert result.exit_code == 2 and "no such file" in result.output


def test_json_array_output_and_dataset_info_entry(tmp_path: Path) -> None:
    src = FIXTURES / "llamafactory" / "dpo_en_demo.json"
    out = tmp_path / "prefs.json"
    report = convert_files([src], "sharegpt", out, name="prefs")
    data = json.loads(out.read_text())
    assert len(data) == report.written == 8 and data[0]["chosen"]["from"] == "gpt"
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    columns = {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}
    if any("system" in row for row in data):
        columns["system"] = "system"
    assert info["prefs"] == {"file_name": "prefs.json", "formatting": "sharegpt", "ranking": True, "columns": columns}


def test_failed_run_leaves_no_output_and_no_temp_files(mixed: Path, monkeypatch) -> None:
    from ftdata.engine.convert import Converter

    calls = {"n": 0}
    real = Converter.write_checked

    def boom(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(Converter, "write_checked", boom)
    with pytest.raises(KeyboardInterrupt):
        convert_files([mixed], "sharegpt")
    assert sorted(p.name for p in mixed.parent.iterdir()) == ["mixed.jsonl"]


@pytest.mark.parametrize("target,code", [("alpaca", "unrepresentable"), ("text", "unrepresentable")])
def test_unrepresentable_records_are_rejected_with_a_reason(tmp_path: Path, target: str, code: str) -> None:
    src = FIXTURES / "llamafactory" / "glaive_toolcall_en_demo.json"
    report = convert_files([src], target, tmp_path / f"o.{target}.jsonl")
    assert report.rejected == report.records - report.written > 0
    rejects = read_jsonl(Path(report.rejects))
    assert all(code in {e["code"] for e in r["errors"]} for r in rejects)
    assert all(e["message"] for r in rejects for e in r["errors"])


def test_reasoning_policies(tmp_path: Path) -> None:
    src = FIXTURES / "moss" / "moss_sample.jsonl"
    think = convert_files([src], "sharegpt", tmp_path / "t.jsonl")
    first = read_jsonl(tmp_path / "t.jsonl")[0]["conversations"][1]["value"]
    assert first.startswith("<think>\n这是一个基本的几何问题") and "\n</think>\n\n这个三角形" in first  # LLaMA-Factory's layout
    assert think.warnings["reasoning_embedded"] > 0 and think.rejected == 0
    drop = convert_files([src], "sharegpt", tmp_path / "d.jsonl", reasoning="drop")
    assert "<think>" not in (tmp_path / "d.jsonl").read_text() and drop.warnings["reasoning_dropped"] > 0
    reject = convert_files([src], "sharegpt", tmp_path / "r.jsonl", reasoning="reject")
    assert reject.written + reject.rejected == reject.records and reject.rejected > 0


def test_moss_to_sharegpt_field_by_field(tmp_path: Path) -> None:
    src = FIXTURES / "moss" / "moss_sample.jsonl"
    convert_files([src], "sharegpt", tmp_path / "m.jsonl", reasoning="drop")
    rows = read_jsonl(tmp_path / "m.jsonl")
    source = read_jsonl(src)
    assert rows[0]["system"] == source[0]["meta_instruction"]
    assert rows[0]["id"] == str(source[0]["conversation_id"])  # ids are written as strings (Arrow: one type)
    call_row = next(r for r in rows if any(m["from"] == "function_call" for m in r["conversations"]))
    roles = [m["from"] for m in call_row["conversations"]]
    i = roles.index("function_call")
    assert roles[i - 1: i + 3] == ["human", "function_call", "observation", "gpt"]
    call = json.loads(call_row["conversations"][i]["value"])
    assert set(call) == {"name", "arguments"} and call["name"] in {"Search", "Calculate"}


def test_every_written_record_validates(tmp_path: Path) -> None:
    from ftdata import validate_file

    for src in [FIXTURES / "moss" / "moss_sample.jsonl", FIXTURES / "firefly" / "dpo.jsonl",
                FIXTURES / "llamafactory" / "kto_en_demo.json", FIXTURES / "llamafactory" / "mllm_demo.json"]:
        for target in ("sharegpt", "openai", "trl", "canonical", "alpaca"):
            out = tmp_path / f"{src.stem}.{target}.jsonl"
            report = convert_files([src], target, out, media_dir=src.parent)
            if report.written:
                check = validate_file(out, media_dir=src.parent)
                assert (check.invalid, check.records) == (0, report.written), (src.name, target, check.problems[:3])


@pytest.mark.parametrize("target", ["openai", "sharegpt"])  # sharegpt: most rows are copied as they are
def test_parallel_convert_writes_the_same_files(tmp_path: Path, monkeypatch, target: str) -> None:
    import ftdata.ops.convert

    rows = []
    for i in range(300):
        if i % 29 == 0:
            rows.append('{"conversations": [{"from": "human", "value": "q"}')
        elif i % 31 == 0:
            rows.append("")
        else:
            user = "user" if i % 5 == 0 else "human"  # FastChat roles: rewritten, not copied
            rows.append(json.dumps({"conversations": [{"from": user, "value": f"q{i}"},
                                                      {"from": "gpt" if i % 37 else "human", "value": "a"}]})
                        + ("\r" if i % 7 == 0 else ""))  # a CRLF line: copied without its \r
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(rows) + "\n")
    one = convert_files([src], target, tmp_path / "one.jsonl", dataset_info=False)
    assert b"\r" not in (tmp_path / "one.jsonl").read_bytes()
    monkeypatch.setattr(ftdata.ops.convert, "PARALLEL_MIN_BYTES", 0)
    two = convert_files([src], target, tmp_path / "two.jsonl", dataset_info=False, workers=3)
    assert (two.records, two.written, two.rejected) == (one.records, one.written, one.rejected)
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert Path(two.rejects).read_bytes() == Path(one.rejects).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["in.jsonl", "one.jsonl", "one.jsonl.rejects.jsonl", "two.jsonl", "two.jsonl.rejects.jsonl"])


@pytest.mark.parametrize("target", ["sharegpt", "openai", "trl", "alpaca", "canonical", "text"])
def test_fast_path_writes_what_the_full_path_writes(tmp_path: Path, monkeypatch, target: str) -> None:
    """Every golden and fixture JSON Lines file, converted with and without the fast path (light records, as-is
    copies): the same rows (as JSON values), the same rejects, the same counts."""
    from ftdata.engine.convert import Lane

    sources = sorted(Path(__file__).parent.glob("data/*/*/*.jsonl")) + fixture_files("*.jsonl")
    golden = {src: src.parts[-3] if src.parent.name in ("valid", "invalid") else None for src in sources}
    fast = {src: convert_files([src], target, tmp_path / f"{i}.fast.jsonl", source=golden[src], dataset_info=False)
            for i, src in enumerate(sources)}
    monkeypatch.setattr(Lane, "between", staticmethod(lambda *args, **kwargs: None))  # every row: the full lane
    for i, src in enumerate(sources):
        full = convert_files([src], target, tmp_path / f"{i}.full.jsonl", source=golden[src], dataset_info=False)
        one = fast[src]
        assert (one.records, one.written, one.rejected, one.kinds, one.keys) == (
            full.records, full.written, full.rejected, full.kinds, full.keys), src
        assert Path(one.output).exists() == Path(full.output).exists() == (full.written > 0), src  # no row: no OUT
        if full.written:
            assert read_jsonl(Path(one.output)) == read_jsonl(Path(full.output)), src
        if full.rejected:
            assert read_jsonl(Path(one.rejects)) == read_jsonl(Path(full.rejects)), src


def test_as_is_copies_drop_bom_and_crlf_and_progress_moves(tmp_path: Path) -> None:
    row = b'{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "id": "r7"}'
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join([row] * 9000) + b"\r\n")
    seen: list[int] = []
    report = convert_files([src], "sharegpt", tmp_path / "out.jsonl", dataset_info=False, progress=seen.append)
    assert (report.records, report.written) == (9000, 9000)
    assert (tmp_path / "out.jsonl").read_bytes() == (row + b"\n") * 9000  # byte for byte, LF, no BOM
    assert seen == [4096, 8192]  # the progress line moves on files the fast path takes whole


def test_a_forced_convert_that_writes_no_row_leaves_no_older_out(tmp_path: Path) -> None:
    """OUT is not created when no row is written; with --force an older OUT (another run's rows) is not left
    beside the new rejects file as if it were this run's output."""
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "r"}, {"role": "assistant", "content": "x"}]}) + "\n")
    out = tmp_path / "out.jsonl"
    out.write_text('{"instruction": "old", "output": "row"}\n')
    result = CliRunner().invoke(app, ["convert", str(src), "--to", "alpaca", "-o", str(out), "--force"])
    assert result.exit_code == 1 and "no row was written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl.rejects.jsonl"]
