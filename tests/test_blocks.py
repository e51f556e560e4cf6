"""Content blocks in every convention (OpenAI's, transformers') are read into text + media lists in order, and
written back exactly by the openai writer; the canonical reader takes them too."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import DATA

from ftdata.formats import FORMATS
from ftdata.formats.write import Writing
from ftdata.ops.convert import convert_files

BLOCKS = DATA / "convert" / "content_blocks.jsonl"


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_transformers_blocks_become_placeholders_and_media_in_order() -> None:
    raw = {"messages": [{"role": "user", "content": [
        {"type": "video", "path": "clip.mp4"}, {"type": "text", "text": "and"}, {"type": "image", "image": "a.jpg"},
        {"type": "image_url", "image_url": {"url": "b.jpg"}}, {"type": "audio", "url": "s.wav"}]},
        {"role": "assistant", "content": "ok"}], "images": ["first.jpg"]}
    for fmt in ("openai", "canonical"):
        record = FORMATS[fmt].to_canonical(raw).record
        assert record is not None, fmt
        assert record.messages[0].content == "<video>and<image><image><audio>"
        assert (record.images, record.videos, record.audios) == (["first.jpg", "a.jpg", "b.jpg"], ["clip.mp4"], ["s.wav"])


def test_input_audio_and_base64_blocks_are_data_urls() -> None:
    raw = {"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}},
        {"type": "image", "base64": "iVBORw0KGgo="}]}, {"role": "assistant", "content": "ok"}]}
    record = FORMATS["openai"].to_canonical(raw).record
    assert record is not None
    assert record.audios == ["data:audio/mp3;base64,UklGRg=="] and record.images == ["data:image/*;base64,iVBORw0KGgo="]


def test_openai_round_trips_every_block_convention_exactly(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    report = convert_files([BLOCKS], "openai", out, dataset_info=False)
    assert report.rejected == 0
    assert rows(out) == rows(BLOCKS)


def test_a_changed_text_is_written_as_text_and_lists() -> None:
    converted = FORMATS["openai"].to_canonical(rows(BLOCKS)[0])
    record = converted.record
    assert record is not None
    edited = record.model_copy(update={"messages": [record.messages[0].model_copy(update={"content": "<image>Which?"}),
                                                    record.messages[1]]})
    written = FORMATS["openai"].from_canonical(Writing(edited, converted.origins))
    assert written["messages"][0]["content"] == "<image>Which?" and written["images"] == ["https://example.com/cat.jpg"]


def test_targets_without_video_or_audio_reject_them_with_the_reason(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    report = convert_files([BLOCKS], "trl", out, dataset_info=False)
    rejects = [json.loads(line) for line in Path(report.rejects).read_text().splitlines()]
    assert [(e["code"], e["message"]) for r in rejects for e in r["errors"]] == [
        ("unrepresentable", "trl datasets carry images only")] * 3


def test_trl_image_blocks_mark_the_place_of_the_images_column(tmp_path: Path) -> None:
    """trl's vision rows (llava-instruct-mix): {"type": "image"} marks where the next `images` item goes; the trl
    writer writes that convention (its processors' templates put the image tokens at the block)."""
    row = {"messages": [{"role": "user", "content": [{"type": "image", "index": 0, "text": None},
                                                     {"type": "text", "text": "Who?", "index": None}]},
                        {"role": "assistant", "content": [{"type": "text", "text": "Kane."}]}],
           "images": ["a.jpg"]}
    record = FORMATS["openai"].to_canonical(row).record
    assert record is not None and record.messages[0].content == "<image>Who?" and record.images == ["a.jpg"]
    written = FORMATS["trl"].from_canonical(Writing(record))
    assert written == {"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Who?"}]},
                                    {"role": "assistant", "content": [{"type": "text", "text": "Kane."}]}],
                       "images": ["a.jpg"]}
