"""Build the tiny bundled vision-language model: a LLaVA with random weights, a 2-layer Qwen2 text model on the tiny
Qwen2 tokenizer plus an `<image>` token, a 1-layer CLIP vision tower on 56x56 images (16 image tokens an image), and
CLIP's PIL image processor (no torchvision: transformers 5.25 cannot build Qwen2-VL's processor without it).

The output (src/fttrain/assets/tiny-llava, under a MB) is committed and shipped in the wheel (`--model tiny-llava`),
so the VLM demo and tests train offline on CPU in seconds. Random weights: it learns nothing useful, it only
exercises the path. Re-run after changing anything here (it needs the tiny Qwen2 built by scripts/make_tiny_model.py):

    OMP_NUM_THREADS=1 .venv/bin/python scripts/make_tiny_vlm.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    CLIPVisionConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    Qwen2Config,
)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
TEXT = ROOT / "src" / "fttrain" / "assets" / "tiny-qwen2"
OUT = ROOT / "src" / "fttrain" / "assets" / "tiny-llava"
IMAGE_TOKEN = "<image>"
SIDE, PATCH = 56, 14  # images resized and cropped to 56x56: (56 / 14)^2 = 16 image tokens each
# ChatML, with an image part rendered as LLaVA's placeholder (what the processor expands to 16 tokens)
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def main() -> None:
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(TEXT)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>", IMAGE_TOKEN]})
    images = CLIPImageProcessorPil(size={"shortest_edge": SIDE}, crop_size={"height": SIDE, "width": SIDE})
    processor = LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=PATCH,
                               vision_feature_select_strategy="default", chat_template=CHAT_TEMPLATE,
                               image_token=IMAGE_TOKEN, num_additional_image_tokens=1)
    text = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                       tie_word_embeddings=True, bos_token_id=None, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                              image_size=SIDE, patch_size=PATCH, projection_dim=32)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids(IMAGE_TOKEN),
                         vision_feature_select_strategy="default", vision_feature_layer=-1, image_seq_length=16,
                         tie_word_embeddings=True)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    if OUT.exists():
        shutil.rmtree(OUT)
    model.save_pretrained(OUT)
    processor.save_pretrained(OUT)
    images.save_pretrained(OUT)  # preprocessor_config.json too: `ftdata stats --processor` reads it
    print(f"saved {OUT}: vocab {len(tok)}, {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
