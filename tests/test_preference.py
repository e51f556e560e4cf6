"""Preference and KTO checks: chosen vs rejected (identical: error; near-identical: warning), the edit similarity
behind it, KTO label balance across a file (and across byte ranges), and the stats they add."""

import json
import random
from pathlib import Path

import pytest

from ftdata import validate_file
from ftdata.api import stats
from ftdata.core.canonical import Record
from ftdata.core.reports import Checked
from ftdata.core.rules import SIMILAR_ANSWERS, Origins, check_record
from ftdata.core.similarity import distance, edit_similarity, normalise, normalised_apart
from ftdata.io.filechecks import LabelBalance


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_distance_equals_the_textbook_table() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        a = "".join(rng.choice("ab c中") for _ in range(rng.randint(0, 80)))
        b = "".join(rng.choice("ab c中") for _ in range(rng.randint(0, 80)))
        assert distance(a, b) == levenshtein(a, b), (a, b)


def test_edit_similarity_is_exact_above_the_threshold_and_none_below() -> None:
    assert edit_similarity("kitten", "sitten", 0.8) == 0.8333
    assert edit_similarity("kitten", "sitting", 0.8) is None
    assert edit_similarity("", "", 0.9) == 1.0
    rng = random.Random(3)
    for _ in range(500):
        a = "".join(rng.choice("abcd ") for _ in range(rng.randint(1, 60)))
        b = list(a)
        for _ in range(rng.randint(0, 4)):
            b[rng.randrange(len(b))] = rng.choice("abcdxyz")
        b = "".join(b)
        exact = 1 - levenshtein(a, b) / max(len(a), len(b))
        got = edit_similarity(a, b, 0.9)
        assert (got is None) == (exact < 0.9 - 1e-9) and (got is None or abs(got - exact) < 1e-4), (a, b)
    assert normalise(" a \n\n b\t") == "a b"


def test_normalised_apart_never_says_apart_for_a_similar_pair() -> None:
    """The check lanes' shortcut (no normalising) holds to the rule it skips: whenever it says apart, normalising and
    measuring finds the pair under the threshold. Whitespace of every kind (runs, ends, Unicode spaces), CJK and
    near-copies, at the threshold and around it; it must also decide most unrelated pairs (what makes it pay)."""
    rng = random.Random(7)
    alphabet = ["a", "b", "c", "x", " ", "  ", "\n", "\t", "\u3000", "\xa0", "\u2003", "中", "文", ".", "é"]
    decided = 0
    for _ in range(4000):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        if rng.random() < 0.5:  # a near copy: a few edits and whitespace changes
            b = list(a)
            for _ in range(rng.randint(0, 6)):
                at = rng.randint(0, len(b))
                b[at:at + rng.randint(0, 2)] = [rng.choice(alphabet)] * rng.randint(0, 2)
            b = "".join(b)
        else:
            b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        for at_least in (0.5, 0.9, 0.95):
            if normalised_apart(a, b, at_least):
                decided += 1
                assert edit_similarity(normalise(a), normalise(b), at_least) is None, (a, b, at_least)
    assert decided > 3000
    assert not normalised_apart("a" * 100, "a" * 95, 0.95)  # 5 edits: at the threshold, not apart
    assert normalised_apart("a" * 100, "a" * 94, 0.95)
    assert not normalised_apart("Paris  is\n\nthe capital.", "Paris is the capital.", 0.95)


def pair(chosen: str, rejected: str) -> Record:
    return Record.model_validate({"messages": [{"role": "user", "content": "q"}],
                                  "chosen": [{"role": "assistant", "content": chosen}],
                                  "rejected": [{"role": "assistant", "content": rejected}]})


def test_identical_answers_are_an_error_and_near_identical_ones_a_warning() -> None:
    def codes(chosen: str, rejected: str) -> list[str]:
        return [p.code for p in check_record(pair(chosen, rejected), Origins())]

    assert codes("Paris.", "Paris.") == ["identical_answers"]
    assert codes("Paris is the capital.", "Paris is the capital. ") == ["similar_answers"]  # whitespace only
    assert codes("a" * 100, "a" * 95 + "bbbbb") == ["similar_answers"]  # 95%: the threshold itself
    assert codes("a" * 100, "a" * 94 + "bbbbbb") == []
    assert codes("Paris.", "Lyon.") == []
    assert SIMILAR_ANSWERS == 0.95


def test_tool_calls_make_answers_differ() -> None:
    record = Record.model_validate({
        "messages": [{"role": "user", "content": "weather?"}],
        "chosen": [{"role": "assistant", "tool_calls": [{"name": "w", "arguments": {"city": "Paris"}}]}],
        "rejected": [{"role": "assistant", "tool_calls": [{"name": "w", "arguments": {"city": "Rome"}}]}]})
    assert [p.code for p in check_record(record, Origins())] == []


def kto_item(index: int, label: bool) -> Checked:
    record = Record.model_validate({"messages": [{"role": "user", "content": "q"}],
                                    "completion": [{"role": "assistant", "content": "a"}], "label": label})
    return Checked(index, index + 1, {"kto_tag": label}, record, [])


def test_label_balance_names_trls_weights_and_merges_ranges() -> None:
    whole, first, second = LabelBalance(), LabelBalance(), LabelBalance()
    labels = [True] * 19 + [False]
    for i, label in enumerate(labels):
        whole.see(kto_item(i, label))
        (first if i < 10 else second).see(kto_item(i if i < 10 else i - 10, label))
    first.merge(second, 10, 10)
    assert [p.to_dict() for p in first.problems()] == [p.to_dict() for p in whole.problems()]
    (found,) = whole.problems()
    assert (found.index, found.line, found.path, found.code) == (19, 20, "kto_tag", "label_imbalance")
    assert found.message == ("1 of 20 KTO rows are undesirable (label false) (5.0%): balance the losses with "
                             "--undesirable-weight 19.0 (trl's range 19.0-25.27 with --desirable-weight 1), or "
                             "--desirable-weight 0.05 (0.04-0.05 with --undesirable-weight 1)")


@pytest.mark.parametrize("n_false,warned", [(0, True), (1, True), (2, False)])
def test_label_balance_threshold(n_false: int, warned: bool) -> None:
    check = LabelBalance()
    for i, label in enumerate([True] * (20 - n_false) + [False] * n_false):
        check.see(kto_item(i, label))
    assert bool(check.problems()) == warned  # 2 of 20 = 10%: not under 10%


def test_small_files_are_not_judged(tmp_path: Path) -> None:
    check = LabelBalance()
    for i in range(9):
        check.see(kto_item(i, True))
    assert check.problems() == []


def test_validate_reports_label_imbalance_in_parallel_ranges_too(tmp_path: Path) -> None:
    row = {"messages": [{"role": "user", "content": "q" * 4000}, {"role": "assistant", "content": "a"}]}
    f = tmp_path / "kto.jsonl"
    with f.open("w") as out:
        for i in range(5000):
            out.write(json.dumps({**row, "label": i != 4321}) + "\n")
    one, two = validate_file(f), validate_file(f, workers=2)
    assert [p.to_dict() for p in one.problems] == [p.to_dict() for p in two.problems]
    assert [(p.code, p.line) for p in one.problems] == [("label_imbalance", 4322)]


def test_stats_length_ratio_and_labels(tmp_path: Path) -> None:
    rows = [{"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "gpt", "value": "a" * c},
             "rejected": {"from": "gpt", "value": "b" * r}} for c, r in ((10, 5), (5, 10), (8, 8))]
    f = tmp_path / "p.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = stats([f]).summary()
    assert s["chosen_rejected_length_ratio"] == {"min": 0.5, "p50": 1.0, "p95": 2.0, "max": 2.0, "mean": 1.17}
    assert s["chosen_longer"] == round(1 / 3, 4)
    k = tmp_path / "k.jsonl"
    k.write_text("".join(json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                                     "label": i < 3}) + "\n" for i in range(4)))
    assert stats([k]).summary()["kto_labels"] == {"desirable": 3, "undesirable": 1}
