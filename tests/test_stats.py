"""`ftdata stats`: counts, spreads, duplicates, token lengths with the bundled tokenizer, JSON and plot output."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftdata.api import stats
from ftdata.cli import app
from ftdata.core.stats import spread

runner = CliRunner()


def test_counts_duplicates_and_shares(tmp_path: Path) -> None:
    rows = [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}] * 2 + [
        {"system": "s", "conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "answer"},
                                          {"from": "human", "value": "q2"}, {"from": "gpt", "value": "more"}]},
        {"conversations": [{"from": "human", "value": "q"}]},
    ]
    f = tmp_path / "a.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = stats([f]).summary()
    assert (s["records"], s["valid"], s["invalid"], s["exact_duplicates"]) == (4, 3, 1, 1)
    assert s["turns"] == {"min": 1, "p50": 1, "p95": 2, "max": 2, "mean": 1.3}
    assert s["messages_per_role"] == {"user": 4, "assistant": 4, "system": 1}
    assert s["short_answers"] == 2 and s["share_with_system"] == round(1 / 3, 4)


def test_spread() -> None:
    assert spread(list(range(1, 101))) == {"min": 1, "p50": 51, "p95": 95, "max": 100, "mean": 50.5}
    assert spread([]) is None


def test_cli_tokens_json_and_plot(tmp_path: Path) -> None:
    from conftest import FIXTURES

    png = tmp_path / "h.png"
    result = runner.invoke(app, ["stats", str(FIXTURES / "moss" / "moss_sample.jsonl"), "--tokenizer", "tiny",
                                 "--max-length", "1024", "--json", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    s = json.loads(result.output)
    assert s["records"] == 20 and s["tokens"]["max"] > 1024 and 0 < s["over_max_length"] < 20
    assert png.stat().st_size > 1000
    result = runner.invoke(app, ["stats", str(FIXTURES / "moss" / "moss_sample.jsonl"), "--tokenizer", "/nope"])
    assert result.exit_code == 2 and "not a local tokenizer folder" in result.output


def test_duplicates_are_what_dedup_removes(tmp_path: Path) -> None:
    """The same conversation with other ids and whitespace: stats counts the copies dedup removes as exact."""
    from ftdata.ops.dedup import dedup_files

    base = [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]
    rows = [{"id": "a", "conversations": base}, {"id": "b", "conversations": base},
            {"conversations": [{"from": "human", "value": " q "}, {"from": "gpt", "value": "a"}]},
            {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "other"}]}]
    f = tmp_path / "a.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    removed = dedup_files([f], tmp_path / "out.jsonl").removed
    assert stats([f]).summary()["exact_duplicates"] == sum(removed.values()) == 2


def test_plots_use_log_axes_where_counts_are_skewed_and_name_the_data() -> None:
    pytest.importorskip("matplotlib")
    from ftdata.core.stats import Stats, figure, scales

    mixed = [40] * 500 + [120] * 30 + [30000, 52000]  # short chats beside a few long documents
    assert scales(mixed) == (True, True)
    assert scales(list(range(100, 150)) * 3) == (False, False)
    stats = Stats()
    stats.turns, stats.chars = [1] * 900 + [2] * 10 + [40], mixed
    fig = figure(stats, "moss.jsonl, firefly.jsonl")
    turns, chars = fig.axes
    assert turns.get_title() == "user turns per record\nmoss.jsonl, firefly.jsonl"
    assert (turns.get_xscale(), turns.get_yscale()) == ("linear", "log")
    assert (chars.get_xscale(), chars.get_yscale()) == ("log", "log")
