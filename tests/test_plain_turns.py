"""`LightRecord.plain_turns`: a rich lane that says a record's turns are plain (no name, no weight but the default,
no two user messages in a row) spares the writers three passes, so it must never say so of a record those passes
would refuse anything of."""

from typing import Any

import mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast import RICH, RICH_NAMES, RICH_ODD, VALID
from test_rich_lane import EDGES, RICHES

from ftdata.formats.light import LightRecord
from ftdata.formats.write import Writing

# one reason each for the passes to run: a weight 0, a name, a user message after a user message
MORE = {"openai": [
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0},
                  {"role": "user", "content": "q2"}, {"role": "assistant", "content": "b", "weight": 1}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "name": "bot"}]},
    {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "user", "content": "q"},
                  {"role": "assistant", "content": "a", "weight": 1}]},
]}


def refused(rec: LightRecord) -> list[str]:
    """The problems the three passes find in `rec`, run as for a record no lane vouched for."""
    proved = rec.plain_turns
    if proved:  # a RichRecord's own attribute (a plain LightRecord's is the class's False)
        rec.plain_turns = False
    w = Writing(rec)  # type: ignore[arg-type]  # writers read light records as records
    w.default_weights_only("x")
    w.no_names("x")
    w.alternating("x")
    if proved:
        rec.plain_turns = True
    return [p.code for p in w.problems]


def holds(fmt: str, row: Any) -> bool:
    """`row` read by `fmt`'s rich lane: a record said to be plain is one the passes refuse nothing of."""
    rec = RICHES[fmt].rich(row) if isinstance(row, dict) else None  # type: ignore[misc]
    if rec is None or not rec.plain_turns:
        return False
    assert refused(rec) == [], (fmt, row)
    return True


def test_the_lanes_say_plain_turns_of_their_plain_seeds_and_not_of_the_others() -> None:
    seeds = {fmt: RICH[fmt] + EDGES[fmt] + MORE.get(fmt, []) for fmt in RICHES}
    assert all(RICHES["openai"].rich(row) is not None and refused(RICHES["openai"].rich(row))  # type: ignore[misc]
               for row in MORE["openai"])
    assert any(holds(fmt, row) for fmt in RICHES for row in seeds[fmt])
    for fmt in RICHES:
        for row in seeds[fmt]:
            rec = RICHES[fmt].rich(row)  # type: ignore[misc]
            if rec is not None and refused(rec):
                assert not rec.plain_turns, (fmt, row)  # names, weights 0, user after user: the passes run


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), fmt=st.sampled_from(sorted(RICHES)))
def test_plain_turns_only_where_the_passes_refuse_nothing(data: st.DataObject, fmt: str) -> None:
    seeds = RICH[fmt] + EDGES[fmt] + MORE.get(fmt, []) + ([VALID[fmt]] if fmt in VALID else [])
    holds(fmt, data.draw(mutations.mutated(st.sampled_from(seeds), RICH_ODD, RICH_NAMES)))
