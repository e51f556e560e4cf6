"""`ftdata descriptor export/import`: a dataset_info.json as axolotl's datasets block (checked against its documented
keys: axolotl needs Python >= 3.12 and a CUDA stack), trl's dataset mixture (loaded with trl's own get_dataset) and
a LLaMA-Factory v1 YAML (read back by ftdata), and back again; entries a target cannot read are left out, with why."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

yaml = pytest.importorskip("yaml")

from ftdata import api  # noqa: E402
from ftdata.cli import app  # noqa: E402
from ftdata.descriptors.export import export  # noqa: E402
from ftdata.descriptors.imports import import_descriptor  # noqa: E402

runner = CliRunner()

# axolotl's documented dataset keys (src/axolotl/utils/schemas/datasets.py, docs/config.qmd; see the README)
AXOLOTL_SFT = {"path", "split", "type", "input_transform", "shards", "shards_idx", "preprocess_shards", "conversation",
               "chat_template", "chat_template_jinja", "data_files", "input_format", "name", "ds_type", "field",
               "field_human", "field_model", "field_messages", "field_tools", "field_thinking", "template_thinking_key",
               "message_property_mappings", "message_field_training", "message_field_training_detail",
               "split_thinking", "logprobs_field", "temperature", "roles_to_train", "train_on_eos", "train_on_eot",
               "roles", "drop_system_message", "trust_remote_code", "revision", "weight"}
AXOLOTL_DPO = {"path", "split", "type", "data_files", "revision", "field_messages", "field_chosen", "field_rejected",
               "message_property_mappings", "roles"}
AXOLOTL_USER_TYPE = {"system_prompt", "system_format", "field_system", "field_instruction", "field_input",
                     "field_output", "format", "no_input_format", "field_prompt", "field_chosen", "field_rejected",
                     "prompt_format", "chosen_format", "rejected_format"}
AXOLOTL_TYPES = {"alpaca", "chat_template", "completion", "chat_template.default"}
V1_KEYS = {"path", "source", "split", "converter", "size", "weight", "streaming"}


def rows(path: Path, items: list) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in items))


@pytest.fixture
def info(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    rows(d / "alpaca.jsonl", [{"instruction": "q", "input": "", "output": "a"}, {"instruction": "q2", "output": "a2"}])
    rows(d / "chat.jsonl", [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}])
    rows(d / "msgs.jsonl", [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}] * 3)
    rows(d / "text.jsonl", [{"text": "a document"}])
    rows(d / "dpo.jsonl", [{"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "gpt", "value": "a"},
                            "rejected": {"from": "gpt", "value": "b"}}])
    openai = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
              "system_tag": "system"}
    entries = {
        "alpaca": {"file_name": "alpaca.jsonl", "num_samples": 1},
        "chat": {"file_name": "chat.jsonl", "formatting": "sharegpt"},
        "msgs": {"file_name": "msgs.jsonl", "formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": openai},
        "text": {"file_name": "text.jsonl", "columns": {"prompt": "text"}},
        "dpo": {"file_name": "dpo.jsonl", "formatting": "sharegpt", "ranking": True},
        "hub": {"hf_hub_url": "llamafactory/lima", "ms_hub_url": "AI-ModelScope/LIMA"},
    }
    (d / "dataset_info.json").write_text(json.dumps(entries))
    return d / "dataset_info.json"


def test_trl_mixture_loads_with_trls_own_loader(info: Path, monkeypatch) -> None:
    from trl.scripts.utils import DatasetMixtureConfig, get_dataset

    result = export(info, "trl", info.parent, ["msgs", "chat", "alpaca"])
    assert result.document == {"datasets": [{"path": "json", "data_files": "msgs.jsonl", "split": "train"}]}
    assert result.refused == {
        "chat": "its rows are sharegpt rows, which trl does not read; ftdata convert chat.jsonl --to trl",
        "alpaca": "its rows are alpaca rows, which trl does not read; ftdata convert alpaca.jsonl --to trl"}
    monkeypatch.chdir(info.parent)  # trl resolves data_files against the folder it runs from
    loaded = get_dataset(DatasetMixtureConfig(**yaml.safe_load(yaml.safe_dump(result.document))))
    assert loaded["train"].num_rows == 3 and loaded["train"][0]["messages"][0] == {"role": "user", "content": "q"}


def test_axolotl_block_uses_only_documented_keys(info: Path) -> None:
    result = export(info, "axolotl", info.parent)
    assert set(result.refused) == set() and "rl" not in result.document
    by_path = {d["path"]: d for d in result.document["datasets"]}
    assert by_path["alpaca.jsonl"] == {"path": "alpaca.jsonl", "type": "alpaca"}
    assert by_path["chat.jsonl"]["field_messages"] == "conversations"
    assert by_path["chat.jsonl"]["message_property_mappings"] == {"role": "from", "content": "value"}
    assert by_path["text.jsonl"] == {"path": "text.jsonl", "type": "completion", "field": "text"}
    assert by_path["llamafactory/lima"] == {"path": "llamafactory/lima", "split": "train"}
    for d in result.document["datasets"]:
        keys = AXOLOTL_DPO if str(d.get("type", "")).endswith(".default") else AXOLOTL_SFT
        assert set(d) <= keys, d
        assert isinstance(d.get("type"), dict) and set(d["type"]) <= AXOLOTL_USER_TYPE or d.get("type") in AXOLOTL_TYPES \
            or "type" not in d
    dpo = export(info, "axolotl", info.parent, ["dpo"]).document
    assert dpo["rl"] == "dpo" and dpo["datasets"][0]["type"] == "chat_template.default"


def test_v1_yaml_is_read_back_by_ftdata(info: Path) -> None:
    result = export(info, "llamafactory-v1", info.parent)
    assert result.document["alpaca"] == {"path": "data/alpaca.jsonl", "source": "local", "converter": "alpaca", "size": 1}
    assert result.document["hub"] == {"path": "llamafactory/lima", "source": "hf_hub", "split": "train"}
    assert set(result.refused) == {"text", "dpo"} and all(set(e) <= V1_KEYS for e in result.document.values())
    assert result.notes == ["alpaca: num_samples 1 became size, which v1 draws at random with replacement"]
    out = info.parent / "v1.yaml"
    out.write_text(yaml.safe_dump(result.document, sort_keys=False))
    reports = {r.path.split("#")[-1]: r for r in api.validate(out)[1:]}
    assert {n: (r.format, r.records, r.invalid) for n, r in reports.items() if not r.skipped} == {
        "alpaca": ("alpaca", 2, 0), "chat": ("sharegpt", 1, 0), "msgs": ("sharegpt", 3, 0)}


@pytest.mark.parametrize("kind", ["trl", "axolotl", "llamafactory-v1"])
def test_export_then_import_gives_entries_that_read_the_same_rows(info: Path, kind: str) -> None:
    names = ["msgs", "chat", "alpaca"] if kind != "trl" else ["msgs"]
    out = info.parent / f"{kind}.yaml"
    out.write_text(yaml.safe_dump(export(info, kind, info.parent, names).document, sort_keys=False))
    back = import_descriptor(out, info.parent)
    assert back.refused == {}
    (info.parent / "back.json").write_text(json.dumps(back.document))
    (info.parent / "dataset_info.json").replace(info.parent / "original.json")
    (info.parent / "back.json").replace(info.parent / "dataset_info.json")
    reports = api.validate(info.parent / "dataset_info.json")
    assert sorted((r.format, r.records, r.invalid) for r in reports[1:]) == sorted(
        {"msgs": ("sharegpt", 3, 0), "chat": ("sharegpt", 1, 0), "alpaca": ("alpaca", 2, 0)}[n] for n in names)


def test_cli_export_refusals_exit_1_and_bad_input_exits_2(info: Path, monkeypatch) -> None:
    monkeypatch.chdir(info.parent)
    result = runner.invoke(app, ["descriptor", "export", "dataset_info.json", "--to", "trl", "--dataset", "msgs,text"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("datasets:\n- path: json\n  data_files: msgs.jsonl\n  split: train\n"
                             "- path: json\n  data_files: text.jsonl\n  split: train\n")
    result = runner.invoke(app, ["descriptor", "export", "dataset_info.json", "--to", "trl", "--dataset", "dpo"])
    assert result.exit_code == 1 and "left out dpo: its rows are sharegpt preference rows, which trl does not read" in result.output
    for args, message in (
            (["export", "dataset_info.json", "--to", "unsloth"], "Error: unknown descriptor 'unsloth'; choose one of"),
            (["export", "dataset_info.json", "--to", "trl", "--dataset", "nope"], "Error: no entry nope in"),
            (["export", "missing.json", "--to", "trl"], "Error: missing.json: cannot read"),
            (["import", "dataset_info.json"], "Error: not a descriptor ftdata knows"),
            (["import", "alpaca.jsonl", "-o", "dataset_info.json"], "Error: dataset_info.json exists; pass --force")):
        result = runner.invoke(app, ["descriptor", *args])
        assert result.exit_code == 2 and result.output.startswith(message), (args, result.output)


@pytest.mark.parametrize("kind", ["trl", "axolotl"])
def test_validate_on_an_axolotl_or_trl_export_points_to_import(info: Path, kind: str) -> None:
    out = info.parent / f"{kind}.yaml"
    out.write_text(yaml.safe_dump(export(info, kind, info.parent, ["msgs"]).document, sort_keys=False))
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 2 and "ftdata descriptor import" in result.output, result.output


def test_a_v1_export_outside_the_data_folder_says_so_and_validates_with_allow_outside(info: Path) -> None:
    elsewhere = info.parent.parent / "cfg"
    elsewhere.mkdir()
    result = export(info, "llamafactory-v1", elsewhere, ["msgs", "chat"])
    assert result.document["msgs"]["path"] == "../data/msgs.jsonl"
    assert sum("outside the YAML's folder" in n for n in result.notes) == 1
    out = elsewhere / "v1.yaml"
    out.write_text(yaml.safe_dump(result.document, sort_keys=False))
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 2
    result = runner.invoke(app, ["validate", str(out), "--allow-outside"])
    assert result.exit_code == 0, result.output

