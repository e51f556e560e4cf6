"""LLaMA-Factory v1 rows: the upstream files (fixtures/upstream) validate and survive conversions; weights, media paths and
DPO prompts map as the module says."""

import json
from pathlib import Path

import pytest

from ftdata import validate_file
from ftdata.core.canonical import Record
from ftdata.formats import FORMATS, match
from ftdata.formats.write import Writing
from ftdata.ops.convert import convert_files

V1 = FORMATS["llamafactory-v1"]


def block(value: str, kind: str = "text") -> dict:
    return {"type": kind, "value": value}


@pytest.mark.parametrize("name,records", [("v1_sft_demo.jsonl", 10), ("v1_dpo_demo.jsonl", 10),
                                          ("v1_multimodal_demo.jsonl", 24), ("reason_tool_use_demo_50.jsonl", 8)])
def test_the_upstream_v1_files_validate(upstream: Path, name: str, records: int) -> None:
    report = validate_file(upstream / "llamafactory" / name)
    # two answers of LLaMA-Factory's reasoning demo carry the end of their reasoning: "...\n</think>\n\nI'm sorry"
    leaked = [(6, "messages[2].content"), (7, "messages[4].content")] if name.startswith("reason") else []
    assert [(p.line, p.path, p.code) for p in report.problems] == [(line, path, "reasoning_tags") for line, path in leaked]
    assert (report.format, report.records, report.valid) == ("llamafactory-v1", records, records - len(leaked))


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_v1_rows_survive_sharegpt_and_back_and_dpo_rows_v1_to_v1(upstream: Path, tmp_path: Path) -> None:
    src = upstream / "llamafactory" / "v1_sft_demo.jsonl"
    convert_files([src], "sharegpt", tmp_path / "a.jsonl", dataset_info=False)
    convert_files([tmp_path / "a.jsonl"], "llamafactory-v1", tmp_path / "b.jsonl", dataset_info=False)
    assert rows(tmp_path / "b.jsonl") == rows(src)
    dpo = upstream / "llamafactory" / "v1_dpo_demo.jsonl"
    convert_files([dpo], "llamafactory-v1", tmp_path / "d.jsonl", dataset_info=False)
    assert rows(tmp_path / "d.jsonl") == rows(dpo)


def test_the_v0_multimodal_demo_becomes_upstreams_v1_rows(upstream: Path, tmp_path: Path) -> None:
    """mllm_demo.json (v0, paths relative to data/) -> the blocks of v1_multimodal_demo.jsonl (paths from the root)."""
    report = convert_files([upstream / "llamafactory" / "mllm_demo.json"], "llamafactory-v1", tmp_path / "m.jsonl",
                           dataset_info=False)
    assert report.rejected == 0
    ours = [[(m["role"], m["content"]) for m in r["messages"]] for r in rows(tmp_path / "m.jsonl")]
    upstream = [[(m["role"], m["content"]) for m in r["messages"]] for r in rows(upstream / "llamafactory" / "v1_multimodal_demo.jsonl")]
    assert ours == upstream[:len(ours)]


def test_loss_weights_other_than_the_defaults_become_weights_and_back() -> None:
    row = {"messages": [{"role": "user", "content": [block("q")], "loss_weight": 1.0},
                        {"role": "assistant", "content": [block("a")], "loss_weight": 0.0},
                        {"role": "user", "content": [block("q2")]},
                        {"role": "assistant", "content": [block("a2")], "loss_weight": 1}]}
    record = V1.to_canonical(row).record
    assert [m.weight for m in record.messages] == [1, 0, None, None]
    w = Writing(record)
    written = V1.write(w)
    assert w.ok() and [m["loss_weight"] for m in written["messages"]] == [1.0, 0.0, 0.0, 1.0]
    assert V1.to_canonical(written).record == record


def test_media_paths_drop_and_regain_the_data_prefix() -> None:
    row = {"messages": [{"role": "user", "content": [block("data/x/1.jpg", "image_url"), block("Who?"),
                                                      block("https://e.com/v.mp4", "video_url")]},
                        {"role": "assistant", "content": [block("Me.")]}]}
    record = V1.to_canonical(row).record
    assert (record.messages[0].content, record.images, record.videos) == ("<image>Who?<video>", ["x/1.jpg"],
                                                                          ["https://e.com/v.mp4"])
    written = V1.write(Writing(record))
    assert written["messages"][0]["content"] == row["messages"][0]["content"]


def test_dpo_prompt_is_the_common_prefix_and_kto_is_refused() -> None:
    prompt = [{"role": "user", "content": [block("2+2?")]}]
    row = {"chosen_messages": prompt + [{"role": "assistant", "content": [block("4")]}],
           "rejected_messages": prompt + [{"role": "assistant", "content": [block("5")]}]}
    record = V1.to_canonical(row).record
    assert record.kind == "preference" and [m.content for m in record.messages] == ["2+2?"]
    assert (record.chosen[0].content, record.rejected[0].content) == ("4", "5")
    kto = Record.model_validate({"messages": [{"role": "user", "content": "q"}],
                                 "completion": [{"role": "assistant", "content": "a"}], "label": True})
    w = Writing(kto)
    V1.write(w)
    assert [(p.code, p.message) for p in w.problems] == [("unrepresentable", "LLaMA-Factory v1 has no KTO rows")]


def test_detection_tells_v1_from_openai_messages() -> None:
    assert match({"messages": [{"role": "user", "content": [block("q")]}]}) is V1
    assert match({"messages": [{"role": "user", "content": "q", "loss_weight": 0.0}]}) is V1
    assert match({"messages": [{"role": "user", "content": [{"type": "text", "text": "q"}]}]}).name == "openai"
