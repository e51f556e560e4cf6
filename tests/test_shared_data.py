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


def test_near_dedup_keeps_the_distinct_moss_conversations(shared, tmp_path) -> None:
    """Every MOSS row carries the same ~1.2 kB system prompt: with it counted (--compare all) two different short
    conversations look alike; left out (the default) the 500 rows are kept at 0.8, and at 0.5 the one pair removed
    asks the same question ("0的15次方等于多少") with answers 0.72 alike (by exact word 3-grams)."""
    pytest.importorskip("rensa")
    from ftdata.ops.convert import convert_files
    from ftdata.ops.dedup import dedup_files

    data = tmp_path / "moss.sharegpt.jsonl"
    convert_files([shared / "moss" / "moss-003-sft-sample.jsonl"], "sharegpt", data, dataset_info=False)
    assert dedup_files([data], tmp_path / "a.jsonl", threshold=0.8).kept == 500
    assert dedup_files([data], tmp_path / "b.jsonl", threshold=0.5, compare="all").removed["near"] >= 10
    report = dedup_files([data], tmp_path / "c.jsonl", threshold=0.5)
    assert report.shared_lines > 15 and dict(report.removed) == {"near": 1}
    import json

    (dupe,) = [json.loads(line) for line in (tmp_path / "c.jsonl.dupes.jsonl").read_text().splitlines()]
    assert (dupe["index"], dupe["duplicate_of"]["index"]) == (35, 33)


def test_llamafactorys_own_dataset_info_exports_to_v1_entries_that_read_back_clean(shared, tmp_path) -> None:
    from ftdata import api
    from ftdata.descriptors.export import export
    from ftdata.descriptors.v1 import dump_yaml

    info = shared / "llamafactory" / "dataset_info.json"
    result = export(info, "llamafactory-v1", tmp_path)
    out = tmp_path / "v1.yaml"
    out.write_text(dump_yaml(result.document))
    local = [r for r in api.validate(out, media_dir=shared / "llamafactory", allow_outside=True)[1:] if not r.skipped]
    assert local and [(r.path, r.invalid) for r in local if r.invalid or r.error] == []
