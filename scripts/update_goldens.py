"""Rewrite the golden .expected.json files from what ftdata reports now. Review `git diff tests/data` afterwards:
every changed line must be a change you meant.

Usage: python scripts/update_goldens.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_goldens import CASES, CONVERSIONS, convert_case, expected, problems_of  # noqa: E402


def main() -> None:
    for path in CASES:
        d = problems_of(path)
        head = json.dumps({k: v for k, v in d.items() if k != "problems"}, ensure_ascii=False)[:-1]
        body = ",\n".join("  " + json.dumps(x, ensure_ascii=False) for x in d["problems"])
        text = head + (', "problems": [\n' + body + "\n]}\n" if d["problems"] else ', "problems": []}\n')
        path.with_suffix(".expected.json").write_text(text)
    import tempfile

    for src in CONVERSIONS:
        with tempfile.TemporaryDirectory() as tmp:
            cases = [convert_case(src, {k: c[k] for k in ("to", "reasoning") if k in c}, Path(tmp))
                     for c in expected(src)]
        src.with_suffix(".expected.json").write_text(
            "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")
    print(f"rewrote {len(CASES)} validation and {len(CONVERSIONS)} conversion goldens")


if __name__ == "__main__":
    main()
