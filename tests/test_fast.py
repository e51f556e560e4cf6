"""The fast path's promise: when it accepts a record, the full path finds no problem at all."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mutations
from mutations import fixture_rows
from ftdata.api import convert_raw
from ftdata.fast import FAST
from ftdata.formats import FORMATS

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
                       "<|MOSS|>: None<eom>\n", "<|Commands|>: Search(\"x\")<eoc>\n", "turn_2"])


NAMES = st.sampled_from(["from", "value", "role", "content", "extra", "human", "Human", "weight", "images", "name",
                         "tools"])


def mutated(fmt: str):
    return mutations.mutated(st.just(VALID[fmt]), ODD, NAMES)


def promise_holds(fmt: str, raw: dict) -> None:
    if FAST[fmt](raw):
        converted = convert_raw(raw, FORMATS[fmt], Path("."))
        assert converted.record is not None and converted.problems == [], (raw, converted.problems)


def test_fast_path_accepts_the_plain_valid_shapes() -> None:
    for fmt, raw in VALID.items():
        assert FAST[fmt](raw), fmt
        promise_holds(fmt, raw)


def light_matches_full(fmt: str, raw: dict) -> None:
    from ftdata.light import LIGHT

    if FAST[fmt](raw):
        full = FORMATS[fmt].to_canonical(raw).record
        assert LIGHT[fmt](raw).to_json() == full.to_json(), raw


def light_writers_match(fmt: str, raw: dict) -> None:
    from ftdata.formats.write import Writing
    from ftdata.light import LIGHT, LIGHT_WRITERS

    if FAST[fmt](raw):
        full = FORMATS[fmt].to_canonical(raw).record
        for target, write in LIGHT_WRITERS.items():
            w = Writing(full)
            assert write(LIGHT[fmt](raw)) == FORMATS[target].from_canonical(w) and w.ok(), (target, raw)


def as_is_is_exact(fmt: str, raw: dict) -> None:
    """Where `convert` copies an accepted row's line unchanged, the writer would have written that very row."""
    from ftdata.light import AS_IS, LIGHT, LIGHT_WRITERS

    for (source, target), as_is in AS_IS.items():
        if source == fmt and FAST[fmt](raw) and as_is(raw):
            assert LIGHT_WRITERS[target](LIGHT[fmt](raw)) == raw, (target, raw)


CHECKS = {"promise": promise_holds, "light_record": light_matches_full, "light_writers": light_writers_match,
          "as_is": as_is_is_exact}


@pytest.mark.parametrize("fmt", sorted(FAST))
@pytest.mark.parametrize("check", sorted(CHECKS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_properties_on_mutated_records(check: str, fmt: str, data: st.DataObject) -> None:
    CHECKS[check](fmt, data.draw(mutated(fmt)))


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_fast_path_properties_on_every_golden_and_fixture_row(check: str) -> None:
    for _, raw in fixture_rows():
        for fmt in FAST:
            CHECKS[check](fmt, raw)
