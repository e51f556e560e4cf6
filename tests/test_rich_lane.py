"""convert's rich lane (`Format.rich`, written by the targets' own writers from light records): a row it builds a
record for is one the full lane finds no problem in; the light record is the full lane's record; every writer that
reads light records (`Format.writes_light`) writes from it exactly what it writes from the full record, under every
reasoning policy, problems included; and a whole conversion gives the same bytes with the lane as without it."""

import base64
import json
from pathlib import Path
from typing import Any

import mutations
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from images import image_bytes, wav_bytes
from mutations import fixture_rows
from test_fast import RICH, RICH_NAMES, RICH_ODD, VALID

from ftdata.core.canonical import MEDIA_KINDS, PLACEHOLDERS
from ftdata.core.problems import has_errors
from ftdata.core.rules import Origins
from ftdata.engine import convert as engine_convert
from ftdata.engine.lanes import convert_raw
from ftdata.formats import FORMATS, REGISTRY, Format
from ftdata.formats.light import LightMessage, LightRecord
from ftdata.formats.write import Writing
from ftdata.io.drift import FREE_FORM
from ftdata.io.media import Media, refs_ok

MEDIA_KINDS_SET = frozenset(MEDIA_KINDS)

RICHES = {f.name: f for f in REGISTRY if f.rich is not None}
_TURN = {"Human": "<|Human|>: q<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: <eot>\n",
         "Commands": '<|Commands|>: Search("a\\"b"), Calc("\\q")<eoc>\n', "Tool Responses": "<|Results|>: r<eor>\n",
         "MOSS": "<|MOSS|>: a<eom>\n"}
# Edge cases of what the full lane makes of a row: blank reasoning (none), empty arguments ({}), tools as "" (none)
# or [] (an empty list), call ids, weights, names, numbers as ids, an argument that is not a JSON string.
EDGES = {
    "openai": [
        {"messages": [{"role": "developer", "content": "s"}, {"role": "user", "content": "q", "name": "u"},
                      {"role": "assistant", "content": "", "reasoning_content": " ", "weight": 0, "tool_calls": [
                          {"type": "function", "function": {"name": "f", "arguments": " "}},
                          {"id": "c", "function": {"name": "g"}}]},
                      {"role": "tool", "content": "r", "tool_call_id": "c"},
                      {"role": "assistant", "content": "a", "reasoning_content": "\n", "weight": 1}],
         "tools": "", "id": 7, "parallel_tool_calls": False},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a",
                                                         "reasoning_content": "plan"}], "tools": [], "label": True},
        {"input": {"messages": [{"role": "user", "content": "q"}]}, "id": "x",
         "preferred_output": [{"role": "assistant", "content": "yes it is"}],
         "non_preferred_output": [{"role": "assistant", "content": "no"}]},
    ],
    "sharegpt": [
        {"conversations": [{"from": "user", "value": "q"}, {"from": "function_call", "value": '{"name": "f", "arguments": ""}'},
                           {"from": "tool", "value": "r"}, {"from": "assistant", "value": "a"}], "tools": "", "id": "7"},
        {"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value":
                            '{"name": "f", "id": "c1", "arguments": "{\\"x\\": [1]}"}'},
                           {"from": "observation", "value": "r"}, {"from": "gpt", "value": "a"}], "tools": []},
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "tools": '{"name": "f"}',
         "kto_tag": False},
    ],
    "moss": [{"conversation_id": 5, "meta_instruction": "m", "num_turns": 1, "chat": {"turn_1": _TURN}},
             {"conversation_id": "6", "meta_instruction": "m", "num_turns": 1,  # empty thoughts: none, a plain turn
              "chat": {"turn_1": {**_TURN, "Commands": "<|Commands|>: None<eoc>\n",
                                  "Tool Responses": "<|Results|>:None<eor>"}}}],
}
READERS = [f for f in REGISTRY if f.writes_light]
POLICIES = ("think", "drop", "reject")


def rich_matches_full(fmt: Format, raw: Any) -> bool:
    """The rich lane's promises for one row; True when the lane took it."""
    rec = fmt.rich(raw) if isinstance(raw, dict) else None
    if rec is None:
        return False
    assert fmt.check is not None and fmt.check(raw), raw  # the rich lane lies inside validate's check lane
    full = convert_raw(raw, fmt, Path("."))
    assert full.record is not None and full.problems == [], (raw, full.problems)
    assert rec.to_json() == full.record.to_json(), raw
    assert rec.kind == full.record.kind and rec.to_record() == full.record
    if type(rec) is LightRecord:  # a plain conversation: the plain lane's writers write it
        assert all(type(m) is LightMessage for m in rec.messages), raw
        for target in (f for f in REGISTRY if f.light_writer is not None):
            assert target.light_writer(rec) == target.write(Writing(full.record)), (target.name, raw)
    writes_alike(rec, full, raw)
    return True


def writes_alike(rec: LightRecord, full: Any, raw: Any) -> None:
    """Every light-reading writer writes from `rec` what it writes from the full lane's record, under every reasoning
    policy: the same bytes, the same problem codes."""
    for target in READERS:
        for policy in POLICIES:
            light, whole = Writing(rec, Origins(), policy), Writing(full.record, full.origins, policy)  # type: ignore[arg-type]
            out, expected = target.write(light), target.write(whole)
            assert light.ok() == whole.ok(), (target.name, policy, raw)
            assert [p.code for p in light.problems] == [p.code for p in whole.problems], (target.name, policy, raw)
            if whole.ok():
                assert orjson.dumps(out) == orjson.dumps(expected), (target.name, policy, raw)
                if target.writes_flat:  # type_drift looks only at the top level of these rows
                    assert all(_strings(v) for v in out.values() if type(v) in (list, dict)), (target.name, out)
                if target.written_shape is not None and (shape := target.written_shape(out)) is not None:
                    _one_type_per_nested_path(f"{target.name} {shape}", out)  # walked once per structure


NESTED: dict[str, dict[str, str]] = {}  # target -> path below the top level -> the one JSON type written there


def _one_type_per_nested_path(target: str, row: dict[str, Any]) -> None:  # target: a name and a structure
    """`Format.written_shape`'s promise, held across every row the tests write: in rows of one top-level structure a
    path below the top level (free-form values aside) holds one JSON type, whatever the record."""
    seen = NESTED.setdefault(target, {})
    for path, kind in _nested(row, "", 0):
        assert seen.setdefault(path, kind) == kind, (target, path, kind, seen[path], row)


def _nested(value: Any, path: str, depth: int) -> list[tuple[str, str]]:
    found = [(path, type(value).__name__)] if depth > 1 else []
    if type(value) is dict:
        for key, sub in value.items():
            if key not in FREE_FORM:
                found += _nested(sub, f"{path}.{key}", depth + 1)
    elif type(value) is list:
        for sub in value:
            found += _nested(sub, f"{path}[*]", depth + 1)
    return found


def _strings(value: Any) -> bool:
    """Only strings inside `value` (lists and objects of them)."""
    if type(value) is list:
        return all(_strings(v) for v in value)
    if type(value) is dict:
        return all(_strings(v) for v in value.values())
    return type(value) is str


def test_every_rich_lane_has_seeds_it_takes() -> None:
    assert RICHES, "no format has a rich lane"
    for name, fmt in RICHES.items():
        assert name in RICH and any(rich_matches_full(fmt, row) for row in RICH[name]), name
        assert all(rich_matches_full(fmt, row) for row in EDGES[name]), name
        assert fmt.check is not None, f"{name}: a rich lane needs validate's check lane (it lies inside it)"


@pytest.mark.parametrize("fmt", sorted(RICHES))
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rich_lane_properties_on_mutated_rich_rows(fmt: str, data: st.DataObject) -> None:
    seeds = RICH[fmt] + EDGES[fmt] + ([VALID[fmt]] if fmt in VALID else [])
    rich_matches_full(RICHES[fmt], data.draw(mutations.mutated(st.sampled_from(seeds), RICH_ODD, RICH_NAMES)))


def test_rich_lane_properties_on_every_golden_and_fixture_row() -> None:
    taken = 0
    for _, raw in fixture_rows():
        for fmt in RICHES.values():
            taken += rich_matches_full(fmt, raw)
    assert taken


def _convert(path: Path, out: Path, target: str, **kw: Any) -> tuple[bytes, bytes, dict]:
    from ftdata.ops.convert import convert_files

    report = convert_files([path], target, out, dataset_info=False, **kw)
    rejects = out.with_name(out.stem + ".rejects.jsonl")
    summary = {k: v for k, v in report.to_dict().items() if k not in ("seconds", "output", "rejects")}
    return out.read_bytes(), rejects.read_bytes() if rejects.exists() else b"", summary


@pytest.mark.parametrize("fmt", sorted(RICHES))
def test_a_conversion_is_the_same_with_and_without_the_rich_lane(tmp_path: Path, fmt: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich rows, rows the writer refuses (parallel calls into sharegpt), invalid and deep rows: the same outputs,
    rejects and counts (warnings, kinds, keys) through the rich lane as through the full lane alone."""
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    rows = RICH[fmt] + EDGES[fmt] + [VALID.get(fmt, RICH[fmt][0]), {**RICH[fmt][0], "id": {"bad": 1}}, {**RICH[fmt][0], "x": deep},
                                                       {**RICH[fmt][0], "tools": [{"a": deep}]}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows * 3))
    for target in READERS:
        for workers in (1, 2):
            with_lane = _convert(path, tmp_path / f"a-{target.name}-{workers}.jsonl", target.name, workers=workers)
            with monkeypatch.context() as m:
                m.setattr(engine_convert, "rich_lane", lambda source, target: None)
                without = _convert(path, tmp_path / f"b-{target.name}-{workers}.jsonl", target.name, workers=workers)
            assert with_lane == without, (target.name, workers)


def test_a_message_of_role_and_a_non_text_field_is_refused_by_the_check_lane(tmp_path: Path) -> None:
    """Two keys but not role + content: the check lane looked at its text fields only beyond two keys, and crashed on
    reasoning that is not text (found by the rich lane's property test); now the full lane says what is wrong."""
    from ftdata.ops.validate import validate_file

    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "reasoning_content": 0}]}
    assert not FORMATS["openai"].check(row)
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert [(p.path, p.code) for p in validate_file(path).problems] == [("messages[1].reasoning_content", "wrong_type")]


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("fmt", sorted(RICHES))
def test_a_rich_lane_takes_no_deep_row_but_in_tools(fmt: str) -> None:
    """convert's rich lane and validate's check lane check the depth of a row only when it holds `tools` objects
    (`Format.rich`): anywhere else they must refuse a value nested deeper than their shape."""
    deep = _deep(200)

    def places(value: Any) -> list[Any]:  # every copy of `value` with one of its values (at any depth) made deep
        out: list[Any] = [deep]
        if isinstance(value, dict):
            for k, v in value.items():
                out += [{**value, k: d} for d in places(v)]
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out += [value[:i] + [d] + value[i + 1:] for d in places(v)]
        return out

    lane = RICHES[fmt]
    for seed in RICH[fmt] + EDGES[fmt]:
        for key, value in seed.items():
            if key != "tools":
                assert not any(lane.rich({**seed, key: d}) for d in places(value)), (key, seed)
                assert not any(lane.check({**seed, key: d}) for d in places(value)), (key, seed)  # validate's too


def test_validate_finds_a_deep_row_its_check_lane_would_take_but_for_the_depth(tmp_path: Path) -> None:
    """validate reads shallow (the check lane's shapes are fixed but in `tools`): a row valid but for tools nested
    too deep is still the reader's `too_deep` problem."""
    from ftdata.ops.validate import validate_file

    deep = {**RICH["openai"][0], "tools": [{"a": _deep(200)}]}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(RICH["openai"][0]) + "\n" + json.dumps(deep) + "\n")
    assert FORMATS["openai"].check(deep)
    assert [(p.line, p.code) for p in validate_file(path).problems if p.code != "type_drift"] == [(2, "too_deep")]


def test_no_rich_lane_takes_a_row_with_media_lists() -> None:
    """convert relies on it (rows with media take the full lane, where their files are checked)."""
    for name, fmt in RICHES.items():
        assert fmt.rich is not None
        for row in RICH[name]:
            for kind in ("images", "videos", "audios"):
                assert fmt.rich({**row, kind: ["a.png"]}) is None, (name, kind)


@pytest.mark.parametrize("target", sorted(f.name for f in REGISTRY if f.written_shape is not None))
def test_type_drift_still_sees_a_full_lane_row_beside_rich_lane_rows(target: str) -> None:
    """Rich-lane rows are walked once per top-level structure (`Format.written_shape`): a full-lane row that writes
    another type at one of their nested paths (content parts of a media row) is still found, in either order, and
    a new structure is walked whole (a preference row after SFT rows)."""
    from ftdata.core.canonical import Record
    from ftdata.engine.convert import Written

    fmt = FORMATS[target]
    rows = [fmt.write(Writing(Record.model_validate(r))) for r in (
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "", "tool_calls": [
            {"name": "f", "arguments": {"x": 1}}]}, {"role": "tool", "content": "r"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}],
         "rejected": [{"role": "assistant", "content": "b"}]})]
    for lane_row in rows:
        parts = json.loads(json.dumps(lane_row))
        for m in parts.get("messages") or parts.get("prompt") or parts["input"]["messages"]:
            m["content"] = [{"type": "text", "text": m["content"]}]
        record = Record.model_validate({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
        for lane_first in (True, False):
            written = Written()
            written.rich(rows[0], fmt)  # an SFT row first: the preference row's structure is new
            steps = [lambda: written.rich(lane_row, fmt), lambda: written.full(parts, record)]
            for step in steps if lane_first else steps[::-1]:
                step()
            assert [p.code for p in written.drift.problems()] == ["type_drift"], (target, lane_row, lane_first)
    with pytest.raises(AssertionError):  # and the invariant's own check can fail
        NESTED.pop("probe", None)
        _one_type_per_nested_path("probe", {"messages": [{"role": "user", "content": "x"}]})
        _one_type_per_nested_path("probe", {"messages": [{"role": "user", "content": ["x"]}]})


def test_a_repeated_tool_set_is_decoded_once_and_drift_still_sees_every_set(tmp_path: Path) -> None:
    """Rows repeating a tools text share one decoded list (`read_tools`); type_drift compares the very object seen
    last without writing it out, yet a tool set whose keys differ (the second set, then the first again) is still
    a `type_drift` warning, and the conversion is the full lane's."""
    from ftdata.formats.tools import read_tools
    from ftdata.ops.convert import convert_files

    a = json.dumps([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])
    b = json.dumps([{"type": "function", "function": {"name": "g", "description": "d"}}])
    assert read_tools(a)[1] is read_tools(a)[1] and read_tools(a)[1] == json.loads(a)
    rows = [{"conversations": [{"from": "human", "value": f"q{i}"}, {"from": "function_call", "value":
                                json.dumps({"name": "f", "arguments": {"x": i}})},
                               {"from": "observation", "value": "r"}, {"from": "gpt", "value": "a"}],
             "tools": tools} for i, tools in enumerate([a, a, b, a, a])]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = convert_files([src], "openai", tmp_path / "out.jsonl")
    assert report.written == 5 and [p.code for p in report.output_problems] == ["type_drift"], report.to_dict()
    assert "tools[*].function" in report.output_problems[0].message
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["tools"] for r in written] == [json.loads(t) for t in (a, a, b, a, a)]


# convert's media lane (`Format.rich_media`, its files checked by the engine: `Converter.media_record`)
MEDIAS = {f.name: f for f in REGISTRY if f.rich_media is not None}
PNG = "data:image/png;base64," + base64.b64encode(image_bytes("PNG")).decode()
_ASK = [{"from": "human", "value": "<image>what is it?"}, {"from": "gpt", "value": "a cat"}]
MEDIA_ROWS = {  # the files are those of `media_folder`
    "sharegpt": [
        {"conversations": [{"from": "human", "value": "<image>what is this?<image>"}, {"from": "gpt", "value": "cats"},
                           {"from": "human", "value": "and <video><audio>?"}, {"from": "gpt", "value": "a dog"}],
         "images": ["a.png", "img/b.jpg"], "videos": ["https://example.com/c.mp4"], "audios": ["t.wav"], "system": "s",
         "id": 3},
        {"conversations": [{"from": "user", "value": "<image><image> twice"}, {"from": "assistant", "value": "same"}],
         "images": ["a.png", "./a.png"], "id": "x"},  # the same image twice
        {"conversations": _ASK, "images": [PNG]},  # a data URL: sharegpt names files only (the writer refuses)
        {"conversations": _ASK, "images": ["bad.png"]},  # undecodable
        {"conversations": _ASK, "images": ["missing.png"]},
        {"conversations": _ASK, "images": ["../outside.png"]},  # outside the data folder (the file exists)
        {"conversations": _ASK, "images": ["a.png", "a.png"]},  # two items, one placeholder
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "images": []},
        {"conversations": _ASK, "images": ["img/b.jpg"], "tools": '[{"name": "f"}]'},  # tools: the full lane
        {"conversations": _ASK[:1], "chosen": {"from": "gpt", "value": "a cat"},  # a pair (openai refuses its media)
         "rejected": {"from": "gpt", "value": "a dog"}, "images": ["img/b.jpg"], "id": 4},
        {"conversations": _ASK, "kto_tag": False, "images": ["a.png"]},
        {"conversations": _ASK[:1], "chosen": {"from": "gpt", "value": "a cat"}, "rejected": {"from": "gpt",
         "value": "a dog"}, "images": ["missing.png"]},
    ],
}
MEDIA_ODD = st.one_of(RICH_ODD, st.sampled_from(["a.png", "./a.png", "img/b.jpg", "bad.png", "missing.png",
                                                 "../outside.png", "/abs.png", PNG, "data:image/png;base64,AAAA",
                                                 ["a.png", "a.png"], ["bad.png"], "<image>", "t.wav", "img"]))


REFS = st.sampled_from(["a.png", "./a.png", "img/b.jpg", "img/../a.png", "img//b.jpg", "bad.png", "missing.png",
                        "../outside.png", "/abs.png", PNG, "data:image/png;base64,AAAA", "https://example.com/x.png",
                        "t.wav", "img", "", "a.png\x00", "A.PNG"])


@st.composite
def media_rows(draw: Any) -> dict[str, Any]:
    """A sharegpt row whose media lists name any of REFS (the files of `media_folder`, and worse), with as many
    placeholders, spread over its human turns; sometimes a system message and an id."""
    lists = {kind: draw(st.lists(REFS, max_size=3)) for kind in draw(st.sets(st.sampled_from(MEDIA_KINDS), min_size=1))}
    tags = [PLACEHOLDERS[kind] for kind, refs in lists.items() for _ in refs]
    cut = draw(st.integers(0, len(tags)))
    row: dict[str, Any] = {"conversations": [
        {"from": "human", "value": "".join(tags[:cut]) + "what?"}, {"from": "gpt", "value": "a cat"},
        {"from": "human", "value": "and " + "".join(tags[cut:])}, {"from": "gpt", "value": "a dog"}], **lists}
    if draw(st.booleans()):
        row.update(system="s", id=draw(st.sampled_from([1, "x"])))
    shape = draw(st.sampled_from(["sft", "pair", "kto"]))
    if shape == "pair":
        row.update(conversations=row["conversations"][:3], chosen={"from": "gpt", "value": "yes"},
                   rejected={"from": "gpt", "value": "no"})
    elif shape == "kto":
        row["kto_tag"] = draw(st.booleans())
    return row


@pytest.fixture(scope="module")
def media_folder(tmp_path_factory: pytest.TempPathFactory) -> Media:
    top = tmp_path_factory.mktemp("media")
    folder = top / "data"
    (folder / "img").mkdir(parents=True)
    (folder / "a.png").write_bytes(image_bytes("PNG"))
    (folder / "img" / "b.jpg").write_bytes(image_bytes("JPEG"))
    (folder / "bad.png").write_bytes(image_bytes("PNG")[:30])
    (folder / "t.wav").write_bytes(wav_bytes(0.5))
    (top / "outside.png").write_bytes(image_bytes("PNG"))
    return Media(folder)


def media_matches_full(fmt: Format, raw: Any, media: Media) -> bool:
    """The media lane's promises for one row; True when the lane (and the engine's look at its files) took it."""
    rec = fmt.rich_media(raw) if isinstance(raw, dict) else None
    if rec is None:
        return False
    assert fmt.check is not None and fmt.check(raw) and fmt.rich is not None and fmt.rich(raw) is None, raw
    full = convert_raw(raw, fmt, media)
    if not refs_ok({kind: getattr(rec, kind) for kind in MEDIA_KINDS}, media):
        assert full.record is None or has_errors(full.problems), raw  # the full lane says what is wrong
        return False
    assert full.record is not None and full.problems == [], (raw, full.problems)
    assert rec.to_json() == full.record.to_json() and list(rec.to_json()) == list(full.record.to_json()), raw
    assert rec.kind == full.record.kind and rec.to_record() == full.record
    writes_alike(rec, full, raw)
    for target in (f for f in READERS if f.written_shape is not None):  # type_drift walks these once per structure
        w = Writing(rec, Origins())  # type: ignore[arg-type]
        out = target.write(w)
        if w.ok() and (shape := target.written_shape(out)) is not None:
            _one_type_per_nested_path(f"{target.name} {shape}", out)
    return True


def test_the_media_lane_takes_its_seeds_and_leaves_the_hostile_ones(media_folder: Media) -> None:
    assert MEDIAS, "no format has a media lane"
    for name, fmt in MEDIAS.items():
        taken = [media_matches_full(fmt, row, media_folder) for row in MEDIA_ROWS[name]]
        assert taken == [True, True, True, False, False, False, False, True, False, True, True, False], name


@pytest.mark.parametrize("fmt", sorted(MEDIAS))
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_media_lane_properties_on_mutated_media_rows(fmt: str, data: st.DataObject, media_folder: Media) -> None:
    seeds = st.one_of(st.sampled_from(MEDIA_ROWS[fmt] + RICH[fmt]), media_rows())
    media_matches_full(MEDIAS[fmt], data.draw(st.one_of(media_rows(), mutations.mutated(seeds, MEDIA_ODD, RICH_NAMES))),
                       media_folder)


def test_media_lane_properties_on_every_golden_and_fixture_row(media_folder: Media) -> None:
    for _, raw in fixture_rows():
        for fmt in MEDIAS.values():
            media_matches_full(fmt, raw, media_folder)


@pytest.mark.parametrize("allow_outside", [False, True])
def test_a_conversion_with_media_is_the_same_with_and_without_the_media_lane(
        media_folder: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_outside: bool) -> None:
    """Rows with media (good, the same image twice, a data URL, undecodable, missing, outside the folder, a
    placeholder too few): the same outputs, rejects and counts through the media lane as through the full lane,
    at 1 and 2 workers; and the lane took rows."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    taken: list[str] = []
    lane = engine_convert.media_lane

    def counted(source: Format, target: Format) -> Any:
        found = lane(source, target)
        return None if found is None else lambda row: taken.append(source.name) or found(row)

    for name in MEDIAS:
        path = media_folder.base / f"{name}-{allow_outside}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in MEDIA_ROWS[name] * 3))
        for target in READERS:
            for workers in (1, 2):
                with monkeypatch.context() as m:
                    m.setattr(engine_convert, "media_lane", counted)
                    with_lane = _convert(path, tmp_path / "a" / f"{target.name}-{workers}.jsonl", target.name,
                                         workers=workers, allow_outside=allow_outside)  # (the notes name it)
                with monkeypatch.context() as m:
                    m.setattr(engine_convert, "media_lane", lambda source, target: None)
                    without = _convert(path, tmp_path / "b" / f"{target.name}-{workers}.jsonl", target.name,
                                       workers=workers, allow_outside=allow_outside)
                assert with_lane == without, (name, target.name, workers)
        assert name in taken


def test_the_media_lane_takes_only_rows_with_media_lists() -> None:
    """The rich lane takes the rows without (`test_no_rich_lane_takes_a_row_with_media_lists`): one lane per row."""
    for name, fmt in MEDIAS.items():
        assert fmt.rich_media is not None
        for row in RICH[name] + EDGES.get(name, []):
            if MEDIA_KINDS_SET.isdisjoint(row):
                assert fmt.rich_media(row) is None, (name, row)


def test_type_drift_sees_the_media_lane_rows_beside_content_parts(media_folder: Media, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows the media lane writes for openai are walked once per top-level structure (`written_shape`): their
    content beside another input's content parts (arrays) is still a located type_drift, as without the lane."""
    sharegpt, parts = media_folder.base / "sg.jsonl", media_folder.base / "parts.jsonl"
    sharegpt.write_text(json.dumps(MEDIA_ROWS["sharegpt"][0]) + "\n")
    parts.write_text(json.dumps({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "a.png"}}]},
        {"role": "assistant", "content": "a cat"}]}) + "\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for inputs in ([sharegpt, parts], [parts, sharegpt]):
        from ftdata.ops.convert import convert_files

        found = []
        for side in ("a", "b"):
            with monkeypatch.context() as m:
                if side == "b":
                    m.setattr(engine_convert, "media_lane", lambda source, target: None)
                report = convert_files(inputs, "openai", tmp_path / side / "o.jsonl", dataset_info=False, force=True)
            found.append([(p.code, p.path, p.message) for p in report.output_problems])
        assert found[0] == found[1] and [c for c, *_ in found[0]] == ["type_drift"], found
