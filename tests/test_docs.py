"""The docs site (docs/, mkdocs.yml): it builds with --strict (no broken link or anchor, every page in the nav),
every console example in its pages runs as typed and prints what the page shows (tests/console.py), and the tables
that live in the code (formats, feature matrix, convert's usage line, fttrain's options, problem codes) are the
code's: regenerate them with `python scripts/update_docs.py`."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from console import ROOT, console_scripts, examples, outside, run_example, trains

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
EXAMPLES = [(page, block) for page in PAGES for block in examples(page.read_text())]


def update_docs():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("update_docs", ROOT / "scripts" / "update_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_builds_strict(tmp_path: Path) -> None:
    """No broken link or anchor, no page left out of the nav, the API page's docstrings all read."""
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "index.html").read_text().count("ftdata.api.validate") >= 1


def test_the_docs_have_console_examples() -> None:
    assert len(EXAMPLES) >= 15
    assert {page.name for page, _ in EXAMPLES} >= {"validate.md", "convert.md", "training.md", "inspect.md"}


@pytest.mark.parametrize("name", ["formats", "matrix", "options", "convert-usage", "codes"])
def test_docs_tables_are_generated_from_the_code(name: str) -> None:
    module = update_docs()
    text = (DOCS / module.PAGES[name]).read_text()
    assert module.replaced(text, name, module.sections()[name]) == text, "run: python scripts/update_docs.py"


def test_no_bare_tags_in_prose() -> None:
    """`<image>` or `<think>` outside a code span is read as an HTML tag and vanishes from the page."""
    found = []
    for page in [*PAGES, ROOT / "README.md"]:
        fenced = False
        for number, line in enumerate(page.read_text().splitlines(), 1):
            fenced ^= line.startswith("```")
            prose = re.sub(r"<!--.*?-->", "", re.sub(r"`[^`]*`", "", line))
            if not fenced and not line.startswith("```") and re.search(r"<[A-Za-z/]", prose):
                found.append(f"{page.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert found == [], "put them in backticks or write &lt;"


def test_every_fttrain_command_has_a_page_that_shows_it() -> None:
    """(ftdata's commands: tests/test_cli.py checks each has help with an example and a mention here.)"""
    text = "\n".join(page.read_text() for page in PAGES)
    for command in ("sft", "dpo", "kto", "inspect", "prepare", "cache"):
        assert f"fttrain {command}" in text, command


def test_every_problem_code_is_explained() -> None:
    from ftdata.core.problems import CODES

    details = (DOCS / "problem-codes.md").read_text().split("## In detail", 1)[1]
    assert [code for code in CODES if f"`{code}`" not in details] == []



def test_examples_name_no_path_outside_their_folder() -> None:
    """They run as typed in a scratch folder (and from a checkout's root): no /tmp, no home, no `..`."""
    assert [(block.splitlines()[0], outside(block)) for block in [b for _, b in EXAMPLES] if outside(block)] == []

@pytest.mark.parametrize(("page", "block"), [
    pytest.param(p, b, id=f"{p.relative_to(DOCS)}:{b.splitlines()[0][2:40]}", marks=[pytest.mark.slow] * trains(b))
    for p, b in EXAMPLES])
def test_docs_example_runs_as_typed(page: Path, block: str, tmp_path: Path) -> None:
    scripts = console_scripts()
    if scripts is None:
        pytest.skip("console scripts not installed in this environment")
    run_example(block, tmp_path, scripts)
