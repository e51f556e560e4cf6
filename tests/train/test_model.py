"""Model loading: added tokens past the embeddings, trust_remote_code off by default, freeze tuning."""

from pathlib import Path

import pytest

from fttrain.model import (
    ModelError,
    bundled_model,
    freeze_all_but_last,
    load_model,
    load_tokenizer,
    trainable,
)
from fttrain.spec import RunSpec


def test_added_tokens_grow_the_embeddings_or_stop_clearly() -> None:
    spec = RunSpec()
    tok = load_tokenizer(bundled_model(), spec)
    tok.add_special_tokens({"additional_special_tokens": ["<|new_tool|>"]})
    loaded = load_model(bundled_model(), tok, spec, max_token_id=len(tok) - 1)
    assert loaded.model.get_input_embeddings().weight.shape[0] == len(tok)
    assert loaded.peft_config.modules_to_save == ["embed_tokens", "lm_head"]
    assert any("embeddings grown" in n for n in loaded.notes)
    with pytest.raises(ModelError, match="has 1024 embeddings"):
        load_model(bundled_model(), tok, RunSpec(resize_embeddings=False), max_token_id=len(tok) - 1)


def test_remote_code_is_off_unless_asked(monkeypatch) -> None:
    import transformers

    seen = {}
    real = transformers.AutoModelForCausalLM.from_pretrained

    def spy(path, **kwargs):
        seen.update(kwargs)
        return real(path, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", spy)
    tok = load_tokenizer(bundled_model(), RunSpec())
    load_model(bundled_model(), tok, RunSpec(), max_token_id=10)
    assert seen["trust_remote_code"] is False


def test_freeze_trains_only_the_last_layers() -> None:
    tok = load_tokenizer(bundled_model(), RunSpec())
    model = load_model(bundled_model(), tok, RunSpec(method="freeze", freeze_trainable_layers=1), 10).model
    n_train, n_total = trainable(model)
    assert 0 < n_train < n_total
    assert all(not p.requires_grad for p in model.get_decoder().layers[0].parameters())
    with pytest.raises(ModelError):
        freeze_all_but_last(model, 5)


def test_missing_chat_template_is_a_clear_error(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(bundled_model(), folder)
    (folder / "chat_template.jinja").unlink()
    with pytest.raises(ModelError, match="no chat template"):
        load_tokenizer(folder, RunSpec())
    assert load_tokenizer(folder, RunSpec(chat_template="chatml")).chat_template


def test_disk_estimate_stops_a_run_that_cannot_save(tmp_path: Path, monkeypatch) -> None:
    import shutil
    from collections import namedtuple

    from fttrain.run import checkpoint_bytes, disk_check

    assert checkpoint_bytes(10, 100, adapter=True) == 10 * 4 + 10 * 8
    assert checkpoint_bytes(100, 100, adapter=False) == 100 * 12
    note = disk_check(tmp_path / "o", 1000, 10_000, RunSpec(save_steps=10), max_steps=20)
    assert note.startswith("checkpoints: ~0.0 MB each, up to 3")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10, 10, 100))
    with pytest.raises(ModelError, match="one checkpoint needs"):
        disk_check(tmp_path / "o", 1000, 10_000, RunSpec(), max_steps=20)
