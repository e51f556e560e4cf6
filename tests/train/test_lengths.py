"""Length policies: every sample fits --max-length before trl sees it, and every cut or drop is counted; with the
trl-like policy the counts equal what trl 1.16 itself does with the same rows."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fttrain.data import Counts, Source, load_sources, preference_rows, sft_rows
from fttrain.lengths import IGNORE, fit_labelled, fit_pair, infer_seqlen
from fttrain.spec import RunSpec


@pytest.mark.parametrize("source,target,kept", [((100, 1000), 512, (100, 412)), ((1000, 100), 512, (412, 100)),
                                                 ((1000, 1000), 512, (256, 256)), ((300, 400), 512, (220, 292)),
                                                 ((2000, 250), 512, (262, 250)), ((255, 1000), 512, (255, 257)),
                                                 ((256, 1000), 512, (105, 407))])
def test_budget_split_is_llamafactorys_rule(source, target, kept) -> None:
    assert infer_seqlen(*source, target) == kept


def trl_reference(stage: str, source: Source, tokenizer, max_length: int) -> list[dict]:
    """The rows trl 1.16 trains on: its own dataset preparation, then its collator's keep_start truncation."""
    import trl
    from datasets import Dataset

    from ftdata.core.canonical import chat_messages

    rows = []
    for rec in source.records:
        row = {"prompt": chat_messages(rec.messages)}
        if stage == "dpo":
            row |= {"chosen": chat_messages(rec.chosen), "rejected": chat_messages(rec.rejected)}
        else:
            row |= {"completion": chat_messages(rec.completion), "label": rec.label}
        rows.append(row)
    if stage == "dpo":
        args = trl.DPOConfig(output_dir="/tmp/unused", max_length=max_length, use_cpu=True)
        fake = SimpleNamespace(_tokenizer=tokenizer)
        prepared = trl.DPOTrainer._prepare_dataset(fake, Dataset.from_list(rows), tokenizer, args, "train")
        answers = ["chosen_ids", "rejected_ids"]
    else:
        args = trl.KTOConfig(output_dir="/tmp/unused", max_length=max_length, use_cpu=True)
        fake = SimpleNamespace(_tokenizer=tokenizer, calculate_KL=False, desirable_weight=1.0, undesirable_weight=1.0)
        prepared = trl.KTOTrainer._prepare_dataset(fake, Dataset.from_list(rows), tokenizer, args, "train")
        answers = ["completion_ids"]
    out = []
    for row in prepared:  # the collator cuts prompt + answer to max_length, keeping the start
        room = max_length - len(row["prompt_ids"])
        out.append({"prompt_ids": row["prompt_ids"], **{k: row[k][:room] for k in answers}})
    return out


@pytest.mark.parametrize("stage,name,over,dropped", [("dpo", "dpo_en_demo", 265, 132), ("kto", "kto_en_demo", 202, 117)])
def test_preflight_counts_equal_what_trl_does(shared: Path, tokenizer, stage, name, over, dropped) -> None:
    """dpo_en_demo / kto_en_demo at --max-length 512 with --overlong truncate (trl's keep_start): the rows we hand
    trl are exactly the rows trl's own preparation would train on, and the summary counts every drop and cut."""
    spec = RunSpec(dataset=name, max_length=512, overlong="truncate")
    (source,) = load_sources(shared / "llamafactory" / "dataset_info.json", spec, stage)
    counts = Counts()
    ours = preference_rows(tokenizer, source, spec, counts)
    reference = trl_reference(stage, source, tokenizer, 512)
    assert [{k: v for k, v in r.items() if k != "label"} for r in ours] == reference
    assert (counts.samples, counts.over_length, counts.dropped_over_length) == (300, over, dropped)
    assert counts.kept == len(reference) == 300 - dropped
    assert counts.truncated == counts.eos_cut == over - dropped  # each kept long row lost its answer's end (EOS)
    assert all(len(r["prompt_ids"]) + len(r[k]) <= 512 for r in ours for k in r if k.endswith("_ids") and k != "prompt_ids")


@pytest.mark.parametrize("policy", ["split", "truncate", "keep_end", "drop"])
def test_every_policy_fits_and_counts_balance(shared: Path, tokenizer, policy) -> None:
    spec = RunSpec(dataset="dpo_en_demo", max_length=512, overlong=policy)
    (source,) = load_sources(shared / "llamafactory" / "dataset_info.json", spec, "dpo")
    counts = Counts()
    rows = preference_rows(tokenizer, source, spec, counts)
    assert len(rows) == counts.kept and counts.over_length == counts.truncated + counts.dropped_over_length
    for r in rows:
        assert r["prompt_ids"] and r["chosen_ids"] and r["rejected_ids"]
        assert max(len(r["chosen_ids"]), len(r["rejected_ids"])) + len(r["prompt_ids"]) <= 512
    expected_kept = {"split": 300, "keep_end": 300, "truncate": 168, "drop": 35}[policy]
    assert counts.kept == expected_kept


def test_split_keeps_the_answers_of_long_system_prompts(tokenizer) -> None:
    """MOSS rows open with a ~490-token system prompt: keeping the start leaves most answers nothing at 512
    tokens; the budget split keeps every row with its answer (and says how many were cut)."""
    from conftest import FIXTURES

    moss = FIXTURES / "moss" / "moss_sample.jsonl"
    (source,) = load_sources(moss, RunSpec(), "sft")
    fates = {}
    for policy in ("truncate", "split"):
        counts = Counts()
        rows = sft_rows(tokenizer, source, RunSpec(max_length=512, overlong=policy), counts)
        assert all(len(r["input_ids"]) <= 512 and any(x != IGNORE for x in r["labels"]) for r in rows)
        fates[policy] = (counts.kept, counts.dropped_over_length)
    assert fates["split"] == (len(source.records), 0)
    assert fates["truncate"][1] > len(source.records) // 2


@settings(max_examples=200, deadline=None)
@given(labels=st.lists(st.sampled_from([IGNORE, 1]), min_size=1, max_size=60), max_length=st.integers(1, 40),
       policy=st.sampled_from(["split", "truncate", "keep_end", "drop"]))
def test_fit_labelled_keeps_positions_in_order_within_the_budget(labels, max_length, policy) -> None:
    kept = fit_labelled(labels, max_length, policy)
    if kept is None:
        assert policy == "drop" and len(labels) > max_length
        return
    assert kept == sorted(set(kept)) and len(kept) <= max_length and all(0 <= k < len(labels) for k in kept)
    assert len(kept) == min(len(labels), max_length) or policy == "split"


@settings(max_examples=200, deadline=None)
@given(prompt=st.integers(0, 50), answers=st.lists(st.integers(1, 50), min_size=1, max_size=2),
       max_length=st.integers(2, 40), policy=st.sampled_from(["split", "truncate", "keep_end", "drop"]))
def test_fit_pair_fits_every_answer(prompt, answers, max_length, policy) -> None:
    fitted = fit_pair(list(range(prompt)), [list(range(100, 100 + n)) for n in answers], max_length, policy)
    if fitted is None:
        assert policy == "drop"
        return
    p, kept = fitted
    assert all(len(p) + len(a) <= max_length for a in kept)
    assert p == list(range(prompt))[len(list(range(prompt))) - len(p):] or p == list(range(len(p)))
