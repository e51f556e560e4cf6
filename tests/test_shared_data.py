"""The real samples: slices of ../shared/data in fixtures/upstream (every clone), the audio / video demos in
../shared/data itself (their media is not in the repo; skipped in a clone)."""

from collections import Counter

import pytest

from ftdata import validate_file
from ftdata.io.probe import has_av

LF_LOCAL = {  # file -> (format, records, invalid), as sliced in fixtures/upstream
    "alpaca_en_demo.json": ("alpaca", 6, 0),
    "alpaca_zh_demo.json": ("alpaca", 6, 0),
    "identity.json": ("alpaca", 6, 0),
    "glaive_toolcall_en_demo.json": ("sharegpt", 6, 0),
    "glaive_toolcall_zh_demo.json": ("sharegpt", 6, 2),  # upstream rows 197 and 293
    "dpo_en_demo.json": ("sharegpt", 6, 0),
    "dpo_zh_demo.json": ("sharegpt", 6, 0),
    "kto_en_demo.json": ("openai", 6, 0),
    "mllm_demo.json": ("openai", 6, 0),
    "c4_demo.jsonl": ("text", 6, 0),
    "wiki_demo.txt": ("text", 2, 0),
}
LF_MEDIA = {"mllm_audio_demo.json": 3, "mllm_video_demo.json": 3, "mllm_video_audio_demo.json": 3}


@pytest.mark.parametrize("name", sorted(LF_LOCAL))
def test_llamafactory_demo_files(upstream, name: str) -> None:
    fmt, records, invalid = LF_LOCAL[name]
    report = validate_file(upstream / "llamafactory" / name)
    assert (report.error, report.format, report.invalid, report.records) == (None, fmt, invalid, records)


@pytest.mark.parametrize("name", sorted(LF_MEDIA))
def test_llamafactory_audio_and_video_demos_with_their_media(upstream, name: str) -> None:
    """The demos' rows with stand-ins for their 1.6 MB of media (fixtures/upstream: a few KB, made by PyAV): they run
    in a clone; with PyAV every file is probed (none left unchecked)."""
    report = validate_file(upstream / "llamafactory" / name)
    assert (report.error, report.format, report.invalid, report.records) == (None, "openai", 0, LF_MEDIA[name])
    assert not report.media or not has_av()


@pytest.mark.parametrize("name", sorted(LF_MEDIA))
def test_llamafactory_audio_and_video_demos_with_upstreams_own_media(shared, name: str) -> None:
    """Upstream's real mp3 / wav / flac / mp4 / avi files (only in ../shared/data) probe clean, with durations."""
    from ftdata import api

    report = validate_file(shared / "llamafactory" / name, max_duration=60)
    assert (report.error, report.invalid, report.records, dict(report.media)) == (None, 0, LF_MEDIA[name],
                                                                                  {} if has_av() else report.media)
    if has_av():
        assert 2.5 < min(api.stats([shared / "llamafactory" / name]).seconds)  # upstream's files last 2.9-9.7 s


def test_moss_sample_is_valid_with_warnings_for_its_known_oddities(upstream) -> None:
    """Upstream rows 0-39, then 76, 92, 95, 117, 192, 198-201 (slice indexes 40-48)."""
    report = validate_file(upstream / "moss" / "moss-003-sft-sample.jsonl")
    assert (report.records, report.valid) == (49, 49)
    assert Counter((p.index, p.code) for p in report.problems) == Counter(
        {(40, "odd_placeholder"): 1, (42, "odd_placeholder"): 1, (43, "odd_placeholder"): 1, (41, "odd_commands"): 2,
         (44, "odd_commands"): 1,  # `Search(...), Search(...), None`
         (47, "type_drift"): 1})  # conversation_id: numbers in the first 200 rows, strings after


@pytest.mark.parametrize("name,fmt,records", [("dummy_data.jsonl", "firefly", 10), ("dummy_dpo.jsonl", "firefly", 10),
                                              ("dummy_pretrain.jsonl", "text", 10)])
def test_firefly_samples(upstream, name: str, fmt: str, records: int) -> None:
    report = validate_file(upstream / "firefly" / name)
    assert (report.format, report.records, report.valid) == (fmt, records, records)


def test_near_dedup_keeps_the_distinct_moss_conversations(upstream, tmp_path) -> None:
    """Every MOSS row carries the same ~1.2 kB system prompt: with it counted (--compare all) two different short
    conversations look alike; left out (the default) the 49 rows are kept at 0.8, and at 0.5 the one pair removed
    asks the same question ("0的15次方等于多少") with answers 0.72 alike (by exact word 3-grams)."""
    pytest.importorskip("rensa")
    from ftdata.ops.convert import convert_files
    from ftdata.ops.dedup import dedup_files

    data = tmp_path / "moss.sharegpt.jsonl"
    convert_files([upstream / "moss" / "moss-003-sft-sample.jsonl"], "sharegpt", data, dataset_info=False)
    assert dedup_files([data], tmp_path / "a.jsonl", threshold=0.8).kept == 49
    assert dedup_files([data], tmp_path / "b.jsonl", threshold=0.5, compare="all").removed["near"] >= 3
    report = dedup_files([data], tmp_path / "c.jsonl", threshold=0.5)
    assert report.shared_lines > 15 and dict(report.removed) == {"near": 1}
    import json

    (dupe,) = [json.loads(line) for line in (tmp_path / "c.jsonl.dupes.jsonl").read_text().splitlines()]
    assert (dupe["index"], dupe["duplicate_of"]["index"]) == (35, 33)


def test_llamafactorys_own_dataset_info_exports_to_v1_entries_that_read_back_clean(upstream, tmp_path) -> None:
    from ftdata import api
    from ftdata.descriptors.export import export
    from ftdata.descriptors.v1 import dump_yaml

    info = upstream / "llamafactory" / "dataset_info.json"
    result = export(info, "llamafactory-v1", tmp_path)
    out = tmp_path / "v1.yaml"
    out.write_text(dump_yaml(result.document))
    local = [r for r in api.validate(out, media_dir=upstream / "llamafactory", allow_outside=True)[1:] if not r.skipped]
    assert local and [(r.path, r.invalid) for r in local if r.invalid or r.error] == []
