"""Walk the format registry: every format has what the new-format checklist (docs/developing.md) asks for, and the
docs' Formats table and feature matrix list every format and every convert target (tests/test_docs.py holds the
generated tables to the code)."""

import re

import pytest
from conftest import DATA, ROOT

from ftdata.formats import FORMATS, REGISTRY, TARGETS, accepts, match

DOCS = ROOT / "docs"


def section(page: str, title: str) -> str:
    """A docs page's text under a heading, up to the next heading of the same or a higher level (code blocks
    skipped)."""
    lines, out, level, fenced = (DOCS / page).read_text().splitlines(), [], 0, False
    for line in lines:
        fenced ^= line.startswith("```")
        heading = not fenced and re.match(r"(#+) (.*)", line)
        if level:
            if heading and len(heading.group(1)) <= level:
                break
            out.append(line)
        elif heading and heading.group(2) == title:
            level = len(heading.group(1))
    assert level, f"no heading {title!r} in docs/{page}"
    return "\n".join(out)


@pytest.mark.parametrize("fmt", REGISTRY, ids=lambda f: f.name)
def test_format_checklist(fmt) -> None:
    assert (ROOT / "schemas" / f"{fmt.name}.schema.json").is_file(), "run: ftdata schema export schemas"
    assert sorted((DATA / fmt.name / "valid").glob("*.jsonl")), "add tests/data/<format>/valid/ golden files"
    assert sorted((DATA / fmt.name / "invalid").glob("*.jsonl")), "add tests/data/<format>/invalid/ golden files"
    assert re.search(rf"^\| {fmt.name} \|", section("formats.md", "Formats"), re.M), \
        "run: python scripts/update_docs.py (the Formats table)"
    assert fmt.shapes and fmt.rows and fmt.summary
    assert match(fmt.example) is fmt and accepts(fmt, fmt.example), "its example must be detected as itself"
    if fmt.fast is not None:
        assert fmt.light is not None, "a fast check needs a light builder"
    for target in fmt.as_is:
        assert FORMATS[target].light_writer is not None, f"as-is copies to {target} need its light writer"


def test_every_target_has_a_column_in_the_feature_matrix() -> None:
    matrix = section("commands/convert.md", "Format x feature matrix (what `convert --to` can carry)")
    header = next(line for line in matrix.splitlines() if line.startswith("| feature"))
    assert sorted(c.strip() for c in header.strip("|").split("|")[1:]) == sorted(TARGETS)

