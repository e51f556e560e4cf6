"""Source record -> canonical record, field by field, for each format's variants."""

from ftdata.core.canonical import Record
from ftdata.formats import FORMATS, detect, get_format


def canon(fmt: str, raw: dict) -> dict:
    converted = get_format(fmt).to_canonical(raw)
    assert converted.record is not None, converted.problems
    return converted.record.to_json()


def test_alpaca_system_history_and_input_join() -> None:
    rec = canon("alpaca", {"instruction": "Sum", "input": "1 2", "output": "3", "system": "S", "history": [["q", "a"]]})
    assert rec["messages"] == [
        {"role": "system", "content": "S"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
        {"role": "user", "content": "Sum\n1 2"}, {"role": "assistant", "content": "3"},
    ]


def test_alpaca_preference_and_kto() -> None:
    pref = canon("alpaca", {"instruction": "q", "chosen": "good", "rejected": "bad"})
    assert pref["chosen"] == [{"role": "assistant", "content": "good"}]
    assert pref["messages"] == [{"role": "user", "content": "q"}]
    kto = canon("alpaca", {"instruction": "q", "output": "a", "kto_tag": False})
    assert (kto["completion"], kto["label"]) == ([{"role": "assistant", "content": "a"}], False)


def test_unknown_top_level_fields_go_to_meta() -> None:
    rec = canon("alpaca", {"instruction": "q", "output": "a", "source": "wiki", "score": 3})
    assert rec["meta"] == {"source": "wiki", "score": 3}


def test_sharegpt_function_call_and_observation() -> None:
    rec = canon("sharegpt", {"conversations": [
        {"from": "human", "value": "weather?"},
        {"from": "function_call", "value": '{"name": "w", "arguments": {"city": "Oslo"}}'},
        {"from": "observation", "value": '{"t": 3}'},
        {"from": "gpt", "value": "3 degrees"}], "tools": '[{"name": "w"}]'})
    assert rec["messages"][1] == {"role": "assistant", "content": "", "tool_calls": [{"name": "w", "arguments": {"city": "Oslo"}}]}
    assert rec["messages"][2] == {"role": "tool", "content": '{"t": 3}'}
    assert rec["tools"] == [{"name": "w"}]


def test_sharegpt_kto_moves_last_answer_to_completion() -> None:
    rec = canon("sharegpt", {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "kto_tag": True})
    assert rec["messages"] == [{"role": "user", "content": "q"}]
    assert rec["completion"] == [{"role": "assistant", "content": "a"}] and rec["label"] is True


def test_openai_image_parts_become_placeholders_and_double_encoded_arguments_warn() -> None:
    rec = canon("openai", {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "look "}, {"type": "image_url", "image_url": {"url": "a.png"}}]},
        {"role": "assistant", "content": "a cat", "weight": 1}]})
    assert rec["messages"][0]["content"] == "look <image>" and rec["images"] == ["a.png"]
    assert rec["messages"][1]["weight"] == 1
    conv = get_format("openai").to_canonical({"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": '"{\\"x\\": 1}"'}}]},
        {"role": "tool", "content": "r"}, {"role": "assistant", "content": "done"}]})
    assert conv.record.messages[1].tool_calls[0].arguments == {"x": 1}
    assert [(p.code, p.severity) for p in conv.problems] == [("double_encoded", "warning")]



def test_sharegpt_function_call_with_double_encoded_arguments_is_kept_with_a_warning() -> None:
    """As in openai: the warning says the arguments were decoded; the call stays (it was dropped, and the row then
    failed the role order)."""
    conv = get_format("sharegpt").to_canonical({"conversations": [
        {"from": "human", "value": "q"},
        {"from": "function_call", "value": '{"name": "f", "arguments": "\\"{\\\\\\"x\\\\\\": 1}\\""}'},
        {"from": "observation", "value": "r"}, {"from": "gpt", "value": "done"}]})
    assert conv.record is not None and conv.record.messages[1].tool_calls[0].arguments == {"x": 1}
    assert [(p.code, p.severity) for p in conv.problems] == [("double_encoded", "warning")]

def test_openai_preference_shape() -> None:
    rec = canon("openai", {"input": {"messages": [{"role": "user", "content": "q"}]},
                           "preferred_output": [{"role": "assistant", "content": "g"}],
                           "non_preferred_output": [{"role": "assistant", "content": "b"}]})
    assert (rec["chosen"][0]["content"], rec["rejected"][0]["content"]) == ("g", "b")


def test_trl_implicit_prompt_is_extracted() -> None:
    rec = canon("trl", {"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "g"}],
                        "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]})
    assert rec["messages"] == [{"role": "user", "content": "q"}]
    assert rec["chosen"] == [{"role": "assistant", "content": "g"}]


def test_firefly_dpo_keeps_scores_in_meta() -> None:
    conv = [{"role": "user", "content": "q"}]
    rec = canon("firefly", {"prompt": "q", "prompt_id": "x", "chosen": conv + [{"role": "assistant", "content": "g"}],
                            "rejected": conv + [{"role": "assistant", "content": "b"}], "score_chosen": 8.0, "score_rejected": 2.0})
    assert rec["messages"] == conv and rec["meta"]["score_chosen"] == 8.0


def test_moss_plugin_turn() -> None:
    rec = canon("moss", {"conversation_id": 9, "meta_instruction": "You are MOSS.", "num_turns": 1, "category": "tools",
                         "chat": {"turn_1": {
                             "Human": "<|Human|>: 1+1?<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: compute<eot>\n",
                             "Commands": '<|Commands|>: Calculate("1+1")<eoc>\n', "Tool Responses": "<|Results|>:\n2\n<eor>\n",
                             "MOSS": "<|MOSS|>: 2<eom>\n"}}})
    assert rec["messages"] == [
        {"role": "system", "content": "You are MOSS."},
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "", "reasoning": "compute",
         "tool_calls": [{"name": "Calculate", "arguments": {"input": "1+1"}}]},
        {"role": "tool", "content": "2"},
        {"role": "assistant", "content": "2"},
    ]
    assert rec["id"] == 9 and rec["meta"] == {"category": "tools"}


def test_canonical_output_validates_as_canonical() -> None:
    rec = canon("moss", FORMATS["moss"].example)
    rec["meta"] = {}
    assert Record.model_validate(rec).kind == "sft"
    assert canon("canonical", rec)["messages"] == rec["messages"]


def test_every_example_is_valid_and_detected_as_its_format() -> None:
    from ftdata.api import check_raw

    for name, fmt in FORMATS.items():
        found, _ = detect([fmt.example])
        assert found is fmt, name
        record, problems = check_raw(fmt.example, fmt)
        assert record is not None and problems == [], (name, problems)
