"""A training run: data -> pre-flight -> model -> trl trainer -> train -> save (-> samples)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fttrain.checks import UsageError
from fttrain.data import (
    Counts,
    DataError,
    Source,
    load_sources,
    preference_rows,
    sft_rows,
)
from fttrain.model import (
    ModelError,
    bundled_model,
    load_model,
    load_tokenizer,
    trainable,
)
from fttrain.preflight import check_data
from fttrain.prepared import prepare_cached
from fttrain.reasoning import preflight_line, resolve_key
from fttrain.spec import RunSpec, Stage
from fttrain.trainers import build_trainer, resume_path, save
from fttrain.vision import Vision, vision_of
from fttrain.visionrows import collator, vision_note, vision_rows


@dataclass
class Preflight:
    """What the run is about to do; printed before training starts."""

    stage: Stage
    model: str
    bundled: bool
    method: str
    sources: list[Source]
    counts: Counts
    train_samples: int
    eval_samples: int
    trainable: int = 0
    total: int = 0
    effective_batch: int = 0
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    max_length: int = 0
    policy: str = ""
    reasoning: str | None = None  # what happens to the data's reasoning (fttrain.reasoning.preflight_line)
    cache: str = ""


@dataclass
class Result:
    saved: list[Path]
    steps: int
    losses: list[float]
    samples: list[tuple[str, str]]
    prepared: list[Path] = field(default_factory=list)  # the datasets' prepared folders in the cache


def combine(per_source: list[Any], spec: RunSpec) -> Any:
    """One dataset from several: concatenated, or interleaved (with --mix-probs; datasets' interleave_datasets,
    seeded, until every dataset is used up)."""
    from datasets import concatenate_datasets, interleave_datasets

    if spec.mix == "concat" or len(per_source) == 1:
        return concatenate_datasets(per_source) if len(per_source) > 1 else per_source[0]
    probs = [float(p) for p in spec.mix_probs.split(",")] if spec.mix_probs else None
    if probs is not None and len(probs) != len(per_source):
        raise UsageError(f"--mix-probs has {len(probs)} values but {len(per_source)} datasets have samples left; "
                         "give one per dataset that keeps samples")
    return interleave_datasets(per_source, probabilities=probs, seed=spec.seed, stopping_strategy="all_exhausted")


def split_eval(rows: Any, val_size: float, seed: int) -> tuple[Any, Any | None]:
    """Hold out `val_size` (a fraction < 1, or a count) of the rows for evaluation: datasets' train_test_split."""
    if val_size <= 0:
        return rows, None
    held = int(val_size) if val_size >= 1 else val_size
    n_test = held if isinstance(held, int) else math.ceil(held * len(rows))  # as train_test_split rounds
    if n_test >= len(rows):
        raise DataError(f"--val-size {val_size} leaves no training samples out of {len(rows)}; give a smaller "
                        "fraction or count")
    split = rows.train_test_split(test_size=held, seed=seed)
    return split["train"], split["test"]


@dataclass
class Prepared:
    """The run's data, tokenized and fitted: what --dry-run stops after."""

    model_path: Path
    tokenizer: Any
    sources: list[Source]
    counts: Counts
    train_rows: Any
    eval_rows: Any | None
    reasoning: str | None = None  # the key reasoning is rendered through (see fttrain.reasoning)
    cache: str = ""  # the 'cache: N rows reused, M tokenized' line ('' with --no-cache)
    folders: list[Path] = field(default_factory=list)  # each dataset's prepared folder in the cache
    vision: Vision | None = None  # a vision-language model's processor and image rule


def vision_for(stage: Stage, model_path: Path, tokenizer: Any, source: Path, spec: RunSpec) -> Vision | None:
    """The processor of a vision-language --model (None for a text model); what it cannot do stops here."""
    vision = vision_of(model_path, tokenizer, source, spec.trust_remote_code)
    if vision is None:
        return None
    if stage == "kto":  # its KL pairs (each prompt with another row's answer) would need images rotated too
        raise UsageError(f"fttrain kto with a vision-language model ({model_path.name}) is not supported: trl 1.16's "
                         "KTOTrainer takes images only by tokenizing rows itself in its collator, and fttrain's KTO "
                         "rows (tokenized and fitted before the trainer, with the KL pairs) carry no images yet; "
                         "train it with sft or dpo, or use a text model")
    for asked, why in ((spec.packing, "--packing"), (spec.reasoning_history == "expand", "--reasoning-history expand")):
        if asked:
            raise UsageError(f"{why} is not supported with a vision-language model ({model_path.name}); drop it")
    return vision


def prepare(stage: Stage, source: Path, spec: RunSpec) -> Prepared:
    """Read, validate, render and tokenize every row (the tokenizer only, no model weights); with the cache, rows
    tokenized by an earlier run with the same key are taken from it."""
    from datasets import Dataset

    model_path = Path(spec.model) if spec.model else bundled_model()
    tokenizer = load_tokenizer(model_path, spec)
    vision = vision_for(stage, model_path, tokenizer, source, spec)
    sources = load_sources(source, spec, stage, images_ok=vision is not None)
    probs = spec.mix_probs.split(",") if spec.mix_probs else []
    if probs and len(probs) != len(sources):
        raise UsageError(f"--mix-probs has {len(probs)} values for {len(sources)} datasets "
                         f"({', '.join(s.name for s in sources)}); give one per dataset")
    key, stop = resolve_key(tokenizer, spec, [r for s in sources for r in s.records])
    if stop is not None:
        raise DataError(stop)
    cache, folders = "", list[Path]()
    if spec.cache and spec.reasoning_history != "expand" and vision is None:
        built, folders, cache = prepare_cached(stage, source, spec, tokenizer, model_path, sources, key)
    else:  # --reasoning-history expand makes several samples of one record: the cache keeps one per record
        why = "a vision-language model" if vision is not None else "--reasoning-history expand"
        cache = f"cache: not used with {why}" if spec.cache else ""
        build = sft_rows if stage == "sft" else preference_rows
        built = []
        for s in sources:
            s.counts = Counts()
            rows = (vision_rows(tokenizer, vision, s, spec, s.counts, key, stage) if vision is not None
                    else build(tokenizer, s, spec, s.counts, key))
            built.append(Dataset.from_list(rows) if rows else None)
    counts = total(sources)
    if all(b is None for b in built):
        raise DataError(f"no samples left to train on: {nothing_left(sources, spec)}")
    combined = combine([b for b in built if b is not None], spec)
    train_rows, eval_rows = split_eval(combined, spec.val_size, spec.seed)
    return Prepared(model_path, tokenizer, sources, counts, train_rows, eval_rows, key, cache, folders, vision)


def total(sources: list[Source]) -> Counts:
    """The run's counts: the sum of each dataset's."""
    counts = Counts()
    for s in sources:
        counts = counts.add(s.counts or Counts())
    return counts


def nothing_left(sources: list[Source], spec: RunSpec) -> str:
    """Where every sample went, per dataset (for the "no samples left" error)."""
    parts, cut = [], 0
    for s in sources:
        c = s.counts or Counts()
        cut += c.image_cut
        images = f" ({c.image_cut} because fitting them would cut an image's tokens)" if c.image_cut else ""
        parts.append(f"{s.name}: {c.samples} samples, {c.dropped_over_length} dropped for length{images}, "
                     f"{c.dropped_no_target} with nothing to train on, {c.unrenderable} the template cannot render")
    fix = "a larger --max-length" + ("" if spec.overlong == "split" or cut else " or --overlong split")
    return "; ".join(parts) + f" (try {fix})"


def train(stage: Stage, source: Path, spec: RunSpec, show: Callable[[Preflight], None], dry_run: bool = False) -> Result:
    """Run one training job; `show` prints the pre-flight summary before the first step. A dry run stops there,
    without loading the model."""
    resume, skipped = resume_path(spec, stage)  # before anything heavy: a missing checkpoint stops the run now
    p = prepare(stage, source, spec)
    checked = check_data(p.sources, spec, stop=not dry_run)  # a dry run shows what a run would stop on
    checked += vision_note(p.counts, p.vision) if p.vision is not None else []
    if p.vision is not None and spec.generate:  # said, not skipped in silence
        checked.append("--generate: no sample answers with a vision-language model (generation with images is not "
                       "wired yet); training is unchanged")
    n_eval = len(p.eval_rows) if p.eval_rows is not None else 0
    line = preflight_line(p.counts.reasoning, p.reasoning, spec.reasoning_history)
    if dry_run:
        show(Preflight(stage, str(p.model_path), spec.model is None, spec.method, p.sources, p.counts,
                       len(p.train_rows), n_eval, notes=skipped + checked, dry_run=True, max_length=spec.max_length,
                       policy=spec.overlong, reasoning=line, cache=p.cache))
        return Result([], 0, [], [], p.folders)
    loaded = load_model(p.model_path, p.tokenizer, spec, p.counts.max_token_id)
    batches = None
    if p.vision is not None:
        loaded.processor = p.vision.processor
        batches = collator(stage, p.vision, int(p.tokenizer.pad_token_id))
    trainer = build_trainer(stage, loaded, spec, p.train_rows, p.eval_rows, batches)
    n_train, n_total = trainable(trainer.model)
    world = max(1, trainer.args.world_size)
    notes = loaded.notes + [disk_check(spec.out_dir(stage), n_train, n_total, spec, trainer.args.max_steps)]
    notes += skipped + checked + ([f"resuming from {resume}"] if resume is not None else [])
    show(Preflight(stage, str(p.model_path), spec.model is None, spec.method, p.sources, p.counts, len(p.train_rows),
                   n_eval, n_train, n_total, spec.per_device_train_batch_size * spec.gradient_accumulation_steps * world,
                   notes, max_length=spec.max_length, policy=spec.overlong, reasoning=line, cache=p.cache))
    trainer.train(resume_from_checkpoint=resume)
    saved = save(trainer, loaded, spec, stage)
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    samples = generate_samples(trainer.model, p.tokenizer, p.sources, spec.generate) if spec.generate and not p.vision else []
    return Result(saved, trainer.state.global_step, losses, samples)


def checkpoint_bytes(n_train: int, n_total: int, adapter: bool) -> int:
    """A checkpoint holds the trained weights (fp32) and the optimizer's two moments; a full run the whole model."""
    saved = n_train if adapter else n_total
    return saved * 4 + n_train * 8


def disk_check(out: Path, n_train: int, n_total: int, spec: RunSpec, max_steps: int) -> str:
    """Estimate checkpoint space against free disk; stop before training when it cannot fit even one."""
    import shutil

    each = checkpoint_bytes(n_train, n_total, spec.method in ("lora", "qlora"))
    steps = max_steps if max_steps > 0 else spec.save_steps
    count = max(1, steps // spec.save_steps)
    count = min(count, spec.save_total_limit) + 1  # the checkpoints kept, plus the final save
    out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out).free
    mb = 1 << 20
    if free < each:
        raise ModelError(f"{out} has {free // mb} MB free but one checkpoint needs about {each // mb} MB; free space "
                         "or choose another --output-dir")
    need = each * count
    warning = "" if free >= need else f" - WARNING: not enough for all {count}; raise --save-steps or lower --save-total-limit"
    return f"checkpoints: ~{each / mb:.1f} MB each, up to {count} ({need / mb:.1f} MB); {free // mb:,} MB free{warning}"


def generate_samples(model: Any, tokenizer: Any, sources: list[Source], n: int) -> list[tuple[str, str]]:
    """Greedy generations for the first `n` training prompts (their last user turn), to eyeball the result."""
    import torch

    from ftdata.core.canonical import chat_messages

    out = []
    prompts = [r for s in sources for r in s.records if r.messages][:n]
    model.eval()
    for rec in prompts:
        msgs = rec.messages or []
        # up to the first user turn: short prompts, and the answer was trained on
        cut = next(i for i, m in enumerate(msgs) if m.role == "user") + 1 if rec.kind == "sft" else len(msgs)
        ids = tokenizer.apply_chat_template(chat_messages(msgs[:cut]), add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)
        ids = {k: v.to(model.device) for k, v in ids.items()}
        with torch.no_grad():
            gen = model.generate(**ids, max_new_tokens=32, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        out.append((msgs[cut - 1].content, tokenizer.decode(gen[0][ids["input_ids"].shape[1]:], skip_special_tokens=True)))
    return out
