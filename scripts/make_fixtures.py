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


if __name__ == "__main__":
    main()
