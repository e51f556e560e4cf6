"""Copy small slices of ../shared/data into fixtures/data (run once; the output is committed).

Usage: python scripts/make_fixtures.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
DST = Path("fixtures/data")


def jsonl(src: str, dst: str, rows: list[int]) -> None:
    lines = (SRC / src).read_text(encoding="utf-8").splitlines()
    out = DST / dst
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(lines[i] + "\n" for i in rows), encoding="utf-8")


def json_array(src: str, dst: str, rows: list[int]) -> None:
    data = json.loads((SRC / src).read_text(encoding="utf-8"))
    out = DST / dst
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([data[i] for i in rows], ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    # MOSS: the first 16 rows plus the known oddities (None. / None (...) / numbered commands).
    jsonl("moss/moss-003-sft-sample.jsonl", "moss/moss_sample.jsonl", list(range(16)) + [76, 92, 95, 117])
    jsonl("firefly/dummy_data.jsonl", "firefly/sft.jsonl", list(range(12)))
    jsonl("firefly/dummy_dpo.jsonl", "firefly/dpo.jsonl", list(range(6)))
    jsonl("firefly/dummy_pretrain.jsonl", "firefly/pretrain.jsonl", list(range(6)))
    lf = "llamafactory"
    json_array(f"{lf}/alpaca_en_demo.json", f"{lf}/alpaca_en_demo.json", list(range(20)))
    json_array(f"{lf}/alpaca_zh_demo.json", f"{lf}/alpaca_zh_demo.json", list(range(10)))
    json_array(f"{lf}/identity.json", f"{lf}/identity.json", list(range(10)))
    json_array(f"{lf}/glaive_toolcall_en_demo.json", f"{lf}/glaive_toolcall_en_demo.json", list(range(12)))
    # rows 197 and 293 of the zh demo call tools in plain text, then answer with an observation: real errors.
    json_array(f"{lf}/glaive_toolcall_zh_demo.json", f"{lf}/glaive_toolcall_zh_demo.json", list(range(8)) + [197, 293])
    json_array(f"{lf}/dpo_en_demo.json", f"{lf}/dpo_en_demo.json", list(range(8)))
    json_array(f"{lf}/kto_en_demo.json", f"{lf}/kto_en_demo.json", list(range(8)))
    json_array(f"{lf}/mllm_demo.json", f"{lf}/mllm_demo.json", list(range(6)))
    jsonl(f"{lf}/c4_demo.jsonl", f"{lf}/c4_demo.jsonl", list(range(8)))
    (DST / lf / "mllm_demo_data").mkdir(parents=True, exist_ok=True)
    for name in ("1.jpg", "2.jpg", "3.jpg"):
        shutil.copy(SRC / lf / "mllm_demo_data" / name, DST / lf / "mllm_demo_data" / name)


NOTICE = """# Slices of the project's shared real data (fixtures/upstream)

Made by `python scripts/make_fixtures.py ../shared/data upstream`: the shared folder's layout, each file cut to its
first rows (plus the rows the tests name), unchanged otherwise (JSON arrays re-indented). The audio / video demos'
rows are copied whole, their media (1.6 MB upstream) replaced by stand-ins of the same names generated with PyAV
(a tone, grey frames; a few KB each, not upstream's content); their `dataset_info.json` entries are left out.
Sources and licenses, as upstream:

"""


def upstream() -> None:
    """fixtures/upstream: the shared folder's layout in slices, for the tests of the full samples (a clone runs
    them too). Audio / video demos: their rows, and stand-ins for their 1.6 MB of media (`stand_in_media`); their
    dataset_info.json entries are left out."""
    global DST
    base, DST = DST, DST.parent / "upstream"
    lf = "llamafactory"
    # MOSS: rows 0-39 (33 and 35 ask the same question), the known oddities, and where conversation_id turns to text
    jsonl("moss/moss-003-sft-sample.jsonl", "moss/moss-003-sft-sample.jsonl",
          list(range(40)) + [76, 92, 95, 117, 192, 198, 199, 200, 201])
    for name in ("dummy_data.jsonl", "dummy_dpo.jsonl", "dummy_pretrain.jsonl"):
        jsonl(f"firefly/{name}", f"firefly/{name}", list(range(10)))
    for name in ("alpaca_en_demo.json", "alpaca_zh_demo.json", "identity.json", "glaive_toolcall_en_demo.json",
                 "dpo_en_demo.json", "dpo_zh_demo.json", "kto_en_demo.json", "mllm_demo.json"):
        json_array(f"{lf}/{name}", f"{lf}/{name}", list(range(6)))
    json_array(f"{lf}/glaive_toolcall_zh_demo.json", f"{lf}/glaive_toolcall_zh_demo.json", list(range(4)) + [197, 293])
    jsonl(f"{lf}/c4_demo.jsonl", f"{lf}/c4_demo.jsonl", list(range(6)))
    jsonl(f"{lf}/wiki_demo.txt", f"{lf}/wiki_demo.txt", list(range(2)))
    jsonl(f"{lf}/v1_sft_demo.jsonl", f"{lf}/v1_sft_demo.jsonl", list(range(10)))
    jsonl(f"{lf}/reason_tool_use_demo_50.jsonl", f"{lf}/reason_tool_use_demo_50.jsonl", list(range(8)))
    for name in ("v1_dpo_demo.jsonl", "v1_multimodal_demo.jsonl", "v1_sft_demo.yaml", "v1_dpo_demo.yaml",
                 "v1_multimodal_demo.yaml"):
        shutil.copy(SRC / lf / name, DST / lf / name)
    info = json.loads((SRC / lf / "dataset_info.json").read_text(encoding="utf-8"))
    kept = {k: v for k, v in info.items() if not k.startswith(("mllm_audio", "mllm_video"))}
    (DST / lf / "dataset_info.json").write_text(json.dumps(kept, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    shutil.copytree(base / lf / "mllm_demo_data", DST / lf / "mllm_demo_data", dirs_exist_ok=True)
    for name in STAND_INS:
        shutil.copy(SRC / lf / name, DST / lf / name)
    stand_in_media(DST / lf / "mllm_demo_data")
    (DST / "README.md").write_text(NOTICE + (SRC / "README.md").read_text(encoding="utf-8").split("\n\n", 1)[1])
    DST = base


STAND_INS = ("mllm_audio_demo.json", "mllm_video_demo.json", "mllm_video_audio_demo.json")
# the demos' media: name -> seconds (upstream's files last 3-10 s; the stand-ins are short to stay small)
MEDIA = {"1.mp3": 2.0, "2.wav": 1.0, "3.flac": 1.0, "4.mp3": 2.0, "1.mp4": 2.0, "2.avi": 1.0, "3.mp4": 1.0,
         "4.mp4": 2.0}


def stand_in_media(folder: Path) -> None:
    """Tiny media under the demos' names (PyAV and numpy: the tests' own generators, tests/images.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from images import audio_bytes, video_bytes

    for name, seconds in MEDIA.items():
        suffix = name.rsplit(".", 1)[1]
        data = video_bytes(suffix, seconds) if suffix in ("mp4", "avi") else audio_bytes(suffix, seconds)
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    main() if sys.argv[2:] != ["upstream"] else upstream()
