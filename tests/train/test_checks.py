"""Every fttrain input checked before anything heavy loads: a user mistake exits 2 with one line saying what and how
to fix it; invalid or unrenderable rows exit 1; an internal error exits 3 in one line (traceback with --debug)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fttrain.cli import app

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps({"instruction": f"Say {w}.", "output": f"{w}!"}) + "\n" for w in "abcd"))
    return path


def fails(args: list[str], code: int = 2) -> str:
    """The one error line of a run that must fail with `code` before any model loads."""
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def no_heavy_loading(monkeypatch) -> None:
    import fttrain.run as run_module

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(run_module, "load_model", refuse)


@pytest.mark.parametrize("flag,value,says", [
    ("--per-device-train-batch-size", "0", "--per-device-train-batch-size 0: Input should be greater than or equal to 1"),
    ("--save-steps", "0", "--save-steps 0: Input should be greater than or equal to 1"),
    ("--lora-rank", "0", "--lora-rank 0: Input should be greater than or equal to 1"),
    ("--max-length", "-5", "--max-length -5: Input should be greater than or equal to 1"),
    ("--gradient-accumulation-steps", "0", "greater than or equal to 1"),
    ("--max-steps", "0", "--max-steps 0 trains nothing"),
    ("--mix-probs", "a,b", "give comma-separated numbers"),
    ("--render-timeout", "0", "greater than 0"),
])
def test_bad_counts_exit_2_in_one_line(data: Path, flag, value, says) -> None:
    output = fails(["sft", str(data), flag, value])
    assert says in output and output.count("\n") == 1


def test_kto_needs_a_batch_of_two(data: Path) -> None:
    assert "KTO needs --per-device-train-batch-size 2 or more" in fails(["kto", str(data), "--per-device-train-batch-size", "1"])


def test_missing_and_wrong_paths(data: Path, tmp_path: Path) -> None:
    assert "no such file; pass a dataset_info.json" in fails(["sft", str(tmp_path / "nope.json")])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "is a file, not a folder; choose another --output-dir" in fails(["sft", str(data), "--output-dir", str(blocker)])
    assert "is a file, not a folder" in fails(["sft", str(data), "--output-dir", str(blocker / "sub")])
    assert "--chat-template x.jinja: no such file" in fails(["sft", str(data), "--chat-template", "x.jinja"])
    assert "--resume-from-checkpoint nowhere: no such folder" in fails(
        ["sft", str(data), "--resume-from-checkpoint", "nowhere"])


def test_a_hub_name_is_explained_and_nothing_downloaded(data: Path) -> None:
    output = fails(["sft", str(data), "--model", "Qwen/Qwen2.5-0.5B-Instruct"])
    assert "fttrain downloads nothing" in output
    assert "hf download Qwen/Qwen2.5-0.5B-Instruct --local-dir models/Qwen2.5-0.5B-Instruct" in output


def test_corrupt_config_json(data: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "qwen2",')
    assert "config.json is not valid JSON (line 1, column 24" in fails(["sft", str(data), "--model", str(model)])
    (model / "config.json").write_text("{}")
    assert "config.json has no model_type" in fails(["sft", str(data), "--model", str(model)])


def test_yaml_errors_have_line_and_column_and_suggestions(data: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("method: lora\nlora_rank: [8\n")
    assert "not valid YAML (line 3, column 1)" in fails(["sft", str(data), "--config", str(cfg)])
    cfg.write_text("lora-rnak: 8\n")
    assert "unknown option 'lora_rnak'; did you mean 'lora_rank'?" in fails(["sft", str(data), "--config", str(cfg)])
    cfg.write_text("- a list\n")
    assert "a run config is a mapping" in fails(["sft", str(data), "--config", str(cfg)])


def test_mix_probs_must_match_the_datasets(info: Path, monkeypatch) -> None:
    no_heavy_loading(monkeypatch)
    output = fails(["sft", str(info), "--dataset", "tiny_sft", "--mix", "interleave", "--mix-probs", "0.5,0.5"])
    assert "--mix-probs has 2 values for 1 datasets (tiny_sft); give one per dataset" in output


def test_missing_or_raising_chat_template(data: Path, tmp_path: Path, monkeypatch) -> None:
    no_heavy_loading(monkeypatch)
    bad = tmp_path / "bad.jinja"
    bad.write_text("{{ raise_exception('no assistants here') }}")
    output = fails(["sft", str(data), "--chat-template", str(bad)])
    assert "the chat template fails on a two-message conversation (TemplateError: no assistants here)" in output


def test_rows_the_template_cannot_render_stop_naming_the_row_or_are_skipped_and_counted(data, tmp_path, monkeypatch):
    no_heavy_loading(monkeypatch)
    picky = tmp_path / "picky.jinja"
    picky.write_text("{% for m in messages %}{% if m.content == 'Say c.' %}{{ raise_exception('no c') }}{% endif %}"
                     "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                     "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    output = fails(["sft", str(data), "--chat-template", str(picky), "--dry-run"], code=1)
    assert "sft line 3: the chat template cannot render this row: TemplateError: no c" in output
    result = runner.invoke(app, ["sft", str(data), "--chat-template", str(picky), "--dry-run", "--skip-bad-rows"])
    assert result.exit_code == 0, result.output
    assert "unrenderable 1, kept 3" in result.output and "skipped: sft line 3" in result.output


def test_a_runaway_template_is_stopped_by_the_render_time_limit(data, tmp_path, monkeypatch) -> None:
    no_heavy_loading(monkeypatch)
    slow = tmp_path / "slow.jinja"
    slow.write_text("{% for m in messages %}{% if m.content == 'Say d.' %}{% for i in range(99999) %}{% for j in "
                    "range(99999) %}{% endfor %}{% endfor %}{% endif %}{{ m.content }}<|im_end|>{% endfor %}")
    output = fails(["sft", str(data), "--chat-template", str(slow), "--dry-run", "--render-timeout", "0.5"], code=1)
    assert "sft line 4: the chat template cannot render this row: RenderTimeout: rendering took over 0.5 s" in output


def test_no_samples_left_says_where_they_went(data: Path, monkeypatch) -> None:
    no_heavy_loading(monkeypatch)
    output = fails(["sft", str(data), "--max-length", "4", "--overlong", "drop", "--dry-run"], code=1)
    assert "no samples left to train on: sft: 4 samples, 4 dropped for length, 0 with nothing to train on" in output


def test_an_internal_error_is_one_line_and_exit_3_with_the_traceback_only_on_debug(data: Path, monkeypatch) -> None:
    import fttrain.run as run_module

    def broken(*args, **kwargs):
        raise RuntimeError("something we did not foresee\nsecond line")

    monkeypatch.setattr(run_module, "load_sources", broken)
    result = runner.invoke(app, ["sft", str(data)])
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert result.output == ("internal error: RuntimeError: something we did not foresee (run again with --debug for "
                             "the traceback; please report it)\n")
    result = runner.invoke(app, ["sft", str(data), "--debug"])
    assert result.exit_code == 3 and "Traceback" in result.output


def test_ctrl_c_stays_130(data: Path, monkeypatch) -> None:
    import fttrain.run as run_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "load_sources", interrupted)
    assert "interrupted" in fails(["sft", str(data)], code=130)


def test_dry_run_uses_every_row_and_loads_no_model(info: Path, monkeypatch) -> None:
    no_heavy_loading(monkeypatch)
    for stage, name in [("sft", "tiny_sft"), ("dpo", "dpo"), ("kto", "kto")]:
        result = runner.invoke(app, [stage, str(info), "--dry-run", "--max-length", "8192"])
        assert result.exit_code == 0, result.output
        assert "samples 8: over 8192 tokens 0" in result.output and "kept 8" in result.output, result.output
        assert f"dataset {name}: 8 records, 8 used" in result.output and "(tokenizer only)" in result.output


def checkpoint(folder: Path, step: int, state: bool = True, cut: bool = False) -> Path:
    import torch
    from safetensors.torch import save_file

    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    save_file({"w": torch.zeros(64)}, str(path / "adapter_model.safetensors"))
    if cut:  # what kill -9 part-way through writing the weights leaves
        data = (path / "adapter_model.safetensors").read_bytes()
        (path / "adapter_model.safetensors").write_bytes(data[:-100])
    if state:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def test_resume_last_takes_the_newest_complete_checkpoint_and_says_so(tmp_path: Path) -> None:
    from fttrain.spec import RunSpec
    from fttrain.trainers import ResumeError, resume_path

    spec = RunSpec(output_dir=str(tmp_path / "out"), resume_from_checkpoint="last")
    with pytest.raises(ResumeError, match="no complete checkpoint-\\* folder"):
        resume_path(spec, "sft")
    good = checkpoint(tmp_path / "out", 2)
    checkpoint(tmp_path / "out", 4, cut=True)
    checkpoint(tmp_path / "out", 10, state=False)
    found, notes = resume_path(spec, "sft")
    assert found == str(good)
    assert notes == ["skipped checkpoint-10: no readable trainer_state.json (a save that did not finish)",
                     "skipped checkpoint-4: adapter_model.safetensors is cut short"]
    with pytest.raises(ResumeError, match="cannot resume from it: adapter_model.safetensors is cut short"):
        resume_path(RunSpec(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-4")), "sft")
    assert resume_path(RunSpec(output_dir=str(tmp_path / "none"), resume_from_checkpoint="auto"), "sft")[0] is None


def test_resume_last_with_no_checkpoint_exits_2_before_loading(data: Path, tmp_path: Path, monkeypatch) -> None:
    no_heavy_loading(monkeypatch)
    output = fails(["sft", str(data), "--output-dir", str(tmp_path / "o"), "--resume-from-checkpoint", "last"])
    assert "--resume-from-checkpoint last: no complete checkpoint-* folder" in output


def test_checkpoints_are_bounded_by_default() -> None:
    from fttrain.spec import RunSpec
    from fttrain.trainers import config_kwargs

    assert config_kwargs(RunSpec(), "sft", False)["save_total_limit"] == 3


def test_inspect_checks_its_inputs_as_a_run_does(data: Path, tmp_path: Path) -> None:
    assert "--chat-template nope.jinja: no such file" in fails(["inspect", str(data), "--chat-template", "nope.jinja"])
    (tmp_path / "file").write_text("x")
    assert "is a file, not a folder; choose another --html" in fails(
        ["inspect", str(data), "--html", str(tmp_path / "file" / "sub" / "out.html")])
    assert "a folder, not a file path" in fails(["inspect", str(data), "--html", str(tmp_path)])


@pytest.mark.parametrize("size", ["0.95", "4", "10"])
def test_a_val_size_that_leaves_nothing_to_train_on_is_said_in_one_line(data: Path, size: str, monkeypatch) -> None:
    no_heavy_loading(monkeypatch)  # a fraction used to reach datasets' train_test_split: ValueError, exit 3
    assert f"--val-size {float(size)} leaves no training samples out of 4" in fails(
        ["sft", str(data), "--val-size", size, "--dry-run"], code=1)


def test_a_checkpoint_with_a_malformed_header_is_skipped(tmp_path: Path) -> None:
    from fttrain.spec import RunSpec
    from fttrain.trainers import resume_path

    good = checkpoint(tmp_path / "out", 2)
    bad = checkpoint(tmp_path / "out", 4)
    (bad / "adapter_model.safetensors").write_bytes((5).to_bytes(8, "little") + b"[1,2]")
    found, notes = resume_path(RunSpec(output_dir=str(tmp_path / "out"), resume_from_checkpoint="last"), "sft")
    assert found == str(good) and notes == ["skipped checkpoint-4: adapter_model.safetensors is cut short"]
