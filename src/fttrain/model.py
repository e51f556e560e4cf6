"""Model and tokenizer: loading (never running remote code unless asked), quantization, peft, freezing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdata.core.tokens import render
from fttrain.spec import RunSpec, bundled
from fttrain.template import CHATML_TEMPLATE, RENDER_ERRORS, time_limit


def bundled_model() -> Path:
    """The tiny Qwen2 (the default --model)."""
    return bundled("tiny-qwen2")


def bundled_vlm() -> Path:
    """The tiny LLaVA (random weights), for vision-language tests and the demo."""
    return bundled("tiny-llava")


PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")


def is_vision(model: Path) -> bool:
    """A vision-language model: its folder holds a processor (`processor_config.json` / `preprocessor_config.json`)."""
    return any((model / name).is_file() for name in PROCESSOR_FILES)


def model_class(path: Path) -> Any:
    """transformers' auto class for the model in `path`: image-text-to-text where it has a processor."""
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    return AutoModelForImageTextToText if is_vision(path) else AutoModelForCausalLM


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    peft_config: Any | None
    notes: list[str] = field(default_factory=list)
    path: Path | None = None  # the base model's folder (a QLoRA merge reloads it unquantized)
    compute_dtype: Any = None  # the dtype LoRA computes in (a QLoRA merge loads the base in it)
    processor: Any = None  # a vision-language model's processor (trl's processing class; saved beside the model)


class ModelError(Exception):
    """The model or tokenizer cannot be used as asked (missing, no template, vocabulary mismatch)."""


def load_tokenizer(path: Path, spec: RunSpec) -> Any:
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=spec.trust_remote_code)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{path}: cannot load its tokenizer ({type(error).__name__}: {_first_line(error)}); check "
                         "the tokenizer files against the model's source") from None
    if spec.chat_template == "chatml":
        tok.chat_template = CHATML_TEMPLATE
    elif spec.chat_template:
        tok.chat_template = Path(spec.chat_template).read_text(encoding="utf-8")
    if not tok.chat_template:
        raise ModelError(f"{path} has no chat template; pass --chat-template chatml (or a .jinja file)")
    probe = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]
    try:
        with time_limit(spec.render_timeout):
            render(tok, probe, None)
    except RENDER_ERRORS as error:
        raise ModelError(f"the chat template fails on a two-message conversation ({type(error).__name__}: "
                         f"{_first_line(error)}); fix it, or pass --chat-template chatml or a .jinja file") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


def bf16_default(spec: RunSpec) -> bool:
    """--bf16 as given; by default on wherever the accelerator supports it (transformers' own check: CUDA, XPU,
    MPS, NPU, ...), off on CPUs."""
    from transformers.utils import is_torch_bf16_gpu_available

    return spec.bf16 if spec.bf16 is not None else bool(is_torch_bf16_gpu_available())


def load_model(path: Path, tokenizer: Any, spec: RunSpec, max_token_id: int) -> Loaded:
    """Base model per --method, with embeddings grown for added tokens, and the peft config for LoRA."""
    import torch
    from transformers import BitsAndBytesConfig

    notes: list[str] = []
    kwargs: dict[str, Any] = {"trust_remote_code": spec.trust_remote_code}
    compute = torch.bfloat16 if bf16_default(spec) else torch.float32
    if spec.method == "qlora":
        kwargs["quantization_config"] = (
            BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=compute)
            if spec.quantization_bit == 4 else BitsAndBytesConfig(load_in_8bit=True))
        notes.append(f"quantized to {spec.quantization_bit} bit" + (" (nf4, double quant)" if spec.quantization_bit == 4 else ""))
    model = model_class(path).from_pretrained(path, **kwargs)
    embeddings: Any = model.get_input_embeddings()
    rows = int(embeddings.weight.shape[0])
    needed = max(len(tokenizer), max_token_id + 1)
    resized = False
    if needed > rows:
        if not spec.resize_embeddings:
            raise ModelError(f"token ids go up to {needed - 1} but the model has {rows} embeddings (added tokens?); "
                             "drop --no-resize-embeddings to grow them, or use the model's own tokenizer")
        model.resize_token_embeddings(needed)
        resized = True
        notes.append(f"embeddings grown from {rows} to {needed} rows for added tokens (trained)")
    peft_config = None
    if spec.method in ("lora", "qlora"):
        from peft import LoraConfig, prepare_model_for_kbit_training

        if spec.method == "qlora":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=spec.gradient_checkpointing)
        targets: Any = spec.lora_target if spec.lora_target == "all-linear" else [t.strip() for t in spec.lora_target.split(",")]
        peft_config = LoraConfig(r=spec.lora_rank, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                                 target_modules=targets, use_rslora=spec.use_rslora, use_dora=spec.use_dora,
                                 task_type="CAUSAL_LM",
                                 modules_to_save=["embed_tokens", "lm_head"] if resized else None)
    elif spec.method == "freeze":
        notes.append(freeze_all_but_last(model, spec.freeze_trainable_layers))
    return Loaded(model, tokenizer, peft_config, notes, path, compute)


def merged_qlora(loaded: Loaded, adapter: Path, spec: RunSpec) -> Any:
    """A QLoRA adapter merged into its base loaded unquantized, in the adapter's compute dtype. Merging into the
    4-bit model itself would re-quantize base + update to 4 bit and lose much of what was trained (peft warns; on
    the tiny model the merged logits moved by 1.36 where the whole adapter moves them by 1.44)."""
    from peft import PeftModel

    assert loaded.path is not None
    base = model_class(loaded.path).from_pretrained(str(loaded.path), dtype=loaded.compute_dtype,
                                                trust_remote_code=spec.trust_remote_code)
    embeddings: Any = base.get_input_embeddings()
    if len(loaded.tokenizer) > int(embeddings.weight.shape[0]):
        base.resize_token_embeddings(len(loaded.tokenizer))  # as in training: the adapter saved the grown rows
    return PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()


def freeze_all_but_last(model: Any, n: int) -> str:
    """Train only the last `n` decoder layers (LLaMA-Factory's freeze tuning)."""
    layers = model.get_decoder().layers
    if not 0 < n <= len(layers):
        raise ModelError(f"--freeze-trainable-layers must be between 1 and {len(layers)}, got {n}")
    for p in model.parameters():
        p.requires_grad = False
    for layer in layers[-n:]:
        for p in layer.parameters():
            p.requires_grad = True
    return f"training the last {n} of {len(layers)} layers"


def trainable(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
