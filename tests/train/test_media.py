"""Rows with media and a text-only model: the run stops, saying so, unless --drop-media (then counted)."""

from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from fttrain.cli import app

pytest.importorskip("transformers")

runner = CliRunner()
MLLM = FIXTURES / "llamafactory" / "mllm_demo.json"  # LLaMA-Factory's image demo: 6 rows, 8 images


def test_image_rows_stop_a_text_model_run() -> None:
    for command in (["sft", str(MLLM), "--dry-run", "--no-cache"], ["inspect", str(MLLM)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert ("6 row(s) of mllm_demo hold media (8 images; first: mllm_demo line 2) and fttrain trains text-only "
                "models") in " ".join(result.output.split())
        assert "--drop-media" in result.output


def test_drop_media_trains_the_text_and_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sft", str(MLLM), "--dry-run", "--drop-media", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "note: --drop-media: mllm_demo: 6 rows trained as text only (8 images removed, with their placeholders)" \
        in " ".join(result.output.split())


def test_dropped_media_leave_no_placeholder() -> None:
    from ftdata.api import open_datasets
    from fttrain.data import without_media

    record = next(iter(open_datasets(MLLM)[0].checked)).record
    assert record is not None and record.images
    bare = without_media(record)
    assert bare.images is None and all("<image>" not in m.content for m in bare.messages or [])
    assert record.images  # the input record is not changed
