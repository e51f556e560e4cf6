"""End-to-end CPU training on the bundled tiny model (marked slow; `make test` runs them)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fttrain.run import train
from fttrain.spec import RunSpec

pytestmark = pytest.mark.slow
FAST = dict(max_length=128, logging_steps=1, save_steps=1000, report_to="none")


def run(stage, source, tmp_path, **options):
    spec = RunSpec(output_dir=str(tmp_path / "out"), **{**FAST, **options})
    return train(stage, source, spec, show=lambda preflight: None)


def test_sft_lora_overfits_a_handful_of_samples(info: Path, tmp_path: Path) -> None:
    result = run("sft", info, tmp_path, max_steps=40, learning_rate=5e-3, per_device_train_batch_size=8,
                 lora_rank=16, lora_alpha=32, warmup=0)
    assert result.steps == 40
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < 0.6 * first, result.losses
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("method", ["qlora", "full", "freeze"])
def test_sft_methods_train(info: Path, tmp_path: Path, method: str) -> None:
    result = run("sft", info, tmp_path, method=method, max_steps=3, freeze_trainable_layers=1)
    assert result.steps == 3 and all(loss == loss for loss in result.losses)  # no NaN
    saved = tmp_path / "out"
    assert (saved / ("adapter_config.json" if method == "qlora" else "config.json")).is_file()


def capture_trainer(monkeypatch):
    import fttrain.run as run_module

    seen = {}
    real = run_module.build_trainer

    def spy(*args, **kwargs):
        seen["trainer"] = real(*args, **kwargs)
        return seen["trainer"]

    monkeypatch.setattr(run_module, "build_trainer", spy)
    return seen


@pytest.mark.parametrize("stage,columns", [("dpo", {"prompt_ids", "chosen_ids", "rejected_ids"}),
                                           ("kto", {"prompt_ids", "completion_ids", "KL_completion_ids", "label"})])
def test_dpo_and_kto_train_on_the_processed_columns(info: Path, tmp_path: Path, monkeypatch, stage, columns) -> None:
    from ftdata.core.tokens import render
    from fttrain.data import load_sources

    seen = capture_trainer(monkeypatch)
    result = run(stage, info, tmp_path / stage, max_steps=2, max_length=16384, per_device_train_batch_size=4)
    assert result.steps == 2 and all(loss == loss for loss in result.losses)
    trainer = seen["trainer"]
    data = trainer.train_dataset
    (source,) = load_sources(info, RunSpec(), stage)
    assert columns <= set(data.column_names) and len(data) == len(source.records) == 8
    first, tok = data[0], trainer.processing_class
    record = source.records[0]
    from ftdata.core.canonical import chat_messages

    prompt = render(tok, chat_messages(record.messages), record.tools, generation_prompt=True)
    assert tok.decode(first["prompt_ids"]) == prompt  # the rendered prompt, generation prompt included
    answer = record.chosen if stage == "dpo" else record.completion
    assert tok.decode(first["chosen_ids" if stage == "dpo" else "completion_ids"]).startswith(answer[0].content)


def test_interrupted_run_resumes_to_the_same_final_step(info: Path, tmp_path: Path, monkeypatch) -> None:
    from transformers import TrainerCallback

    import fttrain.run as run_module

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt

    real = run_module.build_trainer

    def with_stop(*args, **kwargs):
        trainer = real(*args, **kwargs)
        trainer.add_callback(Stop())
        return trainer

    monkeypatch.setattr(run_module, "build_trainer", with_stop)
    with pytest.raises(KeyboardInterrupt):
        run("sft", info, tmp_path, max_steps=6, save_steps=2)
    assert (tmp_path / "out" / "checkpoint-2").is_dir()
    monkeypatch.setattr(run_module, "build_trainer", real)
    result = run("sft", info, tmp_path, max_steps=6, save_steps=2, resume_from_checkpoint="last")
    assert result.steps == 6


def test_merge_reload_and_generate(info: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = run("sft", info, tmp_path, max_steps=2, merge=True, generate=1)
    merged = tmp_path / "out" / "merged"
    assert merged in result.saved and result.samples
    model = AutoModelForCausalLM.from_pretrained(merged)
    tok = AutoTokenizer.from_pretrained(merged)
    ids = tok.apply_chat_template([{"role": "user", "content": "Say hi."}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]


def test_cli_trains_with_the_bundled_model_from_any_folder(info: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("fttrain")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([str(exe), "sft", str(info), "--max-steps", "2", "--max-length", "64"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "using the bundled tiny test model" in proc.stdout
    assert "dataset tiny_sft: 8 records, 8 used" in proc.stdout
    assert (tmp_path / "output" / "sft" / "adapter_model.safetensors").is_file()


def test_cli_stops_on_bad_rows_with_the_validate_report(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fttrain.cli import app

    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "q", "output": "a"}\n{"instruction": "q"}\n')
    result = CliRunner().invoke(app, ["sft", str(data), "--max-steps", "1", "--output-dir", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert f"{data}:2 output: required field 'output' is missing" in result.output
    assert "pass --skip-bad-rows" in result.output


def test_two_process_cpu_ddp_with_torchrun(info: Path, tmp_path: Path) -> None:
    """DDP over gloo, two CPU processes: the path `accelerate launch` / torchrun take on GPUs."""
    exe = Path(sys.executable).with_name("fttrain")
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([str(torchrun), "--nproc_per_node", "2", str(exe), "sft", str(info), "--max-steps", "3",
                           "--max-length", "64", "--logging-steps", "1", "--output-dir", str(tmp_path / "out")],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("done: 3 steps") == 1  # rank 0 alone prints
    assert "effective batch size: 4" in proc.stdout
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()


def test_yaml_config_qlora_recipe_parses(tmp_path: Path) -> None:
    from fttrain.spec import load_spec

    root = Path(__file__).resolve().parents[2]
    spec = load_spec({}, root / "configs" / "qlora_moss.yaml")
    assert (spec.method, spec.lora_rank, spec.optim) == ("qlora", 64, "paged_adamw_32bit")


def test_packing_eval_split_and_interleaved_datasets(info: Path, tmp_path: Path) -> None:
    import json

    entries = json.loads(info.read_text())
    (info.parent / "more.jsonl").write_text("".join(
        json.dumps({"conversations": [{"from": "human", "value": f"n{i}"}, {"from": "gpt", "value": str(i)}]}) + "\n"
        for i in range(4)))
    entries["more"] = {"file_name": "more.jsonl", "formatting": "sharegpt"}
    info.write_text(json.dumps(entries))
    from datasets import Dataset

    from fttrain.run import combine

    mixed = combine([Dataset.from_list([{"a": 1}] * 2), Dataset.from_list([{"a": 2}] * 6)],
                    RunSpec(mix="interleave", mix_probs="0.5,0.5"))
    assert set(mixed["a"]) == {1, 2} and len(mixed) >= 8
    result = run("sft", info, tmp_path, dataset="tiny_sft,more", mix="interleave", mix_probs="0.3,0.7",
                 packing=True, val_size=0.25, max_steps=3, save_steps=2)
    assert result.steps == 3


def test_qlora_merge_is_the_unquantized_base_plus_the_adapter(info: Path, tmp_path: Path) -> None:
    """--merge after QLoRA merges into the base loaded unquantized: the merged model's logits equal base + adapter
    (unmerged), and nothing in it is 4-bit; merging into the 4-bit model would re-quantize the update away."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from fttrain.model import bundled_model

    run("sft", info, tmp_path, method="qlora", max_steps=3, learning_rate=5e-2, merge=True, lora_dropout=0.0)
    out = tmp_path / "out"
    merged = AutoModelForCausalLM.from_pretrained(out / "merged")
    assert getattr(merged.config, "quantization_config", None) is None
    assert all(p.dtype == torch.float32 for p in merged.parameters())
    base = AutoModelForCausalLM.from_pretrained(bundled_model(), dtype=torch.float32)
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(bundled_model()), str(out))
    ids = torch.tensor([[1, 50, 300, 7, 99, 640, 12, 5]])
    with torch.no_grad():
        want, got, before = with_adapter(ids).logits, merged(ids).logits, base(ids).logits
    assert (want - before).abs().max() > 1e-2  # the adapter changed something worth keeping
    assert (got - want).abs().max() < 1e-4
