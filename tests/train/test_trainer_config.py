"""Every option we document that is a trl / transformers config field reaches trl explicitly (ours, not trl's
default: trl 1.16 turns gradient checkpointing on), under its current name (no deprecation warning), and a plain CPU
run prints no third-party warning unless --verbose."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from fttrain.model import bf16_default
from fttrain.spec import RunSpec
from fttrain.trainers import NOT_TRL, config_kwargs, trainer_classes

ROOT = Path(__file__).resolve().parents[2]
# our option -> (trl config field, the value trl must hold for the option's value; None: the option's value itself)
SHARED = {
    "output_dir": ("output_dir", None), "learning_rate": ("learning_rate", None),
    "lr_scheduler_type": ("lr_scheduler_type", None), "warmup": ("warmup_steps", None), "optim": ("optim", None),
    "num_train_epochs": ("num_train_epochs", None), "max_steps": ("max_steps", None),
    "per_device_train_batch_size": ("per_device_train_batch_size", None),
    "gradient_accumulation_steps": ("gradient_accumulation_steps", None),
    "gradient_checkpointing": ("activation_checkpointing", None), "bf16": ("bf16", None), "fp16": ("fp16", None),
    "seed": ("seed", None), "save_steps": ("save_steps", None), "save_total_limit": ("save_total_limit", None),
    "logging_steps": ("logging_steps", None), "report_to": ("report_to", None), "max_length": ("max_length", None),
}
BY_STAGE = {
    "sft": {"packing": ("packing", None)},
    "dpo": {"beta": ("beta", None), "dpo_loss_type": ("loss_type", lambda v: [v])},
    "kto": {"beta": ("beta", None), "kto_loss_type": ("loss_type", None), "desirable_weight": ("desirable_weight", None),
            "undesirable_weight": ("undesirable_weight", None)},
}
OTHERS = {"val_size", "resume_from_checkpoint"}  # reach trl as eval_strategy / train(resume_from_checkpoint=...)
CHANGED = dict(learning_rate=3e-5, lr_scheduler_type="linear", warmup=5, optim="adafactor", num_train_epochs=2.5,
               max_steps=7, per_device_train_batch_size=3, gradient_accumulation_steps=4, gradient_checkpointing=True,
               bf16=False, fp16=False, seed=7, save_steps=11, save_total_limit=2, logging_steps=3, report_to="none",
               max_length=333, packing=True, beta=0.2, dpo_loss_type="hinge", kto_loss_type="apo_zero_unpaired",
               desirable_weight=1.5, undesirable_weight=0.5)


def plain(value):
    """An enum's value (transformers keeps lr_scheduler_type / optim as enums); report_to 'none' as its list."""
    value = getattr(value, "value", value)
    return [] if value == ["none"] else value


def test_every_option_is_a_trl_field_or_ours() -> None:
    mapped = set(SHARED) | {k for fields in BY_STAGE.values() for k in fields}
    assert mapped | set(NOT_TRL) | OTHERS >= set(RunSpec.model_fields), set(RunSpec.model_fields) - mapped - set(NOT_TRL)
    assert not mapped & set(NOT_TRL)


@pytest.mark.parametrize("stage", ["sft", "dpo", "kto"])
@pytest.mark.parametrize("values", [{}, CHANGED], ids=["defaults", "changed"])
def test_the_built_trl_config_holds_our_values(stage: str, values: dict, tmp_path: Path) -> None:
    spec = RunSpec(output_dir=str(tmp_path), **values)
    config_cls, _ = trainer_classes(stage)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated name passed
        warnings.simplefilter("error", DeprecationWarning)
        config = config_cls(**config_kwargs(spec, stage, has_eval=False))
    for ours, (field, as_trl) in {**SHARED, **BY_STAGE[stage]}.items():
        value = getattr(spec, ours)
        want = as_trl(value) if as_trl else value
        if ours == "report_to":
            want = [] if value == "none" else [value]
        if ours == "bf16":  # None: on where the accelerator supports it
            want = bf16_default(spec)
        assert plain(getattr(config, field)) == want, (ours, field)
    assert config.gradient_checkpointing is spec.gradient_checkpointing  # the old name mirrors the new one


def test_gradient_checkpointing_given_to_trl_under_the_old_name_still_counts(tmp_path: Path) -> None:
    spec = RunSpec(output_dir=str(tmp_path), trl={"gradient_checkpointing": True})
    config_cls, _ = trainer_classes("sft")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        config = config_cls(**config_kwargs(spec, "sft", has_eval=False))
    assert config.activation_checkpointing is True


def fttrain(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-c", "import sys; from fttrain.cli import main; sys.argv[0] = 'fttrain'; "
                           "main()", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


THIRD_PARTY = ("Warning", "warnings.warn", "deprecated", "gemm_4bit", "kernels", "publisher trust")


def said(stderr: str) -> list[str]:
    """stderr lines, progress bars left out."""
    lines = stderr.replace("\r", "\n").splitlines()
    return [line for line in lines if line.strip() and "it/s]" not in line and "examples/s]" not in line]


@pytest.mark.parametrize("stage,data", [
    ("sft", "alpaca_en_demo.json"), ("dpo", "dpo_en_demo.json"), ("kto", "kto_en_demo.json")])
def test_a_plain_cpu_run_prints_no_third_party_warning(stage: str, data: str, tmp_path: Path) -> None:
    src = ROOT / "fixtures" / "data" / "llamafactory" / data
    run = fttrain(stage, str(src), "--max-steps", "1", "--max-length", "256", "--output-dir", str(tmp_path / "o"),
                  cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    noisy = [line for line in said(run.stderr) if any(word in line for word in THIRD_PARTY)]
    assert noisy == [], noisy
    if stage == "sft":
        loud = fttrain(stage, str(src), "--max-steps", "1", "--max-length", "256", "--output-dir",
                       str(tmp_path / "v"), "--verbose", cwd=tmp_path)
        assert loud.returncode == 0 and any("FutureWarning" in line for line in said(loud.stderr)), loud.stderr


def test_dry_run_and_inspect_print_no_third_party_warning(tmp_path: Path) -> None:
    src = ROOT / "fixtures" / "data" / "llamafactory" / "alpaca_en_demo.json"
    for args in (["sft", str(src), "--dry-run"], ["inspect", str(src), "--rows", "1"]):
        run = fttrain(*args, cwd=tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        assert said(run.stderr) == [], said(run.stderr)
