"""Chat templates and loss masks computed from incremental renders.

Most real chat templates have no `{% generation %}` markers, so trl's `assistant_only_loss` cannot mask them.
We render the conversation once per message boundary instead: a message's tokens are the characters between
`render(messages[:i])` and `render(messages[:i+1])`, which works for any template that only appends as the
conversation grows (ChatML, Llama-3, Qwen2.5, Mistral, ...). A template that rewrites earlier turns (e.g. one that
drops reasoning from history) is detected and refused with a clear message rather than mis-masked.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from operator import lt
from typing import Any, Literal

from ftdata.canonical import Message, chat_messages
from ftdata.tokens import render

TrainOn = Literal["assistant", "all", "last"]

# ChatML with tool calls, tool results and reasoning; prefix-stable by construction.
NL = "{{ '\\n' }}"  # HF renders with trim_blocks: newlines after tags must be expressions
CHATML_TEMPLATE = (
    "{% if tools %}<|im_start|>system" + NL
    + "{% if messages and messages[0].role == 'system' %}{{ messages[0].content }}" + NL + NL + "{% endif %}# Tools"
    + "{% for tool in tools %}" + NL + "{{ tool | tojson }}{% endfor %}<|im_end|>" + NL
    + "{% elif messages and messages[0].role == 'system' %}<|im_start|>system" + NL
    + "{{ messages[0].content }}<|im_end|>" + NL + "{% endif %}"
    + "{% for message in messages %}{% if not (loop.first and message.role == 'system') %}"
    + "<|im_start|>{{ message.role }}" + NL
    + "{% if message.reasoning_content %}<think>" + NL + "{{ message.reasoning_content }}" + NL + "</think>" + NL
    + "{% endif %}{{ message.content }}"
    + "{% for call in message.tool_calls or [] %}" + NL + "<tool_call>" + NL
    + "{{ {'name': call.function.name, 'arguments': call.function.arguments} | tojson }}" + NL + "</tool_call>"
    + "{% endfor %}<|im_end|>" + NL + "{% endif %}{% endfor %}"
    + "{% if add_generation_prompt %}<|im_start|>assistant" + NL + "{% endif %}"
)


class TemplateError(ValueError):
    """The chat template cannot be used for masking (not prefix-stable, or missing)."""


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]


def encode_conversation(tokenizer: Any, messages: list[Message], tools: list[dict[str, Any]] | None,
                        train_on: TrainOn = "assistant") -> Encoded:
    """Tokenize a canonical conversation; labels are -100 except on trained messages (their EOS included).

    A message is trained when its `weight` is 1, or, without a weight, by `train_on`: every assistant message
    (`assistant`), every message (`all`), or only the last assistant message (`last`).
    """
    msgs = chat_messages(messages)
    text = render(tokenizer, msgs, tools)
    spans: list[tuple[int, int]] = []
    previous = ""
    last_assistant = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
    for i, m in enumerate(messages):
        upto = render(tokenizer, msgs[: i + 1], tools)
        # The prompt part of a turn ("<|im_start|>assistant\n") belongs to the prompt, not to the answer.
        start_text = render(tokenizer, msgs[:i], tools, generation_prompt=True) if m.role == "assistant" else previous
        if not upto.startswith(previous) or not text.startswith(upto) or not upto.startswith(start_text):
            raise TemplateError("the chat template rewrites earlier turns as the conversation grows, so loss masks "
                                "cannot be derived from it; pass --chat-template chatml or a prefix-stable template")
        if _trained(m, i, last_assistant, train_on):
            # train_on=all covers the turn headers too; otherwise an answer starts after its generation prompt
            spans.append((len(previous) if train_on == "all" else len(start_text), len(upto)))
        previous = upto
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)  # as ftdata.tokens.ids, with offsets
    ids = list(enc["input_ids"])
    return Encoded(ids, _labels(ids, enc["offset_mapping"], spans))


def _labels(ids: list[int], offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    """Each token's id where its text lies inside a trained span (s <= start, end <= e, not empty), else -100.

    Spans ascend, and token offsets ascend for the tokenizers we meet, so a span's tokens are one slice found by
    bisection; the plain per-token test over every span (half of preprocessing time) is kept for any tokenizer
    whose offsets do not ascend.
    """
    starts, ends = (list(column) for column in zip(*offsets)) if offsets else ([], [])
    if starts != sorted(starts) or ends != sorted(ends):
        return [tok if any(s <= a and b <= e and a < b for s, e in spans) else -100
                for tok, (a, b) in zip(ids, offsets)]
    labels = [-100] * len(ids)
    for s, e in spans:
        first, stop = bisect_left(starts, s), bisect_right(ends, e)
        labels[first:stop] = ids[first:stop]
    if not all(map(lt, starts, ends)):
        for k, has_text in enumerate(map(lt, starts, ends)):
            if not has_text:  # an empty token (no text of its own) is never trained
                labels[k] = -100
    return labels


def _trained(m: Message, index: int, last_assistant: int, train_on: TrainOn) -> bool:
    if m.weight is not None:
        return m.weight == 1
    if train_on == "all":
        return True
    if train_on == "last":
        return index == last_assistant
    return m.role == "assistant"
