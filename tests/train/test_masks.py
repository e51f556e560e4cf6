"""Masks for any chat template, each strategy checked against transformers' {% generation %} masks on marked copies
of real templates (Qwen3, Phi-3, Gemma-2, Gemma-3) that render the very same text, with the tiny tokenizer."""

from pathlib import Path

import pytest
from conftest import FIXTURES

from ftdata.core.canonical import Message, ToolCall, chat_messages
from fttrain.data import load_sources
from fttrain.spec import RunSpec
from fttrain.template import encode_conversation, end_of_turn

TEMPLATES = Path(__file__).parent / "templates"
PAIRS = {"qwen3": ("qwen3.jinja", "qwen3_marked.jinja"), "phi3": ("phi3_mini_4k_instruct.jinja", "phi3_marked.jinja"),
         "gemma2": ("gemma2_it.jinja", "gemma2_marked.jinja"), "gemma3": ("gemma3_it.jinja", "gemma3_marked.jinja")}


def with_template(tokenizer, name: str):
    tok = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    tok.chat_template = (TEMPLATES / name).read_text()
    return tok


def conversations(system: bool, tools: bool) -> list[list[Message]]:
    turns = [Message(role="user", content="hi"), Message(role="assistant", content="hello", reasoning="greet"),
             Message(role="user", content="2+2?"), Message(role="assistant", content="4", reasoning="add"),
             Message(role="user", content="and 3+3?"), Message(role="assistant", content="6")]
    out = [turns[:2], turns, [Message(role="system", content="Be brief.")] + turns] if system else [turns[:2], turns]
    if tools:
        out.append([Message(role="user", content="weather in Oslo?"),
                    Message(role="assistant", content="", tool_calls=[ToolCall(name="w", arguments={"c": "Oslo"})]),
                    Message(role="tool", content="3C"), Message(role="assistant", content="3 degrees"),
                    Message(role="user", content="thanks"), Message(role="assistant", content="welcome")])
    return out


def reference_labels(marked, messages: list[Message], tools) -> tuple[list[int], list[int]]:
    """transformers' assistant mask from the template's {% generation %} blocks, as labels."""
    enc = marked.apply_chat_template(chat_messages(messages), tools=tools, tokenize=True, return_dict=True,
                                     return_assistant_tokens_mask=True)
    ids = list(enc["input_ids"])
    return ids, [t if m else -100 for t, m in zip(ids, enc["assistant_masks"])]


def rows(name: str) -> list[tuple[list[Message], list | None]]:
    system, tools = name in ("qwen3", "phi3", "gemma3"), name == "qwen3"
    found = [(c, None) for c in conversations(system, tools)]
    if name == "qwen3":  # real multi-turn rows with tool calls and a long system prompt
        for path in ("moss/moss_sample.jsonl", "llamafactory/glaive_toolcall_en_demo.json"):
            (source,) = load_sources(FIXTURES / path, RunSpec(), "sft")
            found += [(r.messages, r.tools) for r in source.records[:40]]
    return found


@pytest.mark.parametrize("name,strategies", [("qwen3", {"full-render", "incremental"}), ("phi3", {"full-render"}),
                                             ("gemma2", {"incremental"}), ("gemma3", {"incremental"})])
def test_masks_equal_generation_marker_masks(tokenizer, name, strategies) -> None:
    original, marked = (with_template(tokenizer, f) for f in PAIRS[name])
    seen = set()
    for messages, tools in rows(name):
        msgs = chat_messages(messages)
        text = original.apply_chat_template(msgs, tools=tools, tokenize=False)
        assert marked.apply_chat_template(msgs, tools=tools, tokenize=False) == text  # the marks change nothing else
        ids, labels = reference_labels(marked, messages, tools)
        ours = encode_conversation(original, messages, tools)
        assert ours.input_ids == ids
        assert ours.labels == labels, (name, ours.strategy, text)
        seen.add(ours.strategy)
        by_markers = encode_conversation(marked, messages, tools)  # the markers strategy, on the marked copy
        assert (by_markers.strategy, by_markers.labels) == ("markers", labels)
    assert seen == strategies


def test_end_of_turn_found_from_a_probe(tokenizer) -> None:
    found = {name: end_of_turn(with_template(tokenizer, PAIRS[name][0])) for name in PAIRS}
    assert found == {"qwen3": "<|im_end|>\n", "phi3": "<|end|>\n", "gemma2": "<end_of_turn>\n",
                     "gemma3": "<end_of_turn>\n"}


def test_qwen3_history_without_reasoning_is_masked_not_refused(tokenizer) -> None:
    """Qwen3 drops reasoning from turns before the last question: earlier answers are trained as rendered."""
    tok = with_template(tokenizer, "qwen3.jinja")
    enc = encode_conversation(tok, conversations(False, False)[1], None)
    trained = tok.decode([t for t, label in zip(enc.input_ids, enc.labels) if label != -100])
    assert enc.strategy == "full-render"
    assert trained == "hello<|im_end|>\n4<|im_end|>\n<think>\n\n</think>\n\n6<|im_end|>\n"
