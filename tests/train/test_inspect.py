"""`fttrain inspect`: tokens with the trained ones highlighted (terminal and a self-contained HTML page), counts,
EOS, masking strategy; dataset shares per role and source; checked in a real headless browser where one is here."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from fttrain.cli import app

runner = CliRunner()
TEMPLATES = Path(__file__).parent / "templates"


def inspect(*args: str) -> str:
    result = runner.invoke(app, ["inspect", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_moss_row_shows_trained_turns_eos_strategy_and_shares() -> None:
    output = inspect(str(FIXTURES / "moss" / "moss_sample.jsonl"), "--rows", "1")
    assert output.startswith("moss_sample line 1: 1289 tokens, 497 supervised, masking incremental, EOS trained in "
                             "3 of 3 trained turns, reasoning: 2 of 2 block(s) rendered, 2 trained (163 tokens), 0 "
                             "dropped by the template\n[conversation] <|im_start|>system\nYou are an AI assistant")
    assert "经过计算，这个三角形的面积约为109.86平方单位。<|im_end|>↵\n" in output  # each character once
    assert ("samples: 20  tokens: 28452  supervised: 12972 (45.6%)\nrows with zero supervised tokens: 0\n"
            "supervised tokens by role: assistant 70.4%, assistant reasoning 29.6%\n"
            "supervised tokens by source: moss_sample 100.0%\nmasking: incremental 20\n"
            "reasoning: 41 block(s) in trained turns, rendered through 'reasoning_content'; 41 trained (3837 tokens)\n"
            "reasoning tokens: rendered 3837, trained 3837, dropped by the template 0 (0 block(s))\n"
            "template: the tokenizer's own chat template\n") in output  # 3837: as `ftdata stats` counts them


def test_zero_supervised_rows_roles_sources_and_a_replaced_template(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello", "weight": 0}]},
            {"messages": [{"role": "user", "content": "a?"}, {"role": "assistant", "content": "b"},
                          {"role": "user", "content": "c?"}, {"role": "assistant", "content": "d"}]}]
    (tmp_path / "one.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "two.jsonl").write_text(json.dumps(rows[1]) + "\n")
    entry = {"formatting": "sharegpt", "columns": {"messages": "messages"},
             "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps({"a": {"file_name": "two.jsonl", **entry},
                                                            "b": {"file_name": "two.jsonl", **entry}}))
    output = inspect(str(tmp_path / "one.jsonl"), "--rows", "0", "--chat-template", str(TEMPLATES / "qwen3.jinja"))
    assert "rows with zero supervised tokens: 1 (one line 1)" in output
    assert "supervised tokens by role: assistant 100.0%" in output
    assert "masking: full-render 1, incremental 1" in output  # Qwen3 rewrites the two-turn row's history
    assert "which DIFFERS from the tokenizer's own" in output
    output = inspect(str(tmp_path / "dataset_info.json"), "--rows", "0")
    assert "supervised tokens by source: a 50.0%, b 50.0%" in output
    output = inspect(str(tmp_path / "one.jsonl"), "--rows", "0", "--train-on", "all")
    assert "supervised tokens by role: all 7" in output and "masking: all 1, incremental 1" in output


def test_preference_rows_show_prompt_and_answers(info: Path) -> None:
    output = inspect(str(info), "--dataset", "dpo", "--rows", "1")
    assert "masking prompt/completion" in output and "[chosen] " in output and "[rejected] " in output
    assert "supervised tokens by role: " in output and "chosen" in output and "rejected" in output



def test_kto_data_is_read_and_validated_once(monkeypatch) -> None:
    """inspect finds the stage that takes the data (sft, dpo, then kto) from one reading of it."""
    import fttrain.data

    calls = []
    real = fttrain.data.open_datasets
    monkeypatch.setattr(fttrain.data, "open_datasets", lambda *a, **k: calls.append(a) or real(*a, **k))
    output = inspect(str(FIXTURES / "llamafactory" / "kto_en_demo.json"), "--rows", "1")
    assert "completion (" in output and len(calls) == 1

def test_html_is_self_contained_and_highlights_trained_tokens(tmp_path: Path) -> None:
    page = tmp_path / "view.html"
    inspect(str(FIXTURES / "moss" / "moss_sample.jsonl"), "--rows", "2", "--html", str(page))
    html = page.read_text()
    assert html.count("<span class='t") > 100 and "<span class='m'" in html
    assert "<script" not in html and "http" not in html.split("<body>")[0]  # nothing from outside
    assert "rows with zero supervised tokens: 0" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium here (apt-get install chromium)")
def test_html_opens_in_headless_chromium_with_highlighted_spans(tmp_path: Path) -> None:
    from PIL import Image

    page, shot = tmp_path / "view.html", tmp_path / "shot.png"
    inspect(str(FIXTURES / "moss" / "moss_sample.jsonl"), "--rows", "1", "--html", str(page))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0 and dom.stdout.count('class="t') > 100 and "fttrain inspect (sft)" in dom.stdout
    subprocess.run(["chromium", *flags, f"--screenshot={shot}", "--window-size=1000,3000", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = Image.open(shot).convert("RGB").getdata()
    highlighted = sum(1 for p in pixels if p == (0xb7, 0xf5, 0xc0))  # the trained tokens' background
    assert highlighted > 1000
