"""Audio and video probed with PyAV: every container a trainer meets (mp3, flac, ogg, m4a, wav, mp4, webm, avi,
mov) passes when whole, a cut or garbage file is `media_undecodable` naming it (files and data URLs),
`--max-duration` holds audio and video, each file is probed once per run, and without PyAV files are only checked
to exist and counted. The media are generated here by PyAV (a few KB each)."""

from __future__ import annotations

import base64
import io
import json
import random
from pathlib import Path

import pytest
from images import AUDIO, VIDEO, audio_bytes, video_bytes, wav_bytes
from typer.testing import CliRunner

pytest.importorskip("av")
pytest.importorskip("numpy")

from ftdata import api  # noqa: E402
from ftdata.cli import app  # noqa: E402
from ftdata.io import decode, probe  # noqa: E402
from ftdata.io.media import Media, check_refs  # noqa: E402
from ftdata.ops.validate import validate_file  # noqa: E402

runner = CliRunner()
KIND = {**{s: "audios" for s in AUDIO}, **{s: "videos" for s in VIDEO}}
# containers a cut file is told apart in (ogg and wav are streamable: a cut one is a shorter file loaders read)
CUT_TOLD = ["mp3", "flac", "m4a", "mp4", "webm", "avi", "mov"]


def media_bytes(suffix: str, seconds: float = 2.0) -> bytes:
    return audio_bytes(suffix, seconds) if KIND[suffix] == "audios" else video_bytes(suffix, seconds)


def rows(folder: Path, kind: str, refs: list[str]) -> Path:
    """An openai JSON Lines file (LLaMA-Factory's mllm demos' rows): line i + 1 names refs[i] in its `kind` list."""
    mark = {"audios": "<audio>", "videos": "<video>"}[kind]
    f = folder / "d.jsonl"
    f.write_text("".join(json.dumps({"messages": [{"role": "user", "content": mark + "what is it?"},
                                                  {"role": "assistant", "content": "a tone"}], kind: [r]}) + "\n"
                         for r in refs))
    return f


@pytest.mark.parametrize("suffix", sorted(KIND))
def test_whole_files_of_every_container_pass_with_their_duration(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"a.{suffix}").write_bytes(media_bytes(suffix))
    assert check_refs(KIND[suffix], [f"a.{suffix}"], Media(tmp_path)) == []
    found = decode.cached_probe(str(tmp_path / f"a.{suffix}"), KIND[suffix])
    assert found.error is None and found.seconds == pytest.approx(2.0, abs=0.05)
    assert found.format in (suffix, "wav" if suffix == "wav" else suffix, "WAV")


@pytest.mark.parametrize("suffix", CUT_TOLD)
def test_a_cut_file_is_undecodable_and_named(tmp_path: Path, suffix: str) -> None:
    data = media_bytes(suffix)
    (tmp_path / f"cut.{suffix}").write_bytes(data[: int(len(data) * 0.6)])
    f = rows(tmp_path, KIND[suffix], [f"cut.{suffix}"])
    (p,) = validate_file(f).problems
    assert (p.line, p.path, p.code) == (1, f"{KIND[suffix]}[0]", "media_undecodable")
    assert p.message.startswith(f"media file 'cut.{suffix}' cannot be decoded as {KIND[suffix][:-1]}: ")


@pytest.mark.parametrize("suffix", sorted(KIND))
def test_text_and_noise_under_a_media_name_are_undecodable(tmp_path: Path, suffix: str) -> None:
    rng = random.Random(0)
    data = media_bytes(suffix)
    (tmp_path / f"text.{suffix}").write_bytes(b"not media at all\n" * 20)
    (tmp_path / f"empty.{suffix}").write_bytes(b"")
    refs = [f"text.{suffix}", f"empty.{suffix}"]
    if suffix not in ("wav", "ogg"):  # noise as PCM samples is sound; ogg: see below
        (tmp_path / f"noise.{suffix}").write_bytes(data[:40] + bytes(rng.randrange(256) for _ in range(len(data))))
        refs.append(f"noise.{suffix}")
    f = rows(tmp_path, KIND[suffix], refs)
    assert [(p.line, p.code) for p in validate_file(f).problems] == [(i + 1, "media_undecodable")
                                                                    for i in range(len(refs))]


def test_a_video_named_as_audio_has_no_audio_stream(tmp_path: Path) -> None:
    (tmp_path / "v.mp4").write_bytes(video_bytes("mp4"))
    (p,) = validate_file(rows(tmp_path, "audios", ["v.mp4"])).problems
    assert p.code == "media_undecodable" and "'v.mp4' cannot be decoded as audio: it holds no audio stream (only " \
                                              "video)" in p.message


def test_max_duration_holds_audio_and_video(tmp_path: Path) -> None:
    (tmp_path / "long.mp3").write_bytes(audio_bytes("mp3", 3.0))
    (tmp_path / "long.webm").write_bytes(video_bytes("webm", 3.0))
    (tmp_path / "short.mp3").write_bytes(audio_bytes("mp3", 1.0))
    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps({"conversations": [{"from": "human", "value": "<video><audio>q"},
                                                       {"from": "gpt", "value": "a"}],
                                     "videos": ["long.webm"], "audios": [a]}) + "\n"
                         for a in ("short.mp3", "long.mp3")))
    assert validate_file(f).problems == []
    found = [(p.line, p.path, p.code) for p in validate_file(f, max_duration=2.0).problems]
    assert found == [(1, "videos[0]", "media_too_long"), (2, "videos[0]", "media_too_long"),
                     (2, "audios[0]", "media_too_long")]
    result = runner.invoke(app, ["validate", str(f), "--max-duration", "2"])
    assert result.exit_code == 1 and "'long.webm' lasts 3.0 s, over --max-duration 2" in result.output


def test_audio_data_urls_are_probed(tmp_path: Path) -> None:
    mp3 = audio_bytes("mp3", 2.0)
    good = base64.b64encode(mp3).decode()
    cut = base64.b64encode(mp3[: len(mp3) // 2]).decode()
    parts = [[{"type": "input_audio", "input_audio": {"data": d, "format": "mp3"}}] for d in (good, cut)]
    parts.append([{"type": "audio", "base64": base64.b64encode(b"no sound here").decode()}])
    parts.append([{"type": "video", "base64": base64.b64encode(video_bytes("mp4")).decode()}])
    f = tmp_path / "o.jsonl"
    f.write_text("".join(json.dumps({"messages": [{"role": "user", "content": [{"type": "text", "text": "q"}, *p]},
                                                  {"role": "assistant", "content": "a"}]}) + "\n" for p in parts))
    report = validate_file(f)
    found = [p for p in report.problems if p.code != "type_drift"]  # a string content beside part lists: a warning
    assert [(p.line, p.path, p.code) for p in found] == [(2, "messages[0].content[1]", "media_undecodable"),
                                                         (3, "messages[0].content[1]", "media_undecodable")]
    assert "data URL cannot be decoded as audio: truncated" in found[0].message
    assert not report.media  # every one probed


def test_each_file_is_probed_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.flac").write_bytes(audio_bytes("flac"))
    calls: list[object] = []
    real = probe.probe_av
    monkeypatch.setattr(probe, "probe_av", lambda *a: calls.append(a) or real(*a))
    decode.PROBES.clear()
    for _ in range(3):
        assert check_refs("audios", ["a.flac", "./a.flac"], Media(tmp_path)) == []
    assert len(calls) == 1


def test_without_pyav_files_are_checked_to_exist_and_counted(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "_av", lambda: None)
    decode.PROBES.clear()
    (tmp_path / "a.mp4").write_bytes(b"not probed")
    (tmp_path / "ok.wav").write_bytes(wav_bytes(1.0))  # WAV: the standard library still reads it
    (tmp_path / "bad.wav").write_bytes(b"not a wav")
    f = rows(tmp_path, "videos", ["a.mp4", "missing.mp4"])
    report = validate_file(f)
    assert [(p.line, p.code) for p in report.problems] == [(2, "media_missing")]
    assert report.media == {"unchecked": 1}
    result = runner.invoke(app, ["validate", str(f)])
    assert "1 media files exist but were not decoded (no decoder here for them: pip install 'ftdata[media]' " \
           "for Pillow and PyAV)" in result.output
    wav = validate_file(rows(tmp_path, "audios", ["ok.wav", "bad.wav"]))
    assert [(p.line, p.code) for p in wav.problems] == [(2, "media_undecodable")] and not wav.media
    decode.PROBES.clear()


def test_stats_give_durations_beside_pixel_sizes(tmp_path: Path) -> None:
    (tmp_path / "a.mp3").write_bytes(audio_bytes("mp3", 1.0))
    (tmp_path / "b.mp4").write_bytes(video_bytes("mp4", 3.0))
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"conversations": [{"from": "human", "value": "<video><audio>q"},
                                               {"from": "gpt", "value": "a"}],
                             "videos": ["b.mp4"], "audios": ["a.mp3"]}) + "\n")
    s = api.stats([f])
    assert sorted(s.seconds) == pytest.approx([1.0, 3.0], abs=0.05) and s.media_items == [2]
    assert s.summary()["media_seconds"]["max"] == pytest.approx(3.0, abs=0.05)
    result = runner.invoke(app, ["stats", str(f)])
    assert result.exit_code == 0 and "media per record with media: p50 2 max 2  audio/video seconds p50 " \
                                     in result.output, result.output


def test_wav_bytes_in_memory_are_probed_like_files() -> None:
    found = probe.probe_sound(io.BytesIO(wav_bytes(1.5)), "audios", "x.wav")
    assert (found.format, found.seconds) == ("WAV", 1.5)


def float_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A WAV of 32-bit float samples (format tag 3)."""
    import struct

    data = bytes(4 * int(seconds * rate))
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_loaders_open_by_content_so_a_misnamed_file_passes_and_a_misfiled_one_fails(tmp_path: Path) -> None:
    (tmp_path / "really_mp3.wav").write_bytes(audio_bytes("mp3"))  # the stdlib refuses it; PyAV reads it
    (tmp_path / "really_wav.mp3").write_bytes(wav_bytes(1.0))
    (tmp_path / "float.wav").write_bytes(float_wav())  # Python 3.11's wave reads PCM only
    assert check_refs("audios", ["really_mp3.wav", "really_wav.mp3", "float.wav"], Media(tmp_path)) == []
    (tmp_path / "v.webm").write_bytes(video_bytes("webm"))
    (p,) = check_refs("audios", ["v.webm"], Media(tmp_path))  # a video named in the audio list: no audio stream
    assert p.code == "media_undecodable" and "holds no audio stream" in p.message


def test_data_urls_whose_type_names_another_kind(tmp_path: Path) -> None:
    text = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    video = "data:video/mp4;base64," + base64.b64encode(video_bytes("mp4")).decode()
    found = check_refs("audios", [text, video], Media(tmp_path))
    assert [p.path for p in found] == ["audios[0]", "audios[1]"]
    assert "it holds 'text/plain', not audio" in found[0].message and "holds no audio stream" in found[1].message
    assert check_refs("videos", [video], Media(tmp_path)) == []


@pytest.mark.parametrize("suffix", ["mp4", "webm", "avi", "mov", "m4a", "mp3", "flac"])
def test_a_file_cut_at_any_byte_is_a_row_problem_never_a_crash(tmp_path: Path, suffix: str) -> None:
    """A probe found an mp4 cut at 1,650 bytes crashing every command (exit 3: a stream without a codec context);
    every cut of every container must be that row's problem or a valid (shorter) file."""
    data = media_bytes(suffix, 1.0)
    step = max(1, len(data) // 60)
    names = []
    for size in range(0, len(data), step):
        (tmp_path / f"cut{size}.{suffix}").write_bytes(data[:size])
        names.append(f"cut{size}.{suffix}")
    report = validate_file(rows(tmp_path, KIND[suffix], names))
    assert report.records == len(names)
    assert {p.code for p in report.problems} <= {"media_undecodable"}
    assert report.invalid >= 1


def test_image_data_urls_are_opened_by_their_content_whatever_their_type(tmp_path: Path) -> None:
    """A probe found `data:text/plain` (or audio, octet-stream) in an image slot passing as 'not decoded' while
    fttrain then failed on it: Pillow opens the bytes, so they decide; a wrong type is named when they are no image."""
    from images import image_bytes

    def url(mime: str, data: bytes) -> str:
        return f"data:{mime};base64," + base64.b64encode(data).decode()

    bad = [url("text/plain", b"hello world"), url("audio/mpeg", audio_bytes("mp3")),
           url("application/octet-stream", b"\x00" * 64)]
    found = check_refs("images", bad, Media(tmp_path))
    assert [p.path for p in found] == ["images[0]", "images[1]", "images[2]"]
    assert "it holds 'text/plain', not an image" in found[0].message
    good = [url("application/octet-stream", image_bytes("PNG")), url("image/png", image_bytes("PNG"))]
    assert check_refs("images", good, Media(tmp_path)) == []


def test_dot_dot_through_a_missing_folder_is_missing_as_the_os_opens_it(tmp_path: Path) -> None:
    """A probe found `nothing/../1.jpg` valid (resolved on paper) while fttrain's Image.open failed on it."""
    from images import image_bytes

    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "1.jpg").write_bytes(image_bytes("JPEG"))
    (tmp_path / "sub").mkdir()
    refs = ["nothing/../img/1.jpg", "img/1.jpg/../1.jpg", "sub/../img/1.jpg", "img/1.jpg"]
    found = check_refs("images", refs, Media(tmp_path))
    assert [(p.path, p.code) for p in found] == [("images[0]", "media_missing"), ("images[1]", "media_missing")]
