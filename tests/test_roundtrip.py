"""Property: for each target, records built from the features it supports survive canonical -> target -> canonical."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftdata.core.canonical import Record
from ftdata.core.rules import Origins, Policy, check_record
from ftdata.formats import FORMATS, match
from ftdata.formats.write import Writing

TEXT = st.text(alphabet="abc xyz 中文\n{}\"'\\/.,!?é", min_size=1, max_size=12).filter(lambda s: s.strip() != "")
META = st.dictionaries(st.sampled_from(["source", "score", "lang"]), st.one_of(TEXT, st.integers(0, 9)), max_size=2)

# feature -> targets that carry it unchanged
FEATURES = {
    "tools": {"sharegpt", "openai", "trl", "canonical", "llamafactory-v1"},
    "parallel_tools": {"openai", "trl", "canonical", "llamafactory-v1"},
    "call_ids": {"openai", "trl", "canonical"},
    "reasoning_text": {"sharegpt", "alpaca", "openai", "trl", "canonical", "llamafactory-v1"},
    "reasoning_call": {"sharegpt", "openai", "trl", "canonical", "llamafactory-v1"},
    "weights": {"openai", "canonical"},
    "images": {"alpaca", "sharegpt", "openai", "trl", "canonical", "llamafactory-v1"},
    "videos": {"alpaca", "sharegpt", "openai", "canonical", "llamafactory-v1"},
    "text": {"trl", "text", "canonical"},
    "conversation": {"alpaca", "sharegpt", "openai", "trl", "canonical", "llamafactory-v1"},
    "id": {"alpaca", "sharegpt", "openai", "trl", "text", "canonical", "llamafactory-v1"},
    "kto": {"alpaca", "sharegpt", "openai", "trl", "canonical"},
}


def has(target: str, feature: str) -> bool:
    return target in FEATURES[feature]


@st.composite
def records(draw: Any, target: str) -> dict:
    """A valid canonical record (as JSON) using only what `target` can carry."""
    if not has(target, "conversation") or (has(target, "text") and draw(st.booleans())):
        return {"text": draw(TEXT), **({"meta": m} if (m := draw(META)) else {})}
    msgs: list[dict] = []
    if draw(st.booleans()):
        msgs.append({"role": "system", "content": draw(TEXT)})
    kind = draw(st.sampled_from(["sft", "preference"] + (["kto"] if has(target, "kto") else [])))
    for turn in range(draw(st.integers(1, 3))):
        msgs.append({"role": "user", "content": draw(TEXT)})
        if has(target, "tools") and draw(st.booleans()):
            n = draw(st.integers(1, 2)) if has(target, "parallel_tools") else 1
            calls = [{"name": draw(st.sampled_from(["f", "g"])), "arguments": {"x": draw(st.integers(0, 5))}} for _ in range(n)]
            if has(target, "call_ids"):
                for i, c in enumerate(calls):
                    c["id"] = f"call_{turn}_{i}"
            call: dict = {"role": "assistant", "content": "", "tool_calls": calls}
            if has(target, "reasoning_call") and draw(st.booleans()):
                call["reasoning"] = draw(TEXT)
            msgs.append(call)
            msgs += [{"role": "tool", "content": draw(TEXT)} for _ in calls]
        answer = {"role": "assistant", "content": draw(TEXT)}
        if has(target, "reasoning_text") and draw(st.booleans()):  # reasoning that repeats the answer is a warning
            answer["reasoning"] = draw(TEXT.filter(lambda t: t.split() != answer["content"].split()))
        if has(target, "weights") and draw(st.booleans()):
            answer["weight"] = draw(st.sampled_from([0, 1]))
        msgs.append(answer)
    rec: dict = {"messages": msgs}
    if kind == "preference":
        last = msgs.pop()
        other = TEXT.filter(lambda t: t.split() != last["content"].split())  # identical answers are an error
        rec.update(chosen=[last], rejected=[{"role": "assistant", "content": draw(other)}])
    elif kind == "kto":
        rec.update(completion=[msgs.pop()], label=draw(st.booleans()))
    if has(target, "tools") and draw(st.booleans()):
        rec["tools"] = [{"name": "f", "parameters": {"type": "object"}}]
    for kind_, tag in (("images", "<image>"), ("videos", "<video>")):
        if has(target, kind_) and draw(st.booleans()) and not (target == "openai" and kind == "preference"):
            first_user = next(m for m in rec["messages"] if m["role"] == "user")
            first_user["content"] = tag + first_user["content"]
            rec[kind_] = [f"https://example.com/{kind_}/1"]
    if has(target, "id") and draw(st.booleans()):
        rec["id"] = draw(st.one_of(st.integers(0, 99), TEXT))
    if meta := draw(META):
        rec["meta"] = meta
    return rec


def round_trip(target: str, data: dict) -> None:
    record = Record.model_validate(data)
    assert check_record(record, Origins(), Policy(parallel_tools=True)) == []  # the generator only makes valid records
    w = Writing(record)
    row = FORMATS[target].from_canonical(w)
    assert w.ok(), w.problems
    fmt = match(row)
    assert fmt is not None, row
    back = fmt.to_canonical(row)
    assert back.record is not None, back.problems
    assert [p for p in back.problems if p.severity == "error"] == []
    assert back.record.to_json() == as_written(record.to_json())


def as_written(data: dict) -> dict:
    """What survives a file: everything, with the id as a string (writers write one type per column)."""
    return {**data, "id": str(data["id"])} if "id" in data else data


def make_test(target: str):
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(records(target))
    def test(data: dict) -> None:
        round_trip(target, data)

    return test


test_roundtrip_sharegpt = make_test("sharegpt")
test_roundtrip_alpaca = make_test("alpaca")
test_roundtrip_openai = make_test("openai")
test_roundtrip_trl = make_test("trl")
test_roundtrip_text = make_test("text")
test_roundtrip_canonical = make_test("canonical")
test_roundtrip_llamafactory_v1 = make_test("llamafactory-v1")


def test_pairs_through_canonical_keep_what_both_support() -> None:
    """A -> canonical -> B -> canonical for concrete source rows of each format."""
    from ftdata.formats import get_format

    src = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "system": "s"}
    first = get_format("sharegpt").to_canonical(src).record
    for target in ("alpaca", "openai", "trl", "canonical", "sharegpt"):
        row = FORMATS[target].from_canonical(Writing(first))
        assert match(row).to_canonical(row).record.to_json() == as_written(first.to_json()), target
