"""Golden cases: tests/data/<format>/{valid,invalid}/; each invalid case lists its expected [line, path, code]."""

import json
from pathlib import Path

import pytest

from conftest import DATA
from ftdata import validate_file

INVALID = sorted(DATA.glob("*/invalid/*.jsonl"))
VALID = sorted(DATA.glob("*/valid/*.jsonl"))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_invalid_case_reports_exact_problems(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text())
    report = validate_file(path)
    assert report.error is None
    assert report.format == expected["format"]
    got = [[p.line, p.path, p.code] for p in report.problems if p.severity == "error"]
    assert got == expected["errors"]
    assert report.invalid == len({line for line, _, _ in expected["errors"]})
    assert all(p.message for p in report.problems)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.parent.parent.name)
def test_valid_case_has_no_errors(path: Path) -> None:
    report = validate_file(path)
    assert report.format == path.parent.parent.name
    assert [p for p in report.problems if p.severity == "error"] == []
    assert report.valid == report.records > 0


def test_every_error_code_has_a_golden_case() -> None:
    from ftdata.problems import CODES

    covered = {code for f in DATA.glob("*/invalid/*.expected.json") for _, _, code in json.loads(f.read_text())["errors"]}
    warnings_only = {"odd_placeholder", "odd_commands", "double_encoded"}
    assert set(CODES) - warnings_only - covered == set()
