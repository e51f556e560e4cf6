"""`ftdata dedup`: exact duplicates across formats, near duplicates without chains, contamination, nothing lost
(records = kept + removed + rejected), exact CLI output, and clear errors (exit 2) for bad input."""

import json
import os
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("numpy")
pytest.importorskip("rensa")

from ftdata.cli import app  # noqa: E402
from ftdata.ops.dedup import dedup_files  # noqa: E402
from ftdata.ops.dedup_index import EXACT, KEPT, NEAR, Columns, decide  # noqa: E402

runner = CliRunner()
WORDS = [f"w{i}" for i in range(3000)]


def sg(q: str, a: str, **extra) -> dict:
    return {"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}], **extra}


def oa(q: str, a: str) -> dict:
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def text(seed: int, n: int = 150) -> list[str]:
    return random.Random(seed).choices(WORDS, k=n)


def edited(ws: list[str], changes: int, seed: int) -> str:
    rng, out = random.Random(seed), list(ws)
    for i in rng.sample(range(len(out)), changes):
        out[i] = f"x{rng.randrange(10**6)}"
    return " ".join(out)


def test_the_same_conversation_in_two_formats_is_one(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", [sg("hi", "hello"), sg("  hi ", "hello", id=3), sg("Hi", "hello"), sg("q", "a")])
    b = write(tmp_path / "b.jsonl", [oa("hi", "hello\n"), oa("new", "row")])
    out = tmp_path / "out.jsonl"
    report = dedup_files([a, b], out, target="sharegpt")
    assert (report.records, report.kept, dict(report.removed), report.rejected) == (6, 4, {"exact": 2}, 0)
    assert [r["conversations"][0]["value"] for r in lines(out)] == ["hi", "Hi", "q", "new"]  # case is content
    assert lines(tmp_path / "out.jsonl.dupes.jsonl") == [
        {"file": str(a), "index": 1, "line": 2, "kind": "exact", "duplicate_of": {"file": str(a), "index": 0, "line": 1},
         "similarity": 1.0, "record": sg("  hi ", "hello", id=3)},
        {"file": str(b), "index": 0, "line": 1, "kind": "exact", "duplicate_of": {"file": str(a), "index": 0, "line": 1},
         "similarity": 1.0, "record": oa("hi", "hello\n")}]
    assert (report.clusters, report.largest) == (1, [{"file": str(a), "index": 0, "line": 1, "rows": 3}])


def test_near_duplicates_name_the_kept_row_and_its_similarity(tmp_path: Path) -> None:
    base = text(1)
    rows = [sg("q", " ".join(base)), sg("q", edited(base, 3, 2)), sg("q", " ".join(text(3))), sg("q", edited(base, 60, 4))]
    src = write(tmp_path / "a.jsonl", rows)
    report = dedup_files([src], tmp_path / "out.jsonl", threshold=0.8)
    (dupe,) = lines(tmp_path / "out.jsonl.dupes.jsonl")
    assert (dupe["index"], dupe["kind"], dupe["duplicate_of"]["index"]) == (1, "near", 0)
    assert 0.85 < dupe["similarity"] < 1.0
    assert report.kept == 3 and dict(report.removed) == {"near": 1}


def test_greedy_keeps_a_row_whose_only_match_was_removed() -> None:
    """A ~ B and B ~ C over the threshold, A ~ C under it: B goes (it matches A), C stays (B is not kept)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, 128, dtype=np.uint8)
    b, c = a.copy(), a.copy()
    b[:16] += 1  # B agrees with A on 112 of 128 values (~0.87)
    c[:16] += 1
    c[16:32] += 1  # C agrees with B on 112 (~0.87), with A on 96 (~0.75)
    cols = Columns()
    cols.add("key", np.array([1, 2, 3], dtype=np.uint64))
    cols.add("sig", np.stack([a, b, c]))
    d = decide(cols, None, 0.8)
    assert d.status.tolist() == [KEPT, NEAR, KEPT] and d.ref.tolist()[1] == 0
    cols = Columns()
    cols.add("key", np.array([5, 5, 6, 5], dtype=np.uint64))
    assert decide(cols, None, None).status.tolist() == [KEPT, EXACT, KEPT, EXACT]


def test_against_removes_rows_whose_prompt_is_in_the_eval_set(tmp_path: Path) -> None:
    question = " ".join(text(7, 40))
    train = write(tmp_path / "t.jsonl", [sg(question, "our answer"), sg("another question entirely", "a"),
                                         sg(edited(question.split(), 1, 8), "b"), sg("unrelated words here", "c")])
    evals = write(tmp_path / "e.jsonl", [oa("some eval question", "x"), oa(question, "the reference answer")])
    report = dedup_files([train], tmp_path / "o.jsonl", threshold=0.8, against=[evals])
    got = [(d["index"], d["kind"], d["duplicate_of"]["file"], d["duplicate_of"]["index"])
           for d in lines(tmp_path / "o.jsonl.dupes.jsonl")]
    assert got == [(0, "contamination", str(evals), 1), (2, "contamination", str(evals), 1)]
    assert report.eval_records == 2 and report.kept == 2
    exact_only = dedup_files([train], tmp_path / "p.jsonl", against=[evals])
    assert dict(exact_only.removed) == {"contamination": 1}


def test_nothing_is_lost_invalid_rows_are_rejected_and_json_arrays_work(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jsonl", [sg("q", "a"), "not json", {"conversations": []}, sg("q", "a"), sg("q2", "a2")])
    out = tmp_path / "o.json"
    report = dedup_files([src], out, threshold=0.9, target="alpaca")
    assert report.records == report.kept + sum(report.removed.values()) + report.rejected == 5
    assert json.loads(out.read_text()) == [{"instruction": "q", "output": "a"}, {"instruction": "q2", "output": "a2"}]
    rejects = lines(tmp_path / "o.json.rejects.jsonl")
    assert [(r["index"], r["errors"][0]["code"]) for r in rejects] == [(1, "invalid_json"), (2, "empty_conversation")]
    assert rejects[0]["record_text"] == "not json" and rejects[1]["record"] == {"conversations": []}


def test_cli_summary_exactly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.jsonl", [sg("hi", "hello"), sg("hi", "hello"), sg("q", "a"), "{"])
    result = runner.invoke(app, ["dedup", "a.jsonl"])
    assert result.exit_code == 1
    assert result.output == (
        "read a.jsonl as sharegpt\n"
        "records: 4  kept: 2  removed: 1 (exact 1)  rejected: 1\n"
        "wrote a.dedup.jsonl (sharegpt)\n"
        "removed rows in a.dedup.jsonl.dupes.jsonl\n"
        "rejected 1 to a.dedup.jsonl.rejects.jsonl: invalid_json (1)\n"
        "clusters: 1 kept rows have duplicates; largest:\n"
        "  a.jsonl:1  2 rows\n"
        "dataset_info: entry 'a.dedup' in dataset_info.json\n")
    again = runner.invoke(app, ["dedup", "a.jsonl"])
    assert again.exit_code == 2 and again.output == "Error: a.dedup.jsonl exists; pass --force to replace it, or choose another -o\n"


@pytest.mark.parametrize("args,message", [
    (["missing.jsonl"], "Error: missing.jsonl: no such file"),
    (["-"], "Error: dedup reads its inputs twice; it cannot read standard input (save it to a file)"),
    (["a.jsonl", "--near", "0.3"], "Error: --near must be between 0.5 and 1.0 (an estimated Jaccard similarity), not 0.3"),
    (["a.jsonl", "b.jsonl"], "Error: the inputs have different formats (a.jsonl: sharegpt, b.jsonl: openai); pass --to to "
                             "write them in one"),
    (["a.jsonl", "-o", "a.jsonl"], "Error: a.jsonl is the input a.jsonl (the same file); choose another -o"),
    (["a.jsonl", "--to", "moss"], "Error: unknown target 'moss'; choose one of "),
    (["a.jsonl", "bad.jsonl", "--to", "openai"], "Error: bad.jsonl: file is UTF-16 encoded; re-save it as UTF-8"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, monkeypatch, args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.jsonl", [sg("q", "a")])
    write(tmp_path / "b.jsonl", [oa("q", "a")])
    (tmp_path / "bad.jsonl").write_bytes("\ufeff{}".encode("utf-16"))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["dedup", *args])
    assert result.exit_code == 2 and result.output.startswith(message), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_every_golden_file_dedups_without_losing_a_row(tmp_path: Path) -> None:
    """Each golden file (every format, valid and invalid rows), deduplicated near and exact against itself: every
    row lands in exactly one output, and the kept rows validate."""
    from conftest import DATA

    from ftdata import validate_file

    for i, src in enumerate(sorted(DATA.glob("*/*/*.jsonl"))):
        out = tmp_path / f"{i}.jsonl"
        report = dedup_files([src], out, threshold=0.8, against=[src])
        found = len(lines(out)) + len(lines(tmp_path / f"{i}.jsonl.dupes.jsonl")) + len(lines(
            tmp_path / f"{i}.jsonl.rejects.jsonl"))
        assert report.records == found == report.kept + sum(report.removed.values()) + report.rejected, src
        assert report.kept == 0 or validate_file(out, media_dir=src.parent).invalid == 0, src


SYSTEM = "\n".join(f"- rule {i}: " + " ".join(text(100 + i, 12)) for i in range(20))  # a 1 kB system prompt


def sys_row(q: str, a: str) -> dict:
    return {"system": SYSTEM, **sg(q, a)}


def test_a_system_prompt_every_row_carries_does_not_decide_similarity(tmp_path: Path) -> None:
    """Short distinct conversations under one long system prompt: --compare all (the old behaviour) calls them near
    duplicates; the default leaves the shared lines out and keeps them, and still finds the real near copy."""
    base = text(1, 60)
    rows = [sys_row(" ".join(text(10 + i, 8)), " ".join(text(30 + i, 10))) for i in range(30)]
    rows += [sys_row(" ".join(base[:20]), " ".join(base[20:])), sys_row(" ".join(base[:20]), edited(base[20:], 1, 5))]
    src = write(tmp_path / "a.jsonl", rows)
    old = dedup_files([src], tmp_path / "all.jsonl", threshold=0.8, compare="all")
    assert old.removed["near"] >= 25
    new = dedup_files([src], tmp_path / "new.jsonl", threshold=0.8)
    (dupe,) = lines(tmp_path / "new.jsonl.dupes.jsonl")
    assert (dupe["index"], dupe["duplicate_of"]["index"]) == (31, 30) and dupe["similarity"] < 0.99
    assert new.kept == 31 and new.shared_lines == 20 and new.compare == "conversation"


def test_compare_prompt_and_answer(tmp_path: Path) -> None:
    q, a = " ".join(text(1, 40)), " ".join(text(2, 40))
    rows = [sg(q, a), sg(q, " ".join(text(3, 40))), sg(" ".join(text(4, 40)), a), sg(edited(q.split(), 1, 9), "x y z")]
    src = write(tmp_path / "a.jsonl", rows)
    assert dedup_files([src], tmp_path / "c.jsonl", threshold=0.8).kept == 4
    by_prompt = dedup_files([src], tmp_path / "p.jsonl", threshold=0.8, compare="prompt")
    assert [(d["index"], d["kind"], d["duplicate_of"]["index"]) for d in lines(tmp_path / "p.jsonl.dupes.jsonl")] == [
        (1, "exact", 0), (3, "near", 0)]
    assert by_prompt.kept == 2
    dedup_files([src], tmp_path / "ans.jsonl", threshold=0.8, compare="answer")
    assert [(d["index"], d["duplicate_of"]["index"]) for d in lines(tmp_path / "ans.jsonl.dupes.jsonl")] == [(2, 0)]
    result = runner.invoke(app, ["dedup", str(src), "--compare", "question", "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "unknown --compare 'question' (did you mean 'conversation'?); choose one of conversation, prompt" in result.output


def test_rows_without_words_are_never_near_duplicates(tmp_path: Path) -> None:
    rows = [sg("🙂🙂", "🎉"), sg("😀", "🚀🚀"), sg("?!", "..."), sg("---", "!!!"), sg("😀", "🚀🚀")]
    src = write(tmp_path / "a.jsonl", rows)
    report = dedup_files([src], tmp_path / "o.jsonl", threshold=0.5)
    assert dict(report.removed) == {"exact": 1} and report.kept == 4


def test_an_exact_copy_of_a_near_removed_row_names_the_kept_row(tmp_path: Path) -> None:
    base = text(1)
    b = sg("q", edited(base, 3, 2))
    src = write(tmp_path / "a.jsonl", [sg("q", " ".join(base)), b, sg("other", " ".join(text(5))), b])
    report = dedup_files([src], tmp_path / "o.jsonl", threshold=0.8)
    dupes = lines(tmp_path / "o.jsonl.dupes.jsonl")
    assert [(d["index"], d["kind"], d["duplicate_of"]["index"]) for d in dupes] == [(1, "near", 0), (3, "near", 0)]
    assert dupes[0]["similarity"] == dupes[1]["similarity"] < 1.0
    assert (report.clusters, report.largest[0]["rows"]) == (1, 3)


@pytest.mark.parametrize("change", ["append", "drop", "invalidate", "edit", "replace"])
def test_input_changed_between_the_passes_exits_2_and_writes_nothing(tmp_path: Path, monkeypatch, change: str) -> None:
    import ftdata.ops.dedup_index as index

    monkeypatch.chdir(tmp_path)
    src = write(tmp_path / "a.jsonl", [sg(f"q{i}", "a") for i in range(5)])
    decide = index.decide

    def racing(*args):  # another program writes to the file while dedup decides
        rows = src.read_text().splitlines()
        rows = {"append": rows + [json.dumps(sg("new", "row"))], "drop": rows[1:],
                "invalidate": rows[:2] + ["{"] + rows[3:], "edit": rows[:2] + [json.dumps(sg("q9", "a"))] + rows[3:],
                "replace": list(reversed(rows))}[change]
        if change == "replace":  # a new file of the same size under the name, its time set back
            stat = src.stat()
            (tmp_path / "new").write_text("\n".join(rows) + "\n")
            os.utime(tmp_path / "new", ns=(stat.st_atime_ns, stat.st_mtime_ns))
            (tmp_path / "new").replace(src)
        else:
            src.write_text("\n".join(rows) + "\n")
        return decide(*args)

    monkeypatch.setattr(index, "decide", racing)
    result = runner.invoke(app, ["dedup", "a.jsonl", "--near", "0.8"])
    assert result.exit_code == 2, result.output
    assert result.output == ("Error: a.jsonl: changed while dedup was reading it (written to or replaced between the "
                             "two passes); nothing was written; run again when nothing writes to it\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"]


def test_huge_rows_are_signed_in_bounded_memory(monkeypatch) -> None:
    """Two 3 M-character rows: the per-character arrays are built a piece at a time (about 100 bytes a character
    for a whole text before), and the pieced signature estimates the same similarity."""
    import tracemalloc

    import numpy as np

    from ftdata.ops import minhash

    rng = random.Random(3)
    big = " ".join(rng.choices(WORDS, k=600_000))
    other = big[:len(big) // 2] + " " + " ".join(rng.choices(WORDS, k=300_000))
    minhash.sign(["warm up"])
    tracemalloc.start()
    sigs, words = minhash.sign([big, other, "a b c"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * (len(big) + len(other)), peak
    assert words.tolist() == [True, True, True]
    est = float(minhash.similarity(sigs[0], sigs[1:2])[0])
    assert 0.2 < est < 0.45  # about a third of the 3-grams are shared
    monkeypatch.setattr(minhash, "PIECE", 1 << 30)
    whole, _ = minhash.sign([big, other])
    assert np.mean(whole[0] == sigs[0]) > 0.95


def test_a_long_text_is_normalised_a_piece_at_a_time(monkeypatch) -> None:
    """The exact key's whitespace normalisation of a long text equals split/join, without a string per word."""
    import tracemalloc

    from ftdata.core import similarity

    monkeypatch.setattr(similarity, "PIECE", 7)
    rng = random.Random(2)
    for _ in range(3000):
        t = "".join(rng.choice(["a", "bc", " ", "\n", "  ", "\u3000", "xyz"]) for _ in range(rng.randint(0, 30)))
        assert similarity.normalise(t) == " ".join(t.split()), repr(t)
    monkeypatch.setattr(similarity, "PIECE", 1 << 20)
    big = " ".join(random.Random(3).choices(WORDS, k=1_000_000))  # 5 MB, a million words
    tracemalloc.start()
    similarity.normalise(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * len(big), peak  # split() alone holds ~60 MB of word strings here
