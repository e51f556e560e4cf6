"""MOSS's hot lanes (`fast`, `check`, `rich`, `light`), rewritten for speed, take exactly the rows they took and
build exactly the records they built: held against their previous code (tests/moss_reference.py) on the real rows,
on hostile rows built field by field (broken markers, odd `None`s, odd commands, results without commands, nested
parentheses and escaped quotes, non-string fields, extra keys, turns out of order) and on mutated rows."""

import copy
import json
from collections import Counter
from functools import cache
from typing import Any

import moss_reference as old
import mutations
import orjson
import pytest
from conftest import FIXTURES, SHARED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast import RICH, RICH_NAMES, RICH_ODD

from ftdata.core.rules import Origins
from ftdata.formats import moss, sharegpt
from ftdata.formats.light import TAGS, LightRecord
from ftdata.formats.write import Writing

OPEN = {field: opening for field, (opening, _) in moss.MARKERS.items()}
CLOSE = {field: closing for field, (_, closing) in moss.MARKERS.items()}
INNERS = ["None", "None.", "None。", "Non", "Non-stop", "Nonex", "None中", "None_", "NONE", " None ", "", " ", "\u3000",
          "hi", "你好", "a<image>b", "<think>x</think>y", "x</think>", "<sup><|1|></sup>", "<", "a\nb", "\tx\t",
          'Search("a")', 'Search("a"), Calculate("1+1")', 'Search("a\\"b")', 'Calc("\\q")', 'Search("(x)")',
          'Search(f(x))', 'Search("a")\t,\tCalc("b")', 'Search("a") ,\u3000Calc("b")', '1. Search("x")',
          'Search("x") # why', "Search(", 'Search("a\\\nb")', 'Search("a\nb")', '9x("a")', "Search()", "Search(x)",
          'Search("a"),', ', Search("a")', 'Search("a") Search("b")', 'Search("\\u00e9")', 'Search("\t")',
          'Search("a", "b")', 'Search("a"))', 'Search(("a"))', 'Search("a\\")', 'S_1("")', 'é("a")',
          'Search("a"); Calc("b")', 'Search("a")\nCalc("b")', 'Search("x") => 1', "None\nNone", "2", "Nonsense"]
SPACES = ["", " ", "\n", "  ", "\t", "\u3000", " \n"]
TAILS = ["\n", "", "\n\n", " ", "\r\n", "x"]
JUNK = [None, 0, 1.5, True, [], {}, ["<|Human|>: a<eoh>\n"], {"a": 1}]


@st.composite
def field_value(draw: Any, field: str) -> Any:
    """A value for one field: mostly well marked, with odd openings, texts, closings and endings mixed in."""
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from(JUNK))
    kind = draw(st.integers(0, 20))
    opening = OPEN[field] if kind else draw(st.sampled_from(["", OPEN[field][:-1], OPEN["MOSS"], " " + OPEN[field]]))
    closing = CLOSE[field] if kind != 1 else draw(st.sampled_from(["", CLOSE["Human"], CLOSE[field] + ">"]))
    inner = draw(st.sampled_from(INNERS) | st.text(max_size=6))
    return opening + draw(st.sampled_from(SPACES)) + inner + draw(st.sampled_from(SPACES)) + closing + \
        draw(st.sampled_from(TAILS))


GOOD = {"Human": ["q", "你好", "a < b", "None of it"], "Inner Thoughts": ["None", "None", "plan", ""],
        "Commands": ["None", "None", 'Search("a")', 'Search("a\\"b"), Calculate("(1+1)")'],
        "Tool Responses": ["r", "\nSearch(\"a\") => x\n"], "MOSS": ["a", "好的<sup><|1|></sup>", "Nonetheless"]}


@st.composite
def turn(draw: Any) -> Any:
    """Mostly a turn as published (plain or with a plugin), with up to two fields made odd."""
    if draw(st.integers(0, 40)) == 0:
        return draw(st.sampled_from(JUNK))
    out = {f: f"{OPEN[f]} {draw(st.sampled_from(GOOD[f]))}{CLOSE[f]}\n" for f in moss.MARKERS}
    if "None" in out["Commands"] or "None" in out["Tool Responses"]:  # a plain turn, or one with its results
        out["Commands"], out["Tool Responses"] = moss.NONE_TEXT["Commands"], moss.NONE_TEXT["Tool Responses"]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        field = draw(st.sampled_from(list(moss.MARKERS)))
        out[field] = draw(field_value(field))
    action = draw(st.integers(0, 30))
    if action == 0:
        del out[draw(st.sampled_from(list(moss.MARKERS)))]
    elif action == 1:
        out[draw(st.sampled_from(["human", "Extra", "Results"]))] = "<|Human|>: a<eoh>\n"
    elif action == 2:
        out = dict(reversed(list(out.items())))  # the same keys, another order
    return out


ODD_ROW = {"conversation_id": [0, 1.5, None, True, [1]], "meta_instruction": ["", " ", "<image>", 1, "None"],
           "category": ["", 1, {"a": 1}, None], "extra": ["x"], "id": [1], "meta": [{}]}


@st.composite
def row(draw: Any) -> Any:
    """Mostly a row as published, its turns as `turn` makes them; now and then one thing around them made odd."""
    turns = draw(st.lists(turn(), min_size=1, max_size=4)) if draw(st.integers(0, 30)) else []
    keys = [f"turn_{i}" for i in range(1, len(turns) + 1)]
    if turns and draw(st.integers(0, 15)) == 0:
        keys = draw(st.permutations(keys)) if len(keys) > 1 else ["turn_0"]
    out: dict[str, Any] = {"conversation_id": draw(st.sampled_from([1, "m-1"])), "meta_instruction": "You are MOSS.\n",
                           "num_turns": len(turns) + draw(st.sampled_from([0] * 15 + [1, -1])),
                           "chat": dict(zip(keys, turns))}
    if draw(st.booleans()):
        out["category"] = "tools"
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(sorted(ODD_ROW)))
        out[key] = draw(st.sampled_from(ODD_ROW[key]))
    if draw(st.integers(0, 20)) == 0:
        del out[draw(st.sampled_from(list(out)))]
    return out


def same(raw: Any) -> bool:
    """The new lanes agree with the old on `raw`, to the record and its classes; True when `check` takes it."""
    taken = old.check(raw)
    assert moss.check(raw) == taken, raw
    assert moss.fast(raw) == old.fast(raw), raw
    new_rec, old_rec = moss.rich(raw), old.rich(raw)
    assert (new_rec is None) == (old_rec is None), raw
    if new_rec is not None and old_rec is not None:
        assert type(new_rec) is type(old_rec) and new_rec.to_json() == old_rec.to_json(), raw
        assert [type(m) for m in new_rec.messages] == [type(m) for m in old_rec.messages], raw
        assert [type(c) for m in new_rec.messages for c in m.tool_calls or []] == \
               [type(c) for m in old_rec.messages for c in m.tool_calls or []], raw
        assert new_rec.plain_turns == old_rec.plain_turns and new_rec.kind == old_rec.kind, raw
    if old.fast(raw):
        assert moss.light(raw).to_json() == old.light(raw).to_json(), raw
        assert type(moss.light(raw)) is LightRecord
    return taken


@cache
def real_rows() -> list[Any]:
    files = [SHARED / "moss" / "moss-003-sft-sample.jsonl", FIXTURES / "moss" / "moss_sample.jsonl"]
    return [json.loads(line) for path in files if path.exists() for line in path.read_text().splitlines()]


def test_the_lanes_take_and_build_what_they_did_on_the_real_rows() -> None:
    rows = copy.deepcopy(real_rows())
    assert sum(same(r) for r in rows) > len(rows) * 0.8  # most real rows are taken


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=row())
def test_the_lanes_take_and_build_what_they_did_on_hostile_rows(raw: Any) -> None:
    same(raw)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_lanes_take_and_build_what_they_did_on_mutated_rows(data: st.DataObject) -> None:
    seeds = st.sampled_from(RICH["moss"] + [moss.FORMAT.example] + real_rows()[:50])
    same(data.draw(mutations.mutated(seeds, RICH_ODD | st.sampled_from(INNERS), RICH_NAMES | st.sampled_from(
        list(moss.MARKERS) + ["turn_1", "turn_2", "turn_3"]))))


@pytest.mark.parametrize("commands", [inner for inner in INNERS if "(" in inner])
@pytest.mark.parametrize("results", ["<|Results|>: r<eor>\n", "<|Results|>:\nr\n<eor>\n", moss.NONE_TEXT["Tool Responses"]])
def test_every_odd_command_is_read_as_before(commands: str, results: str) -> None:
    raw = copy.deepcopy(RICH["moss"][0])
    raw["chat"]["turn_1"].update({"Commands": f"<|Commands|>: {commands}<eoc>\n", "Tool Responses": results})
    same(raw)


def writes_as_before(raw: Any) -> None:
    """`to_sharegpt` writes what the rich lane's record written by sharegpt's writers gave, with the same warnings,
    under every reasoning policy; None exactly where that path left the row to the full lane."""
    rec = old.rich(raw)
    for policy in ("think", "drop", "reject"):
        direct = moss.to_sharegpt(raw, policy)
        if rec is None:
            assert direct is None, raw
            continue
        if type(rec) is LightRecord:  # a plain conversation: the plain lane's writer
            expected, warnings = sharegpt.light_writer(rec), []
        else:
            w = Writing(rec, Origins(), policy)  # type: ignore[arg-type]
            expected, warnings = sharegpt.from_canonical(w), [p.code for p in w.problems]
            if not w.ok():
                assert direct is None, (policy, raw)
                continue
        assert direct is not None, (policy, raw)
        out, counted = direct
        assert orjson.dumps(out) == orjson.dumps(expected) and out == expected, (policy, raw)
        assert counted == Counter(warnings), (policy, raw)


def test_the_direct_writer_writes_what_the_rich_lane_wrote_on_the_real_rows() -> None:
    for raw in real_rows():
        writes_as_before(raw)
        without = {k: v for k, v in raw.items() if k != "category"}
        for variant in (without, {**raw, "category": ""}, {**without, "conversation_id": str(raw["conversation_id"])}):
            same(variant)
            writes_as_before(variant)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=row())
def test_the_direct_writer_writes_what_the_rich_lane_wrote_on_hostile_rows(raw: Any) -> None:
    writes_as_before(raw)


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("field", list(moss.MARKERS))
def test_a_tag_in_any_field_is_read_as_before(tag: str, field: str) -> None:
    """Media placeholders and think tags: refused in Human, MOSS and results, as before (thoughts are not asked)."""
    raw = copy.deepcopy(RICH["moss"][0])
    opening, closing = moss.MARKERS[field]
    raw["chat"]["turn_1"][field] = f"{opening} a {tag} b{closing}\n"
    if field != "Commands":
        assert same(raw) == (field == "Inner Thoughts")
    for policy in ("think", "drop"):
        writes_as_before(raw)
        assert (moss.to_sharegpt(raw, policy) is None) == (field != "Inner Thoughts"), (field, policy)
