"""The one place our options map onto trl's configs and trainers (SFT, DPO, KTO)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from fttrain.model import Loaded, bf16_default, merged_qlora
from fttrain.spec import RunSpec, Stage


# Our options that are not trl / transformers config fields: they act before the trainer (data, model, peft, saving)
NOT_TRL = ("model", "dataset", "method", "overlong", "train_on", "val_size", "mix", "mix_probs", "lora_rank",
           "lora_alpha", "lora_dropout", "lora_target", "use_rslora", "use_dora", "freeze_trainable_layers",
           "quantization_bit", "resume_from_checkpoint", "merge", "trust_remote_code", "skip_bad_rows",
           "allow_duplicates", "max_dropped", "reasoning", "reasoning_history", "cache", "cache_dir", "workers",
           "drop_media", "render_timeout", "resize_embeddings", "chat_template", "generate", "trl")


def config_kwargs(spec: RunSpec, stage: Stage, has_eval: bool) -> dict[str, Any]:
    """trl config fields for every option of ours that is one, each passed explicitly (never left to trl's own
    default, which can differ from ours: trl 1.16 turns gradient checkpointing on), under its current name
    (transformers 5: activation_checkpointing); `spec.trl` (YAML) passes anything else through."""
    kwargs: dict[str, Any] = dict(
        output_dir=str(spec.out_dir(stage)),
        learning_rate=spec.learning_rate,
        lr_scheduler_type=spec.lr_scheduler_type,
        warmup_steps=spec.warmup if spec.warmup < 1 else int(spec.warmup),
        optim=spec.optim,
        num_train_epochs=spec.num_train_epochs,
        max_steps=spec.max_steps,
        per_device_train_batch_size=spec.per_device_train_batch_size,
        per_device_eval_batch_size=spec.per_device_train_batch_size,
        gradient_accumulation_steps=spec.gradient_accumulation_steps,
        bf16=bf16_default(spec),
        fp16=spec.fp16,
        seed=spec.seed,
        save_steps=spec.save_steps,
        save_total_limit=spec.save_total_limit,
        logging_steps=spec.logging_steps,
        report_to=spec.report_to,
        # no accelerator at all (CUDA, MPS, XPU, ...): say so, or a torchrun launch would not set up CPU DDP (gloo)
        use_cpu=not torch.accelerator.is_available(),
        max_length=spec.max_length,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=spec.save_steps if has_eval else None,
    )
    kwargs["activation_checkpointing"] = spec.gradient_checkpointing  # on only when asked, by its current name
    if stage == "sft":
        kwargs["packing"] = spec.packing
    elif stage == "dpo":
        kwargs.update(beta=spec.beta, loss_type=[spec.dpo_loss_type])
    else:
        kwargs.update(beta=spec.beta, desirable_weight=spec.desirable_weight, undesirable_weight=spec.undesirable_weight,
                      loss_type=spec.kto_loss_type)
    passed = dict(spec.trl)
    for old, new in (("gradient_checkpointing", "activation_checkpointing"),
                     ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs")):
        if old in passed:  # transformers 5's deprecated names: under both, the new one would win in silence
            passed[new] = passed.pop(old)
    kwargs.update(passed)
    return kwargs


def trainer_classes(stage: Stage) -> tuple[Any, Any]:
    """(config class, trainer class) of a stage. DPO/KTO trainers take the rows fttrain tokenized: each row rendered
    with its own tools (through Arrow a dataset would merge tool-argument keys across rows) and fitted to
    --max-length by our counted policy, so trl's own tokenization, silent drop and EOS-cutting truncation never run.
    """
    import trl

    if stage == "sft":
        return trl.SFTConfig, trl.SFTTrainer
    config_cls, base = (trl.DPOConfig, trl.DPOTrainer) if stage == "dpo" else (trl.KTOConfig, trl.KTOTrainer)

    class Tokenized(base):  # type: ignore[misc, valid-type]  # trl's trainers are untyped classes
        def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any, dataset_name: str) -> Any:
            if stage == "kto" and getattr(self, "calculate_KL", False):
                # trl's KL pairs: each batch's completions rotated by one (as KTOTrainer._prepare_dataset builds them)
                dataset = dataset.map(_rotate, batched=True, batch_size=args.per_device_train_batch_size)
            return dataset

    Tokenized.__name__ = base.__name__
    return config_cls, Tokenized


def _rotate(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    batch["KL_completion_ids"] = batch["completion_ids"][-1:] + batch["completion_ids"][:-1]
    return batch


def build_trainer(stage: Stage, loaded: Loaded, spec: RunSpec, train: Any, evaluation: Any | None,
                  collator: Any = None) -> Any:
    """SFTTrainer / DPOTrainer / KTOTrainer over our datasets; a vision-language model's SFT goes through trl's
    vision path (the processor as processing class) with our rows and `collator` (fttrain.vision: why)."""
    config_cls, trainer_cls = trainer_classes(stage)
    kwargs = config_kwargs(spec, stage, evaluation is not None)
    extra: dict[str, Any] = {}
    if loaded.processor is not None:  # trl keeps only its own vision columns otherwise (messages, images)
        kwargs = {"remove_unused_columns": False, **kwargs}
        if stage == "sft":
            kwargs["dataset_kwargs"] = {"skip_prepare_dataset": True}
        extra["data_collator"] = collator
    config = config_cls(**kwargs)
    return trainer_cls(model=loaded.model, args=config, train_dataset=train, eval_dataset=evaluation,
                       processing_class=loaded.processor or loaded.tokenizer, peft_config=loaded.peft_config, **extra)


class ResumeError(Exception):
    """--resume-from-checkpoint names nothing to resume from."""


WEIGHTS = ("adapter_model.safetensors", "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
           "adapter_model.bin")


def incomplete(checkpoint: Path) -> str | None:
    """Why a checkpoint folder cannot be resumed from (None when it can). transformers writes trainer_state.json
    last, so a save killed half way (kill -9) leaves a folder without it, or with a weights file cut short."""
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no readable trainer_state.json (a save that did not finish)"
    if not isinstance(state, dict) or "global_step" not in state:
        return "trainer_state.json without global_step"
    weights = [checkpoint / name for name in WEIGHTS if (checkpoint / name).is_file()]
    if not weights or any(w.stat().st_size == 0 for w in weights):
        return "no model or adapter weights"
    for w in weights:
        if w.suffix == ".safetensors" and not _whole_safetensors(w):
            return f"{w.name} is cut short"
    return None


def _whole_safetensors(path: Path) -> bool:
    """safetensors opens the file: its header is valid and the file is as long as the header says."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt"):
            return True
    except (SafetensorError, OSError):
        return False


def resume_path(spec: RunSpec, stage: Stage) -> tuple[str | None, list[str]]:
    """--resume-from-checkpoint: (the folder to resume from, notes on checkpoints skipped). A folder as given must be
    complete; 'last' / 'auto' take the newest complete checkpoint in the output dir, skipping incomplete ones; with
    none, 'last' is an error and 'auto' a fresh start (None)."""
    asked = spec.resume_from_checkpoint
    if asked is None:
        return None, []
    if asked not in ("last", "auto"):
        why = incomplete(Path(asked))
        if why:
            raise ResumeError(f"--resume-from-checkpoint {asked}: cannot resume from it: {why}; pass another "
                              "checkpoint or 'last' (the newest complete one)")
        return asked, []
    out = spec.out_dir(stage)
    found = sorted((p for p in out.glob("checkpoint-*") if p.is_dir() and p.name[11:].isdigit()),
                   key=lambda p: int(p.name[11:]), reverse=True) if out.is_dir() else []
    notes: list[str] = []
    for checkpoint in found:
        why = incomplete(checkpoint)
        if why is None:
            return str(checkpoint), notes
        notes.append(f"skipped {checkpoint.name}: {why}")
    if asked == "last":
        raise ResumeError(f"--resume-from-checkpoint last: no complete checkpoint-* folder in {out}"
                          + (f" ({'; '.join(notes)})" if notes else "") + "; drop the flag to start fresh, or pass "
                          "--resume-from-checkpoint auto (resume when there is one)")
    return None, notes + ["no complete checkpoint: starting fresh"]


def save(trainer: Any, loaded: Loaded, spec: RunSpec, stage: Stage) -> list[Path]:
    """Save the model or adapter (+ tokenizer); with --merge also the merged full model."""
    out = spec.out_dir(stage)
    trainer.save_model(str(out))
    saved = [out]
    if not trainer.is_world_process_zero():
        return saved
    loaded.tokenizer.save_pretrained(str(out))
    if spec.merge and loaded.peft_config is not None:
        # QLoRA: into the base loaded unquantized (never re-quantized to 4/8 bit); LoRA: into the trained model
        merged = merged_qlora(loaded, out, spec) if spec.method == "qlora" else trainer.model.merge_and_unload()
        merged.save_pretrained(str(out / "merged"))
        (loaded.processor or loaded.tokenizer).save_pretrained(str(out / "merged"))
        saved.append(out / "merged")
    return saved
