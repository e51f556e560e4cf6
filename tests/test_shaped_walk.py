"""The file checks' walk of the check lane's rows (`Format.check_shape`: a structure walked once, then only the
row's free-form values) is held to the old walk (every row walked whole): the same TypeDrift and ReasoningKeys
state and problems on mutated, shuffled and hostile rows, and the same validate report on whole files."""

import copy
import random
from pathlib import Path
from typing import Any

import mutations
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast import RICH, RICH_NAMES, RICH_ODD

from ftdata import validate_file
from ftdata.engine import lanes
from ftdata.formats import FORMATS
from ftdata.io.drift import MAX_REMEMBERED, TypeDrift
from ftdata.io.reasoning_keys import ReasoningKeys

OPENAI = FORMATS["openai"]
# check-lane rows beyond RICH: nulls where the lane leaves them (content beside calls, weight), tools whose schemas
# hold what the reasoning check reads (a reasoning key, a think block), tools as text, other key orders
MORE: list[dict[str, Any]] = [
    {"messages": [{"content": "q", "role": "user"},
                  {"tool_calls": [{"function": {"arguments": "{}", "name": "f"}, "type": "function", "id": "a"}],
                   "role": "assistant", "content": "calling"},
                  {"role": "tool", "content": "r", "tool_call_id": "a"},
                  {"role": "assistant", "content": "done", "weight": None}],
     "tools": [{"reasoning": "x", "content": "<think>p</think>a", "name": "f"}], "id": 7},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0,
                                                     "reasoning_content": " "}],
     "tools": [{"thinking": "t"}], "label": True},
    {"messages": [{"role": "developer", "content": "s"}, {"role": "user", "content": "q"},
                  {"role": "assistant", "content": "a", "reasoning_content": "why"}], "tools": "[]", "id": None},
]
SEEDS = [row for row in RICH["openai"] + MORE if OPENAI.check(row)]


def shuffled(row: Any, rng: random.Random) -> Any:
    """The row with every object's keys in another order (a shape is its keys in order)."""
    if isinstance(row, dict):
        items = list(row.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(row, list):
        return [shuffled(v, rng) for v in row]
    return row


def retooled(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The row in its own key order with other tools (keys, types, reasoning-looking keys), or none."""
    row = copy.deepcopy(row)
    if "input" not in row:
        keys = rng.sample(["name", "reasoning", "content", "thinking", "x.y", "parameters"], rng.randint(0, 3))
        tools = [{k: rng.choice(["<think>p</think>a", "t", 1, None, {"a": [1]}]) for k in keys}]
        row["tools"] = rng.choice([tools, tools * 2, "[]", []])
    return row


def walked(rows: list[Any], shaped: bool) -> tuple[TypeDrift, ReasoningKeys]:
    """The file checks after seeing `rows` as validate's hot loop shows them: rows the check lane takes beyond
    `fast` whole (the old walk) or described (`shaped`), plain rows at the top level, the others whole."""
    drift, keys = TypeDrift(), ReasoningKeys()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        deep = OPENAI.check(row) and not OPENAI.fast(row)
        if deep and shaped:
            structure, reasoning = OPENAI.check_shape(row)  # type: ignore[misc]
            drift.see_shaped(row, structure, reasoning, i, i + 1)
            keys.see_shaped(row, structure, reasoning, i, i + 1)
        else:
            whole = deep or not OPENAI.check(row)
            drift.see_plain(row, i, i + 1, whole)
            keys.see_plain(row, i, i + 1, whole)
    return drift, keys


def assert_same(rows: list[Any]) -> None:
    (old, old_keys), (new, new_keys) = walked(rows, False), walked(rows, True)
    assert new.types == old.types and new.keys == old.keys
    assert (new.remembered, new.full, new.free_seen) == (old.remembered, old.full, old.free_seen)
    assert new.problems() == old.problems()
    assert new_keys.first == old_keys.first and new_keys.problems() == old_keys.problems()


def test_the_seeds_are_check_lane_rows_beyond_fast() -> None:
    assert len(SEEDS) == len(RICH["openai"]) + len(MORE)
    assert all(not OPENAI.fast(row) for row in SEEDS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_the_shaped_walk_is_the_old_walk_on_mutated_and_shuffled_rows(data: st.DataObject, seed: int) -> None:
    rng = random.Random(seed)
    rows = [data.draw(mutations.mutated(st.sampled_from(SEEDS), RICH_ODD, RICH_NAMES))
            for _ in range(data.draw(st.integers(1, 8)))]
    rows += [shuffled(copy.deepcopy(rng.choice(SEEDS)), rng) for _ in range(8)]
    rows += [retooled(rng.choice(SEEDS), rng) for _ in range(8)]  # structures seen before: only the tools walked
    rng.shuffle(rows)
    assert_same(rows)


def test_the_shaped_walk_sees_nulls_and_tools_in_a_structure_seen_before() -> None:
    """Content beside calls and weights may be null: a row of a known key order but a null there is new."""
    first = copy.deepcopy(MORE[0])
    first["messages"][3]["weight"] = 1
    later = copy.deepcopy(MORE[0])
    later["messages"][1]["content"] = None
    later["tools"] = [{"name": "g", "strict": True}]
    rows = [first, first, later]
    assert_same(rows)
    said = {p.path for p in walked(rows, True)[0].problems()}
    assert {"messages[*].content", "messages[*].weight", "tools[*]"} <= said


def test_the_shaped_walk_is_the_old_walk_where_the_budget_runs_out() -> None:
    """Tools with ever new keys fill TypeDrift's budget; message paths first seen before, at and after that row."""
    rng = random.Random(1)
    per_row = MAX_REMEMBERED // 9
    rows: list[Any] = []
    for n in range(14):
        row = copy.deepcopy(SEEDS[n % len(SEEDS)])
        if "input" not in row:
            row["tools"] = [{f"k{n}_{i}": i for i in range(per_row)}]
        rows.append(shuffled(row, rng) if n % 3 else row)
    late = copy.deepcopy(MORE[0])
    late["messages"][3]["name"] = "bot"  # a path first seen after the budget is spent
    rows.append(late)
    assert_same(rows)
    assert walked(rows, True)[0].full is not None


def test_validate_reports_the_same_with_and_without_the_shaped_walk(tmp_path: Path, monkeypatch: Any) -> None:
    rng = random.Random(2)
    rows = [shuffled(copy.deepcopy(rng.choice(SEEDS)), rng) for _ in range(300)]
    rows[150]["messages"] = [{"role": "user", "content": 3}]  # a row for the full lane
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    shaped = validate_file(path, "openai").to_dict()
    plain_rows = lanes.plain_rows
    monkeypatch.setattr(lanes, "plain_rows", lambda fast, checks, whole=None, shape=None: plain_rows(fast, checks, whole))
    assert validate_file(path, "openai").to_dict() == shaped
    assert any(p["code"] == "type_drift" for p in shaped["warnings"]) and shaped["errors"]
