import json
from pathlib import Path

import pytest
from conftest import FIXTURES


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from fttrain.model import bundled_model

    return AutoTokenizer.from_pretrained(bundled_model())


@pytest.fixture
def info(tmp_path: Path) -> Path:
    """A dataset_info.json over the bundled fixtures: SFT, DPO and KTO entries."""
    lf = FIXTURES / "llamafactory"
    for name in ("dpo_en_demo.json", "kto_en_demo.json"):  # a descriptor reads only files in its folder
        (tmp_path / name).write_bytes((lf / name).read_bytes())
    (tmp_path / "sft.json").write_text(json.dumps([
        {"instruction": f"Say {w}.", "output": f"{w}!"} for w in ["hi", "yes", "no", "ok", "blue", "red", "one", "two"]]))
    entries = {
        "tiny_sft": {"file_name": "sft.json"},
        "dpo": {"file_name": "dpo_en_demo.json", "formatting": "sharegpt", "ranking": True,
                "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
        "kto": {"file_name": "kto_en_demo.json", "formatting": "sharegpt",
                "columns": {"messages": "messages", "kto_tag": "label"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}},
    }
    path = tmp_path / "dataset_info.json"
    path.write_text(json.dumps(entries))
    return path
