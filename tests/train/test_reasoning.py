"""Reasoning to the trained tokens, per shipped template (the bundled tiny model's, Qwen3, a gpt-oss/Harmony-shaped
and a DeepSeek-R1-shaped one): the key found by a probe, masks exact against the templates' {% generation %} copies,
and the reasoning blocks each --reasoning-history policy promises, trained (and the others named)."""

import json
from pathlib import Path

import jinja2
import pytest
from conftest import ROOT

from ftdata.core.canonical import Message, chat_messages
from ftdata.core.tokens import reasoning_key
from fttrain.data import Counts, DataError, Source, sft_rows
from fttrain.reasoning import expand, preflight_line, resolve_key
from fttrain.spec import RunSpec
from fttrain.template import CHATML_TEMPLATE, encode_conversation

TEMPLATES = Path(__file__).parent / "templates"
HARMONY_TOKENS = ["<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>"]
# the bundled template with its assistant turns marked: the independent reference for its masks
NL = "{{ '\\n' }}"
BODY = CHATML_TEMPLATE[CHATML_TEMPLATE.index("{% if message.reasoning_content %}"):
                       CHATML_TEMPLATE.rindex("{% endfor %}<|im_end|>") + len("{% endfor %}<|im_end|>" + NL)]
TINY_MARKED = CHATML_TEMPLATE.replace(
    "<|im_start|>{{ message.role }}" + NL + BODY,
    "{% if message.role == 'assistant' %}<|im_start|>assistant" + NL + "{% generation %}" + BODY + "{% endgeneration %}"
    "{% else %}<|im_start|>{{ message.role }}" + NL + BODY + "{% endif %}")
# template -> (its text, its marked copy, which assistant turns of CONVERSATION render their reasoning)
SHIPPED = {
    "tiny": (CHATML_TEMPLATE, TINY_MARKED, {1, 3}),
    "qwen3": ((TEMPLATES / "qwen3.jinja").read_text(), (TEMPLATES / "qwen3_marked.jinja").read_text(), {3}),
    "gpt-oss": ((TEMPLATES / "gpt_oss_harmony.jinja").read_text(),
                (TEMPLATES / "gpt_oss_harmony_marked.jinja").read_text(), {3}),
    "deepseek-r1": ((TEMPLATES / "deepseek_r1.jinja").read_text(), (TEMPLATES / "deepseek_r1_marked.jinja").read_text(),
                    set()),
}
CONVERSATION = [Message(role="user", content="2+2?"), Message(role="assistant", content="4", reasoning="Two and two."),
                Message(role="user", content="and 3*3?"),
                Message(role="assistant", content="9", reasoning="Three times three.")]


def with_template(tokenizer, template: str):
    tok = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    tok.chat_template = template
    tok.add_special_tokens({"additional_special_tokens": HARMONY_TOKENS})  # as gpt-oss' own tokenizer has them
    return tok


class Plain:
    """A tokenizer stand-in that renders a template as it is (no key aliasing, which newer transformers add)."""

    def __init__(self, template: str) -> None:
        self.chat_template = template

    def apply_chat_template(self, messages, tools=None, tokenize=False, add_generation_prompt=False):
        return jinja2.Environment().from_string(self.chat_template).render(messages=messages, tools=tools,
                                                                           add_generation_prompt=add_generation_prompt)


@pytest.mark.parametrize("key", ["reasoning_content", "thinking", "reasoning"])
def test_the_probe_finds_the_key_a_template_reads(key: str) -> None:
    template = "{% for m in messages %}{{ m.role }}: {{ m['" + key + "'] or '' }} {{ m.content }}\n{% endfor %}"
    assert reasoning_key(Plain(template)) == key
    assert reasoning_key(Plain("{% for m in messages %}{{ m.content }}{% endfor %}")) is None


@pytest.mark.parametrize("name", SHIPPED)
def test_masks_with_reasoning_equal_the_generation_marker_masks(tokenizer, name: str) -> None:
    template, marked, _ = SHIPPED[name]
    tok, ref = with_template(tokenizer, template), with_template(tokenizer, marked)
    key = reasoning_key(tok) or "reasoning_content"  # R1 reads no key: its masks, with what it renders
    for history in ("template", "expand"):
        samples = expand(CONVERSATION, "assistant") if history == "expand" else [CONVERSATION]
        for messages in samples:
            msgs = chat_messages(messages, reasoning_key=key)
            assert ref.apply_chat_template(msgs, tokenize=False) == tok.apply_chat_template(msgs, tokenize=False)
            enc = ref.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
            trained = [i for i, m in enumerate(messages) if m.role == "assistant" and m.weight != 0]
            assistants = [i for i, m in enumerate(messages) if m.role == "assistant"]
            ours = encode_conversation(tok, messages, None, reasoning=key)
            # the reference marks every assistant turn: keep the runs of the trained ones
            runs, labels = _runs(enc["assistant_masks"]), [-100] * len(enc["input_ids"])
            for k, (a, b) in enumerate(runs):
                if assistants[k] in trained:
                    labels[a:b] = enc["input_ids"][a:b]
            assert ours.input_ids == list(enc["input_ids"]) and ours.labels == labels, (name, history, ours.strategy)


def _runs(mask: list[int]) -> list[tuple[int, int]]:
    runs, start = [], None
    for k, flag in enumerate(list(mask) + [0]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            runs.append((start, k))
            start = None
    return runs


@pytest.mark.parametrize("name", SHIPPED)
def test_each_policy_trains_the_blocks_it_promises_and_names_the_others(tokenizer, name: str) -> None:
    template, _, rendered = SHIPPED[name]
    tok = with_template(tokenizer, template)
    key = reasoning_key(tok)
    if key is None:  # DeepSeek-R1's template strips every block: the run stops (unless --reasoning drop)
        assert name == "deepseek-r1" and not rendered
        with pytest.raises(DataError, match="renders none of it"):
            _rows(tok, RunSpec())
        _, counts = _rows(tok, RunSpec(reasoning="drop"))
        assert (counts.reasoning.turns, counts.reasoning.trained) == (2, 0)
        return
    _, counts = _rows(tok, RunSpec())  # template: what it renders, the rest counted
    assert (counts.reasoning.turns, counts.reasoning.trained, counts.reasoning.dropped) == (2, len(rendered),
                                                                                           2 - len(rendered))
    line = preflight_line(counts.reasoning, key, "template")
    assert ("reasoning of 1 of 2 assistant turns is not rendered by this template" in line) == (len(rendered) == 1)
    rows, counts = _rows(tok, RunSpec(reasoning_history="expand"))  # expand: every block trained exactly once
    trained_text = "".join(tok.decode([t for t, label in zip(r["input_ids"], r["labels"]) if label != -100])
                           for r in rows)
    assert trained_text.count("Two and two.") == trained_text.count("Three times three.") == 1
    assert (counts.reasoning.turns, counts.reasoning.trained, counts.expanded) == (2, 2, 1)
    assert trained_text.count("4") >= 1 and trained_text.count("9") >= 1  # each answer trained too


def _rows(tok, spec: RunSpec):
    from ftdata.core.canonical import Record
    from ftdata.core.reports import FileReport

    record = Record(messages=CONVERSATION)
    key, stop = resolve_key(tok, spec, [record])
    if stop is not None:
        raise DataError(stop)
    counts = Counts()
    rows = sft_rows(tok, Source("d", [record], FileReport("d"), ["d line 1"]), spec, counts, key)
    return rows, counts


def test_expand_masks_earlier_turns_and_keeps_turns_without_reasoning() -> None:
    turns = CONVERSATION + [Message(role="user", content="thanks"), Message(role="assistant", content="welcome")]
    samples = expand(turns, "assistant")
    assert [len(s) for s in samples] == [2, 4, 6]
    assert [[m.weight for m in s if m.role == "assistant"] for s in samples] == [[1], [0, 1], [0, 0, 1]]


def test_dry_run_says_what_the_template_does_with_reasoning(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fttrain.cli import app

    data = tmp_path / "r.jsonl"
    data.write_text(json.dumps({"messages": chat_messages(CONVERSATION)}) + "\n")
    qwen3 = str(TEMPLATES / "qwen3.jinja")
    result = CliRunner().invoke(app, ["sft", str(data), "--dry-run", "--chat-template", qwen3])
    assert result.exit_code == 0, result.output
    assert "reasoning of 1 of 2 assistant turns is not rendered by this template" in result.output
    result = CliRunner().invoke(app, ["sft", str(data), "--dry-run", "--chat-template", qwen3,
                                      "--reasoning-history", "expand"])
    assert "1 samples added" in result.output and "2 trained" in result.output
    r1 = str(TEMPLATES / "deepseek_r1.jinja")
    result = CliRunner().invoke(app, ["sft", str(data), "--dry-run", "--chat-template", r1])
    assert result.exit_code == 1 and "renders none of it" in result.output
    assert ROOT.is_dir()
