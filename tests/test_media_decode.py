"""Media contents: images a trainer's loader would fail on are located `media_undecodable` problems (files and data
URLs), budgets (`--max-pixels`, `--max-media-per-row`) have their own codes, good images pass, URLs are not fetched."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from images import image_bytes
from typer.testing import CliRunner

pytest.importorskip("PIL")

from ftdata.cli import app  # noqa: E402
from ftdata.io import decode  # noqa: E402
from ftdata.io.media import Media, check_refs  # noqa: E402
from ftdata.io.probe import has_av  # noqa: E402
from ftdata.ops.validate import validate_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def rows_file(folder: Path, refs: list[list[str]]) -> Path:
    """A sharegpt file whose row i names the images refs[i] (with as many placeholders)."""
    f = folder / "d.jsonl"
    f.write_text("".join(json.dumps({"conversations": [{"from": "human", "value": "<image>" * len(r) + "what?"},
                                                       {"from": "gpt", "value": "a cat"}], "images": r}) + "\n"
                         for r in refs))
    return f


def located(f: Path, **options: int) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.path, p.code) for p in validate_file(f, **options).problems]  # type: ignore[arg-type]


def bad_images(folder: Path) -> dict[str, bytes]:
    rng = random.Random(0)
    jpeg = image_bytes("JPEG", (64, 48))
    return {
        "text.png": b"this is not an image, just text\n",
        "noise.jpg": jpeg[:20] + bytes(rng.randrange(256) for _ in range(2000)),  # a JPEG header, then noise
        "cut.png": image_bytes("PNG", (64, 64))[:-30],  # truncated
        "cut.jpg": jpeg[: len(jpeg) // 2],
        "empty.png": b"",
    }


def test_files_a_loader_cannot_decode_are_located_and_named(tmp_path: Path) -> None:
    for name, data in bad_images(tmp_path).items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "ok.png").write_bytes(image_bytes("PNG"))
    (tmp_path / "ok.jpg").write_bytes(image_bytes("JPEG"))
    names = list(bad_images(tmp_path))
    f = rows_file(tmp_path, [["ok.png", "ok.jpg"]] + [["ok.png", n] for n in names])
    assert located(f) == [(i + 2, "images[1]", "media_undecodable") for i in range(len(names))]
    result = runner.invoke(app, ["validate", str(f)])
    assert result.exit_code == 1
    for name in names:
        assert f"media file '{name}' cannot be decoded as an image" in result.output


def test_data_urls_are_decoded_too(tmp_path: Path) -> None:
    png = image_bytes("PNG", (8, 8))
    good = "data:image/png;base64," + base64.b64encode(png).decode()
    truncated = "data:image/png;base64," + base64.b64encode(png[: len(png) // 2]).decode()
    not_base64 = "data:image/png;base64,@@@@"
    f = rows_file(tmp_path, [[good], [truncated], [not_base64], ["https://example.com/a.png"]])
    assert located(f) == [(2, "images[0]", "media_undecodable"), (3, "images[0]", "media_undecodable")]
    problems = validate_file(f).problems
    assert "data URL cannot be decoded" in problems[0].message
    assert "base64 payload is not valid" in problems[1].message
    result = runner.invoke(app, ["validate", str(f)])
    assert "1 media URLs not fetched (remote URLs never are)" in result.output


def test_openai_image_url_blocks_are_decoded(tmp_path: Path) -> None:
    png = image_bytes("PNG", (8, 8))
    cut = "data:image/png;base64," + base64.b64encode(png[:40]).decode()
    row = {"messages": [{"role": "user", "content": [{"type": "text", "text": "what?"},
                                                     {"type": "image_url", "image_url": {"url": cut}}]},
                        {"role": "assistant", "content": "a cat"}]}
    f = tmp_path / "o.jsonl"
    f.write_text(json.dumps(row) + "\n")
    assert [(p.path, p.code) for p in validate_file(f).problems] == [("messages[0].content[1]", "media_undecodable")]


def test_budgets_have_their_own_codes(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(image_bytes("PNG", (100, 50)))
    (tmp_path / "small.png").write_bytes(image_bytes("PNG", (10, 10)))
    f = rows_file(tmp_path, [["small.png"], ["big.png"], ["small.png"] * 3])
    assert located(f) == []
    assert located(f, max_pixels=1000) == [(2, "images[0]", "media_too_large")]
    assert located(f, max_media_per_row=2) == [(3, "images", "media_too_many")]
    result = runner.invoke(app, ["validate", str(f), "--max-pixels", "1000", "--max-media-per-row", "2"])
    assert result.exit_code == 1
    assert "'big.png' is 100x50 (5,000 pixels), over --max-pixels 1,000" in result.output
    assert "this row names 3 media files, over --max-media-per-row 2" in result.output


def test_each_file_is_decoded_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.png").write_bytes(image_bytes("PNG"))
    calls = []
    real = decode.probe_image
    monkeypatch.setattr(decode, "probe_image", lambda source: calls.append(source) or real(source))
    for _ in range(3):
        assert check_refs("images", ["a.png", "./a.png"], Media(tmp_path)) == []
    assert len(calls) == 1
    (tmp_path / "a.png").write_bytes(image_bytes("PNG", (5, 5)))  # changed: its stat key too
    assert check_refs("images", ["a.png"], Media(tmp_path, max_pixels=20)) != []
    assert len(calls) == 2


def test_the_llamafactory_mllm_demo_images_pass() -> None:
    folder = ROOT / "fixtures" / "data" / "llamafactory"
    images = sorted(p.name for p in (folder / "mllm_demo_data").iterdir() if p.suffix == ".jpg")
    assert images
    assert check_refs("images", [f"mllm_demo_data/{n}" for n in images], Media(folder)) == []
    assert all(decode.cached_probe(str(folder / "mllm_demo_data" / n)).format == "JPEG" for n in images)
    report = validate_file(folder / "mllm_demo.json")
    assert report.invalid == 0 and report.records > 0


def test_a_video_that_is_not_one_is_undecodable(tmp_path: Path) -> None:
    """Once counted as not checked; PyAV (the media extra) now opens it (tests/test_media_probe.py: the rest)."""
    pytest.importorskip("av")
    (tmp_path / "a.mp4").write_bytes(b"not a video")
    f = tmp_path / "v.jsonl"
    f.write_text(json.dumps({"conversations": [{"from": "human", "value": "<video>what?"},
                                               {"from": "gpt", "value": "a cat"}], "videos": ["a.mp4"]}) + "\n")
    report = validate_file(f)
    assert [(p.path, p.code) for p in report.problems] == [("videos[0]", "media_undecodable")] and not report.media


def test_budgets_apply_to_a_descriptors_entries(tmp_path: Path) -> None:
    """Once refused (exit 2): each entry's media, resolved as LLaMA-Factory does (against the dataset dir, or
    --media-dir), are held to the budgets; dataset_info.json and v1 YAML alike."""
    (tmp_path / "big.png").write_bytes(image_bytes("PNG", (100, 50)))
    (tmp_path / "small.png").write_bytes(image_bytes("PNG", (10, 10)))
    rows_file(tmp_path, [["small.png"], ["big.png"], ["small.png"] * 3])
    (tmp_path / "dataset_info.json").write_text(json.dumps({"d": {"file_name": "d.jsonl", "formatting": "sharegpt",
                                                                  "columns": {"messages": "conversations",
                                                                              "images": "images"}}}))
    (tmp_path / "v1.yaml").write_text("d:\n  path: d.jsonl\n  source: local\n  converter: sharegpt\n")
    for name in ("dataset_info.json", "v1.yaml"):
        result = runner.invoke(app, ["validate", str(tmp_path / name), "--max-pixels", "1000",
                                     "--max-media-per-row", "2"])
        assert result.exit_code == 1, result.output
        assert "'big.png' is 100x50 (5,000 pixels), over --max-pixels 1,000" in result.output
        assert "this row names 3 media files, over --max-media-per-row 2" in result.output
        assert runner.invoke(app, ["validate", str(tmp_path / name)]).exit_code == 0
    (tmp_path / "m").mkdir()  # --media-dir: the budgets hold the files found there
    (tmp_path / "m" / "small.png").write_bytes(image_bytes("PNG", (100, 100)))
    (tmp_path / "m" / "big.png").write_bytes(image_bytes("PNG", (10, 10)))
    result = runner.invoke(app, ["validate", str(tmp_path / "dataset_info.json"), "--media-dir", str(tmp_path / "m"),
                                 "--max-pixels", "1000"])
    assert result.exit_code == 1 and "'small.png' is 100x100" in result.output and "'big.png' is" not in result.output


def test_wav_audio_is_probed_and_held_to_max_duration(tmp_path: Path) -> None:
    import base64

    from images import wav_bytes

    (tmp_path / "ok.wav").write_bytes(wav_bytes(1.0))
    (tmp_path / "long.wav").write_bytes(wav_bytes(3.0))
    (tmp_path / "cut.wav").write_bytes(wav_bytes(1.0)[:-4000])  # the header announces 8,000 frames
    (tmp_path / "text.wav").write_bytes(b"not audio at all")
    (tmp_path / "a.mp3").write_bytes(b"ID3 but no sound")
    cut_url = "data:audio/wav;base64," + base64.b64encode(wav_bytes(1.0)[:100]).decode()
    refs = [["ok.wav"], ["long.wav"], ["cut.wav"], ["text.wav"], ["a.mp3"], [cut_url]]
    f = tmp_path / "a.jsonl"
    f.write_text("".join(json.dumps({"conversations": [{"from": "human", "value": "<audio>what?"},
                                                       {"from": "gpt", "value": "a cat"}], "audios": r}) + "\n"
                         for r in refs))
    mp3 = [(5, "audios[0]", "media_undecodable")] if has_av() else []  # probed where PyAV is installed
    assert located(f) == [(3, "audios[0]", "media_undecodable"), (4, "audios[0]", "media_undecodable"), *mp3,
                          (6, "audios[0]", "media_undecodable")]
    report = validate_file(f, max_duration=2.0)
    assert [(p.line, p.code) for p in report.problems][0] == (2, "media_too_long")
    assert "'long.wav' lasts 3.0 s, over --max-duration 2" in report.problems[0].message
    assert "truncated: 6,000 of the 8,000 frames" in report.problems[1].message
    assert report.media == ({} if has_av() else {"unchecked": 1})  # the mp3


def test_a_ref_named_again_in_a_run_costs_no_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file is stat'ed (for the process-wide decode cache) once per run, not once per row that names it: a ref
    found clean before is a set look-up, another spelling of the same file a dictionary look-up."""
    (tmp_path / "a.png").write_bytes(image_bytes("PNG"))
    (tmp_path / "b.jpg").write_bytes(image_bytes("JPEG"))
    stats: list[str] = []
    real = decode.stat_key
    monkeypatch.setattr(decode, "stat_key", lambda path: stats.append(path) or real(path))
    media = Media(tmp_path)
    for _ in range(3):
        assert check_refs("images", ["a.png", "./a.png", "b.jpg", "a.png"], media) == []
    assert sorted(stats) == [str(tmp_path / "a.png"), str(tmp_path / "b.jpg")]
    stats.clear()
    f = rows_file(tmp_path, [["a.png", "b.jpg"], ["b.jpg"], ["./a.png"]] * 50)
    assert located(f) == [] and len(stats) == 2  # validate: 150 rows, 2 files


def test_a_file_changed_during_a_run_keeps_its_first_verdict_in_that_run(tmp_path: Path) -> None:
    """One snapshot per run (as the folder listings are): a file replaced while a run reads is not looked at again in
    that run; the next run (a new `Media`) decodes it again (its stat changed)."""
    (tmp_path / "a.png").write_bytes(image_bytes("PNG"))
    media = Media(tmp_path)
    assert check_refs("images", ["a.png"], media) == []
    (tmp_path / "a.png").write_bytes(b"not an image any more")
    assert check_refs("images", ["a.png"], media) == []
    assert [p.code for p in check_refs("images", ["a.png"], Media(tmp_path))] == ["media_undecodable"]


def test_a_row_refused_for_one_ref_counts_its_remote_urls_once(tmp_path: Path) -> None:
    """The check lane's look at a row that then takes the full lane (a missing file beside a URL) counted the URL,
    and the full lane counted it again."""
    f = rows_file(tmp_path, [["https://example.com/a.png", "missing.png"], ["https://example.com/b.png"]])
    report = validate_file(f)
    assert [(p.line, p.code) for p in report.problems] == [(1, "media_missing")]
    assert report.media == {"remote": 2}


def test_the_check_lane_counts_placeholders_as_the_rules_do() -> None:
    """`placeholders_match` scans once for every kind's tag: the counts it compares are `str.count`'s."""
    from ftdata.formats.light import placeholders_match

    texts = ["<image><image>a<video>", "<imag<image>e>", "no tags", "<<audio>>", "<"]
    assert placeholders_match({"images": ["a", "b", "c"], "videos": ["v"], "audios": ["x"]}, texts)
    assert not placeholders_match({"images": ["a", "b"], "videos": ["v"], "audios": ["x"]}, texts)
    assert not placeholders_match({"images": ["a", "b", "c"], "audios": ["x"]}, texts)
    assert not placeholders_match({"images": ["a", "b", "c"], "videos": ["v"], "audios": "x"}, texts)
    assert placeholders_match({}, ["<im", "age>", "<"]) and placeholders_match({"images": []}, ["x"])
