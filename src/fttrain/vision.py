"""Vision-language models (a model folder with a processor): rows with images for trl's vision-language path.

Rows are tokenized by our template code (`fttrain.template`: the same exact assistant-turn masks as text runs);
each image's placeholder becomes what the processor's chat template renders for an image part, and its image
token is expanded to the count the processor gives that image (from the image's size: header only), so
--max-length and the pre-flight count every image token. Image tokens are never trained, in any turn. A sample
is never cut through an image (the model would fail on it): one that would be is dropped for its length, counted.
At each batch `VisionCollator` loads the images (Pillow) through the processor's image processor and checks the
expanded counts against it.

Why not trl's own collator (`DataCollatorForVisionLanguageModeling`): it re-renders each batch with the
processor's chat template and masks by `{% generation %}` markers (`return_assistant_tokens_mask`), which most
VLM templates lack, ignoring --train-on and message weights; it truncates by the processor, which may cut an
image's tokens; and nothing is counted before the run.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdata.core.canonical import PLACEHOLDERS
from ftdata.core.tokens import ids
from fttrain.lengths import IGNORE, fit_labelled
from fttrain.model import ModelError, is_vision

_MARK = "\x1e"  # cannot occur in a chat template's own text: splits the render of an image part from its sides


class VisionError(ModelError):
    """The model's processor cannot be used, or an image / row cannot go through it (a one-line reason)."""


@dataclass
class Vision:
    """A VLM's processor and what an image is to it: the text an image part renders as, the token the processor
    expands, and where relative image paths resolve."""

    processor: Any
    image_text: str
    image_id: int
    base: Path
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # ref -> (width, height), read once a run

    def size(self, ref: str) -> tuple[int, int]:
        """(width, height) of an image from its header (Pillow opens lazily: no pixel is decoded here)."""
        if ref not in self.sizes:
            with open_image(ref, self.base) as image:
                self.sizes[ref] = (int(image.width), int(image.height))
        return self.sizes[ref]

    def tokens(self, ref: str) -> int:
        """The image tokens the processor gives this image."""
        width, height = self.size(ref)
        return per_image(self.processor, width, height)


def per_image(processor: Any, width: int, height: int) -> int:
    """The processor's own count of image tokens for an image of this size (transformers'
    `_get_num_multimodal_tokens`, as vLLM uses it)."""
    try:
        found = processor._get_num_multimodal_tokens(image_sizes=[(height, width)])
        return int(found["num_image_tokens"][0] if isinstance(found, dict) else found.num_image_tokens[0])
    except (AttributeError, NotImplementedError, KeyError, TypeError, IndexError) as error:
        raise VisionError(f"{type(processor).__name__} cannot tell how many tokens an image takes "
                          f"({type(error).__name__}: {error}); fttrain needs that to count and mask them") from None


def load_vision(model: Path, tokenizer: Any, base: Path, trust_remote_code: bool = False) -> Vision:
    """The processor of `model`, sharing the run's tokenizer (its chat template as configured for the run)."""
    from transformers import AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(model, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as error:
        raise VisionError(f"{model}: cannot load its processor ({type(error).__name__}: "
                          f"{str(error).strip().splitlines()[0][:300] if str(error).strip() else ''})") from None
    token = getattr(processor, "image_token", None)
    if not isinstance(token, str) or getattr(processor, "tokenizer", None) is None:
        raise VisionError(f"{model}: its {type(processor).__name__} names no image token; fttrain trains "
                          "vision-language models whose processor expands an image token")
    token_id = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(token_id, int) or ids(tokenizer, token) != [token_id]:
        raise VisionError(f"{model}: its image token {token!r} is not one token of its tokenizer")
    processor.tokenizer = tokenizer
    return Vision(processor, image_part_text(processor, token), token_id, base)


def vision_of(model: Path, tokenizer: Any, source: Path, trust_remote_code: bool = False) -> Vision | None:
    """The processor of a vision-language `model` (None for a text model), images resolved as ftdata resolves a
    data file's media (beside `source`, or in it when it is a folder)."""
    if not is_vision(model):
        return None
    return load_vision(model, tokenizer, source if source.is_dir() else source.resolve().parent, trust_remote_code)


def image_part_text(processor: Any, token: str) -> str:
    """What one image part of a message renders as in the processor's chat template ('<image>' for LLaVA,
    '<|vision_start|><|image_pad|><|vision_end|>' for Qwen2-VL); the bare image token without a template."""
    if not getattr(processor, "chat_template", None):
        return token
    part = [{"role": "user", "content": [{"type": "text", "text": _MARK}, {"type": "image"},
                                         {"type": "text", "text": _MARK}]}]
    try:
        text = str(processor.apply_chat_template(part, tokenize=False))
    except Exception:  # any template error: the bare token is the processor's own placeholder  # noqa: BLE001
        return token
    pieces = text.split(_MARK)
    return pieces[1] if len(pieces) == 3 and token in pieces[1] else token


def open_image(ref: str, base: Path) -> Any:
    """The image `ref` names (a path, relative to `base`, or a data: URL), opened lazily by Pillow."""
    from PIL import Image, UnidentifiedImageError

    try:
        if ref.startswith("data:"):
            return Image.open(io.BytesIO(base64.b64decode(ref.partition(",")[2], validate=False)))
        if "://" in ref:
            raise VisionError(f"{ref}: remote images are never fetched; download them and name the files")
        return Image.open(base / ref)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise VisionError(f"{ref[:80]}: cannot open the image ({type(error).__name__}: {error})") from None


@dataclass
class Expanded:
    """A conversation with its image tokens expanded: ids, labels (-100 on each image token), their positions."""

    input_ids: list[int]
    labels: list[int]
    image_positions: list[int]
    strategy: str


def with_image_text(messages: list[Any], vision: Vision) -> list[Any]:
    """Messages whose `<image>` placeholders are the processor's image text."""
    mark = PLACEHOLDERS["images"]
    return [m.model_copy(update={"content": m.content.replace(mark, vision.image_text)}) for m in messages]


def expand(tokenizer: Any, vision: Vision, token_ids: list[int], labels: list[int], images: list[str],
           strategy: str = "") -> Expanded:
    """A render's ids and labels with each image part expanded to the processor's tokens, all masked."""
    parts = image_parts(tokenizer, token_ids, vision, images)
    out_ids: list[int] = []
    out_labels: list[int] = []
    positions: list[int] = []
    k = 0
    while k < len(token_ids):
        shown, width = parts.get(k, ([], 0))
        if not width:
            out_ids.append(token_ids[k])
            out_labels.append(labels[k])
            k += 1
            continue
        positions += [len(out_ids) + j for j, (_, token) in enumerate(shown) if token == vision.image_id]
        out_ids += [token for _, token in shown]
        out_labels += [IGNORE] * len(shown)
        k += width
    if out_ids.count(vision.image_id) != len(positions):
        raise VisionError(f"the render holds more image tokens than the row's {len(images)} image(s)")
    return Expanded(out_ids, out_labels, positions, strategy)


def image_parts(tokenizer: Any, token_ids: list[int], vision: Vision,
                images: list[str]) -> dict[int, tuple[list[tuple[str, int]], int]]:
    """Where each image's part starts in an unexpanded render -> (each token it expands to, shown as text: the
    image token's first copy as '[image 1: a.jpg 300x168, 16 tokens]', its other copies as ''; the part's width)."""
    part = ids(tokenizer, vision.image_text)
    found: dict[int, tuple[list[tuple[str, int]], int]] = {}
    k = 0
    while k < len(token_ids) and len(found) < len(images):
        if token_ids[k:k + len(part)] != part:
            k += 1
            continue
        ref, shown = images[len(found)], []
        for token in part:
            if token == vision.image_id:
                (width, height), count = vision.size(ref), vision.tokens(ref)
                shown += [(f"[image {len(found) + 1}: {ref[:60]} {width}x{height}, {count} tokens]", token)]
                shown += [("", token)] * (count - 1)
            else:
                shown.append((tokenizer.decode([token]), token))
        found[k] = (shown, len(part))
        k += len(part)
    if len(found) != len(images):
        raise VisionError(f"the chat template rendered {len(found)} of the row's {len(images)} images")
    return found


def fit_images(labels: list[int], images: list[int], max_length: int, policy: Any) -> list[int] | None:
    """The positions kept within max_length (`fit_labelled`), or None when the policy drops the sample or its cut
    would split or leave out an image (the model needs every image's tokens with its pixels)."""
    kept = fit_labelled(labels, max_length, policy)
    if kept is None or not images:
        return kept
    return kept if set(images) <= set(kept) else None


def rgb(ref: str, base: Path) -> Any:
    """The image `ref` names, decoded, as RGB (what the image processor is given)."""
    with open_image(ref, base) as image:
        return image.convert("RGB")
