"""A vision-language model (the bundled tiny LLaVA): SFT on LLaMA-Factory's image demo through trl's vision path,
masks exact on the assistant turns, image tokens counted and never trained, images never cut, inspect's image
spans, DPO with the prompt's images, KTO refused with the reason."""

import json
import os
import time
from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from fttrain.cli import app

pytest.importorskip("transformers")

runner = CliRunner()
MLLM = FIXTURES / "llamafactory" / "mllm_demo.json"  # 6 rows, 8 images (300x166 .. 300x199)
IMAGE_TOKENS = 16  # the tiny LLaVA's CLIP tower: 56x56 pixels in 14x14 patches


@pytest.fixture(scope="module")
def vlm() -> Path:
    from fttrain.model import bundled_vlm

    return bundled_vlm()


def prepared(vlm: Path, source: Path = MLLM, **options):
    from fttrain.run import prepare
    from fttrain.spec import RunSpec

    return prepare("sft", source, RunSpec(model=str(vlm), cache=False, **options))


def expected(tokenizer, turns: list[tuple[str, str]], trained_roles: set[str]) -> tuple[list[int], list[int]]:
    """ChatML built by hand, segment by segment: '<image>' is 16 image tokens, never trained; a trained turn's
    content and its '<|im_end|>\\n' are trained, headers never."""
    image = tokenizer.convert_tokens_to_ids("<image>")
    ids: list[int] = []
    labels: list[int] = []

    def add(text: str, trained: bool) -> None:
        for k, piece in enumerate(text.split("<image>")):
            if k:
                ids.extend([image] * IMAGE_TOKENS)
                labels.extend([-100] * IMAGE_TOKENS)
            toks = tokenizer(piece, add_special_tokens=False)["input_ids"] if piece else []
            ids.extend(toks)
            labels.extend(toks if trained else [-100] * len(toks))

    for role, content in turns:
        add(f"<|im_start|>{role}\n", False)
        add(content, role in trained_roles)
        add("<|im_end|>\n", role in trained_roles)
    return ids, labels


def test_masks_are_exact_on_the_assistant_turns(vlm: Path) -> None:
    p = prepared(vlm)
    rows = json.loads(MLLM.read_text())
    assert len(p.train_rows) == 6
    for row, source in zip(p.train_rows, rows):
        turns = [(m["role"], m["content"]) for m in source["messages"]]
        ids, labels = expected(p.tokenizer, turns, {"assistant"})
        assert row["input_ids"] == ids
        assert row["labels"] == labels  # token by token
        assert row["images"] == source["images"]


def test_image_tokens_are_never_trained_even_with_train_on_all(vlm: Path) -> None:
    p = prepared(vlm, train_on="all")
    image = p.tokenizer.convert_tokens_to_ids("<image>")
    row = p.train_rows[0]
    assert row["input_ids"].count(image) == 2 * IMAGE_TOKENS
    assert all((label == -100) == (token == image) for token, label in zip(row["input_ids"], row["labels"]))


def test_an_image_in_an_assistant_turn_is_not_trained(vlm: Path, tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes((FIXTURES / "llamafactory" / "mllm_demo_data" / "1.jpg").read_bytes())
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "Draw a cat."},
                                             {"role": "assistant", "content": "Here:<image>A cat."}],
                                "images": ["a.jpg"]}) + "\n")
    p = prepared(vlm, data)
    row = p.train_rows[0]
    ids, labels = expected(p.tokenizer, [("user", "Draw a cat."), ("assistant", "Here:<image>A cat.")], {"assistant"})
    assert (row["input_ids"], row["labels"]) == (ids, labels)
    assert labels.count(-100) > IMAGE_TOKENS  # the image's tokens are among the masked ones


def test_image_tokens_are_counted_in_the_lengths(vlm: Path) -> None:
    p = prepared(vlm)
    assert p.counts.images == 8 and p.counts.media_rows == 6 and p.counts.image_tokens == 8 * IMAGE_TOKENS
    assert p.counts.lengths == [len(r["input_ids"]) for r in p.train_rows]
    result = runner.invoke(app, ["sft", str(MLLM), "--model", str(vlm), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "longest: 210 tokens" in out
    assert ("note: vision: 8 images in 6 rows (sizes read; 128 image tokens by LlavaProcessor, counted in the "
            "lengths, never trained)") in out
    assert "cache: not used with a vision-language model" in out


def test_max_length_never_cuts_an_image(vlm: Path) -> None:
    p = prepared(vlm, max_length=60, overlong="truncate")
    image = p.tokenizer.convert_tokens_to_ids("<image>")
    # two rows hold a second image after their first answer: cut at 60 they would lose part of it, so are dropped
    two = sum(len(r["images"]) > 1 for r in json.loads(MLLM.read_text()))
    assert p.counts.image_cut == p.counts.dropped_over_length == two == 2
    assert p.counts.truncated == 4
    for row in p.train_rows:
        assert row["input_ids"].count(image) == IMAGE_TOKENS * len(row["images"])
        assert len(row["input_ids"]) <= 60
    result = runner.invoke(app, ["sft", str(MLLM), "--model", str(vlm), "--dry-run", "--max-length", "60",
                                 "--overlong", "truncate", "--max-dropped", "1"])
    assert result.exit_code == 0, result.output
    assert ("vision: 2 samples dropped for length: fitting them to --max-length would cut an image's tokens"
            in " ".join(result.output.split()))


def test_the_collator_loads_the_images_and_pads(vlm: Path) -> None:
    from fttrain.vision import VisionError
    from fttrain.visionrows import VisionCollator

    p = prepared(vlm)
    collate = VisionCollator(p.vision, p.tokenizer.pad_token_id)
    rows = [dict(p.train_rows[0]), dict(p.train_rows[1])]
    batch = collate(rows)
    width = max(len(r["input_ids"]) for r in rows)
    assert tuple(batch["pixel_values"].shape) == (3, 3, 56, 56)  # 2 + 1 images, RGB, 56x56
    assert tuple(batch["input_ids"].shape) == tuple(batch["labels"].shape) == (2, width)
    assert batch["labels"][1, len(rows[1]["input_ids"]):].eq(-100).all()
    assert batch["attention_mask"].sum().item() == sum(len(r["input_ids"]) for r in rows)
    at = rows[1]["input_ids"].index(p.tokenizer.convert_tokens_to_ids("<image>"))
    cut = {k: rows[1][k][:at] + rows[1][k][at + 1:] for k in ("input_ids", "labels")}
    broken = dict(rows[1], **cut)  # one image token less
    with pytest.raises(VisionError, match="a row holds 15 image tokens where its 1 image"):
        collate([broken])


def test_trains_on_the_image_demo(vlm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    start = time.monotonic()
    result = runner.invoke(app, ["sft", str(MLLM), "--model", str(vlm), "--max-steps", "3", "--output-dir",
                                 str(tmp_path / "out"), "--per-device-train-batch-size", "2", "--no-cache"])
    seconds = time.monotonic() - start
    assert result.exit_code == 0, result.output
    assert "done: 3 steps" in result.output
    assert "image tokens by LlavaProcessor" in result.output
    saved = tmp_path / "out"
    assert (saved / "adapter_model.safetensors").is_file() and (saved / "processor_config.json").is_file()
    assert seconds < 120, seconds


def test_inspect_shows_the_image_spans(vlm: Path) -> None:
    result = runner.invoke(app, ["inspect", str(MLLM), "--model", str(vlm), "--rows", "1"])
    assert result.exit_code == 0, result.output
    assert "[image 1: mllm_demo_data/1.jpg 300x168, 16 tokens]Who are they?" in result.output
    assert "What are they doing?[image 2: mllm_demo_data/1.jpg 300x168, 16 tokens]" in result.output
    assert "samples: 6  tokens: 867  supervised: 516" in result.output  # 867: as the trainer counts them


def preference_data(tmp_path: Path) -> Path:
    """The image demo's first turns as trl-style preference rows (an image in each prompt; 'I do not know.' rejected)."""
    (tmp_path / "mllm_demo_data").mkdir()
    for image in (FIXTURES / "llamafactory" / "mllm_demo_data").iterdir():
        (tmp_path / "mllm_demo_data" / image.name).write_bytes(image.read_bytes())
    rows = []
    for r in json.loads(MLLM.read_text()):
        first, answer = r["messages"][:2]
        rows.append({"prompt": [first], "chosen": [answer], "images": r["images"][:first["content"].count("<image>")],
                     "rejected": [{"role": "assistant", "content": "I do not know."}]})
    data = tmp_path / "pref.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def test_dpo_rows_expand_the_prompt_images(vlm: Path, tmp_path: Path) -> None:
    from fttrain.run import prepare
    from fttrain.spec import RunSpec

    p = prepare("dpo", preference_data(tmp_path), RunSpec(model=str(vlm), cache=False))
    tok = p.tokenizer
    first = json.loads(MLLM.read_text())[0]["messages"]
    row = p.train_rows[0]
    prompt, _ = expected(tok, [("user", first[0]["content"])], set())
    assert row["prompt_ids"] == prompt + tok("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    assert row["chosen_ids"] == tok(first[1]["content"] + "<|im_end|>\n", add_special_tokens=False)["input_ids"]
    assert row["rejected_ids"] == tok("I do not know.<|im_end|>\n", add_special_tokens=False)["input_ids"]
    assert p.counts.images == 6 and p.counts.image_tokens == 6 * IMAGE_TOKENS


def test_images_reach_the_model(vlm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SFT and DPO: every forward pass that holds image tokens gets their pixels (the tiny LLaVA would take the
    image tokens as plain text without them)."""
    from transformers.models.llava.modeling_llava import LlavaModel

    seen: list[tuple[int, int]] = []
    forward = LlavaModel.forward

    def spy(self, input_ids=None, pixel_values=None, **kwargs):
        images = int((input_ids == self.config.image_token_id).sum()) // IMAGE_TOKENS
        seen.append((images, 0 if pixel_values is None else int(pixel_values.shape[0])))
        return forward(self, input_ids=input_ids, pixel_values=pixel_values, **kwargs)

    monkeypatch.setattr(LlavaModel, "forward", spy)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for stage, data in (("sft", MLLM), ("dpo", preference_data(tmp_path))):
        seen.clear()
        result = runner.invoke(app, [stage, str(data), "--model", str(vlm), "--max-steps", "2", "--no-cache",
                                     "--output-dir", str(tmp_path / stage)])
        assert result.exit_code == 0, result.output
        assert "done: 2 steps" in result.output
        assert seen and all(images == pixels > 0 for images, pixels in seen), (stage, seen)


def test_kto_refuses_a_vision_language_model(vlm: Path) -> None:
    result = runner.invoke(app, ["kto", str(FIXTURES / "llamafactory" / "kto_en_demo.json"), "--model", str(vlm),
                                 "--dry-run"])
    assert result.exit_code == 2, result.output
    assert "fttrain kto with a vision-language model (tiny-llava) is not supported" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_packing_is_refused(vlm: Path) -> None:
    result = runner.invoke(app, ["sft", str(MLLM), "--model", str(vlm), "--dry-run", "--packing"])
    assert result.exit_code == 2, result.output
    assert "--packing is not supported with a vision-language model (tiny-llava)" in result.output


def test_video_rows_stop_a_vision_language_run(vlm: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copy(Path(__file__).resolve().parents[2] / "fixtures/upstream/llamafactory/mllm_demo_data/1.mp4",
                tmp_path / "a.mp4")  # a real (stand-in) video: ftdata probes it (PyAV) before fttrain looks
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "<video>What happens?"},
                                             {"role": "assistant", "content": "A goal."}],
                                "videos": ["a.mp4"]}) + "\n")
    result = runner.invoke(app, ["sft", str(data), "--model", str(vlm), "--dry-run", "--no-cache"])
    assert result.exit_code == 1, result.output
    assert "the vision-language model's processor is given images only" in " ".join(result.output.split())


def test_the_bundled_vlm_is_small_and_needs_no_torchvision(vlm: Path) -> None:
    import importlib.util

    assert sum(f.stat().st_size for f in vlm.iterdir()) < 2_000_000
    assert importlib.util.find_spec("torchvision") is None or os.environ.get("FTTRAIN_TORCHVISION_OK")


def test_drop_media_with_a_vision_language_model_drops_video_and_audio_only(vlm: Path, tmp_path: Path) -> None:
    """A probe found --drop-media with a VLM stripping every image too ('vision: 0 images in 0 rows')."""
    import shutil

    demo = Path(__file__).resolve().parents[2] / "fixtures/upstream/llamafactory/mllm_demo_data"
    for name in ("1.jpg", "2.jpg", "1.mp4"):
        shutil.copy(demo / name, tmp_path / name)

    def row(content: str, **media: list[str]) -> str:
        return json.dumps({"messages": [{"role": "user", "content": content},
                                        {"role": "assistant", "content": "A goal."}], **media}) + "\n"

    data = tmp_path / "data.jsonl"
    data.write_text(row("<image>Who?", images=["1.jpg"]) + row("<image>Where?", images=["2.jpg"])
                    + row("<image><video>And here?", images=["1.jpg"], videos=["1.mp4"]))
    stopped = runner.invoke(app, ["sft", str(data), "--model", str(vlm), "--dry-run", "--no-cache"])
    out = " ".join(stopped.output.split())
    assert stopped.exit_code == 1 and "Pass a vision-language model" not in out and "(images kept)" in out
    result = runner.invoke(app, ["sft", str(data), "--model", str(vlm), "--dry-run", "--no-cache", "--drop-media"])
    out = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "1 rows trained without their video and audio (images kept) (1 videos removed" in out
    assert "note: vision: 3 images in 3 rows" in out


def test_no_sample_left_names_the_images_and_no_option_already_in_effect(vlm: Path) -> None:
    """A probe found 'try ... --overlong split' with split in effect, and no word of the images behind the drops."""
    result = runner.invoke(app, ["sft", str(MLLM), "--model", str(vlm), "--dry-run", "--no-cache", "--max-length", "12"])
    out = " ".join(result.output.split())
    assert result.exit_code != 0 and "no samples left to train on" in out
    assert "because fitting them would cut an image's tokens" in out and "--overlong split" not in out


def test_a_vision_run_counts_the_reasoning_it_trains(vlm: Path, tmp_path: Path) -> None:
    """A review found the pre-flight's reasoning line missing from vision runs (blocks never counted)."""
    import shutil

    shutil.copy(Path(__file__).resolve().parents[2] / "fixtures/upstream/llamafactory/mllm_demo_data/1.jpg",
                tmp_path / "1.jpg")
    data = tmp_path / "r.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "<image>Who?"},
                                             {"role": "assistant", "content": "A player.",
                                              "reasoning_content": "The shirt says so."}], "images": ["1.jpg"]}) + "\n")
    result = runner.invoke(app, ["sft", str(data), "--model", str(vlm), "--dry-run", "--no-cache",
                                 "--reasoning", "content"])
    assert result.exit_code == 0, result.output
    assert "reasoning: 1 block(s)" in " ".join(result.output.split())


def test_generate_with_a_vision_language_model_is_said_not_skipped_in_silence(vlm: Path) -> None:
    result = runner.invoke(app, ["sft", str(MLLM), "--model", str(vlm), "--dry-run", "--no-cache", "--generate", "1"])
    assert result.exit_code == 0, result.output
    assert "--generate: no sample answers with a vision-language model" in " ".join(result.output.split())
