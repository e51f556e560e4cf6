"""The daily chain, end to end, in one shared folder as a user runs it: every fixture and mixed case converted to
every target LLaMA-Factory reads -> `ftdata validate OUT` exits 0 -> `ftdata validate dataset_info.json` exits 0
-> `datasets.load_dataset` of every entry gives back exactly the rows written -> fttrain's dry run uses every row.
"""

import json
from pathlib import Path

import pytest
from conftest import DATA, FIXTURES, fixture_files
from typer.testing import CliRunner

from ftdata.cli import app
from ftdata.engine.batch import strip_nulls

datasets = pytest.importorskip("datasets")
runner = CliRunner()
SOURCES = fixture_files("*.json*") + sorted((DATA / "interop").glob("*.jsonl"))
TARGETS = ["sharegpt", "alpaca", "openai", "text"]


def read_rows(path: Path) -> list:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> tuple[Path, dict]:
    """Convert everything into one folder; returns it and {entry name: (output, report text)}."""
    import shutil

    folder = tmp_path_factory.mktemp("chain")
    shutil.copytree(FIXTURES / "llamafactory" / "mllm_demo_data", folder / "mllm_demo_data")  # media beside the data
    done = {}
    for src in SOURCES:
        for target in TARGETS:
            name = f"{src.parent.name}.{src.stem}.{target}"
            out = folder / (name + (".json" if target == "sharegpt" and src.suffix == ".json" else ".jsonl"))
            result = runner.invoke(app, ["convert", str(src), "--to", target, "-o", str(out), "--name", name,
                                         "--media-dir", str(src.parent)])
            assert result.exit_code in (0, 1), result.output  # 1: some rows cannot be held by the target
            if out.exists() and out.stat().st_size > 3:  # not every target holds every kind: some write no row
                done[name] = (out, result.output)
    return folder, done


def test_every_output_validates_and_the_descriptor_too(chain) -> None:
    folder, done = chain
    assert len(done) > 40
    for name, (out, _) in done.items():
        media = next(s.parent for s in SOURCES if f"{s.parent.name}.{s.stem}." in name)
        result = runner.invoke(app, ["validate", str(out), "--media-dir", str(media), "--json"])
        assert result.exit_code == 0, (name, result.output[-2000:])
        drift = {w["path"] for w in json.loads(result.stdout)["files"][0]["warnings"] if w["code"] == "type_drift"}
        # what we write is Arrow-stable; OpenAI's own layout keeps tool schemas as objects (and says so)
        assert drift == set() or (name.endswith(".openai") and all(p.startswith("tools") for p in drift)), (name, drift)
    # media paths stay as the inputs have them (convert says so); the media were copied beside the outputs
    assert "note: media paths are written as the input has them" in done["llamafactory.mllm_demo.sharegpt"][1]
    info = runner.invoke(app, ["validate", str(folder / "dataset_info.json"), "--json"])
    payload = json.loads(info.stdout)
    assert info.exit_code == 0 and payload["invalid"] == 0, [f["errors"][:2] for f in payload["files"] if f["errors"]]
    assert all(not f.get("error") for f in payload["files"])


def test_every_entry_loads_with_datasets_as_written(chain) -> None:
    folder, done = chain
    entries = json.loads((folder / "dataset_info.json").read_text())
    assert len(entries) > 30
    for name, entry in entries.items():
        path = folder / entry["file_name"]
        loaded = datasets.load_dataset("json", data_files=str(path), split="train",
                                       cache_dir=str(folder / ".hf-cache")).to_list()
        assert strip_nulls(loaded) == read_rows(path), name  # null (Arrow's absent) == absent


def test_every_entry_reads_back_the_records_of_its_file(chain) -> None:
    """Read through its dataset_info.json entry (columns and tags), a file gives the records it gives read directly:
    the same kinds (a KTO label not lost to an unmapped column), messages, answers and labels."""
    from ftdata import api

    folder, _ = chain

    def records(dataset) -> list:
        out = []
        for item in dataset.checked:
            assert item.valid, (dataset.name, item.problems)
            out.append({k: v for k, v in item.record.to_json().items() if k not in ("id", "meta")})
        return out

    entries = api.open_datasets(folder / "dataset_info.json", media_dir=FIXTURES / "llamafactory")
    assert len(entries) > 30
    for ds in entries:
        [direct] = api.open_datasets(folder / ds.entry.file_name, media_dir=FIXTURES / "llamafactory")
        assert records(ds) == records(direct), ds.name


def test_no_entry_for_rows_llamafactory_cannot_read_whole(chain) -> None:
    folder, done = chain
    entries = json.loads((folder / "dataset_info.json").read_text())
    for name, (out, summary) in done.items():
        rows = read_rows(out)
        has_calls = any("tool_calls" in m or "weight" in m for r in rows for m in r.get("messages", []))
        if name.endswith(".openai") and has_calls:
            assert name not in entries and "not written: LLaMA-Factory cannot read" in summary, name
        elif name.endswith(".openai") and rows and "input" not in rows[0]:
            assert name in entries, (name, summary)


def test_mixed_ids_are_written_as_strings_and_tool_arguments_survive_arrow(chain) -> None:
    folder, done = chain
    out, _ = done["interop.mixed_sharegpt.sharegpt"]
    rows = read_rows(out)
    assert [r.get("id") for r in rows] == ["sg_0", "17", "sg_2", None]
    calls = [json.loads(m["value"]) for r in rows for m in r["conversations"] if m["from"] == "function_call"]
    assert [c["arguments"] for c in calls] == [{"zone": "UTC"}, {"city": "Paris", "unit": "C"}]  # no nulls added
    loaded = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(folder / ".hf-cache"))
    assert [json.loads(m["value"])["arguments"] for r in loaded for m in r["conversations"]
            if m["from"] == "function_call"] == [{"zone": "UTC"}, {"city": "Paris", "unit": "C"}]


def test_a_name_taken_by_another_file_is_not_replaced_silently(tmp_path: Path) -> None:
    src = DATA / "interop" / "mixed_openai.jsonl"
    first = runner.invoke(app, ["convert", str(src), "--to", "sharegpt", "-o", str(tmp_path / "a.jsonl"), "--name", "x"])
    assert first.exit_code == 0
    second = runner.invoke(app, ["convert", str(src), "--to", "alpaca", "-o", str(tmp_path / "b.jsonl"), "--name", "x"])
    assert second.exit_code == 2 and "already has an entry 'x' for 'a.jsonl', not b.jsonl" in second.output
    assert not (tmp_path / "b.jsonl").exists()  # refused before any work
    third = runner.invoke(app, ["convert", str(src), "--to", "alpaca", "-o", str(tmp_path / "b.jsonl"), "--name", "x",
                                "--force"])
    assert third.exit_code == 0
    assert json.loads((tmp_path / "dataset_info.json").read_text())["x"]["file_name"] == "b.jsonl"


@pytest.mark.parametrize("umask,expected", [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_get_the_mode_a_normal_write_gets_and_an_existing_descriptor_keeps_its_own(tmp_path: Path, umask,
                                                                                           expected) -> None:
    import os
    import stat

    src = DATA / "interop" / "mixed_alpaca.jsonl"
    info = tmp_path / "dataset_info.json"
    info.write_text("{}")
    os.chmod(info, 0o640)
    old = os.umask(umask)
    try:
        result = runner.invoke(app, ["convert", str(src), "--to", "sharegpt", "-o", str(tmp_path / "o.jsonl")])
        bad = runner.invoke(app, ["convert", str(DATA / "convert" / "tool_calls.jsonl"), "--to", "alpaca", "-o",
                                  str(tmp_path / "r.jsonl")])
    finally:
        os.umask(old)
    assert result.exit_code == 0 and bad.exit_code == 1
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "o.jsonl") == expected and mode(tmp_path / "r.jsonl") == expected
    assert mode(tmp_path / "r.jsonl.rejects.jsonl") == expected
    assert mode(info) == 0o640 and "o" in json.loads(info.read_text())  # updated, its mode kept


def test_a_linked_descriptor_is_updated_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "dataset_info.json"
    real.parent.mkdir()
    real.write_text('{"keep": {"file_name": "k.jsonl"}}')
    (tmp_path / "dataset_info.json").symlink_to(real)
    result = runner.invoke(app, ["convert", str(DATA / "interop" / "mixed_openai.jsonl"), "--to", "sharegpt", "-o",
                                 str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0 and (tmp_path / "dataset_info.json").is_symlink()
    assert set(json.loads(real.read_text())) == {"keep", "o"}


@pytest.mark.parametrize("stage,kinds", [("sft", ("sft", "text")), ("dpo", ("preference",)), ("kto", ("kto",))])
def test_fttrain_dry_run_uses_every_row_of_every_entry(chain, stage: str, kinds: tuple) -> None:
    """`fttrain STAGE dataset_info.json --dry-run` picks the entries of its kind and trains on every one of their
    rows (nothing invalid, nothing dropped: the length budget is wide here; the image demo's rows with
    --drop-media, said)."""
    pytest.importorskip("transformers")
    import re

    from fttrain.cli import app as fttrain

    folder, done = chain
    entries = json.loads((folder / "dataset_info.json").read_text())
    args = [stage, str(folder / "dataset_info.json"), "--dry-run", "--max-length", "100000"]
    if stage == "sft":  # the image demo's entries: a text model stops on them, unless their text alone is trained
        stopped = runner.invoke(fttrain, args)
        assert stopped.exit_code == 1 and "hold media (8 images" in " ".join(stopped.output.split())
        args.append("--drop-media")
    result = runner.invoke(fttrain, args)
    assert result.exit_code == 0, result.output[-3000:]
    assert ("--drop-media: " in result.output) == (stage == "sft")
    used = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^dataset (\S+): (\d+) records, (\d+) used", result.output, re.M)}
    assert used and all(records == n for records, n in used.values()), used
    for name in used:
        rows = read_rows(folder / entries[name]["file_name"])
        assert used[name][0] == len(rows), name
    from ftdata.api import open_datasets

    of_kind = {ds.name for ds in open_datasets(folder / "dataset_info.json")
               if any(item.record is not None and item.record.kind in kinds for item in ds.checked)}
    assert set(used) == of_kind, (sorted(used), sorted(of_kind))  # every entry of its kind, and no other
    total = sum(n for _, n in used.values())
    assert f"kept: {total} " in result.output
