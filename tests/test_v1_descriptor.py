"""LLaMA-Factory v1 dataset YAMLs: `validate` checks the YAML and every local dataset it names (read the way each
v1 converter reads rows, its traps reported), `open_datasets` yields their records, bad YAMLs exit 2."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("yaml")

from ftdata import api  # noqa: E402
from ftdata.cli import app  # noqa: E402

runner = CliRunner()


def setup(tmp_path: Path, yaml_text: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.json").write_text(json.dumps([{"instruction": "Say ", "input": "hi", "output": "hi"},
                                             {"instruction": "q", "output": "a", "history": [["q0", "a0"]]}]))
    (data / "s.jsonl").write_text(
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}) + "\n"
        + json.dumps({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}],
                      "system": "s"}) + "\n"
        + json.dumps({"messages": [{"role": "wizard", "content": "q"}, {"role": "assistant", "content": "a"}]}) + "\n")
    (data / "p.jsonl").write_text(json.dumps({
        "chosen": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
        "rejected": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}]}) + "\n")
    (data / "v1.jsonl").write_text(json.dumps({"messages": [
        {"role": "user", "content": [{"type": "text", "value": "q"}]},
        {"role": "assistant", "content": [{"type": "text", "value": "a"}]}]}) + "\n")
    path = data / "v1.yaml"
    path.write_text(yaml_text)
    return path


GOOD = """\
alpaca_demo: {path: data/a.json, source: local, converter: alpaca, size: 1}
sharegpt_demo: {path: s.jsonl, source: local, converter: sharegpt}
pair_demo: {path: data/p.jsonl, source: local, converter: pair}
v1_rows: {path: data/v1.jsonl, source: local}
hub: {path: HuggingFaceH4/orca_dpo_pairs, split: train_prefs, converter: pair}
"""


def test_validate_reads_each_entry_as_its_converter_does(tmp_path: Path) -> None:
    path = setup(tmp_path, GOOD)
    reports = api.validate(path)
    got = {r.path.split("#")[-1]: (r.format, r.records, r.valid, r.skipped,
                                   [(p.line, p.path, p.code) for p in r.problems]) for r in reports[1:]}
    assert (reports[0].records, reports[0].invalid) == (5, 0)
    assert got == {
        "alpaca_demo": ("alpaca", 2, 1, None, [(1, "history", "invalid_value")]),
        "sharegpt_demo": ("sharegpt", 3, 1, None, [(2, "system", "invalid_value"),
                                                   (3, "messages[0].role", "unknown_role")]),
        "pair_demo": ("trl", 1, 1, None, []),
        "v1_rows": ("llamafactory-v1", 1, 1, None, []),
        "hub": ("trl", 0, 0, "hf_hub entry: not loadable here (offline, local files only)", []),
    }


def test_open_datasets_gives_records_as_v1_reads_them(tmp_path: Path) -> None:
    path = setup(tmp_path, GOOD)
    datasets = api.open_datasets(path)
    assert [d.name for d in datasets] == ["alpaca_demo", "sharegpt_demo", "pair_demo", "v1_rows"]
    first = next(datasets[0].checked)
    assert first.record.messages[0].content == "Say hi"  # v1 joins instruction and input without a separator
    pair = next(datasets[2].checked).record
    assert pair.kind == "preference" and (pair.chosen[0].content, pair.rejected[0].content) == ("4", "5")
    with pytest.raises(api.DescriptorError, match="entry 'hub': hf_hub entry"):
        api.open_datasets(path, names=["hub"])


@pytest.mark.parametrize("text,problem", [
    ("a: {path: x.json, source: local, converter: custom}\n", ("a.converter", "invalid_value")),
    ("a: {path: x.json, source: local, typo: 1}\n", ("a.typo", "unknown_field")),
    ("a: {path: x.json, source: local, size: 0}\n", ("a.size", "invalid_value")),
    ("a: {path: x.json, source: disk}\n", ("a.source", "invalid_value")),
    ("a: {source: local}\n", ("a.path", "missing_field")),
    ("a: {path: data/v1.jsonl, source: local, streaming: true}\nb: {path: data/v1.jsonl, source: local}\n",
     ("", "invalid_value")),
])
def test_yaml_problems_name_the_entry_and_key(tmp_path: Path, text: str, problem: tuple[str, str]) -> None:
    head = api.validate(setup(tmp_path, text))[0]
    assert [(p.path, p.code) for p in head.problems] == [problem]


@pytest.mark.parametrize("text,message", [
    ("a: [1, 2\n", "not valid YAML (line 2, column 1)"),
    ("- a\n- b\n", "a LLaMA-Factory v1 dataset YAML is a mapping of dataset names to entries"),
])
def test_unreadable_yaml_exits_2(tmp_path: Path, text: str, message: str) -> None:
    path = setup(tmp_path, text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_missing_file_is_an_error_of_its_entry(tmp_path: Path) -> None:
    path = setup(tmp_path, "gone: {path: data/nope.jsonl, source: local}\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "gone: data/nope.jsonl: no such file (looked in" in result.output


def test_the_upstream_v1_yamls_validate(upstream: Path) -> None:
    for name, records in (("v1_sft_demo.yaml", 6 + 6), ("v1_multimodal_demo.yaml", 24), ("v1_dpo_demo.yaml", 0)):
        reports = api.validate(upstream / "llamafactory" / name)
        assert all(r.error is None and r.invalid == 0 for r in reports), name
        assert sum(r.records for r in reports[1:]) == records, name
