"""Golden cases, one parametrized test over folders:
- tests/data/<format>/{valid,invalid}/X.jsonl with X.expected.json: the format found, the counts, and every problem
  (errors and warnings) with its line, path, code, severity and message, in order; X.options.json, where present,
  holds validate's options for the case (budgets: `max_pixels`, ...);
- tests/data/convert/X.jsonl with X.expected.json: conversions of it (target, reasoning policy) with the rows
  written, every rejected row's errors and the warning counts.
Every problem code is covered by at least one of them.
"""

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from conftest import DATA, ROOT

from ftdata import validate_file
from ftdata.core.problems import CODES, Code
from ftdata.ops.convert import convert_files

CASES = sorted(DATA.glob("*/valid/*.jsonl")) + sorted(DATA.glob("*/invalid/*.jsonl"))
CONVERSIONS = sorted((DATA / "convert").glob("*.jsonl"))


def expected(path: Path) -> Any:
    return json.loads(path.with_suffix(".expected.json").read_text())


def problems_of(path: Path) -> dict[str, Any]:
    options = path.with_suffix(".options.json")
    report = validate_file(path, **(json.loads(options.read_text()) if options.exists() else {}))
    assert report.error is None, report.error
    return {"format": report.format, "records": report.records, "valid": report.valid,
            "problems": [{"line": p.line, "path": p.path, "code": p.code, "severity": p.severity,
                          "message": p.message.replace(str(ROOT), "ROOT")}  # the checkout can be anywhere
                         for p in report.problems]}


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parts[-3]}/{p.parent.name}/{p.stem}")
def test_golden_case_reports_exactly_its_problems(path: Path) -> None:
    got = problems_of(path)
    assert got == expected(path)
    assert got["format"] == path.parts[-3]
    errors = [p for p in got["problems"] if p["severity"] == "error"]
    if path.parent.name == "valid":
        assert errors == [] and got["valid"] == got["records"] > 0
    else:
        assert errors and got["records"] - got["valid"] == len({p["line"] for p in errors})


def convert_case(src: Path, case: dict[str, Any], tmp: Path) -> dict[str, Any]:
    out = tmp / f"{case['to']}.{case.get('reasoning', 'think')}.jsonl"
    report = convert_files([src], case["to"], out, reasoning=case.get("reasoning", "think"), dataset_info=False)
    rejects = Path(report.rejects)
    rows = [json.loads(line) for line in (rejects.read_text().splitlines() if rejects.exists() else [])]
    assert report.records == report.written + report.rejected == report.written + len(rows)
    assert out.exists() == (report.written > 0)  # no row written: no OUT
    return {**{k: case[k] for k in ("to", "reasoning") if k in case},
            "written": [json.loads(line) for line in out.read_text().splitlines()] if report.written else [],
            "rejects": [[e["line"], e["path"], e["code"], e["message"]] for r in rows for e in r["errors"]],
            "warnings": dict(report.warnings)}


@pytest.mark.parametrize("src", CONVERSIONS, ids=lambda p: p.stem)
def test_golden_conversions(src: Path, tmp_path: Path) -> None:
    for case in expected(src):
        assert convert_case(src, case, tmp_path) == case


def test_every_code_has_a_golden_case() -> None:
    covered = {p["code"] for path in CASES for p in expected(path)["problems"]}
    for src in CONVERSIONS:
        for case in expected(src):
            covered |= {code for _, _, code, _ in case["rejects"]} | set(case["warnings"])
    assert set(get_args(Code)) == set(CODES)
    assert set(CODES) - covered == set()
