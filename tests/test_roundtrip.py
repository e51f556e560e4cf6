"""Property: for each target, records built from the features its Format declares it keeps survive canonical ->
target -> canonical; the features it declares rejected are rejected."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftdata.core.canonical import Record
from ftdata.core.rules import Origins, Policy, check_record
from ftdata.formats import FORMATS, TARGETS, match
from ftdata.formats.declare import Feature, carries
from ftdata.formats.write import Writing

TEXT = st.text(alphabet="abc xyz 中文\n{}\"'\\/.,!?é", min_size=1, max_size=12).filter(lambda s: s.strip() != "")
META = st.dictionaries(st.sampled_from(["source", "score", "lang"]), st.one_of(TEXT, st.integers(0, 9)), max_size=2)

def has(target: str, feature: Feature) -> bool:
    """Does `target` keep `feature` through a round trip? Its Format declares it (`carries`)."""
    return carries(FORMATS[target].carries, feature)


@st.composite
def records(draw: Any, target: str) -> dict:
    """A valid canonical record (as JSON) using only what `target` can carry."""
    talks = not has(target, "text") or any(has(target, f) for f in ("multi_turn", "system", "preference"))
    if not talks or (has(target, "text") and draw(st.booleans())):
        return {"text": draw(TEXT), **({"meta": m} if (m := draw(META)) else {})}
    msgs: list[dict] = []
    if has(target, "system") and draw(st.booleans()):
        msgs.append({"role": "system", "content": draw(TEXT)})
    kind = draw(st.sampled_from(["sft"] + [k for k in ("preference", "kto") if has(target, k)]))
    for turn in range(draw(st.integers(1, 3 if has(target, "multi_turn") else 1))):
        msgs.append({"role": "user", "content": draw(TEXT)})
        if has(target, "tool_calls") and draw(st.booleans()):
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
        if has(target, "reasoning") and draw(st.booleans()):  # reasoning that repeats the answer is a warning
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


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_roundtrip(target: str, data: st.DataObject) -> None:
    """Every convert target, with the features its Format declares it keeps (a new target is tested as declared)."""
    round_trip(target, data.draw(records(target)))


SAMPLES: dict[str, dict] = {  # a valid canonical record with one feature, for the features a target may refuse
    "consecutive_users": {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                       {"role": "assistant", "content": "c"}]},
    "tool_calls": {"messages": [{"role": "user", "content": "q"},
                                {"role": "assistant", "content": "", "tool_calls": [{"name": "f", "arguments": {}}]},
                                {"role": "tool", "content": "r"}, {"role": "assistant", "content": "a"}]},
    "parallel_tools": {"messages": [{"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "", "tool_calls": [
                                        {"name": "f", "arguments": {}}, {"name": "g", "arguments": {}}]},
                                    {"role": "tool", "content": "r"}, {"role": "tool", "content": "s"},
                                    {"role": "assistant", "content": "a"}]},
    "tools": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
              "tools": [{"name": "f", "parameters": {"type": "object"}}]},
    "kto": {"messages": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"}],
            "label": True},
    "videos": {"messages": [{"role": "user", "content": "<video>q"}, {"role": "assistant", "content": "a"}],
               "videos": ["https://example.com/v.mp4"]},
    "audios": {"messages": [{"role": "user", "content": "<audio>q"}, {"role": "assistant", "content": "a"}],
               "audios": ["https://example.com/a.wav"]},
    "images": {"messages": [{"role": "user", "content": "<image>q"}, {"role": "assistant", "content": "a"}],
               "images": ["https://example.com/i.png"]},
    "preference": {"messages": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}],
                   "rejected": [{"role": "assistant", "content": "b"}]},
    "system": {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                            {"role": "assistant", "content": "a"}]},
    "multi_turn": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                                {"role": "user", "content": "r"}, {"role": "assistant", "content": "b"}]},
    "weights": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0},
                             {"role": "user", "content": "r"}, {"role": "assistant", "content": "b"}]},
    "text": {"text": "some text"},
}


@pytest.mark.parametrize("target,feature", [(t, f) for t in TARGETS for f, c in FORMATS[t].carries.items()
                                            if c.how.startswith("**rejected**")])
def test_a_feature_declared_rejected_is_rejected(target: str, feature: str) -> None:
    """The matrix's "rejected" cells are what the writer does: the record is refused as unrepresentable."""
    assert feature in SAMPLES, f"add a sample record with {feature}"
    w = Writing(Record.model_validate(SAMPLES[feature]))
    FORMATS[target].write(w)
    assert not w.ok() and {p.code for p in w.problems} == {"unrepresentable"}, w.problems


@pytest.mark.parametrize("target,feature", [(t, f) for t in TARGETS for f, c in FORMATS[t].carries.items()
                                            if c.kept and f in SAMPLES])
def test_a_feature_declared_kept_is_written(target: str, feature: str) -> None:
    w = Writing(Record.model_validate(SAMPLES[feature]))
    FORMATS[target].write(w)
    assert w.ok(), w.problems


def test_pairs_through_canonical_keep_what_both_support() -> None:
    """A -> canonical -> B -> canonical for concrete source rows of each format."""
    from ftdata.formats import get_format

    src = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "system": "s"}
    first = get_format("sharegpt").to_canonical(src).record
    for target in ("alpaca", "openai", "trl", "canonical", "sharegpt"):
        row = FORMATS[target].from_canonical(Writing(first))
        assert match(row).to_canonical(row).record.to_json() == as_written(first.to_json()), target
