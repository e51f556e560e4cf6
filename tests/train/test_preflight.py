"""fttrain's pre-flight on the data, before any model loads: the same conversation in two selected entries stops the
run (counts per entry, the fixes; --allow-duplicates goes on; --dry-run prints it), and so does an entry whose
samples would mostly not be trained (cause and fix; --max-dropped 1 goes on)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fttrain.cli import app

runner = CliRunner()
WORDS = ["hi", "yes", "no", "ok", "blue", "red", "one", "two"]


class Loaded(BaseException):
    """Raised in place of loading the model: the run got past the pre-flight."""


@pytest.fixture
def stop_at_model(monkeypatch) -> None:
    import fttrain.run as run_module

    def loaded(*args, **kwargs):
        raise Loaded

    monkeypatch.setattr(run_module, "load_model", loaded)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """One source converted to two formats (and a third entry with rows of its own), all in one dataset_info.json."""
    (tmp_path / "a.json").write_text(json.dumps([{"instruction": f"Say {w}.", "output": f"{w}!"} for w in WORDS]))
    (tmp_path / "a.sharegpt.jsonl").write_text("".join(json.dumps({"conversations": [
        {"from": "human", "value": f"Say {w}."}, {"from": "gpt", "value": f"{w}!"}]}) + "\n" for w in WORDS[:6]))
    (tmp_path / "b.json").write_text(json.dumps([{"instruction": f"Spell {w}.", "output": " ".join(w)}
                                                 for w in WORDS + ["hi"]]))
    (tmp_path / "dataset_info.json").write_text(json.dumps({
        "a": {"file_name": "a.json"}, "a_sharegpt": {"file_name": "a.sharegpt.jsonl", "formatting": "sharegpt"},
        "b": {"file_name": "b.json"}}))
    return tmp_path / "dataset_info.json"


def test_the_same_rows_in_two_entries_stop_the_run_with_counts_and_fixes(folder: Path, stop_at_model) -> None:
    result = runner.invoke(app, ["sft", str(folder), "--max-steps", "1"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: exact duplicates across the selected datasets (the same conversation, as `ftdata dedup` counts "
        "them): a_sharegpt: 6 of 6 rows repeat rows of a (6); they would be trained more than once: choose the "
        f"entries with --dataset a,b, remove the copies with `ftdata dedup {folder.parent / 'a.json'} "
        f"{folder.parent / 'a.sharegpt.jsonl'} {folder.parent / 'b.json'}` (and train on its output), or pass "
        "--allow-duplicates\n")
    dry = runner.invoke(app, ["sft", str(folder), "--dry-run"])
    assert dry.exit_code == 0 and "note: a run would stop here: exact duplicates across the selected datasets" in dry.output, dry.output
    assert "note: rows repeated within a dataset (trained as often as they occur): b 1" in dry.output
    with pytest.raises(Loaded):
        runner.invoke(app, ["sft", str(folder), "--allow-duplicates"], catch_exceptions=False)
    with pytest.raises(Loaded):
        runner.invoke(app, ["sft", str(folder), "--dataset", "a,b"], catch_exceptions=False)


def test_an_entry_that_would_mostly_not_be_trained_stops_the_run(tmp_path: Path, stop_at_model) -> None:
    """Long prompts, short answers: at --max-length 48 with --overlong truncate the answers fall off the end."""
    rows = [{"instruction": " ".join(["word"] * 60) + f" {i}", "output": f"answer {i}"} for i in range(6)]
    rows += [{"instruction": f"short {i}", "output": "ok"} for i in range(2)]
    data = tmp_path / "long.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["sft", str(data), "--max-length", "48", "--overlong", "truncate"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: dataset long: 6 of 8 samples would not be trained (6 dropped for length, 0 with nothing supervised), "
        "more than --max-dropped 0.5 of them: the answers do not fit in --max-length 48 with --overlong truncate: "
        "pass a larger --max-length or --overlong split (keeps the end of the prompt and part of each answer); or "
        "pass --max-dropped 1 to train on the 2 left\n")
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "note: a run would stop here: dataset long: 6 of 8 samples would not be trained" in dry.output
    with pytest.raises(Loaded):
        runner.invoke(app, [*args, "--max-dropped", "1"], catch_exceptions=False)
    with pytest.raises(Loaded):  # the fix the message names works
        runner.invoke(app, ["sft", str(data), "--max-length", "48"], catch_exceptions=False)


def test_nothing_supervised_names_train_on(tmp_path: Path, stop_at_model) -> None:
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a", "weight": 0}]}
            for i in range(3)]
    data = tmp_path / "w.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows + [{"messages": [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]))
    result = runner.invoke(app, ["sft", str(data)])
    assert result.exit_code == 2 and "3 with nothing supervised" in result.output, result.output
    assert "no token is trained in those samples with --train-on assistant" in result.output
