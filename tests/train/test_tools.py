"""DPO/KTO rows keep their own tools and tool-call arguments exactly: what trl trains on is the row rendered alone
(Arrow would merge object keys across rows: {"zone": "UTC"} came back as {"city": None, "zone": "UTC"})."""

import json
from pathlib import Path

import pytest

from ftdata.core.canonical import chat_messages
from ftdata.core.tokens import ids, render
from fttrain.run import prepare
from fttrain.spec import RunSpec

CITY = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}}}}}
ZONE = {"type": "function", "function": {"name": "clock", "parameters": {"type": "object", "properties": {
    "zone": {"type": "string"}, "format": {"type": "string"}}}}}


def call(name: str, arguments: dict) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": [{"name": name, "arguments": arguments}]}


def rows(stage: str) -> list[dict]:
    weather = [{"role": "user", "content": "Weather in Oslo?"}]
    clock = [{"role": "user", "content": "Time in UTC?"}]
    if stage == "dpo":
        return [{"messages": weather, "tools": [CITY], "chosen": [call("weather", {"city": "Oslo"})],
                 "rejected": [call("weather", {"city": "Bergen"})]},
                {"messages": clock, "tools": [ZONE], "chosen": [call("clock", {"zone": "UTC"})],
                 "rejected": [{"role": "assistant", "content": "No idea."}]}]
    return [{"messages": weather, "tools": [CITY], "completion": [call("weather", {"city": "Oslo"})], "label": True},
            {"messages": clock, "tools": [ZONE], "completion": [call("clock", {"zone": "UTC", "format": "24h"})],
             "label": False},
            {"messages": clock, "completion": [{"role": "assistant", "content": "Noon."}], "label": True}]


@pytest.mark.parametrize("stage", ["dpo", "kto"])
def test_each_row_trains_as_it_renders_alone(tmp_path: Path, tokenizer, stage: str) -> None:
    data = tmp_path / "pref.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows(stage)))
    prepared = prepare(stage, data, RunSpec(max_length=4096))
    (source,) = prepared.sources
    answers = ["chosen", "rejected"] if stage == "dpo" else ["completion"]
    assert len(prepared.train_rows) == len(source.records)
    for row, rec in zip(prepared.train_rows, source.records):  # through Arrow: Dataset.from_list and back
        for name in answers:
            alone = render(tokenizer, chat_messages(rec.messages + getattr(rec, name)), rec.tools)
            assert row["prompt_ids"] + row[f"{name}_ids"] == ids(tokenizer, alone)
    first = tokenizer.decode(prepared.train_rows[1]["prompt_ids"] + prepared.train_rows[1][f"{answers[0]}_ids"])
    assert '"zone"' in first and '"city"' not in first and "null" not in first  # no keys from the other row
    assert '"name": "clock"' in first  # the row's own tool schema is rendered
