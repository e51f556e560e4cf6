"""`ftdata descriptor export` writes an entry only when the other trainer reads its rows back as they are: every
fixture entry exported to every kind is either read back to the same records (v1 through our v1 reader, trl through
trl's own loader, axolotl through its documented type mapping) or left out with the reason and a convert."""

import json
import shutil
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

from conftest import FIXTURES

from ftdata import api
from ftdata.descriptors.export import KINDS, export
from ftdata.formats import FORMATS
from ftdata.ops.convert import convert_files

OPENAI = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}
# LLaMA-Factory's own dataset_info.json entries for its demo files
ENTRIES = {
    "identity": {"file_name": "identity.json"},
    "alpaca_en_demo": {"file_name": "alpaca_en_demo.json"},
    "alpaca_zh_demo": {"file_name": "alpaca_zh_demo.json"},
    "glaive_toolcall_en_demo": {"file_name": "glaive_toolcall_en_demo.json", "formatting": "sharegpt",
                                "columns": {"messages": "conversations", "tools": "tools"}},
    "mllm_demo": {"file_name": "mllm_demo.json", "formatting": "sharegpt",
                  "columns": {"messages": "messages", "images": "images"}, "tags": OPENAI},
    "dpo_en_demo": {"file_name": "dpo_en_demo.json", "ranking": True, "formatting": "sharegpt",
                    "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
    "kto_en_demo": {"file_name": "kto_en_demo.json", "formatting": "sharegpt",
                    "columns": {"messages": "messages", "kto_tag": "label"}, "tags": OPENAI},
    "c4_demo": {"file_name": "c4_demo.jsonl", "columns": {"prompt": "text"}},
    "with_system": {"file_name": "with_system.json", "columns": {"prompt": "instruction", "query": "input",
                                                                 "response": "output", "system": "system"}},
}


@pytest.fixture(scope="module")
def info(tmp_path_factory) -> Path:
    """The demo files with LLaMA-Factory's entries, and the MOSS sample converted to sharegpt and alpaca (rows with
    a top-level system prompt) and to trl (converted rows trl reads as they are)."""
    folder = tmp_path_factory.mktemp("fidelity")
    for name in [e["file_name"] for n, e in ENTRIES.items() if n != "with_system"] + ["mllm_demo_data"]:
        src = FIXTURES / "llamafactory" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, folder / name)
    (folder / "with_system.json").write_text(json.dumps([
        {"instruction": f"Say {w}.", "input": "", "output": f"{w}!", "system": "Answer in one word."} for w in "abc"]))
    (folder / "dataset_info.json").write_text(json.dumps(ENTRIES))
    moss = FIXTURES / "moss" / "moss_sample.jsonl"
    for target in ("sharegpt", "alpaca", "trl"):
        convert_files([moss], target, folder / f"moss.{target}.jsonl")
    return folder / "dataset_info.json"


def plain(record) -> dict:
    return {k: v for k, v in record.to_json().items() if k not in ("id", "meta")}


def source_records(info: Path, name: str) -> list[dict]:
    (ds,) = api.open_datasets(info, [name])
    return [plain(c.record) for c in ds.checked if c.record is not None]


def record_of(fmt: str, row: dict) -> dict:
    converted = FORMATS[fmt].to_canonical(row)
    assert converted.record is not None, converted.problems
    return plain(converted.record)


def v1_records(out: Path, name: str, folder: Path) -> list[dict]:
    (ds,) = api.open_datasets(out, [name], media_dir=folder)
    checked = list(ds.checked)
    assert [c.problems for c in checked if c.problems and any(p.severity == "error" for p in c.problems)] == []
    return [plain(c.record) for c in checked]


def trl_records(document: dict, index: int, folder: Path, monkeypatch) -> list[dict]:
    from trl.scripts.utils import DatasetMixtureConfig, get_dataset

    one = {"datasets": [document["datasets"][index]]}
    monkeypatch.chdir(folder)
    loaded = get_dataset(DatasetMixtureConfig(**yaml.safe_load(yaml.safe_dump(one))))["train"]
    rows = [{k: v for k, v in row.items() if v is not None} for row in loaded]
    fmt = "text" if set(rows[0]) == {"text"} else "openai" if "messages" in rows[0] else "trl"
    return [record_of(fmt, r) for r in rows]


def axolotl_records(item: dict, folder: Path) -> list[dict]:
    """axolotl's documented mapping (docs/dataset-formats, schemas/datasets.py), applied to the rows: alpaca is an
    instruction (+ input) and an output; completion a text field; chat_template the messages under
    field_messages with message_property_mappings and roles (a role it does not map is not read); its .default DPO
    form adds field_chosen / field_rejected."""
    data = json.loads((folder / item["path"]).read_text()) if item["path"].endswith(".json") else [
        json.loads(line) for line in (folder / item["path"]).read_text().splitlines()]
    kind = item.get("type")
    out = []
    for row in data:
        if kind == "completion":
            out.append({"text": row[item["field"]]})
        elif kind == "alpaca" or isinstance(kind, dict) and "field_instruction" in kind:
            f = kind if isinstance(kind, dict) else {}
            prompt = "\n".join(x for x in (row[f.get("field_instruction", "instruction")],
                                           row.get(f.get("field_input", "input"))) if x)
            out.append({"messages": [{"role": "user", "content": prompt},
                                     {"role": "assistant", "content": row[f.get("field_output", "output")]}]})
        else:
            record = {"messages": mapped(row[item["field_messages"]], item)}
            if kind == "chat_template.default":
                record.update(chosen=mapped(row[item["field_chosen"]], item),
                              rejected=mapped(row[item["field_rejected"]], item))
            out.append(record)
    return out


def mapped(messages, item: dict) -> list[dict]:
    """chat_template's reading of messages: message_property_mappings, then roles (unmapped roles are not read)."""
    prop = item["message_property_mappings"]
    to_role = {v: k for k, names in item["roles"].items() for v in names}
    messages = messages if isinstance(messages, list) else [messages]
    return [{"role": to_role[m[prop["role"]]], "content": m[prop["content"]]} for m in messages
            if m[prop["role"]] in to_role]


def comparable(records: list[dict]) -> list[dict]:
    """Records with each message's fields in one order (role, content, then the rest), content "" when absent."""
    def message(m: dict) -> dict:
        return {"role": m["role"], "content": m.get("content", ""), **{k: v for k, v in m.items()
                                                                     if k not in ("role", "content")}}

    lists = ("messages", "chosen", "rejected", "completion")
    return [{k: [message(m) for m in v] if k in lists else v for k, v in r.items()} for r in records]


@pytest.mark.parametrize("kind", KINDS)
def test_every_fixture_entry_reads_back_the_same_or_is_left_out_with_a_convert(info: Path, kind: str,
                                                                              monkeypatch) -> None:
    folder = info.parent
    result = export(info, kind, folder)
    out = folder / f"export.{kind}.yaml"
    out.write_text(yaml.safe_dump(result.document, sort_keys=False, allow_unicode=True))
    names = [n for n in json.loads(info.read_text()) if n not in result.refused]
    assert all("convert" in why or " has no " in why for why in result.refused.values()), result.refused
    items = result.document if kind == "llamafactory-v1" else dict(zip(names, result.document["datasets"]))
    assert len(names) >= 2, result.refused  # something to read back for every kind
    for i, name in enumerate(names):
        want = source_records(info, name)
        if kind == "llamafactory-v1":
            got = v1_records(out, name, folder)
        elif kind == "trl":
            got = trl_records(result.document, i, folder, monkeypatch)
        else:
            got = axolotl_records(items[name], folder)
        assert comparable(got) == comparable(want), name
    expected_out = {  # what each target cannot carry of these rows
        "llamafactory-v1": {"moss.sharegpt": "converter reads", "alpaca_en_demo": "converter reads"},
        "axolotl": {"moss.sharegpt": "top-level system prompts (20 rows)", "glaive_toolcall_en_demo": "tools",
                    "mllm_demo": "media (6 rows)", "with_system": "top-level system prompts (3 rows)"},
        "trl": {"moss.sharegpt": "ftdata convert moss.sharegpt.jsonl --to trl"},
    }[kind]
    for name, says in expected_out.items():
        assert says in result.refused.get(name, ""), (name, result.refused.get(name))


def test_a_v1_export_refusal_names_the_lost_system_prompt_and_the_fix(info: Path) -> None:
    why = export(info, "llamafactory-v1", info.parent, ["moss.sharegpt"]).refused["moss.sharegpt"]
    assert why.startswith("LLaMA-Factory v1's sharegpt converter reads 20 of 20 rows otherwise (row 0: system: "
                          "LLaMA-Factory v1's sharegpt converter ignores a top-level 'system'"), why
    assert why.endswith("ftdata convert moss.sharegpt.jsonl --to llamafactory-v1 -o OUT.jsonl and name OUT.jsonl in "
                        "the YAML without a converter (v1 reads its own rows as they are)")
    tools = export(info, "axolotl", info.parent, ["glaive_toolcall_en_demo"]).refused["glaive_toolcall_en_demo"]
    assert tools.startswith("axolotl's chat_template mapping here does not carry the rows' tools (")
    assert "tool-call turns (" in tools
