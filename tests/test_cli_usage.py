"""The CLIs read like the tools users know: usage lines (FILE..., N, PATH), 'did you mean' for every unknown option
and choice, exit codes as the README says, a convert that writes no row says so and leaves no file."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from conftest import FIXTURES, UPSTREAM
from typer.testing import CliRunner

from ftdata.cli import app as ftdata_app
from ftdata.core.suggest import closest, did_you_mean
from fttrain.cli import app as fttrain_app

runner = CliRunner()
INTERNALS = re.compile(r"\{\w+\.*\}|<list\[|<int range>|<str>|<path>|<int>|<float>|<bool>")
MOSS = str(FIXTURES / "moss" / "moss_sample.jsonl")


@pytest.mark.parametrize("app,command", [(ftdata_app, c) for c in ("validate", "convert", "fix", "dedup", "stats")]
                         + [(fttrain_app, c) for c in ("sft", "dpo", "inspect", "prepare")])
def test_usage_lines_read_as_words_not_internals(app, command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert not INTERNALS.findall(result.output), INTERNALS.findall(result.output)
    usage = result.output.splitlines()[0]
    assert usage.endswith(("FILE...", "SOURCE")), usage


def all_commands(typer_app, prefix=()) -> list[tuple[str, ...]]:
    """Every command path of a typer app, groups' commands included: [("validate",), ("schema", "export"), ...]."""
    out = [prefix + (c.name or c.callback.__name__,) for c in typer_app.registered_commands]
    for group in typer_app.registered_groups:
        out += all_commands(group.typer_instance, prefix + (group.name,))
    return out


@pytest.mark.parametrize("app,command", [(ftdata_app, c) for c in all_commands(ftdata_app)]
                         + [(fttrain_app, c) for c in all_commands(fttrain_app)])
def test_no_help_page_shows_internals(app, command: tuple[str, ...]) -> None:
    """Every command, not only the main ones: the parser's types never leak into the help."""
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and not INTERNALS.findall(result.output), INTERNALS.findall(result.output)


def test_numbers_paths_and_formats_have_names() -> None:
    text = runner.invoke(ftdata_app, ["convert", "--help"]).output
    assert "-t, --to FORMAT" in text and "-o, --output PATH" in text and "-w, --workers N" in text
    assert "--max-steps N" in runner.invoke(fttrain_app, ["sft", "--help"]).output


@pytest.mark.parametrize("app,args,meant", [
    (ftdata_app, ["validate", MOSS, "--max-err", "3"], "--max-errors"),
    (ftdata_app, ["convert", MOSS, "--too", "sharegpt"], "--to"),
    (ftdata_app, ["validate", MOSS, "--fromat", "moss"], "--format"),
    (fttrain_app, ["sft", "x.json", "--lr", "1e-3"], "--learning-rate"),
    (fttrain_app, ["sft", "x.json", "--max-step", "3"], "--max-steps"),
])
def test_an_unknown_option_gets_did_you_mean(app, args: list[str], meant: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "No such option" in result.output and f"'{meant}'" in result.output.split("did you mean")[1]


@pytest.mark.parametrize("app,args,meant", [
    (ftdata_app, ["convert", MOSS, "--to", "sharegtp"], "sharegpt"),
    (ftdata_app, ["convert", MOSS, "--to", "sharegpt", "--reasoning", "thnik"], "think"),
    (ftdata_app, ["dedup", MOSS, "--compare", "conversaton"], "conversation"),
    (ftdata_app, ["validate", MOSS, "--format", "shargpt"], "sharegpt"),
    (ftdata_app, ["stats", MOSS, "--format", "mos"], "moss"),
    (ftdata_app, ["convert", MOSS, "--to", "alpaca", "--from", "mos"], "moss"),
    (ftdata_app, ["fix", MOSS, "--to", "sharegtp"], "sharegpt"),
    (ftdata_app, ["dedup", MOSS, "--to", "sharegtp"], "sharegpt"),
    (ftdata_app, ["descriptor", "export", MOSS, "--to", "axolotol"], "axolotl"),
    (fttrain_app, ["sft", "x.json", "--overlong", "trunc"], "truncate"),
    (fttrain_app, ["sft", "x.json", "--method", "lroa"], "lora"),
    (fttrain_app, ["inspect", "x.json", "--train-on", "assistent"], "assistant"),
])
def test_a_mistyped_choice_gets_did_you_mean(app, args: list[str], meant: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"(did you mean '{meant}'" in result.output


def test_suggestions_are_only_the_close_ones() -> None:
    assert closest("sharegtp", ["sharegpt", "alpaca", "trl"]) == ["sharegpt"]
    assert closest("--lr", ["--help", "--learning-rate", "--lora-rank", "--lr-scheduler-type"]) == \
        ["--learning-rate", "--lora-rank", "--lr-scheduler-type"]
    assert did_you_mean("--lr", ["--help", "--max-errors"]) == ""  # never --help, never a far one
    assert did_you_mean("zzz", ["sharegpt"]) == ""


def test_a_missing_dataset_entry_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "identity.json").write_bytes((FIXTURES / "llamafactory" / "identity.json").read_bytes())
    (tmp_path / "dataset_info.json").write_text(json.dumps({"identity": {"file_name": "identity.json"}}))
    for args in (["sft", "--dry-run"], ["inspect"]):
        result = runner.invoke(fttrain_app, [args[0], str(tmp_path / "dataset_info.json"), "--dataset", "identty",
                                             *args[1:]])
        assert result.exit_code == 2, result.output
        assert "no entry identty in" in result.output and "(did you mean 'identity'?)" in result.output


def test_inspect_help_speaks_of_showing_not_training() -> None:
    text = " ".join(runner.invoke(fttrain_app, ["inspect", "--help"]).output.split())
    assert "Train on the valid rows" not in text and "Show the valid rows" in text


def test_inspect_without_the_train_extra_gives_the_install_hint(monkeypatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jinja2" else real(name, *a))
    result = runner.invoke(fttrain_app, ["inspect", str(tmp_path / "dataset_info.json")])
    assert result.exit_code == 2
    assert "inspect needs jinja2; install the training extra: pip install torch==2.13.0" in result.output


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_convert_that_writes_no_row_says_so_and_leaves_no_file(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"instruction": "hi", "output": ""}\n{"instruction": "", "output": ""}\n')
    out = tmp_path / f"out{suffix}"
    result = runner.invoke(ftdata_app, ["convert", str(src), "--to", "sharegpt", "-o", str(out)])
    assert result.exit_code == 1
    assert "written: 0  rejected: 2" in result.output and "wrote " not in result.output.replace("\n", " ")
    assert f"so {out} was not created" in " ".join(result.output.split())
    assert not out.exists() and not (tmp_path / "dataset_info.json").exists()
    assert len((tmp_path / f"out{suffix}.rejects.jsonl").read_text().splitlines()) == 2


def test_progress_is_a_plain_line_now_and_then_when_stderr_is_not_a_terminal(capsys) -> None:
    from ftdata import render

    tick = render.LazyProgress("validating big.jsonl", delay=0, every=0)
    with tick:
        tick(1000)
        tick(250000)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines] == ["validating big.jsonl: 1,000 records so far",
                                                       "validating big.jsonl: 250,000 records so far"]
    quiet = render.LazyProgress("x", delay=0, every=0, quiet=True)
    quiet(5)
    assert capsys.readouterr().err == ""


def test_fttrain_dry_run_and_inspect_show_progress_when_piped(tmp_path: Path, monkeypatch) -> None:
    from ftdata import render
    from fttrain import inspection, prepared

    eager = lambda label, *a, **k: render.LazyProgress(label, delay=0, every=0)  # noqa: E731
    monkeypatch.setattr(prepared, "tokenizing", eager)
    monkeypatch.setattr(inspection, "LazyProgress", eager)
    (tmp_path / "identity.json").write_bytes((FIXTURES / "llamafactory" / "identity.json").read_bytes())
    (tmp_path / "dataset_info.json").write_text(json.dumps({"identity": {"file_name": "identity.json"}}))
    info = str(tmp_path / "dataset_info.json")
    dry = runner.invoke(fttrain_app, ["sft", info, "--dry-run", "--cache-dir", str(tmp_path / "cache")])
    assert dry.exit_code == 0, dry.output
    assert "tokenizing identity (10 rows): 10 records so far" in dry.output
    seen = runner.invoke(fttrain_app, ["inspect", info, "--rows", "0"])
    assert seen.exit_code == 0, seen.output
    assert "inspecting dataset_info.json: 10 records so far" in seen.output


def _eager(monkeypatch) -> None:
    """Progress lines at once and at every call (as a run of minutes would print them every 10 s)."""
    from ftdata import render

    real = render.LazyProgress
    monkeypatch.setattr(render, "LazyProgress", lambda label, *a, **k: real(label, delay=0, every=0))


@pytest.mark.parametrize("command,said", [
    (["validate", "{src}"], "validating {src}: 4,096 records so far"),
    (["validate", "{src}", "--html", "{tmp}/r.html", "--tokenizer", "tiny"], "counting tokens for --html: 1,024"),
    (["convert", "{src}", "--to", "sharegpt", "-o", "{tmp}/out.jsonl", "--workers", "1"],
     "converting to sharegpt: 4,096 records so far"),
    (["stats", "{src}"], "counting: 1,024 records so far"),
    (["stats", "{src}", "--tokenizer", "tiny"], "counting tokens: 1,024 records so far"),
])
def test_long_steps_say_how_far_they_are_when_stderr_is_not_a_terminal(tmp_path: Path, monkeypatch, command,
                                                                       said: str) -> None:
    _eager(monkeypatch)
    src = tmp_path / "big.jsonl"
    row = json.dumps({"instruction": "q", "output": "a"}) + "\n"
    src.write_text(row * 4100)
    args = [a.format(src=src, tmp=tmp_path) for a in command]
    result = runner.invoke(ftdata_app, args)
    assert result.exit_code == 0, result.output
    assert said.format(src=src) in result.output


@pytest.mark.parametrize("blocked,command,hint", [
    (("transformers",), ["stats", MOSS, "--tokenizer", "tiny"], "pip install 'ftdata[train]'"),
    (("transformers",), ["validate", MOSS, "--html", "{tmp}/r.html", "--tokenizer", "tiny"],
     "pip install 'ftdata[train]'"),
    (("matplotlib", "matplotlib.pyplot"), ["stats", MOSS, "--plot", "{tmp}/p.png"], "pip install matplotlib"),
    (("pyarrow", "pyarrow.parquet"), ["validate", "{tmp}/x.parquet"], "pip install 'ftdata[arrow]'"),
    (("rensa",), ["dedup", MOSS, "--near", "0.8", "-o", "{tmp}/d.jsonl"], "pip install 'ftdata[dedup]'"),
    (("yaml",), ["descriptor", "export", str(UPSTREAM / "llamafactory" / "dataset_info.json"), "--to", "axolotl"],
     "pip install 'ftdata[yaml]'"),
])
def test_commands_that_need_an_extra_say_which(tmp_path: Path, monkeypatch, blocked, command, hint: str) -> None:
    """Without the package an option needs: exit 2 and the install line naming the extra, never a traceback."""
    import sys

    for name in blocked:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` raises ImportError
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    result = runner.invoke(ftdata_app, [a.format(tmp=tmp_path) for a in command])
    assert result.exit_code == 2, result.output
    assert hint in " ".join(result.output.split()) and "Traceback" not in result.output


@pytest.mark.parametrize("app,args", [
    (ftdata_app, ["validate", "{missing}"]),
    (ftdata_app, ["convert", "{missing}", "--to", "alpaca"]), (ftdata_app, ["fix", "{missing}"]),
    (ftdata_app, ["dedup", "{missing}"]), (ftdata_app, ["stats", "{missing}"]),
    (ftdata_app, ["descriptor", "export", "{missing}", "--to", "trl"]), (ftdata_app, ["descriptor", "import", "{missing}"]),
    (fttrain_app, ["sft", "{missing}", "--dry-run"]), (fttrain_app, ["dpo", "{missing}", "--dry-run"]),
    (fttrain_app, ["kto", "{missing}", "--dry-run"]), (fttrain_app, ["prepare", "{missing}"]),
    (fttrain_app, ["inspect", "{missing}"]),
])
def test_a_missing_input_exits_2_with_one_error_line(app, args: list[str], tmp_path: Path) -> None:
    """The README's exit codes, for every command that reads data: an input that is not there is exit 2 and one
    'Error:' line naming it, never 1 (invalid rows) or 3 (internal); nothing is written."""
    missing = tmp_path / "nope.json"
    result = runner.invoke(app, [a.format(missing=missing, tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(missing) in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_validate_html_reports_an_unreadable_input_too(tmp_path: Path) -> None:
    """Like the text report: the page is written and shows the file as unreadable; the exit code stays 2."""
    missing, page = tmp_path / "nope.json", tmp_path / "r.html"
    result = runner.invoke(ftdata_app, ["validate", str(missing), MOSS, "--html", str(page)])
    assert result.exit_code == 2, result.output
    assert f"unreadable: {missing}: no such file" in page.read_text() and 'id="total-unreadable files"' in page.read_text()
