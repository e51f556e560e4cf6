"""The tokenized cache: a run from it is the run without it (rows, order, counts); a row is tokenized again only
when its key changes (its content, or any key part: tokenizer file, template, each row-shaping option, code)."""

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import get_args

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from fttrain import cache, prepared
from fttrain.cli import app
from fttrain.model import bundled_model
from fttrain.run import prepare
from fttrain.spec import RunSpec

runner = CliRunner()


@pytest.fixture
def moss(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "moss.jsonl"
    path.parent.mkdir()
    path.write_bytes((FIXTURES / "moss" / "moss_sample.jsonl").read_bytes())
    return path


def spec(tmp_path: Path, **options) -> RunSpec:
    return RunSpec(**{"cache_dir": str(tmp_path / "cache"), "workers": 1, "max_length": 512, **options})


def rows(p) -> list[dict]:
    return p.train_rows.to_list()


def same_run(a, b) -> None:
    """Two prepared runs hand the trainer the same rows in the same order, with the same counts."""
    assert a.train_rows.features == b.train_rows.features
    assert rows(a) == rows(b)
    assert asdict(a.counts) == asdict(b.counts)
    assert [asdict(s.counts) for s in a.sources] == [asdict(s.counts) for s in b.sources]


def test_a_second_run_reuses_every_row_and_is_the_run_without_the_cache(moss: Path, tmp_path: Path) -> None:
    cold = prepare("sft", moss, spec(tmp_path))
    assert cold.cache.startswith("cache: 0 rows reused, 20 tokenized")
    warm = prepare("sft", moss, spec(tmp_path))
    assert warm.cache.startswith("cache: 20 rows reused, 0 tokenized")
    plain = prepare("sft", moss, spec(tmp_path, cache=False))
    assert plain.cache == ""
    same_run(cold, plain)
    same_run(warm, plain)
    assert warm.counts.over_length > 0 and warm.counts.eos_cut > 0  # the counts that matter are not all zero


def test_one_edited_row_is_tokenized_again_alone(moss: Path, tmp_path: Path) -> None:
    prepare("sft", moss, spec(tmp_path))
    lines = moss.read_text().splitlines()
    row = json.loads(lines[6])
    row["chat"]["turn_1"]["Human"] = row["chat"]["turn_1"]["Human"].replace("<|Human|>: ", "<|Human|>: Please: ")
    lines[6] = json.dumps(row, ensure_ascii=False)
    moss.write_text("\n".join(lines) + "\n")
    edited = prepare("sft", moss, spec(tmp_path))
    assert edited.cache.startswith("cache: 19 rows reused, 1 tokenized")
    same_run(edited, prepare("sft", moss, spec(tmp_path, cache=False)))
    moss.write_text("\n".join(lines[:3] + lines[4:]) + "\n")  # a row deleted: the others move up a line
    shorter = prepare("sft", moss, spec(tmp_path))
    assert shorter.cache.startswith("cache: 19 rows reused, 0 tokenized")
    from datasets import load_from_disk

    stored = load_from_disk(str(shorter.folders[0]))
    assert stored["line"] == list(range(1, 20)) and set(stored["entry"]) == {"moss"}
    assert stored.select_columns(["input_ids", "labels"]).to_list() == rows(shorter)


def other_value(name: str):
    """Another valid value of a row-shaping option."""
    field = RunSpec.model_fields[name]
    default, choices = field.default, get_args(field.annotation)
    choices = tuple(c for arg in choices for c in (get_args(arg) or [arg]))  # Literal[...] | None: its values
    if isinstance(default, bool):
        return not default
    if choices and all(isinstance(c, str) for c in choices):
        return next(c for c in choices if c != default)
    if isinstance(default, int):
        return default + 1
    raise AssertionError(f"give the test another value for {name}")


KEY_OPTIONS = [n for n in RunSpec.model_fields if n not in cache.NOT_IN_KEY]


def test_the_row_shaping_options_are_in_the_key() -> None:
    assert {"max_length", "overlong", "train_on"} <= set(KEY_OPTIONS)
    assert set(cache.NOT_IN_KEY) <= set(RunSpec.model_fields), "a stale name in NOT_IN_KEY"


def changed_template(tmp_path: Path) -> dict:
    jinja = tmp_path / "template.jinja"
    jinja.write_text((bundled_model() / "chat_template.jinja").read_text() + "{#- another template -#}")
    return {"chat_template": str(jinja)}


@pytest.mark.parametrize("part", ["tokenizer file", "template", "code"] + KEY_OPTIONS)
def test_any_key_part_changed_reuses_nothing(moss: Path, tmp_path: Path, part: str, monkeypatch) -> None:
    model = tmp_path / "model"
    shutil.copytree(bundled_model(), model)
    before: dict = {"model": str(model), "max_length": 2048}
    if part not in ("tokenizer file", "template", "code"):
        before[part] = RunSpec.model_fields[part].default
    if part == "max_length":
        before[part] = 1500  # both values cut some rows: a different cut, not just a different number
    first = prepare("sft", moss, spec(tmp_path, **before))
    assert first.cache.startswith("cache: 0 rows reused, 20 tokenized")
    after = dict(before)
    if part == "tokenizer file":
        config = json.loads((model / "tokenizer_config.json").read_text())
        (model / "tokenizer_config.json").write_text(json.dumps({**config, "clean_up_tokenization_spaces": True}))
    elif part == "template":
        after.update(changed_template(tmp_path))
    elif part == "code":
        monkeypatch.setattr(cache, "_code_hash", lambda: "another fttrain")
    else:
        after[part] = other_value(part) if part != "max_length" else 2048
    again = prepare("sft", moss, spec(tmp_path, **after))
    if part == "reasoning_history":  # expand makes several samples of one record: no cache, and it says so
        assert again.cache == "cache: not used with --reasoning-history expand"
    else:
        assert again.cache.startswith("cache: 0 rows reused, 20 tokenized"), part
    same_run(again, prepare("sft", moss, spec(tmp_path, **after, cache=False)))


def test_options_outside_the_key_reuse_every_row(moss: Path, tmp_path: Path) -> None:
    prepare("sft", moss, spec(tmp_path))
    other = prepare("sft", moss, spec(tmp_path, learning_rate=0.5, seed=7, val_size=0.25, render_timeout=30))
    assert other.cache.startswith("cache: 20 rows reused, 0 tokenized")


def test_workers_count_exactly_as_one_process(moss: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(prepared, "MIN_PER_WORKER", 1)
    monkeypatch.setattr(prepared, "CHUNK", 3)
    seen = []
    real = prepared.multiprocessing.get_context

    def spy(method):
        seen.append(method)
        return real(method)

    monkeypatch.setattr(prepared.multiprocessing, "get_context", spy)
    two = prepare("sft", moss, spec(tmp_path, workers=2, cache_dir=str(tmp_path / "two")))
    assert seen == ["fork"]
    same_run(two, prepare("sft", moss, spec(tmp_path, cache=False)))


PICKY = ("{% for m in messages %}{% if m.content == 'Say c.' %}{{ raise_exception('no c') }}{% endif %}"
         "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
         "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def test_rows_the_template_cannot_render_are_never_cached(tmp_path: Path) -> None:
    from fttrain.data import RenderError

    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Say {w}.", "output": f"{w}!"}) + "\n" for w in "abcc"))
    (tmp_path / "picky.jinja").write_text(PICKY)
    options = {"chat_template": str(tmp_path / "picky.jinja"), "skip_bad_rows": True}
    first = prepare("sft", data, spec(tmp_path, **options))
    assert first.cache.startswith("cache: 0 rows reused, 4 tokenized") and first.counts.unrenderable == 2
    second = prepare("sft", data, spec(tmp_path, **options))
    assert second.cache.startswith("cache: 2 rows reused, 2 tokenized")
    assert second.counts.failures == first.counts.failures and "sft line 4" in second.counts.failures[1]
    same_run(second, prepare("sft", data, spec(tmp_path, **options, cache=False)))
    with pytest.raises(RenderError, match="sft line 3"):
        prepare("sft", data, spec(tmp_path, chat_template=options["chat_template"]))


def test_a_row_that_cannot_render_stops_a_run_with_workers_naming_it(tmp_path: Path, monkeypatch) -> None:
    from fttrain.data import RenderError

    monkeypatch.setattr(prepared, "MIN_PER_WORKER", 1)
    monkeypatch.setattr(prepared, "CHUNK", 1)
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Say {w}.", "output": f"{w}!"}) + "\n" for w in "abcd"))
    (tmp_path / "picky.jinja").write_text(PICKY)
    with pytest.raises(RenderError, match="sft line 3: the chat template cannot render this row"):
        prepare("sft", data, spec(tmp_path, chat_template=str(tmp_path / "picky.jinja"), workers=2))
    skipped = prepare("sft", data, spec(tmp_path, chat_template=str(tmp_path / "picky.jinja"), workers=2,
                                        skip_bad_rows=True))
    assert skipped.counts.unrenderable == 1 and "sft line 3" in skipped.counts.failures[0]


@pytest.mark.parametrize("stage", ["dpo", "kto"])
def test_preference_rows_from_the_cache_are_the_rows_without_it(info: Path, tmp_path: Path, stage: str) -> None:
    options = {"max_length": 2048, "overlong": "truncate"}
    cold = prepare(stage, info, spec(tmp_path, **options))
    warm = prepare(stage, info, spec(tmp_path, **options))
    assert cold.cache.startswith("cache: 0 rows reused, 8 tokenized")
    assert warm.cache.startswith("cache: 8 rows reused, 0 tokenized")
    plain = prepare(stage, info, spec(tmp_path, **options, cache=False))
    same_run(cold, plain)
    same_run(warm, plain)


def test_prepare_then_train_commands_reuse_it_and_stale_keys_are_cleared(moss: Path, tmp_path: Path,
                                                                         monkeypatch) -> None:
    monkeypatch.delenv(cache.ENV, raising=False)  # the default place (conftest points the suite elsewhere)
    result = runner.invoke(app, ["prepare", str(moss), "--max-length", "256", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "cache: 0 rows reused, 20 tokenized (" in result.output and "prepared " in result.output
    assert (moss.parent / ".fttrain-cache").is_dir()  # beside the data by default
    result = runner.invoke(app, ["sft", str(moss), "--max-length", "256", "--dry-run"])
    assert "cache: 20 rows reused, 0 tokenized (" in result.output, result.output
    result = runner.invoke(app, ["sft", str(moss), "--max-length", "300", "--dry-run", "--no-cache"])
    assert "cache:" not in result.output and len(list((moss.parent / ".fttrain-cache").iterdir())) == 1
    runner.invoke(app, ["prepare", str(moss), "--max-length", "300", "--workers", "1"])
    listing = runner.invoke(app, ["cache", str(moss)]).output
    assert "2 run key(s)" in listing and listing.count("STALE") == 1, listing
    result = runner.invoke(app, ["cache", str(moss), "--clear", "stale"])
    assert result.exit_code == 0 and "removed 1 run key(s)" in result.output
    assert "cache: 20 rows reused" in runner.invoke(app, ["sft", str(moss), "--max-length", "300", "--dry-run"]).output


def test_the_cache_env_variable_and_an_unwritable_data_folder(moss: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(cache.ENV, str(tmp_path / "shared"))
    assert cache.cache_root(moss, RunSpec()) == tmp_path / "shared"
    assert cache.cache_root(moss, RunSpec(cache_dir="here")) == Path("here")
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setattr(cache.os, "access", lambda path, mode: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    assert cache.cache_root(moss, RunSpec()) == tmp_path / "home" / "fttrain"


@pytest.mark.slow
def test_training_from_the_cache_is_the_run_without_it_resume_included(info: Path, tmp_path: Path, monkeypatch) -> None:
    import fttrain.run as run_module
    from fttrain.run import train

    real, batches = run_module.build_trainer, []

    def recording(*args, **kwargs):
        trainer = real(*args, **kwargs)
        compute = trainer.compute_loss

        def compute_loss(model, inputs, *rest, **options):
            batches[-1].append((inputs["input_ids"].tolist(), inputs["labels"].tolist()))
            return compute(model, inputs, *rest, **options)

        trainer.compute_loss = compute_loss
        return trainer

    monkeypatch.setattr(run_module, "build_trainer", recording)

    def run(out: str, **options) -> tuple[list[float], list]:
        batches.append([])
        spec = RunSpec(output_dir=str(tmp_path / out), cache_dir=str(tmp_path / "cache"), max_length=128, workers=1,
                       logging_steps=1, save_steps=2, max_steps=4, per_device_train_batch_size=2, report_to="none",
                       **options)
        return train("sft", info, spec, show=lambda preflight: None).losses, batches[-1]

    plain = run("plain", cache=False)
    cold, warm = run("cold"), run("warm")
    assert len(plain[0]) == 4 and len(plain[1]) == 4
    assert cold == plain and warm == plain  # the same batches in the same order, the same loss at every step
    resumed = run("warm", resume_from_checkpoint=str(tmp_path / "warm" / "checkpoint-2"))
    resumed_plain = run("plain", cache=False, resume_from_checkpoint=str(tmp_path / "plain" / "checkpoint-2"))
    assert len(resumed[1]) == 2 and resumed == resumed_plain  # two steps trained after the checkpoint


@pytest.mark.slow
def test_the_prepared_folder_loads_with_datasets_and_trains_with_trl_directly(moss: Path, tmp_path: Path) -> None:
    import math

    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    p = prepare("sft", moss, spec(tmp_path, max_length=256))
    data = load_from_disk(str(p.folders[0]))
    assert set(data.column_names) == {"input_ids", "labels", "entry", "file", "line"}
    config = SFTConfig(output_dir=str(tmp_path / "trl"), max_steps=2, per_device_train_batch_size=2, logging_steps=1,
                       report_to="none", use_cpu=True, max_length=256, save_strategy="no")
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(bundled_model()), args=config, train_dataset=data,
                         processing_class=p.tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    assert (batch["labels"] == -100).any() and (batch["labels"] != -100).any()  # our masks, not all tokens
    trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)


def _prepare_in_child(args) -> str:
    moss, tmp_path = args
    return prepare("sft", moss, spec(tmp_path)).cache.split(" (")[0]


def test_two_runs_at_once_on_one_cache_tokenize_each_row_once(moss: Path, tmp_path: Path) -> None:
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(2) as pool:  # as torchrun's ranks each prepare the data
        lines = pool.map(_prepare_in_child, [(moss, tmp_path)] * 2)
    assert sorted(lines) == ["cache: 0 rows reused, 20 tokenized", "cache: 20 rows reused, 0 tokenized"]


def test_a_cache_dir_that_cannot_be_used_is_one_line_exit_2(moss: Path, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, ["sft", str(moss), "--cache-dir", str(tmp_path / "file" / "cache"), "--dry-run"])
    assert result.exit_code == 2 and "--cache-dir" in result.output and "is a file, not a folder" in result.output

    def read_only(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache, "touch_key", read_only)  # a folder this user cannot write (the tests may run as root)
    result = runner.invoke(app, ["prepare", str(moss), "--cache-dir", str(tmp_path / "ro"), "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert "cannot write there (Permission denied); pass another --cache-dir" in result.output
