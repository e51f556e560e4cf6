"""The docs site (docs/, mkdocs.yml): it builds with --strict (no broken link or anchor, every page in the nav),
every console example in its pages runs as typed and prints what the page shows (tests/console.py), and the tables
that live in the code (formats, feature matrix, convert's usage line, fttrain's options, problem codes) are the
code's: regenerate them with `python scripts/update_docs.py`."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from console import ROOT, console_scripts, examples, run_example

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
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=600)
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


def test_every_command_has_a_page_that_shows_it() -> None:
    from ftdata.cli import app
    from test_cli import commands

    text = "\n".join(page.read_text() for page in PAGES)
    for path in commands(app):
        assert f"ftdata {' '.join(path)}" in text, path
    for stage in ("sft", "dpo", "kto", "inspect", "prepare", "cache"):
        assert f"fttrain {stage}" in text, stage


@pytest.mark.parametrize(("page", "block"), EXAMPLES,
                         ids=[f"{p.relative_to(DOCS)}:{b.splitlines()[0][2:40]}" for p, b in EXAMPLES])
def test_docs_example_runs_as_typed(page: Path, block: str, tmp_path: Path) -> None:
    scripts = console_scripts()
    if scripts is None:
        pytest.skip("console scripts not installed in this environment")
    run_example(block, tmp_path, scripts)
