"""Training data: selection by stage, bad rows, over-length and fully masked samples are counted, never silent."""

import json
from pathlib import Path

import pytest

from fttrain.checks import UsageError
from fttrain.data import Counts, DataError, load_sources, preference_rows, sft_rows
from fttrain.run import split_eval
from fttrain.spec import RunSpec


def test_stage_picks_entries_of_its_kind(info: Path) -> None:
    assert [s.name for s in load_sources(info, RunSpec(), "sft")] == ["tiny_sft"]
    assert [s.name for s in load_sources(info, RunSpec(), "dpo")] == ["dpo"]
    kto = load_sources(info, RunSpec(), "kto")
    assert [s.name for s in kto] == ["kto"] and len(kto[0].records) == 8


def test_named_entry_of_the_wrong_kind_is_an_error(info: Path) -> None:
    with pytest.raises(DataError, match="dpo holds 8 preference records, not sft data"):
        load_sources(info, RunSpec(dataset="dpo"), "sft")
    with pytest.raises(UsageError, match="no entry nope"):  # a usage error (exit 2): the entry is not there
        load_sources(info, RunSpec(dataset="nope"), "sft")


def test_bad_rows_stop_the_run_unless_skipped(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "q", "output": "a"}\n{"instruction": "q"}\n')
    with pytest.raises(DataError, match="1 invalid row") as caught:
        load_sources(data, RunSpec(), "sft")
    assert caught.value.reports[0].problems[0].code == "missing_field"
    (source,) = load_sources(data, RunSpec(skip_bad_rows=True), "sft")
    assert (len(source.records), source.report.invalid) == (1, 1)


def test_over_length_truncated_or_dropped_and_fully_masked_dropped(tmp_path: Path, tokenizer) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"instruction": "short", "output": "ok"},
        {"instruction": "long " * 10, "output": "answer " * 40},
        {"instruction": "prompt " * 80, "output": "masked away"},
    ]) + "\n")
    (source,) = load_sources(data, RunSpec(), "sft")
    counts = Counts()
    rows = sft_rows(tokenizer, source, RunSpec(max_length=64, overlong="truncate"), counts)
    # the third sample, cut to its prompt, has nothing left to train on: dropped for its length
    assert (counts.samples, counts.over_length, counts.truncated, counts.dropped_over_length) == (3, 2, 1, 1)
    assert counts.eos_cut == 1 and counts.kept == len(rows) == 2 and all(len(r["input_ids"]) <= 64 for r in rows)
    counts = Counts()
    rows = sft_rows(tokenizer, source, RunSpec(max_length=64, overlong="drop"), counts)
    assert (len(rows), counts.dropped_over_length) == (1, 2)
    counts = Counts()
    rows = sft_rows(tokenizer, source, RunSpec(max_length=64), counts)  # split: every answer keeps its start
    assert (len(rows), counts.truncated, counts.dropped_over_length, counts.eos_cut) == (3, 2, 0, 1)


def test_preference_rows_are_tokenized_and_counted(info: Path, tokenizer) -> None:
    (source,) = load_sources(info, RunSpec(), "dpo")
    counts = Counts()
    rows = preference_rows(tokenizer, source, RunSpec(max_length=4096), counts)
    assert set(rows[0]) == {"prompt_ids", "chosen_ids", "rejected_ids"}
    assert tokenizer.decode(rows[0]["prompt_ids"]).endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(rows[0]["chosen_ids"]).endswith("<|im_end|>\n")
    assert counts.samples == 8


def test_split_eval_fraction_and_count() -> None:
    from datasets import Dataset

    rows = Dataset.from_list([{"i": i} for i in range(10)])
    train, held = split_eval(rows, 0.2, seed=1)
    assert (len(train), len(held)) == (8, 2) and sorted(list(train["i"]) + list(held["i"])) == list(range(10))
    assert split_eval(rows, 0, seed=1) == (rows, None)
    assert len(split_eval(rows, 3, seed=1)[1]) == 3
    with pytest.raises(DataError):
        split_eval(rows, 10, seed=1)


def test_paced_gc_restores_collection_and_still_collects_young_cycles() -> None:
    import gc
    import weakref

    from fttrain.data import paced_gc

    class Node:
        pass

    refs = []
    for _ in paced_gc(range(1000), every=100):
        assert not gc.isenabled()
        node = Node()
        node.self = node  # a reference cycle: only the cycle collector frees it
        refs.append(weakref.ref(node))
        del node
    assert gc.isenabled()
    assert sum(r() is not None for r in refs) <= 100  # all but the last batch were collected while paused
    with pytest.raises(ValueError):
        for _ in paced_gc([1, 2]):
            raise ValueError
    assert gc.isenabled()


@pytest.mark.parametrize("name", ["moss/moss_sample.jsonl", "llamafactory/glaive_toolcall_en_demo.json",
                                  "llamafactory/dpo_en_demo.json", "llamafactory/kto_en_demo.json"])
def test_stats_counts_the_tokens_the_preflight_counts_row_for_row(tokenizer, name: str) -> None:
    """`ftdata stats --tokenizer tiny` and fttrain's pre-flight render and tokenize a record the same way (tool
    calls, tools and reasoning included), so a length budget read off stats holds in training."""
    import json

    from conftest import FIXTURES
    from typer.testing import CliRunner

    from ftdata.api import stats
    from ftdata.cli import app
    from ftdata.core.stats import spread

    src = FIXTURES / name
    stage = {"dpo": "dpo", "kto": "kto"}.get(name.split("/")[1][:3], "sft")
    (source,) = load_sources(src, RunSpec(), stage)
    counts = Counts()
    build = sft_rows if stage == "sft" else preference_rows
    build(tokenizer, source, RunSpec(max_length=1024), counts)
    per_record = stats([src], tokenizer=tokenizer, max_length=1024)
    assert per_record.tokens == counts.lengths and len(counts.lengths) == len(source.records) > 0
    result = CliRunner().invoke(app, ["stats", str(src), "--tokenizer", "tiny", "--max-length", "1024", "--json"])
    summary = json.loads(result.output)
    assert summary["tokens"] == spread(counts.lengths) and summary["over_max_length"] == counts.over_length
