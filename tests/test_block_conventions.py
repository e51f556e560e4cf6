"""The audit of every media convention (issue 28): transformers' image / video / audio blocks (under their own key,
`url`, `path`, `base64`), OpenAI's `image_url` (a URL, a file, a data URL with `detail`), `input_audio`, `file`,
trl's place-marking `{"type": "image"}`, LLaMA-Factory v1's `*_url` blocks, and the sharegpt / alpaca / openai
`images` / `videos` / `audios` columns with placeholders, each converted to every target:

- through its own format: the row comes back exactly;
- through any other target: the record (text with placeholders, media lists in order) comes back unchanged, or the
  row is rejected with the reason (trl carries images only; LLaMA-Factory's sharegpt / alpaca name media by file
  path, so a data URL has no place there);
- back to its own format from another: exactly for the column conventions (every target holds them); a block's
  shape (which key, `detail`, a file's `filename`) lives only in OpenAI's parts, so through another format an
  openai row comes back as placeholders + lists (the same record).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from images import image_bytes, wav_bytes

pytest.importorskip("PIL")

from ftdata.formats import FORMATS  # noqa: E402
from ftdata.ops.convert import convert_files  # noqa: E402

PNG = "data:image/png;base64," + base64.b64encode(image_bytes("PNG", (2, 2))).decode()
WAV = base64.b64encode(wav_bytes(0.1)).decode()
VIDEO, AUDIO = "https://example.com/clip.mp4", "https://example.com/hello.mp3"  # never fetched
TEXT = {"type": "text", "text": "what?"}


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": list(parts)}, {"role": "assistant", "content": "ok"}]}


def v1(*blocks: dict[str, str]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": [*blocks, {"type": "text", "value": "q"}]},
                         {"role": "assistant", "content": [{"type": "text", "value": "a"}]}]}


CONVENTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "transformers image": ("openai", user({"type": "image", "image": "a.jpg"}, TEXT)),
    "transformers image url": ("openai", user({"type": "image", "url": "a.jpg"}, TEXT)),
    "transformers image path": ("openai", user(TEXT, {"type": "image", "path": "a.jpg"})),
    "transformers image base64": ("openai", user(TEXT, {"type": "image", "base64": PNG.split(",")[1]})),
    "transformers video": ("openai", user({"type": "video", "video": VIDEO}, TEXT)),
    "transformers audio": ("openai", user({"type": "audio", "url": AUDIO}, TEXT)),
    "openai image_url URL": ("openai", user(TEXT, {"type": "image_url", "image_url": {"url": "https://e.com/x.jpg"}})),
    "openai image_url file": ("openai", user(TEXT, {"type": "image_url", "image_url": {"url": "a.jpg"}})),
    "openai image_url data URL": ("openai", user(TEXT, {"type": "image_url",
                                                        "image_url": {"url": PNG, "detail": "low"}})),
    "openai input_audio": ("openai", user(TEXT, {"type": "input_audio", "input_audio": {"data": WAV,
                                                                                        "format": "wav"}})),
    "openai file": ("openai", user({"type": "file", "file": {"file_data": PNG, "filename": "x.png"}}, TEXT)),
    "trl image mark": ("openai", {"messages": [{"role": "user", "content": [{"type": "image"}, TEXT]},
                                               {"role": "assistant", "content": [{"type": "text", "text": "a"}]}],
                                  "images": ["a.jpg"]}),
    "llamafactory-v1 *_url": ("llamafactory-v1", v1({"type": "image_url", "value": "data/a.jpg"})),
    "llamafactory-v1 video/audio": ("llamafactory-v1", v1({"type": "video_url", "value": VIDEO},
                                                          {"type": "audio_url", "value": AUDIO})),
    "sharegpt columns": ("sharegpt", {"conversations": [{"from": "human", "value": "<image><video><audio>q"},
                                                        {"from": "gpt", "value": "a"}],
                                      "images": ["a.jpg"], "videos": [VIDEO], "audios": [AUDIO]}),
    "alpaca columns": ("alpaca", {"instruction": "<image>q<audio>", "output": "a", "images": ["a.jpg"],
                                  "audios": [AUDIO]}),
    "openai columns": ("openai", {"messages": [{"role": "user", "content": "<image>q"},
                                              {"role": "assistant", "content": "a"}], "images": ["a.jpg"]}),
}
TARGETS = ["openai", "sharegpt", "alpaca", "llamafactory-v1", "trl", "canonical"]
TRL = "trl datasets carry images only"
PATHS = "names media by file path (LLaMA-Factory opens each as a file); this one is a data URL"
HAS_DATA_URL = {"transformers image base64", "openai image_url data URL", "openai input_audio", "openai file"}
HAS_SOUND = {"transformers video", "transformers audio", "openai input_audio", "llamafactory-v1 video/audio",
             "sharegpt columns", "alpaca columns"}
READS_AS = {"trl": "openai"}  # trl's conversational rows are OpenAI messages (detected as openai)
COLUMNS = {"sharegpt columns", "alpaca columns", "openai columns"}


def rejected_because(name: str, target: str) -> str | None:
    if target == "trl" and name in HAS_SOUND:
        return TRL
    if target in ("sharegpt", "alpaca") and name in HAS_DATA_URL:
        return PATHS
    return None


def convert(tmp: Path, fmt: str, row: dict[str, Any], target: str) -> tuple[list[dict[str, Any]], list[str]]:
    """`row` (as `fmt`) converted to `target`: the rows written and the rejects' messages."""
    runs = len(list(tmp.glob("in.*")))
    src = tmp / f"in.{runs}.jsonl"
    src.write_text(json.dumps(row) + "\n")
    out = tmp / f"out.{runs}.jsonl"
    report = convert_files([src], target, out, dataset_info=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()] if report.written else []
    rejects = Path(report.rejects)
    why = [e["message"] for line in (rejects.read_text().splitlines() if rejects.exists() else [])
           for e in json.loads(line)["errors"]]
    return rows, why


def record(fmt: str, row: dict[str, Any]) -> tuple[Any, ...]:
    """What a trainer sees: each message's role and text (placeholders included), the media lists in order."""
    rec = FORMATS[READS_AS.get(fmt, fmt)].to_canonical(row).record
    assert rec is not None, (fmt, row)
    return ([(m.role, m.content) for m in rec.messages or []], rec.images, rec.videos, rec.audios)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.jpg").write_bytes(image_bytes("JPEG", (8, 8)))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jpg").write_bytes(image_bytes("JPEG", (8, 8)))
    return tmp_path


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_each_convention_comes_back_exactly_through_its_own_format(folder: Path, name: str) -> None:
    fmt, row = CONVENTIONS[name]
    assert convert(folder, fmt, row, fmt) == ([row], [])


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_every_target_keeps_the_record_or_rejects_it_with_the_reason(folder: Path, name: str, target: str) -> None:
    fmt, row = CONVENTIONS[name]
    written, why = convert(folder, fmt, row, target)
    reason = rejected_because(name, target)
    if reason is not None:
        assert written == [] and why and all(reason in w for w in why), why
        return
    assert why == [] and len(written) == 1
    assert record(target, written[0]) == record(fmt, row)
    back, again = convert(folder, target, written[0], fmt)
    assert again == [] and record(fmt, back[0]) == record(fmt, row)
    if name in COLUMNS and target != "trl":  # trl writes its own block convention (the same record)
        assert back == [row]


def test_a_block_shape_only_openai_holds_comes_back_as_placeholders_and_lists(folder: Path) -> None:
    """`detail` and the key a transformers block used are OpenAI-part details: through sharegpt the same record
    returns in the columns convention (said here so a change to that is a decision, not an accident)."""
    _, row = CONVENTIONS["transformers image path"]
    written, _ = convert(folder, "openai", row, "sharegpt")
    back, _ = convert(folder, "sharegpt", written[0], "openai")
    assert back == [{"messages": [{"role": "user", "content": "what?<image>"}, {"role": "assistant", "content": "ok"}],
                     "images": ["a.jpg"]}]


def test_v1_rows_without_loss_weight_come_back_without_it(folder: Path) -> None:
    """Upstream's v1 multimodal demo leaves loss_weight out (the role's default): written back the same (it used to
    gain explicit 0.0 / 1.0); a weight that differs from the default is still written."""
    _, row = CONVENTIONS["llamafactory-v1 *_url"]
    assert "loss_weight" not in json.dumps(convert(folder, "llamafactory-v1", row, "llamafactory-v1")[0])
    trained = {"messages": [{**row["messages"][0], "loss_weight": 1.0}, row["messages"][1]]}
    assert convert(folder, "llamafactory-v1", trained, "llamafactory-v1")[0] == [trained]
