"""Build the tiny bundled model: a byte-level BPE tokenizer (~1k tokens) and a 2-layer Qwen2, briefly pretrained.

The output (src/fttrain/assets/tiny-qwen2, a few hundred KB) is committed and shipped in the wheel, so the demo
and the tests train offline on CPU in seconds. Re-run after changing anything here:

    OMP_NUM_THREADS=1 .venv/bin/python scripts/make_tiny_model.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    trainers,
)
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer

from fttrain.template import CHATML_TEMPLATE

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "fttrain" / "assets" / "tiny-qwen2"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# transformers 5 rebuilds Qwen2Tokenizer's pipeline from its class: train with exactly that pipeline.
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def corpus() -> list[str]:
    """Text from the bundled fixtures (English and Chinese, chat and tool-call shapes)."""
    texts: list[str] = []
    for path in sorted((ROOT / "fixtures" / "data").rglob("*.json*")):
        raw = path.read_text(encoding="utf-8")
        rows = json.loads(raw) if path.suffix == ".json" else [json.loads(line) for line in raw.splitlines()]
        for row in rows:
            texts.append(json.dumps(row, ensure_ascii=False))
    return texts


def build_tokenizer(texts: list[str]) -> Qwen2Tokenizer:
    bpe = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(texts, trainer)
    data = json.loads(bpe.to_str())
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in data["model"]["merges"]]
    tok = Qwen2Tokenizer(vocab=data["model"]["vocab"], merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                         unk_token=None)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.chat_template = CHATML_TEMPLATE
    return tok


def pretrain(model: Qwen2ForCausalLM, tok: Qwen2Tokenizer, texts: list[str], steps: int = 300) -> None:
    """A short language-model warm-up so that sampled generations look like text, not noise."""
    rng = random.Random(0)
    ids = [tok(t)["input_ids"][:128] for t in texts]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        batch = [rng.choice(ids) for _ in range(8)]
        width = max(map(len, batch))
        input_ids = torch.tensor([b + [tok.pad_token_id] * (width - len(b)) for b in batch])
        labels = torch.tensor([b + [-100] * (width - len(b)) for b in batch])
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step % 100 == 0:
            print(f"step {step}: loss {loss.item():.3f}")
    model.eval()


def main() -> None:
    torch.manual_seed(0)
    texts = corpus()
    tok = build_tokenizer(texts)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         tie_word_embeddings=True, bos_token_id=None, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    model = Qwen2ForCausalLM(config)
    pretrain(model, tok, texts)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT)
    tok.save_pretrained(OUT)
    print(f"saved {OUT}: vocab {len(tok)}, {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
