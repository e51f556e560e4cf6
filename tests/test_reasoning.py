"""Reasoning, read losslessly from every convention into the canonical record's per-turn reasoning and written in
each target's own convention (see ftdata.core.reasoning and FORMATS.md "Reasoning conventions")."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftdata.api import stats
from ftdata.core.reasoning import join_think, split_think
from ftdata.engine.lanes import convert_raw
from ftdata.formats import FORMATS, TARGETS, match
from ftdata.formats.write import Writing

PLAN = "Two and two make four.\nSo: 4."
ASK = {"role": "user", "content": "2+2?"}

# (format, row): every convention a row may hold reasoning in; each reads as reasoning PLAN, answer "4"
CONVENTIONS = [
    ("openai", {"messages": [ASK, {"role": "assistant", "content": "4", "reasoning_content": PLAN}]}),
    ("openai", {"messages": [{**ASK, "thinking": None}, {"role": "assistant", "content": "4", "thinking": PLAN}]}),
    ("openai", {"messages": [ASK, {"role": "assistant", "content": "4", "reasoning": PLAN, "reasoning_content": PLAN,
                                   "tool_calls": None}]}),
    ("openai", {"messages": [ASK, {"role": "assistant", "content": f"<think>\n{PLAN}\n</think>\n\n4"}]}),
    ("openai", {"messages": [ASK, {"role": "assistant", "content": f"<think>{PLAN}</think>4"}]}),
    ("sharegpt", {"conversations": [{"from": "human", "value": "2+2?"},
                                    {"from": "gpt", "value": f"<think>\n{PLAN}\n</think>\n\n4"}]}),
    ("sharegpt", {"conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4", "thinking": PLAN}]}),
    ("alpaca", {"instruction": "2+2?", "output": f"<think>\n{PLAN}\n</think>\n\n4"}),
    ("trl", {"prompt": [ASK], "completion": [{"role": "assistant", "content": "4", "reasoning_content": PLAN}]}),
    ("trl", {"prompt": "2+2?", "completion": f"<think>{PLAN}</think>\n4"}),
    ("canonical", {"messages": [ASK, {"role": "assistant", "content": "4", "reasoning": PLAN}]}),
    ("llamafactory-v1", {"messages": [
        {"role": "user", "content": [{"type": "text", "value": "2+2?"}]},
        {"role": "assistant", "content": [{"type": "reasoning", "value": PLAN}, {"type": "text", "value": "4"}]}]}),
]


@pytest.mark.parametrize("fmt,row", CONVENTIONS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_convention_reads_as_the_turns_reasoning(fmt: str, row: dict) -> None:
    assert match(row) is not None and match(row).name in (fmt, "canonical")
    converted = convert_raw(row, match(row))
    assert converted.problems == [] and converted.record is not None
    answer = converted.record.messages[-1]
    assert (answer.role, answer.reasoning, answer.content) == ("assistant", PLAN, "4")


@pytest.mark.parametrize("fmt,row", CONVENTIONS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_target_writes_its_convention_and_reads_it_back_unchanged(fmt: str, row: dict) -> None:
    record = convert_raw(row, match(row)).record
    for target in TARGETS:
        if target == "text":
            continue
        w = Writing(record)
        out = FORMATS[target].write(w)
        assert w.ok(), (target, w.problems)
        back = convert_raw(out, match(out))
        assert back.problems == [] and back.record.to_json() == record.to_json(), (target, out)


def test_the_writers_use_their_targets_keys() -> None:
    record = convert_raw(CONVENTIONS[1][1], FORMATS["openai"]).record
    written = {t: FORMATS[t].write(Writing(record)) for t in ("openai", "trl", "canonical", "sharegpt", "alpaca")}
    assert written["openai"]["messages"][1] == {"role": "assistant", "content": "4", "reasoning_content": PLAN}
    assert written["trl"]["messages"][1]["reasoning_content"] == PLAN
    assert written["canonical"]["messages"][1]["reasoning"] == PLAN
    assert written["sharegpt"]["conversations"][1]["value"] == f"<think>\n{PLAN}\n</think>\n\n4"  # LLaMA-Factory's
    assert written["alpaca"]["output"] == f"<think>\n{PLAN}\n</think>\n\n4"


NO_TAGS = st.text(alphabet="ab \n\t<>/think中", max_size=20).filter(lambda t: "think>" not in t)


@settings(max_examples=500, deadline=None)
@given(reasoning=NO_TAGS.filter(lambda t: t.strip() != ""), content=NO_TAGS)
def test_a_think_block_round_trips_exactly(reasoning: str, content: str) -> None:
    """Leading and trailing newlines of the reasoning and the answer survive: the tags own exactly their own."""
    assert split_think(join_think(reasoning, content)) == (reasoning, content, False)


def test_an_empty_block_is_no_reasoning_and_is_counted(tmp_path: Path) -> None:
    row = {"messages": [ASK, {"role": "assistant", "content": "<think>\n\n</think>\n\n4"}]}
    converted = convert_raw(row, FORMATS["openai"])
    assert converted.problems == [] and converted.record.messages[1].reasoning is None
    assert converted.record.messages[1].content == "4" and converted.origins.empty_think == 1
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(CONVENTIONS[0][1]) + "\n")
    reasoning = stats([path]).summary()["reasoning"]
    assert reasoning == {"records": 1, "share": 0.5, "turns": 1, "empty_think_blocks": 1, "tokens": None}


def test_stats_count_reasoning_tokens_with_a_tokenizer(tmp_path: Path) -> None:
    from ftdata.core.tokens import ids, load_tokenizer

    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(CONVENTIONS[0][1]) + "\n")
    tokenizer = load_tokenizer("tiny")
    assert stats([path], tokenizer=tokenizer).summary()["reasoning"]["tokens"] == len(ids(tokenizer, PLAN))


@pytest.mark.parametrize("message,code", [
    ({"role": "user", "content": "q", "thinking": "hm"}, "reasoning_misplaced"),
    ({"role": "assistant", "content": "<think>cut off"}, "reasoning_tags"),
    ({"role": "assistant", "content": "a</think>b"}, "reasoning_tags"),
    ({"role": "assistant", "content": "<think>x</think>a<think>y</think>b"}, "reasoning_tags"),
    ({"role": "assistant", "content": "<think>x</think>a", "reasoning_content": "y"}, "reasoning_tags"),
    ({"role": "assistant", "content": "a", "reasoning_content": "x", "thinking": "y"}, "reasoning_tags"),
    ({"role": "assistant", "content": "a b", "thinking": " a  b "}, "reasoning_is_answer"),
])
def test_reasoning_rules_locate_their_problem(message: dict, code: str) -> None:
    msgs = [ASK, message] if message["role"] == "assistant" else [message, {"role": "assistant", "content": "a"}]
    converted = convert_raw({"messages": msgs}, FORMATS["openai"])
    assert [(p.code, p.path.startswith("messages[")) for p in converted.problems] == [(code, True)]
    assert not FORMATS["openai"].check({"messages": msgs})


def test_user_text_that_quotes_a_think_tag_is_left_alone() -> None:
    row = {"messages": [{"role": "user", "content": "<think>what does this tag do?</think>"},
                        {"role": "assistant", "content": "It marks reasoning."}]}
    converted = convert_raw(row, FORMATS["openai"])
    assert converted.problems == [] and converted.record.messages[0].content == row["messages"][0]["content"]


def test_a_file_mixing_reasoning_keys_is_said_once(tmp_path: Path) -> None:
    from ftdata.ops.validate import validate_file

    rows = [CONVENTIONS[0][1], CONVENTIONS[0][1], CONVENTIONS[1][1], CONVENTIONS[3][1]]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for workers in (1, 2):
        found = [p for p in validate_file(path, workers=workers).problems if "conventions" in p.message]
        assert [(p.line, p.path, p.code) for p in found] == [(3, "messages[*].thinking", "type_drift")]
        assert "reasoning_content (first: line 1), thinking (first: line 3), <think> block (first: line 4)" in \
            found[0].message


def test_responses_items_are_told_from_other_input_keys() -> None:
    assert match({"input": [{"role": "user", "content": "q"}]}).name == "openai-responses"
    assert match({"instruction": "q", "input": "x", "output": "a"}).name == "alpaca"
    assert match({"input": {"messages": [ASK]}, "preferred_output": [], "non_preferred_output": []}).name == "openai"


def test_a_responses_trace_gives_each_turn_its_reasoning_and_each_output_its_call() -> None:
    row = json.loads(Path(__file__).parent.joinpath("data/openai-responses/valid/agent_traces.jsonl")
                     .read_text().splitlines()[0])
    record = convert_raw(row, FORMATS["openai-responses"]).record
    turns = [(m.role, m.reasoning, [c.id for c in m.tool_calls or ()], m.tool_call_id) for m in record.messages]
    assert turns == [("system", None, [], None), ("user", None, [], None),
                     ("assistant", "Two cities: call the tool for each.", ["call_1", "call_2"], None),
                     ("tool", None, [], "call_1"), ("tool", None, [], "call_2"),
                     ("assistant", "Both answered; summarise.", [], None)]
    assert record.tools[0]["function"]["name"] == "get_weather" and record.meta == {"model": "gpt-5"}
