"""Walk the format registry: every format has what the README's new-format checklist asks for, and the README's
tables list every format, every convert target, every problem code and every fttrain option."""

import re

import pytest
from conftest import DATA, ROOT

from ftdata.formats import FORMATS, REGISTRY, TARGETS, accepts, match

README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The README text under a heading, up to the next heading of the same or a higher level (code blocks skipped)."""
    lines, out, level, fenced = README.splitlines(), [], 0, False
    for line in lines:
        fenced ^= line.startswith("```")
        heading = not fenced and re.match(r"(#+) (.*)", line)
        if level:
            if heading and len(heading.group(1)) <= level:
                break
            out.append(line)
        elif heading and heading.group(2) == title:
            level = len(heading.group(1))
    assert level, f"no README heading {title!r}"
    return "\n".join(out)


@pytest.mark.parametrize("fmt", REGISTRY, ids=lambda f: f.name)
def test_format_checklist(fmt) -> None:
    assert (ROOT / "schemas" / f"{fmt.name}.schema.json").is_file(), "run: ftdata schema export schemas"
    assert sorted((DATA / fmt.name / "valid").glob("*.jsonl")), "add tests/data/<format>/valid/ golden files"
    assert sorted((DATA / fmt.name / "invalid").glob("*.jsonl")), "add tests/data/<format>/invalid/ golden files"
    assert re.search(rf"^\| {fmt.name} \|", section("Formats"), re.M), "add a row to the README's Formats table"
    assert fmt.shapes and fmt.rows and fmt.summary
    assert match(fmt.example) is fmt and accepts(fmt, fmt.example), "its example must be detected as itself"
    if fmt.fast is not None:
        assert fmt.light is not None, "a fast check needs a light builder"
    for target in fmt.as_is:
        assert FORMATS[target].light_writer is not None, f"as-is copies to {target} need its light writer"


def test_every_target_has_a_column_in_the_feature_matrix() -> None:
    header = next(line for line in section("Format x feature matrix (what `convert --to` can carry)").splitlines()
                  if line.startswith("| feature"))
    assert sorted(c.strip() for c in header.strip("|").split("|")[1:]) == sorted(TARGETS)


@pytest.mark.parametrize("name", ["formats", "matrix", "options", "convert-usage"])
def test_readme_tables_are_generated_from_the_code(name: str) -> None:
    """The Formats table and the feature matrix come from the Format declarations, the option table from
    fttrain's spec: regenerate them with `python scripts/update_readme.py`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.replaced(README, name, module.sections()[name]) == README, "run: python scripts/update_readme.py"
