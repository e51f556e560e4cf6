"""The image tokens a vision-language processor adds per image, read from its folder's `preprocessor_config.json`
(and `processor_config.json`): no weights, no transformers.

Two families, as their processors compute them:
- a fixed count per image: `image_seq_length` (PaliGemma, Gemma 3, LLaVA's processor config) or, for a fixed
  input size, (size / patch_size)^2 (CLIP / SigLIP towers);
- Qwen2-VL / Qwen2.5-VL / Qwen3-VL: the image is resized to a multiple of patch_size * merge_size with its pixels
  kept within [min_pixels, max_pixels] (`smart_resize`), then (h / patch) * (w / patch) / merge^2 tokens.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftdata.io.readers import UsageError


@dataclass(frozen=True)
class ImageTokens:
    """Tokens per image of a processor: fixed (`fixed`), or Qwen2-VL's rule (`patch`, `merge`, pixel bounds)."""

    fixed: int | None = None
    patch: int = 14
    merge: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 28 * 28 * 1280

    def __call__(self, width: int, height: int) -> int:
        if self.fixed is not None:
            return self.fixed
        h, w = smart_resize(height, width, self.patch * self.merge, self.min_pixels, self.max_pixels)
        return (h // self.patch) * (w // self.patch) // (self.merge * self.merge)


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen2-VL's resize: both sides multiples of `factor`, the area within [min_pixels, max_pixels], the aspect
    ratio kept (transformers' `qwen2_vl.image_processing_qwen2_vl.smart_resize`)."""
    h = round(height / factor) * factor  # may be 0 for a sliver: the min_pixels branch then sizes it
    w = round(width / factor) * factor
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def image_tokens(folder: str | Path) -> ImageTokens:
    """The rule of the processor in `folder`; UsageError (a one-line reason) when it cannot be told."""
    config = _configs(Path(folder))
    if isinstance(config.get("image_seq_length"), int):
        return ImageTokens(fixed=config["image_seq_length"])
    patch, merge = config.get("patch_size"), config.get("merge_size")
    if isinstance(patch, int) and isinstance(merge, int):
        size: dict[str, Any] = config["size"] if isinstance(config.get("size"), dict) else {}
        low = config.get("min_pixels") or size.get("shortest_edge") or ImageTokens.min_pixels
        high = config.get("max_pixels") or size.get("longest_edge") or ImageTokens.max_pixels
        return ImageTokens(patch=patch, merge=merge, min_pixels=int(low), max_pixels=int(high))
    side = _side(config.get("crop_size")) or _side(config.get("size"))
    if isinstance(patch, int) and side:
        return ImageTokens(fixed=(side // patch) ** 2)
    raise UsageError(f"--processor {folder}: cannot tell the image tokens from its preprocessor_config.json (no "
                     "image_seq_length, no patch_size with merge_size or a fixed size)")


def _side(size: Any) -> int | None:
    if isinstance(size, int):
        return size
    if isinstance(size, dict):
        value = size.get("height") or size.get("shortest_edge")
        return value if isinstance(value, int) else None
    return None


def _configs(folder: Path) -> dict[str, Any]:
    """preprocessor_config.json, with processor_config.json's keys over it (where LLaVA keeps its counts)."""
    merged: dict[str, Any] = {}
    found = False
    for name in ("preprocessor_config.json", "processor_config.json"):
        path = folder / name
        if not path.is_file():
            continue
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise UsageError(f"--processor {folder}: {name} cannot be read ({err})") from None
        if isinstance(loaded, dict):
            merged.update(loaded)
            found = True
    if not found:
        raise UsageError(f"--processor {folder}: no preprocessor_config.json there; pass a vision-language model's "
                         "folder (its processor files; no weights are read)")
    return merged
