"""dataset_info.json: LLaMA-Factory's column/tag rules without its traps; entries we write read back the same."""

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from ftdata.api import open_datasets
from ftdata.cli import app
from ftdata.descriptors.llamafactory import read_descriptor
from ftdata.formats import get_format
from ftdata.ops.convert import convert_files
from ftdata.ops.validate import validate_descriptor

runner = CliRunner()


def write_info(tmp_path: Path, entries: dict, rows: list | None = None, name: str = "d.json") -> Path:
    if rows is not None:
        (tmp_path / name).write_text(json.dumps(rows))
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps(entries))
    return info


def records_of(info: Path, name: str) -> list:
    (dataset,) = open_datasets(info, [name])
    return list(dataset.checked)


def test_unknown_keys_columns_and_tags_are_errors_naming_them(tmp_path: Path) -> None:
    info = write_info(tmp_path, {
        "a": {"file_name": "d.json", "formating": "sharegpt"},
        "b": {"file_name": "d.json", "columns": {"prompt": "q", "answer": "a"}},
        "c": {"file_name": "d.json", "formatting": "sharegpt", "tags": {"role": "from"}},
        "d": {"formatting": "sharegpt"},
    })
    _, problems = read_descriptor(info)
    assert [(p.path, p.code) for p in problems] == [
        ("a.formating", "unknown_field"), ("b.columns.answer", "unknown_field"), ("c.tags.role", "unknown_field"),
        ("d", "missing_field")]
    assert "did you mean 'formatting'?" in problems[0].message


def test_tags_map_roles_and_paths_come_back_in_the_entry_names(tmp_path: Path) -> None:
    rows = [{"msgs": [{"r": "u", "c": "hi"}, {"r": "a", "c": "hello"}], "label": True},
            {"msgs": [{"r": "u", "c": "hi"}, {"r": "u", "c": "again"}], "label": False}]
    info = write_info(tmp_path, {"kto": {"file_name": "d.json", "formatting": "sharegpt",
                                         "columns": {"messages": "msgs", "kto_tag": "label"},
                                         "tags": {"role_tag": "r", "content_tag": "c", "user_tag": "u", "assistant_tag": "a"}}}, rows)
    first, second = records_of(info, "kto")
    assert first.record.to_json() == {"messages": [{"role": "user", "content": "hi"}],
                                      "completion": [{"role": "assistant", "content": "hello"}], "label": True}
    assert [(p.path, p.code) for p in second.problems] == [("msgs[1].r", "role_order"), ("msgs[1].r", "missing_assistant")]


def test_optional_mapped_columns_may_be_absent_or_null_required_ones_may_not(tmp_path: Path) -> None:
    """LLaMA-Factory and Arrow read a missing optional column as empty: so do we. The columns every row needs
    (prompt and response, messages, chosen/rejected, kto_tag) stay errors, named in the entry's own words."""
    rows = [{"q": "a", "a": "b", "sys": "s", "h": [["q0", "a0"]]}, {"q": "c", "a": "d"}, {"q": "e", "a": "f", "sys": None,
                                                                                        "h": None}, {"q": "g"}]
    info = write_info(tmp_path, {"x": {"file_name": "d.json", "columns": {"prompt": "q", "response": "a", "system": "sys",
                                                                          "history": "h"}}}, rows)
    ok, no_system, nulls, no_answer = records_of(info, "x")
    assert ok.valid and ok.record.messages[0].content == "s" and len(ok.record.messages) == 5
    assert no_system.valid and [m.role for m in no_system.record.messages] == ["user", "assistant"]
    assert nulls.valid and [m.role for m in nulls.record.messages] == ["user", "assistant"]
    assert [(p.path, p.code) for p in no_answer.problems] == [("a", "missing_field")] and not no_answer.valid


def test_unlisted_columns_keep_their_default_names_instead_of_vanishing(tmp_path: Path) -> None:
    """LLaMA-Factory drops `system` when `columns` does not list it; we read it."""
    rows = [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "system": "S"}]
    info = write_info(tmp_path, {"x": {"file_name": "d.json", "formatting": "sharegpt", "columns": {"messages": "conversations"}}}, rows)
    assert records_of(info, "x")[0].record.messages[0].content == "S"


def test_hub_entries_are_skipped_with_a_reason_and_num_samples_takes_the_first(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{i}", "output": "a"} for i in range(5)]
    info = write_info(tmp_path, {"hub": {"hf_hub_url": "org/data"}, "local": {"file_name": "d.json", "num_samples": 3}}, rows)
    reports = validate_descriptor(info)
    assert reports[1].skipped == "hf_hub_url entry: not loadable here (offline, local files only)"
    assert (reports[2].records, reports[2].valid) == (3, 3)
    result = runner.invoke(app, ["validate", str(info)])
    assert result.exit_code == 0 and "skipped: hf_hub_url entry" in result.output


def test_entry_with_a_folder_of_files(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(2):
        (folder / f"p{i}.jsonl").write_text(json.dumps({"text": f"doc {i}"}) + "\n")
    info = write_info(tmp_path, {"pt": {"file_name": "parts", "columns": {"prompt": "text"}}})
    assert [r.record.text for r in records_of(info, "pt")] == ["doc 0", "doc 1"]


@pytest.mark.parametrize("target", ["sharegpt", "alpaca", "openai", "text"])
def test_entries_we_write_read_back_the_same_records(tmp_path: Path, target: str) -> None:
    src = {"sharegpt": FIXTURES / "llamafactory" / "glaive_toolcall_en_demo.json",
           "alpaca": FIXTURES / "llamafactory" / "alpaca_en_demo.json",
           "openai": FIXTURES / "firefly" / "sft.jsonl",
           "text": FIXTURES / "llamafactory" / "c4_demo.jsonl"}[target]
    report = convert_files([src], target, tmp_path / f"out.{target}.jsonl", name="mine")
    assert report.dataset_info == str(tmp_path / "dataset_info.json") and report.rejected == 0
    direct = [get_format(report.formats[str(src)]).to_canonical(r).record.to_json() for r in _rows(src)]
    via_info = [c.record.to_json() for c in records_of(tmp_path / "dataset_info.json", "mine")]
    assert via_info == [{**d, "id": str(d["id"])} if "id" in d else d for d in direct]  # ids are written as strings


def _rows(path: Path) -> list:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines()]


def test_llamafactory_dataset_info_reads_like_llamafactory(upstream) -> None:
    lf = upstream / "llamafactory"
    reports = {r.path.split("#")[-1]: r for r in validate_descriptor(lf / "dataset_info.json")}
    assert reports[str(lf / "dataset_info.json")].invalid == 0
    for name, entry in json.loads((lf / "dataset_info.json").read_text()).items():
        if "file_name" not in entry:
            assert reports[name].skipped
            continue
        rows = _rows(lf / entry["file_name"]) if entry["file_name"].endswith(("json", "jsonl")) else \
            (lf / entry["file_name"]).read_text().splitlines()
        assert reports[name].records == len(rows), name
    kto = records_of(lf / "dataset_info.json", "kto_en_demo")
    raw = json.loads((lf / "kto_en_demo.json").read_text())
    assert [c.record.label for c in kto] == [r["label"] for r in raw]
    assert kto[0].record.completion[0].content == raw[0]["messages"][-1]["content"]
    mllm = records_of(lf / "dataset_info.json", "mllm_demo")
    assert mllm[0].record.images == ["mllm_demo_data/1.jpg", "mllm_demo_data/1.jpg"] and all(c.valid for c in mllm)
