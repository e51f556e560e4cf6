"""What other code needs to know about a format lives in its `Format` declaration: no module outside
src/ftdata/formats branches on a format's name (fix's text fields, descriptor entries, round trips and the README's
tables all read the declarations)."""

import ast
import re
from pathlib import Path

from conftest import ROOT

from ftdata.formats import FORMATS

SRC = ROOT / "src"
NAMES = set(FORMATS)
# Words that name a descriptor's own vocabulary, which happens to share words with our format names: LLaMA-Factory's
# `formatting` values (alpaca, sharegpt, openai) and the descriptor kinds (trl, llamafactory-v1), axolotl's types.
DESCRIPTOR_VOCABULARY = ("formatting", "kind", "converter", "kind_type", "how")
# what names a format in the compared expression: `fmt.name`, `target`, `source`, `rows` (a file's format name)
FORMAT_WORDS = re.compile(r"\b(name|fmt|target|source|rows|format)\b")


def _names(node: ast.AST) -> set[str]:
    """String constants of a format's name in an expression (a literal, or a tuple / list / set of them)."""
    if isinstance(node, ast.Constant) and node.value in NAMES:
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_names(e) for e in node.elts)) if node.elts else set()
    return set()


def branches(path: Path) -> list[str]:
    """`fmt.name == "moss"`, `target in ("openai", "trl")`, `{"alpaca": ..., "firefly": ...}.get(fmt.name)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = set().union(*(_names(s) for s in sides))
            others = " ".join(ast.unparse(s) for s in sides if not _names(s))
            if named and FORMAT_WORDS.search(others) and not any(w in others for w in DESCRIPTOR_VOCABULARY):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Dict) and len({k.value for k in node.keys if isinstance(k, ast.Constant)} & NAMES) > 1:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: a table keyed by format names")
    return found


def test_no_module_outside_formats_branches_on_a_format_name() -> None:
    outside = [p for p in sorted((SRC / "ftdata").rglob("*.py")) if "formats" not in p.relative_to(SRC).parts]
    outside += sorted((SRC / "fttrain").rglob("*.py"))
    assert [b for p in outside for b in branches(p)] == []


def test_the_check_sees_branches(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text('if fmt.name == "moss": pass\nx = target in ("openai", "trl")\ny = {"alpaca": 1, "firefly": 2}\n'
                 'if entry.formatting == "alpaca": pass\n')
    assert [b.split(": ", 1)[1] for b in _branches_here(f)] == [
        "fmt.name == 'moss'", "target in ('openai', 'trl')", "a table keyed by format names"]


def _branches_here(f: Path) -> list[str]:
    """`branches` for a file outside the repository (paths relative to its folder)."""
    global ROOT
    saved, ROOT = ROOT, f.parent
    try:
        return branches(f)
    finally:
        ROOT = saved
