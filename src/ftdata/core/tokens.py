"""Tokens as a trainer sees them: records rendered with a chat template and tokenized. One place, used by
`ftdata stats` and by fttrain's pre-flight, so that both count the same tokens for the same row.

`tokenizer` is any Hugging Face tokenizer with a chat template (transformers is needed only to load one).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ftdata.core.canonical import Record, chat_messages
from ftdata.core.reasoning import KEYS, join_think

TINY = "tiny"  # the bundled tiny tokenizer (fttrain's test model)


def render(tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
           generation_prompt: bool = False) -> str:
    """The chat template applied to chat messages (see `ftdata.core.canonical.chat_messages`), as text."""
    if not messages:
        return ""
    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=generation_prompt)
    return str(text)


def ids(tokenizer: Any, text: str) -> list[int]:
    """Token ids of text that already holds its special tokens (rendered): none are added."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def text_ids(tokenizer: Any, record: Record) -> list[int]:
    """A pretraining text record: its tokens and the EOS token (so the model learns to stop)."""
    return ids(tokenizer, record.text or "") + [tokenizer.eos_token_id]


def count(tokenizer: Any, record: Record) -> int:
    """Tokens of the longest sequence the record trains on: the SFT conversation; prompt + chosen or prompt +
    rejected; prompt + completion; text + EOS. Reasoning goes under the key the template reads (`reasoning_key`)."""
    if record.kind == "text":
        return len(text_ids(tokenizer, record))
    key = reasoning_key(tokenizer)
    return max(len(ids(tokenizer, render(tokenizer, chat_messages(seq, reasoning_key=key), record.tools)))
               for seq in record.sequences())


PROBE = ("Uq4", "Rq5 probe reasoning", "Aq6")  # a question, its reasoning, its answer: texts no template writes


def reasoning_key(tokenizer: Any) -> str | None:
    """The message key the chat template renders reasoning from (reasoning_content for Qwen3, thinking for gpt-oss),
    found by rendering a probe conversation under each key in turn; None when it renders none of them. No table
    per model: the template itself answers."""
    return _reasoning_key(str(tokenizer.chat_template), tokenizer)


def renders_reasoning(tokenizer: Any, key: str) -> bool:
    """Does the template render the probe's reasoning given under `key` ("content": as a leading <think> block)?"""
    answer: dict[str, Any] = {"role": "assistant", "content": PROBE[2]}
    if key == "content":
        answer["content"] = join_think(PROBE[1], PROBE[2])
    else:
        answer[key] = PROBE[1]
    try:
        return PROBE[1] in render(tokenizer, [{"role": "user", "content": PROBE[0]}, answer], None)
    except Exception:  # noqa: BLE001 - a template that fails on a key it does not expect does not read it
        return False


@lru_cache(maxsize=8)
def _reasoning_key(template: str, tokenizer: Any) -> str | None:
    return next((key for key in KEYS if renders_reasoning(tokenizer, key)), None)


def reasoning_count(tokenizer: Any, record: Record) -> int:
    """Tokens of the record's reasoning texts (each tokenized alone: what the reasoning adds, template aside)."""
    return sum(len(ids(tokenizer, m.reasoning)) for _, msgs in record.message_lists() for m in msgs
               if m.reasoning is not None)


def load_tokenizer(spec: str) -> Any:
    """'tiny' (the bundled one) or a local HF tokenizer folder; needs transformers (the `train` extra)."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ValueError("--tokenizer needs transformers: pip install 'ftdata[train]'") from None
    if spec == TINY:
        spec = str(resources.files("fttrain") / "assets" / "tiny-qwen2")
    if not Path(spec).is_dir():
        raise ValueError(f"--tokenizer {spec}: not a local tokenizer folder (hub downloads are off)")
    for name in TOKENIZER_JSON:  # a broken file is named, not left to a bare parse message from deep inside
        _check_json(Path(spec) / name)
    try:
        return AutoTokenizer.from_pretrained(spec)
    except Exception as err:  # noqa: BLE001 - transformers raises anything from OSError to KeyError on a bad folder
        raise ValueError(f"--tokenizer {spec}: cannot load it ({type(err).__name__}: "
                         f"{(str(err).strip().splitlines() or [''])[0][:200]})") from None


TOKENIZER_JSON = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                  "vocab.json", "config.json")  # the JSON files a tokenizer folder may hold


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_bytes())
    except FileNotFoundError:
        return
    except OSError as err:
        raise ValueError(f"--tokenizer: {path}: cannot read it ({err.strerror or err})") from None
    except (ValueError, RecursionError) as err:
        raise ValueError(f"--tokenizer: {path}: not valid JSON ({str(err)[:200] or 'nested too deeply'}); restore "
                         "it from the tokenizer's source") from None
