"""The fast lane's promises, for every format that has one (walked from the registry):
- accepted => the full lane finds no problem at all;
- its light record equals the full lane's record (`to_json`, and `to_record()` is that very `Record`);
- light writers write what the full writers write; as-is copies are exactly what the writer would write;
- every rule of `ftdata.core.rules`, broken in a plain conversation, is refused by every fast lane that can hold the
  broken row (derived from the rules themselves: a new rule the fast lanes do not know fails here).
"""

from pathlib import Path
from typing import Any

import mutations
import pytest
from encoders import encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from images import image_bytes
from mutations import fixture_rows

from ftdata.core.canonical import Record
from ftdata.core.problems import has_errors
from ftdata.core.rules import RULES
from ftdata.engine.lanes import check_lane, convert_raw
from ftdata.formats import FORMATS, REGISTRY, Format
from ftdata.formats.write import Writing
from ftdata.io.media import Media

FAST = {f.name: f for f in REGISTRY if f.fast is not None}
CHECK = {f.name: f for f in REGISTRY if f.check is not None}
WRITERS = {f.name: f for f in REGISTRY if f.light_writer is not None}
VALID = {
    "sharegpt": {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "system": "s", "id": 1},
    "openai": {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                            {"role": "assistant", "content": "a"}]},
    "alpaca": {"instruction": "q", "input": "x", "output": "a", "system": "s", "history": [["q0", "a0"]]},
    "firefly": {"conversation_id": 1, "category": "c", "system": "s", "conversation": [{"human": "q", "assistant": "a"}]},
    "moss": FORMATS["moss"].example,
}
ODD = st.sampled_from(["", " ", "\n", "None", "None.", "<image>", "x<video>y", 0, 1, True, None, [], {}, [""], ["a"],
                       "human", "gpt", "user", "assistant", "system", "observation", "Human", "<|Human|>: a<eoh>\n",
                       "<|MOSS|>: None<eom>\n", "<|Commands|>: Search(\"x\")<eoc>\n", "turn_2", "Nonsense", "developer",
                       "<think>a</think>b", "<think>\n\n</think>\n\nb", "<think>a", "a</think>", "b"])
NAMES = st.sampled_from(["from", "value", "role", "content", "extra", "human", "Human", "weight", "images", "name",
                         "tools", "reasoning", "reasoning_content", "thinking"])


# Seeds near the richer rows validate's wider fast lane (`Format.check`) takes.
RICH = {
    "openai": [
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "weather?"},
                      {"role": "assistant", "content": None, "tool_calls": [
                          {"id": "c1", "type": "function", "function": {"name": "w", "arguments": '{"city": "Oslo"}'}},
                          {"id": "c2", "type": "function", "function": {"name": "t", "arguments": "{}"}}]},
                      {"role": "tool", "tool_call_id": "c1", "content": "3C"}, {"role": "tool", "content": "12:00"},
                      {"role": "assistant", "content": "3 degrees", "weight": 1, "reasoning_content": "look"}],
         "tools": [{"type": "function", "function": {"name": "w"}}], "parallel_tool_calls": True, "id": "r1"},
        {"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "more"},
                      {"role": "assistant", "content": "a", "name": "bot"}], "label": False},
        {"input": {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
                   "parallel_tool_calls": False},
         "preferred_output": [{"role": "assistant", "content": "good"}],
         "non_preferred_output": [{"role": "assistant", "content": "bad"}], "id": "p1"},
        {"messages": [{"role": "user", "content": "call it"}, {"role": "assistant", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}]}], "tools": '[{"name": "f"}]'},
    ],
    "sharegpt": [
        {"conversations": [{"from": "human", "value": "weather?"},
                           {"from": "function_call", "value": '{"name": "w", "arguments": {"city": "Oslo"}}'},
                           {"from": "observation", "value": "3C"}, {"from": "gpt", "value": "3 degrees"},
                           {"from": "human", "value": "and?"},
                           {"from": "function_call", "value": '[{"name": "a", "arguments": "{}"}, {"name": "b"}]'}],
         "tools": '[{"name": "w"}]', "system": "s", "id": 3},
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}, {"from": "user", "value": "q2"}],
         "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}},
        {"conversations": [{"from": "human", "value": "q"}, {"from": "assistant", "value": "a"}], "kto_tag": True},
        {"conversations": [{"from": "human", "value": "<image>what is this?<image>"}, {"from": "gpt", "value": "cats"},
                           {"from": "human", "value": "and <video>?"}, {"from": "gpt", "value": "a dog"}],
         "images": ["https://example.com/a.png", "s3://bucket/b.png"], "videos": ["https://example.com/c.mp4"],
         "audios": []},
    ],
    "moss": [
        {"conversation_id": "m-1", "meta_instruction": "You are MOSS.", "num_turns": 2, "category": "tools", "chat": {
            "turn_1": {"Human": "<|Human|>: 1+1?<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: compute<eot>\n",
                       "Commands": '<|Commands|>: Calculate("1+1"), Search("sum")<eoc>\n',
                       "Tool Responses": "<|Results|>:\n2\n<eor>\n", "MOSS": "<|MOSS|>: 2<sup><|1|></sup><eom>\n"},
            "turn_2": {"Human": "<|Human|>: thanks<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: None<eot>\n",
                       "Commands": "<|Commands|>: None<eoc>\n", "Tool Responses": "<|Results|>: None<eor>\n",
                       "MOSS": "<|MOSS|>: welcome<eom>\n"}}},
    ],
}


def test_every_fast_lane_has_a_seed_and_the_seed_is_accepted() -> None:
    assert set(VALID) == set(FAST) and set(RICH) <= set(CHECK)
    for name, fmt in FAST.items():
        assert fmt.fast(VALID[name]), name
        assert fmt.light is not None, f"{name}: a fast check needs a light builder"
    for name, rows in RICH.items():
        for row in rows:
            assert CHECK[name].check(row) and not CHECK[name].fast(row), row
            promise_holds_for(check_lane(CHECK[name], Media(Path("."))), CHECK[name], row)


def promise_holds(fmt: Format, raw: dict) -> None:
    promise_holds_for(fmt.fast, fmt, raw)


def promise_holds_for(accept, fmt: Format, raw: dict) -> None:
    if accept(raw):
        converted = convert_raw(raw, fmt, Path("."))
        assert converted.record is not None and converted.problems == [], (raw, converted.problems)
    if fmt.fast is not None and fmt.fast(raw):  # the plain lane lies inside validate's check lane (engine.walks)
        assert check_lane(fmt, Media(Path(".")))(raw), raw


def light_matches_full(fmt: Format, raw: dict) -> None:
    if fmt.fast(raw):
        full = fmt.to_canonical(raw).record
        light = fmt.light(raw)
        assert light.to_json() == full.to_json(), raw
        record = light.to_record()
        assert isinstance(record, Record) and record == full and record.to_json() == full.to_json(), raw


def light_writers_match(fmt: Format, raw: dict) -> None:
    if fmt.fast(raw):
        full = fmt.to_canonical(raw).record
        for target in WRITERS.values():
            w = Writing(full)
            assert target.light_writer(fmt.light(raw)) == target.write(w) and w.ok(), (target.name, raw)


def as_is_is_exact(fmt: Format, raw: dict) -> None:
    """Where `convert` copies an accepted row's line unchanged, the writer would have written that very row."""
    for target, as_is in fmt.as_is.items():
        if fmt.fast(raw) and as_is(raw):
            assert FORMATS[target].light_writer(fmt.light(raw)) == raw, (target, raw)


CHECKS = {"promise": promise_holds, "light_record": light_matches_full, "light_writers": light_writers_match,
          "as_is": as_is_is_exact}


@pytest.mark.parametrize("fmt", sorted(FAST))
@pytest.mark.parametrize("check", sorted(CHECKS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_lane_properties_on_mutated_records(check: str, fmt: str, data: st.DataObject) -> None:
    CHECKS[check](FAST[fmt], data.draw(mutations.mutated(st.just(VALID[fmt]), ODD, NAMES)))


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_fast_lane_properties_on_every_golden_and_fixture_row(check: str) -> None:
    for _, raw in fixture_rows():
        for fmt in FAST.values():
            CHECKS[check](fmt, raw)


@pytest.mark.parametrize("fmt", sorted(RICH))
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_wider_check_keeps_the_promise_on_mutated_rich_rows(fmt: str, data: st.DataObject) -> None:
    """`Format.check` (validate's fast lane for tool calls, preference pairs, ...): accepted => no problem at all."""
    raw = data.draw(mutations.mutated(st.sampled_from(RICH[fmt]), RICH_ODD, RICH_NAMES))
    promise_holds_for(check_lane(CHECK[fmt], Media(Path("."))), CHECK[fmt], raw)


def test_the_wider_check_keeps_the_promise_on_every_golden_and_fixture_row() -> None:
    for _, raw in fixture_rows():
        for fmt in CHECK.values():
            promise_holds_for(check_lane(fmt, Media(Path("."))), fmt, raw)


RICH_ODD = st.one_of(ODD, st.sampled_from(["<|Commands|>: None.<eoc>\n", "<|Results|>: None<eor>\n",
                                           "<|Results|>: <eor>\n", '<|Commands|>: 1. Search("x")<eoc>\n',
                                           "<|Inner Thoughts|>: Non<eot>\n", "<|Commands|>: Search(<eoc>\n",'"{}"', '{"a": 1}', "not json", '"\\"x\\""', "function", "tool", "developer",
                                           "function_call", "observation", 2, 0.5, False, {"name": "f"}, ["a.png"], ["https://x/y.png", 1],
                                           "<audio>", "<image><image>",
                                           {"name": "", "arguments": "{}"}, '[{"name": "f"}]', "c1", "x<image>",
                                           "<think>p</think>a", "<think>p", "p</think>", "3 degrees", "look"]))
RICH_NAMES = st.sampled_from(["input", "preferred_output", "non_preferred_output", "messages", "from", "value", "role", "content", "tool_calls", "tool_call_id", "function",
                              "arguments", "name", "weight", "label", "type", "id", "tools", "reasoning_content", "thinking", "reasoning",
                              "function_call", "images", "videos", "audios"])


def test_validate_checks_the_media_files_of_rows_its_fast_lane_takes(tmp_path: Path) -> None:
    """`check` looks at a row; the files its media lists name are looked at by the engine's lane (`check_lane`):
    a missing file or one outside the media folder is reported by the full lane, with its path."""
    from ftdata.ops.validate import validate_file

    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(image_bytes())
    (tmp_path / "img" / "link.png").symlink_to(tmp_path.parent)
    row = {"conversations": [{"from": "human", "value": "<image>what?"}, {"from": "gpt", "value": "a cat"}]}
    refs = ("img/a.png", "img/b.png", "../x.png", "img/link.png", "img/../img/a.png", "/ftdata-absent.png",
            str(tmp_path / "img" / "a.png"))
    rows = [{**row, "images": [ref]} for ref in refs]
    lane = check_lane(FORMATS["sharegpt"], Media(tmp_path))
    assert [lane(r) for r in rows] == [True, False, False, False, True, False, True]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(__import__("json").dumps(r) + "\n" for r in rows))
    report = validate_file(path)
    assert [(p.line, p.path, p.code) for p in report.problems] == [
        (2, "images[0]", "media_missing"), (3, "images[0]", "media_outside"), (4, "images[0]", "media_outside"),
        (6, "images[0]", "media_outside")]


def plain_conversation(fmt: str) -> dict[str, Any]:
    """The canonical JSON of a format's valid seed (a plain text conversation)."""
    return FAST[fmt].to_canonical(VALID[fmt]).record.to_json()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_broken_is_refused_by_every_fast_lane(rule) -> None:
    """Break the rule in each fast-laned format's seed conversation, write the broken record back in that format
    (where the format can hold it at all), and check: the full lane reports one of the rule's codes, and the fast
    lane does not accept the row. At least one format must hold each broken rule, or the rule is untested (rules
    about records no fast lane takes, such as preference answers, say so by breaking nothing: `violate` -> None)."""
    expressed, applies = [], False
    for name, fmt in {**FAST, **CHECK}.items():
        broken = rule.violate(plain_conversation(name))
        if broken is None:
            continue  # the rule is about records no fast lane takes (preference answers, ...)
        applies = True
        row = encode(fmt, broken)
        if row is None:
            continue  # the format cannot hold this break (MOSS has no place for a second user turn in a row)
        full = convert_raw(row, fmt, Path("."))
        if not has_errors(full.problems) and not set(rule.codes) & {p.code for p in full.problems}:
            continue  # the format's structure absorbed the break (e.g. a blank system prompt is dropped)
        assert set(rule.codes) & {p.code for p in full.problems}, (name, rule.name, full.problems)
        for accept in filter(None, (fmt.fast, fmt.check)):
            assert not accept(row), f"the {name} fast lane accepts a row that breaks '{rule.name}': {row}"
        expressed.append(name)
    assert expressed or not applies, f"no fast-laned format can hold a break of '{rule.name}'; give the rule a " \
                                     "violation they can"


def test_type_drift_sees_inside_rich_rows_the_fast_lane_took(tmp_path: Path) -> None:
    """validate's fast lane takes tool-call rows whose arguments are JSON text without building records; a later
    row with the arguments as an object (valid, through the full lane) is the drift Arrow fails on, and is found
    even when the first row (walked whole) had no tool call."""
    from ftdata.ops.validate import validate_file

    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "w", "arguments": '{"city": "Oslo"}'}}]}
    rich = {"messages": [{"role": "user", "content": "q"}, call, {"role": "tool", "tool_call_id": "c", "content": "3C"},
                         {"role": "assistant", "content": "3 degrees"}]}
    as_object = __import__("copy").deepcopy(rich)
    as_object["messages"][1]["tool_calls"][0]["function"]["arguments"] = {"city": "Oslo"}
    plain = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert FORMATS["openai"].check(rich) and not FORMATS["openai"].check(as_object)
    path = tmp_path / "d.jsonl"
    path.write_text("".join(__import__("json").dumps(r) + "\n" for r in [plain, rich, rich, as_object]))
    for workers in (1, 2):
        drift = [p for p in validate_file(path, workers=workers).problems if p.code == "type_drift"]
        assert [(p.line, p.path) for p in drift] == [  # (content null beside the calls: as the full lane says)
            (2, "messages[*].content"), (4, "messages[*].tool_calls[*].function.arguments")], drift
        assert "string (first: line 2), object (first: line 4)" in drift[1].message


@pytest.mark.parametrize("fmt,row", [
    ("firefly", {"conversation": [{"human": "q", "assistant": "a"}]}),
    ("moss", {"conversation_id": 1, "meta_instruction": "You are MOSS.\n", "num_turns": 1,
              "chat": {"turn_1": {"Human": "<|Human|>: q<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: None<eot>\n",
                                  "Commands": "<|Commands|>: None<eoc>\n", "Tool Responses": "<|Results|>: None<eor>\n",
                                  "MOSS": "<|MOSS|>: a<eom>\n"}}}),
])
def test_type_drift_sees_inside_a_category_object(tmp_path: Path, fmt: str, row: dict) -> None:
    """A category that is not text goes to the full lane, where type_drift walks it (the fast lane took any)."""
    from ftdata.ops.validate import validate_file

    path = tmp_path / "d.jsonl"
    rows = [{**row, "category": {"a": 1}}, {**row, "category": {"a": "x"}}]
    path.write_text("".join(__import__("json").dumps(r) + "\n" for r in rows))
    report = validate_file(path, fmt=fmt)
    assert report.invalid == 0 and [p.path for p in report.problems if p.code == "type_drift"] == ["category.a"]


def _deep(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("fmt", [f for f in REGISTRY if f.fast is not None], ids=lambda f: f.name)
def test_a_plain_fast_lane_takes_no_deep_row(fmt) -> None:
    """convert skips the depth check for rows its plain fast lane takes (`jsonl_items(shallow=True)`): that lane must
    refuse any row that nests deeper than its fixed shape, wherever the depth hides."""
    import copy

    deep = _deep(200)
    candidates = [{**fmt.example, "extra": deep}]
    for key, value in fmt.example.items():
        candidates.append({**fmt.example, key: deep})
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                row = copy.deepcopy(fmt.example)
                row[key][0][inner] = deep
                candidates.append(row)
    assert not any(fmt.fast(row) for row in candidates)
