"""The full real samples in ../shared/data (present in the project workspace only; skipped elsewhere)."""

from collections import Counter

import pytest

from ftdata import validate_file

LF_LOCAL = {  # file -> (format, records, invalid)
    "alpaca_en_demo.json": ("alpaca", 999, 0),
    "alpaca_zh_demo.json": ("alpaca", 1000, 0),
    "identity.json": ("alpaca", 91, 0),
    "glaive_toolcall_en_demo.json": ("sharegpt", 300, 0),
    "glaive_toolcall_zh_demo.json": ("sharegpt", 300, 2),
    "dpo_en_demo.json": ("sharegpt", 300, 0),
    "dpo_zh_demo.json": ("sharegpt", 300, 0),
    "kto_en_demo.json": ("openai", 300, 0),
    "mllm_demo.json": ("openai", 6, 0),
    "mllm_audio_demo.json": ("openai", 3, 0),
    "mllm_video_demo.json": ("openai", 3, 0),
    "mllm_video_audio_demo.json": ("openai", 3, 0),
    "c4_demo.jsonl": ("text", 300, 0),
    "wiki_demo.txt": ("text", None, 0),
}


@pytest.mark.parametrize("name", sorted(LF_LOCAL))
def test_llamafactory_demo_files(shared, name: str) -> None:
    fmt, records, invalid = LF_LOCAL[name]
    report = validate_file(shared / "llamafactory" / name)
    assert (report.error, report.format, report.invalid) == (None, fmt, invalid)
    if records is not None:
        assert report.records == records


def test_moss_sample_is_valid_with_warnings_for_its_known_oddities(shared) -> None:
    report = validate_file(shared / "moss" / "moss-003-sft-sample.jsonl")
    assert (report.records, report.valid) == (500, 500)
    assert Counter((p.index, p.code) for p in report.problems) == Counter(
        {(76, "odd_placeholder"): 1, (95, "odd_placeholder"): 1, (117, "odd_placeholder"): 1, (92, "odd_commands"): 2,
         (192, "odd_commands"): 1,  # `Search(...), Search(...), None`
         (200, "type_drift"): 1})  # conversation_id: numbers in the first 200 rows, strings after


@pytest.mark.parametrize("name,fmt,records", [("dummy_data.jsonl", "firefly", 33), ("dummy_dpo.jsonl", "firefly", 16),
                                              ("dummy_pretrain.jsonl", "text", 45)])
def test_firefly_samples(shared, name: str, fmt: str, records: int) -> None:
    report = validate_file(shared / "firefly" / name)
    assert (report.format, report.records, report.valid) == (fmt, records, records)
