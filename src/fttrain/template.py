"""Chat templates, loss masks for any template, and a time limit on rendering.

Most real chat templates have no `{% generation %}` markers, so trl's `assistant_only_loss` cannot mask them.
Three strategies, the first that is exact for the row wins (its name is counted and shown):

- `markers`: the template has `{% generation %}` blocks: transformers' assistant mask marks what they hold.
- `incremental`: a message's tokens are the characters between `render(messages[:i])` and `render(messages[:i+1])`,
  exact for any template that only appends as the conversation grows (ChatML, Llama-3, Qwen2.5, Mistral, ...).
- `full-render`: for templates that rewrite history (Qwen3 drops old reasoning, Phi-3 ends every render with EOS),
  each assistant turn is located in the one full render: the k-th answer starts after the k-th generation prompt
  ('<|im_start|>assistant\n') and runs to the template's end-of-turn text ('<|im_end|>\n'), or to the end of the
  text for a final answer; both texts are found once per template from a probe conversation.
"""

from __future__ import annotations

import re
import signal
import threading
from bisect import bisect_left, bisect_right
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from operator import lt
from typing import Any, Iterator, Literal

import jinja2

from ftdata.core.canonical import Message, chat_messages
from ftdata.core.tokens import render

TrainOn = Literal["assistant", "all", "last"]
IGNORE = -100
Tools = list[dict[str, Any]] | None

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


class RenderTimeout(Exception):
    """A chat template took longer than the render time limit for one row."""


# What a chat template can raise on a row it cannot render (jinja's raise_exception is a TemplateError)
RENDER_ERRORS: tuple[type[BaseException], ...] = (jinja2.TemplateError, TemplateError, RenderTimeout, TypeError,
                                                   ValueError, KeyError, IndexError, AttributeError)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise RenderTimeout in the block after `seconds` (SIGALRM: main thread on Unix; elsewhere no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise RenderTimeout(f"rendering took over {seconds:g} s (--render-timeout); a runaway loop in the template?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    strategy: str = "incremental"
    owners: list[int] | None = None  # per token: the index of the trained message it belongs to, -1 for none
    text: str = ""  # the render and each token's character span in it (with_owners only)
    offsets: list[tuple[int, int]] | None = None


MARKER = re.compile(r"{%-?\s*generation\s*-?%}")


def encode_conversation(tokenizer: Any, messages: list[Message], tools: list[dict[str, Any]] | None,
                        train_on: TrainOn = "assistant", with_owners: bool = False,
                        reasoning: str | None = "reasoning_content") -> Encoded:
    """Tokenize a canonical conversation; labels are -100 except on trained messages (their EOS included).

    A message is trained when its `weight` is 1, or, without a weight, by `train_on`: every assistant message
    (`assistant`), every message (`all`), or only the last assistant message (`last`). `with_owners` also says
    which message each trained token belongs to (for `fttrain inspect`; slower). `reasoning`: the key reasoning is
    rendered through (`ftdata.core.tokens.reasoning_key`; "content": a leading <think> block; None: dropped); a
    conversation with reasoning keeps its text and offsets, to count its reasoning tokens.
    """
    msgs = chat_messages(messages, reasoning_key=reasoning)
    text = render(tokenizer, msgs, tools)
    last_assistant = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
    chosen = [i for i, m in enumerate(messages) if _trained(m, i, last_assistant, train_on)]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)  # as ftdata.core.tokens.ids, with offsets
    if train_on == "all" and len(chosen) == len(messages):
        spans, strategy = [(0, len(text))], "all"
    elif MARKER.search(str(tokenizer.chat_template or "")):
        spans, strategy = _marked_spans(tokenizer, msgs, tools, enc, messages, chosen), "markers"
    else:
        try:
            spans, strategy = _incremental_spans(tokenizer, msgs, tools, text, messages, chosen, train_on), "incremental"
        except TemplateError:
            spans, strategy = _full_render_spans(tokenizer, msgs, tools, text, messages, chosen), "full-render"
    ids = list(enc["input_ids"])
    labels = _labels(ids, enc["offset_mapping"], spans)
    owners = [-1] * len(ids)
    if with_owners:
        whose = chosen if len(spans) == len(chosen) else [-1] * len(spans)
        starts = [a for a, _ in spans]
        for k, (a, _) in enumerate(enc["offset_mapping"]):
            j = bisect_right(starts, a) - 1
            if labels[k] != IGNORE and j >= 0 and a < spans[j][1]:
                owners[k] = whose[j]
    if not with_owners and (reasoning is None or all(m.reasoning is None for m in messages)):
        return Encoded(ids, labels, strategy)
    return Encoded(ids, labels, strategy, owners, text, [(int(a), int(b)) for a, b in enc["offset_mapping"]])


REWRITES = ("the chat template rewrites earlier turns as the conversation grows, and its turns cannot be located "
            "in the full render either; pass --chat-template chatml, or a template with {% generation %} markers")


def _incremental_spans(tokenizer: Any, msgs: list[dict[str, Any]], tools: Tools, text: str,
                       messages: list[Message], chosen: list[int], train_on: TrainOn) -> list[tuple[int, int]]:
    """Spans from one render per message boundary; TemplateError when the template is not prefix-stable here."""
    spans: list[tuple[int, int]] = []
    previous = ""
    for i, m in enumerate(messages):
        upto = text if i == len(messages) - 1 else render(tokenizer, msgs[: i + 1], tools)  # the last: the full render
        # The prompt part of a turn ("<|im_start|>assistant\n") belongs to the prompt, not to the answer.
        start_text = render(tokenizer, msgs[:i], tools, generation_prompt=True) if m.role == "assistant" else previous
        if not upto.startswith(previous) or not text.startswith(upto) or not upto.startswith(start_text):
            raise TemplateError(REWRITES)
        if i in chosen:
            # train_on=all covers the turn headers too; otherwise an answer starts after its generation prompt
            spans.append((len(previous) if train_on == "all" else len(start_text), len(upto)))
        previous = upto
    return spans


def _full_render_spans(tokenizer: Any, msgs: list[dict[str, Any]], tools: Tools, text: str,
                       messages: list[Message], chosen: list[int]) -> list[tuple[int, int]]:
    """Assistant turns located in the single full render (see the module docstring)."""
    if any(messages[i].role != "assistant" for i in chosen):
        raise TemplateError(REWRITES + " (only assistant turns can be located in a full render: drop weight 1 on "
                            "other roles, or --train-on all)")
    header, eot = generation_header(tokenizer), end_of_turn(tokenizer)
    found: dict[int, tuple[int, int]] = {}
    at = 0
    for i, m in enumerate(messages):
        if m.role != "assistant":
            continue
        opens = text.find(header, at)
        if opens < 0:
            raise TemplateError(REWRITES)
        start = opens + len(header)
        closes = len(text) if i == len(messages) - 1 else text.find(eot, start)
        if closes < 0:
            raise TemplateError(REWRITES)
        at = len(text) if i == len(messages) - 1 else closes + len(eot)
        found[i] = (start, at)
    return [found[i] for i in chosen]


def _marked_spans(tokenizer: Any, msgs: list[dict[str, Any]], tools: Tools, own: Any,
                  messages: list[Message], chosen: list[int]) -> list[tuple[int, int]]:
    """The template's own {% generation %} blocks (transformers' assistant mask), one per assistant turn; `own`: the
    full render tokenized with offsets."""
    enc = tokenizer.apply_chat_template(msgs, tools=tools, tokenize=True, return_dict=True,
                                        return_assistant_tokens_mask=True)
    if list(own["input_ids"]) != list(enc["input_ids"]):
        raise TemplateError("the chat template renders differently when it marks assistant turns")
    runs: list[tuple[int, int]] = []
    for (a, b), marked in zip(own["offset_mapping"], enc["assistant_masks"]):
        if marked and runs and runs[-1][1] >= a:
            runs[-1] = (runs[-1][0], b)
        elif marked:
            runs.append((a, b))
    assistants = [i for i, m in enumerate(messages) if m.role == "assistant"]
    if len(runs) != len(assistants) or any(messages[i].role != "assistant" for i in chosen):
        raise TemplateError("the chat template's {% generation %} blocks do not match the assistant turns one to one "
                            f"({len(runs)} blocks, {len(assistants)} assistant turns)")
    return [runs[assistants.index(i)] for i in chosen]


PROBE = ("Xq1", "Yq2", "Zq3")
USER, ANSWER, AGAIN = ({"role": "user", "content": PROBE[0]}, {"role": "assistant", "content": PROBE[1]},
                       {"role": "user", "content": PROBE[2]})


@lru_cache(maxsize=8)
def _end_of_turn(template: str, tokenizer: Any) -> str:
    first = render(tokenizer, [USER], None)
    header = first[: first.find(PROBE[0])]  # the user turn's opening (with anything the conversation starts with)
    longer = render(tokenizer, [USER, ANSWER, AGAIN], None)
    between = longer[longer.find(PROBE[1]) + len(PROBE[1]): longer.find(PROBE[2])]
    cut = max((k for k in range(len(header) + 1) if between.endswith(header[len(header) - k:])), default=0)
    eot = between[: len(between) - cut]
    if not eot.strip():  # the conversation's opening ends as a turn does (Harmony: '...<|end|>'): cut at a token
        ends = {b for _, b in tokenizer(between, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]}
        eot = between[: min((b for b in ends if 0 < b < len(between) and header.endswith(between[b:])), default=0)]
    if not eot.strip():
        raise TemplateError("the chat template ends an assistant turn with no text of its own, so turns cannot be "
                            "located in a full render; pass --chat-template chatml or a prefix-stable template")
    return eot


@lru_cache(maxsize=8)
def _generation_header(template: str, tokenizer: Any) -> str:
    closed = render(tokenizer, [USER], None)
    opened = render(tokenizer, [USER], None, generation_prompt=True)
    after = opened.find(PROBE[0]) + len(PROBE[0])
    tail, other = opened[after:], closed[after:]
    same = 0
    while same < min(len(tail), len(other)) and tail[same] == other[same]:
        same += 1
    # the user turn's end is what both share; back off to a token boundary ('<|end|>\n<|assistant|>' and
    # '<|end|>\n<|endoftext|>' share '<|end|>\n<|', which is not where the header starts)
    ends = [b for _, b in tokenizer(tail, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]]
    boundary = max((b for b in ends if b <= same), default=0)
    header = tail[boundary:]
    if not header.strip():
        raise TemplateError("the chat template has no generation prompt, so assistant turns cannot be located in a "
                            "full render; pass --chat-template chatml or a prefix-stable template")
    return header


def generation_header(tokenizer: Any) -> str:
    """The text that opens an assistant turn (the generation prompt): '<|im_start|>assistant\n' for ChatML/Qwen3,
    '<|assistant|>\n' for Phi-3, '<start_of_turn>model\n' for Gemma."""
    return _generation_header(str(tokenizer.chat_template), tokenizer)


def end_of_turn(tokenizer: Any) -> str:
    """The text a template puts after an assistant answer, before the next turn: '<|im_end|>\n' for ChatML/Qwen3,
    '<|end|>\n' for Phi-3, '<end_of_turn>\n' for Gemma."""
    return _end_of_turn(str(tokenizer.chat_template), tokenizer)


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


def trained_turns(messages: list[Message], train_on: TrainOn) -> list[int]:
    """The indexes of the messages a conversation trains on (see `encode_conversation`)."""
    last_assistant = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
    return [i for i, m in enumerate(messages) if _trained(m, i, last_assistant, train_on)]


def _trained(m: Message, index: int, last_assistant: int, train_on: TrainOn) -> bool:
    if m.weight is not None:
        return m.weight == 1
    if train_on == "all":
        return True
    if train_on == "last":
        return index == last_assistant
    return m.role == "assistant"
