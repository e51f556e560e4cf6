"""Loss masks from incremental renders, inspected token by token."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftdata.core.canonical import Message
from fttrain.template import TemplateError, encode_conversation


def convo(weight_first: int | None = None) -> list[Message]:
    return [Message(role="system", content="Be brief."), Message(role="user", content="hi"),
            Message(role="assistant", content="hello", weight=weight_first), Message(role="user", content="2+2?"),
            Message(role="assistant", content="4"), Message(role="user", content="and 3+3?"),
            Message(role="assistant", content="6")]


def trained_segments(tokenizer, enc) -> list[str]:
    """Decode each maximal run of trained tokens."""
    runs, current = [], []
    for tok, label in zip(enc.input_ids, enc.labels):
        if label != -100:
            assert label == tok
            current.append(tok)
        elif current:
            runs.append(tokenizer.decode(current))
            current = []
    if current:
        runs.append(tokenizer.decode(current))
    return runs


def test_every_assistant_turn_and_its_eos_are_trained_and_nothing_else(tokenizer) -> None:
    enc = encode_conversation(tokenizer, convo(), None)
    assert trained_segments(tokenizer, enc) == ["hello<|im_end|>\n", "4<|im_end|>\n", "6<|im_end|>\n"]
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    masked_text = tokenizer.decode([t for t, l in zip(enc.input_ids, enc.labels) if l == -100])
    assert "Be brief." in masked_text and "2+2?" in masked_text and "<|im_start|>assistant" in masked_text
    assert sum(1 for t, l in zip(enc.input_ids, enc.labels) if t == eos and l != -100) == 3


def test_weight_zero_and_train_on_strategies(tokenizer) -> None:
    assert trained_segments(tokenizer, encode_conversation(tokenizer, convo(weight_first=0), None)) == [
        "4<|im_end|>\n", "6<|im_end|>\n"]
    assert trained_segments(tokenizer, encode_conversation(tokenizer, convo(), None, "last")) == ["6<|im_end|>\n"]
    enc = encode_conversation(tokenizer, convo(), None, "all")
    assert all(label != -100 for label in enc.labels)


def test_tool_results_are_masked_and_tool_calls_trained(tokenizer) -> None:
    from ftdata.core.canonical import ToolCall

    msgs = [Message(role="user", content="weather?"),
            Message(role="assistant", content="", tool_calls=[ToolCall(name="w", arguments={"c": "Oslo"})]),
            Message(role="tool", content="3C"), Message(role="assistant", content="3 degrees")]
    segments = trained_segments(tokenizer, encode_conversation(tokenizer, msgs, [{"name": "w"}]))
    assert segments == ['\n<tool_call>\n{"name": "w", "arguments": {"c": "Oslo"}}\n</tool_call><|im_end|>\n',
                        "3 degrees<|im_end|>\n"]


def test_a_template_that_rewrites_history_is_refused(tokenizer) -> None:
    tok = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    # renders only the last message: earlier turns vanish as the conversation grows
    tok.chat_template = "{{ messages[-1].role }}: {{ messages[-1].content }}"
    with pytest.raises(TemplateError, match="cannot be located"):
        encode_conversation(tok, convo(), None)


@settings(max_examples=300, deadline=None)
@given(cuts=st.lists(st.integers(0, 60), max_size=30), bounds=st.lists(st.integers(0, 60), max_size=8),
       shuffle=st.booleans(), data=st.data())
def test_labels_by_bisection_equal_the_per_token_definition(cuts, bounds, shuffle, data) -> None:
    """Token offsets (ascending, with empty tokens, or in any order) and ascending spans: the fast labels are
    exactly "the id where s <= start, end <= e and start < end for some span, else -100"."""
    from fttrain.template import _labels

    points = sorted(cuts)
    offsets = [(a, b) for a, b in zip(points, points[1:] + points[-1:])] if points else []
    if shuffle:
        offsets = data.draw(st.permutations(offsets))
    edges = sorted(bounds)
    spans = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)]
    ids = list(range(100, 100 + len(offsets)))
    expected = [t if any(s <= a and b <= e and a < b for s, e in spans) else -100 for t, (a, b) in zip(ids, offsets)]
    assert _labels(ids, offsets, spans) == expected
