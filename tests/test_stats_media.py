"""`ftdata stats` on multimodal rows: media per record, image pixel sizes (from the checks' decoding), and the
image tokens a processor adds (from its preprocessor_config.json, no weights), counted in the tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from images import image_bytes
from typer.testing import CliRunner

pytest.importorskip("PIL")

from ftdata import api  # noqa: E402
from ftdata.cli import app  # noqa: E402
from ftdata.io.processor import ImageTokens, image_tokens, smart_resize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MLLM = ROOT / "fixtures" / "data" / "llamafactory" / "mllm_demo.json"
QWEN2_VL = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
            "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
            "image_processor_type": "Qwen2VLImageProcessor"}
runner = CliRunner()


def processor(tmp_path: Path, config: dict[str, object]) -> Path:
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    return tmp_path


def test_stats_count_media_pixels_and_image_tokens(tmp_path: Path) -> None:
    plain = api.stats([MLLM]).summary()
    assert plain["media_per_record"]["max"] == 2 and plain["image_pixels"]["max"] == 300 * 199
    assert plain["image_tokens"] is None
    folder = ROOT / "fixtures" / "processors" / "qwen2-vl"
    tok = api.load_tokenizer("tiny")
    text = api.stats([MLLM], tokenizer=tok)
    vision = api.stats([MLLM], tokenizer=tok, processor=folder)
    assert vision.image_tokens == 550  # 8 images of about 300x180: 66-72 tokens each
    assert sum(vision.tokens) == sum(text.tokens) + 550
    result = runner.invoke(app, ["stats", str(MLLM), "--tokenizer", "tiny", "--max-length", "200",
                                 "--processor", str(folder)])
    assert result.exit_code == 0 and "image tokens: 550 (in the tokens)" in result.output, result.output
    assert "over max length 200: 4" in result.output  # the text alone: none over 200
    assert "over_max_length" not in api.stats([MLLM], tokenizer=tok, max_length=200).summary() or \
        api.stats([MLLM], tokenizer=tok, max_length=200).summary()["over_max_length"] == 0


@pytest.mark.parametrize("size", [(300, 168), (1024, 768), (20, 20), (5000, 4000), (33, 999)])
def test_image_tokens_agree_with_the_qwen2_vl_processor(size: tuple[int, int]) -> None:
    pytest.importorskip("torchvision")  # transformers 5 image processors need it
    transformers = pytest.importorskip("transformers")
    from PIL import Image

    proc = transformers.Qwen2VLImageProcessor(**{k: v for k, v in QWEN2_VL.items() if k != "image_processor_type"})
    grid = proc(images=[Image.new("RGB", size)], return_tensors="np")["image_grid_thw"][0]
    assert ImageTokens()(*size) == int(grid.prod()) // 4
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import (
        smart_resize as theirs,
    )

    assert smart_resize(size[1], size[0], 28, 3136, 12845056) == theirs(size[1], size[0], 28, 3136, 12845056)


@pytest.mark.parametrize("height, width, resized", [
    (168, 300, (168, 308)), (10, 1000, (28, 560)), (10, 10, (56, 56)), (4000, 5000, (3192, 4004)),
    (999, 33, (1008, 28))])
def test_smart_resize_follows_transformers(height: int, width: int, resized: tuple[int, int]) -> None:
    """Values worked by hand from transformers 5's `qwen2_vl.image_processing_qwen2_vl.smart_resize` (which needs
    torchvision to import)."""
    assert smart_resize(height, width, 28, 3136, 12845056) == resized


def test_fixed_counts_and_unusable_folders(tmp_path: Path) -> None:
    assert image_tokens(processor(tmp_path / "a", {"image_seq_length": 256}) if (tmp_path / "a").mkdir() is None
                        else tmp_path)(10, 10) == 256
    (tmp_path / "b").mkdir()
    assert image_tokens(processor(tmp_path / "b", {"patch_size": 14, "crop_size": {"height": 336, "width": 336}}))(
        5, 5) == 576
    (tmp_path / "c").mkdir()
    result = runner.invoke(app, ["stats", str(MLLM), "--processor", str(tmp_path / "c")])
    assert result.exit_code == 2 and "no preprocessor_config.json there" in result.output


def test_image_sizes_come_from_local_files_and_data_urls(tmp_path: Path) -> None:
    import base64

    (tmp_path / "a.png").write_bytes(image_bytes("PNG", (30, 20)))
    url = "data:image/png;base64," + base64.b64encode(image_bytes("PNG", (4, 5))).decode()
    row = {"conversations": [{"from": "human", "value": "<image><image><image>q"}, {"from": "gpt", "value": "a"}],
           "images": ["a.png", url, "https://example.com/x.png"]}
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(row) + "\n")
    s = api.stats([f])
    assert sorted(s.pixels) == [20, 600] and s.media_items == [3]
