"""Every console example in the README runs as typed and prints what the README shows (see tests/console.py), and
every link from the README into the docs names a page that is there."""

import re
from pathlib import Path

import pytest
from console import ROOT, console_scripts, examples, outside, run_example, trains

README = (ROOT / "README.md").read_text()
EXAMPLES = examples(README)


def test_the_readme_has_console_examples() -> None:
    assert len(EXAMPLES) >= 3


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= 200, "the README is the front page; the reference lives in docs/"


def test_the_readme_links_into_the_docs() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", README)
    assert len(links) >= 5
    assert [link for link in links if not (ROOT / link).is_file()] == []



def test_examples_name_no_path_outside_their_folder() -> None:
    """They run as typed in a scratch folder (and from a checkout's root): no /tmp, no home, no `..`."""
    assert [(block.splitlines()[0], outside(block)) for block in EXAMPLES if outside(block)] == []

@pytest.mark.parametrize("block", [pytest.param(b, id=b.splitlines()[0][2:40], marks=[pytest.mark.slow] * trains(b))
                                   for b in EXAMPLES])
def test_readme_example_runs_as_typed(block: str, tmp_path: Path) -> None:
    scripts = console_scripts()
    if scripts is None:
        pytest.skip("console scripts not installed in this environment")
    run_example(block, tmp_path, scripts)
