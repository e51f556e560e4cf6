"""Fuzzing: mutated records and random bytes never make validate or convert raise; convert's counts hold and
every record it writes validates as its target format."""

import json
from pathlib import Path

import mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftdata import validate_file
from ftdata.core.problems import CODES
from ftdata.formats import FORMATS
from ftdata.ops.convert import convert_files

SEEDS = [f.example for f in FORMATS.values()] + [
    {"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": '{"name": "f", "arguments": {}}'},
                       {"from": "observation", "value": "r"}, {"from": "gpt", "value": "a"}], "tools": '[{"name": "f"}]'},
    {"input": {"messages": [{"role": "user", "content": "q"}]}, "preferred_output": [{"role": "assistant", "content": "g"}],
     "non_preferred_output": [{"role": "assistant", "content": "b"}]},
    {"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "g"}],
     "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]},
    {"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"}], "label": True},
    {"instruction": "<image>q", "output": "a", "images": ["x.jpg"], "history": [["h", "a"]], "system": "s"},
    {"instruction": "q", "chosen": "g", "rejected": "b", "kto_tag": False},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "r"}, {"role": "assistant", "content": "a", "weight": 0}],
     "tools": [{"type": "function", "function": {"name": "f"}}]},
]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), st.lists(st.integers(0, 2), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                 st.sampled_from(["human", "gpt", "user", "assistant", "tool", "system", "<image>", "None", "", "{}", "[]"]),
                 st.just([]), st.just({}))


def mutated():
    names = st.one_of(st.text(max_size=6), st.sampled_from(["role", "content", "from", "value", "messages"]))
    return mutations.mutated(st.sampled_from(SEEDS), JUNK, names, most=4)


def lines(draw_records, raw_bytes):
    out = [json.dumps(r).encode() for r in draw_records]
    return b"\n".join(out + raw_bytes) + b"\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(mutated(), min_size=1, max_size=6), st.lists(st.binary(max_size=40), max_size=3))
def test_validate_and_convert_never_raise_and_lose_nothing(tmp_path: Path, records, junk) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(records, junk))
    report = validate_file(src)
    if report.error:  # a whole-file problem (e.g. no format recognised) is reported, not raised
        return
    assert report.records == report.valid + report.invalid
    assert {p.code for p in report.problems} <= set(CODES)  # the closed set, whatever the input
    for target in ("sharegpt", "openai", "canonical"):
        out = tmp_path / f"out.{target}.jsonl"
        result = convert_files([src], target, out, dataset_info=False, force=True)
        assert result.records == result.written + result.rejected == report.records
        rejects = Path(result.rejects)
        assert (rejects.read_bytes().count(b"\n") if rejects.exists() else 0) == result.rejected
        if result.written:
            check = validate_file(out, fmt=None)
            assert check.error is None and check.invalid == 0 and check.records == result.written, check.problems[:3]
