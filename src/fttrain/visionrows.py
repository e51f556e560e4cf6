"""Trainer rows and batches for a vision-language model (see `fttrain.vision`): SFT rows (input_ids, labels,
images) and DPO rows (prompt_ids, chosen_ids, rejected_ids, images), each fitted to --max-length without cutting an
image, and the collators that load the images at each batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ftdata.core.canonical import PLACEHOLDERS, Record
from ftdata.core.tokens import text_ids
from fttrain.data import (
    Counts,
    Row,
    Source,
    _fitted,
    _rows,
    encode_preference,
)
from fttrain.lengths import IGNORE, fit_labelled, fit_pair
from fttrain.reasoning import count_blocks
from fttrain.spec import RunSpec, Stage
from fttrain.template import encode_conversation
from fttrain.vision import (
    Expanded,
    Vision,
    VisionError,
    expand,
    fit_images,
    per_image,
    rgb,
    with_image_text,
)


def vision_rows(tokenizer: Any, vision: Vision, source: Source, spec: RunSpec, counts: Counts,
                reasoning: str | None = "reasoning_content", stage: Stage = "sft") -> list[Row]:
    """SFT or DPO samples for a vision-language model (our masks; image tokens never trained) with the row's
    images, fitted to --max-length without cutting an image. A row whose images cannot be read stops the run
    naming it, or with --skip-bad-rows is skipped and counted."""
    encode = (_sft_encoder if stage == "sft" else _dpo_encoder)(tokenizer, vision, spec, counts, reasoning)
    return _rows(source, spec, counts, encode, (VisionError,))


def _count_images(counts: Counts, rec: Record, tokens: int, length: int, max_id: int) -> None:
    counts.images += len(rec.images or [])
    counts.media_rows += bool(rec.images)
    counts.image_tokens += tokens
    counts.lengths.append(length)
    counts.max_token_id = max(counts.max_token_id, max_id)


def _sft_encoder(tokenizer: Any, vision: Vision, spec: RunSpec, counts: Counts,
                 reasoning: str | None) -> Callable[[Record], Row | None]:
    def encode(rec: Record) -> Row | None:
        if rec.kind == "text":
            exp = Expanded(text_ids(tokenizer, rec), [], [], "text")
            exp.labels = list(exp.input_ids)
        else:
            messages = with_image_text(rec.messages or [], vision)
            enc = encode_conversation(tokenizer, messages, rec.tools, spec.train_on, reasoning=reasoning)
            counts.reasoning = counts.reasoning.add(count_blocks(enc, messages, spec.train_on))
            exp = expand(tokenizer, vision, enc.input_ids, enc.labels, rec.images or [], enc.strategy)
        counts.strategies[exp.strategy] += 1
        _count_images(counts, rec, len(exp.image_positions), len(exp.input_ids), max(exp.input_ids, default=-1))
        trained = [i for i, label in enumerate(exp.labels) if label != IGNORE]
        if not trained:
            counts.dropped_no_target += 1
            return None
        kept = fit_images(exp.labels, exp.image_positions, spec.max_length, spec.overlong)
        if kept is None and fit_labelled(exp.labels, spec.max_length, spec.overlong) is not None:
            counts.image_cut += 1
        if kept is not None and not any(exp.labels[k] != IGNORE for k in kept):
            kept = None
        if not _fitted(counts, len(exp.input_ids), kept is not None, spec.max_length):
            return None
        assert kept is not None
        counts.eos_cut += trained[-1] not in kept
        return {"input_ids": [exp.input_ids[k] for k in kept], "labels": [exp.labels[k] for k in kept],
                "images": list(rec.images or [])}

    return encode


def _dpo_encoder(tokenizer: Any, vision: Vision, spec: RunSpec, counts: Counts,
                 reasoning: str | None) -> Callable[[Record], Row | None]:
    def encode(rec: Record) -> Row | None:
        images = list(rec.images or [])
        if any(PLACEHOLDERS["images"] in m.content for m in (rec.chosen or []) + (rec.rejected or [])):
            raise VisionError("an image in a chosen or rejected answer: fttrain takes images in the prompt only")
        shown = rec.model_copy(update={"messages": with_image_text(rec.messages or [], vision)})
        prompt_ids, answers = encode_preference(tokenizer, shown, reasoning)
        prompt = expand(tokenizer, vision, prompt_ids, [IGNORE] * len(prompt_ids), images)
        counts.strategies["prompt/completion"] += 1
        longest = len(prompt.input_ids) + max(map(len, answers))
        _count_images(counts, rec, len(prompt.image_positions), longest,
                      max(max(x, default=-1) for x in [prompt.input_ids, *answers]))
        fitted = fit_pair(prompt.input_ids, answers, spec.max_length, spec.overlong)
        if fitted is not None and fitted[0].count(vision.image_id) != len(prompt.image_positions):
            fitted = None  # an image's tokens cut
            counts.image_cut += 1
        if fitted is not None and not all(fitted[1]):
            fitted = None
        if not _fitted(counts, longest, fitted is not None, spec.max_length):
            return None
        assert fitted is not None
        counts.eos_cut += spec.overlong != "keep_end" and any(len(b) < len(a) for a, b in zip(answers, fitted[1]))
        return {"prompt_ids": fitted[0], "chosen_ids": fitted[1][0], "rejected_ids": fitted[1][1], "images": images}

    return encode


def vision_note(counts: Counts, vision: Vision) -> list[str]:
    """The pre-flight lines of a vision-language run: images read, their tokens, what was dropped for them."""
    name = type(vision.processor).__name__
    notes = [(f"vision: {counts.images:,} images in {counts.media_rows:,} rows (sizes read; {counts.image_tokens:,} "
              f"image tokens by {name}, counted in the lengths, never trained); pixels loaded by the processor at "
              "each batch")]
    if counts.image_cut:
        notes.append(f"vision: {counts.image_cut:,} samples dropped for length: fitting them to --max-length would cut "
                     "an image's tokens; raise --max-length")
    return notes


def load_images(vision: Vision, rows: list[dict[str, Any]], key: str) -> list[Any]:
    """Every row's images, decoded (RGB), each row's image tokens in `key` checked against the processor's count."""
    loaded = []
    for row in rows:
        images = [rgb(ref, vision.base) for ref in row.get("images") or []]
        expected = sum(per_image(vision.processor, im.width, im.height) for im in images)
        found = sum(1 for t in row[key] if t == vision.image_id)
        if found != expected:
            raise VisionError(f"a row holds {found} image tokens where its {len(images)} image(s) take {expected} "
                              "(an image changed since the run started?)")
        loaded += images
    return loaded


@dataclass
class VisionCollator:
    """Batches of our SFT rows (input_ids, labels, images): padded on the right, images loaded and turned into the
    model's inputs by the processor's image processor."""

    vision: Vision
    pad_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        loaded = load_images(self.vision, rows, "input_ids")
        width = max(len(r["input_ids"]) for r in rows)
        out: dict[str, Any] = {
            "input_ids": torch.tensor([r["input_ids"] + [self.pad_id] * (width - len(r["input_ids"])) for r in rows]),
            "attention_mask": torch.tensor([[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"]))
                                            for r in rows]),
            "labels": torch.tensor([r["labels"] + [IGNORE] * (width - len(r["labels"])) for r in rows]),
        }
        if loaded:
            out.update(self.vision.processor.image_processor(images=loaded, return_tensors="pt"))
        return out


@dataclass
class VisionPreferenceCollator:
    """Batches of our DPO rows: trl's preference collator (chosen rows, then rejected rows), and each row's images
    for both halves."""

    vision: Vision
    pad_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        from trl.trainer.dpo_trainer import DataCollatorForPreference

        loaded = load_images(self.vision, rows, "prompt_ids")
        columns = ("prompt_ids", "chosen_ids", "rejected_ids")
        out = dict(DataCollatorForPreference(pad_token_id=self.pad_id)([{k: r[k] for k in columns} for r in rows]))
        if loaded:
            out.update(self.vision.processor.image_processor(images=loaded + loaded, return_tensors="pt"))
        return out


def collator(stage: Stage, vision: Vision, pad_id: int) -> Any:
    """The batch builder of a vision-language run."""
    return (VisionCollator if stage == "sft" else VisionPreferenceCollator)(vision, pad_id)
