"""The layout the README's developer section describes: layers that import only downward, no import circle
(imports inside functions included), and lazy package __init__ files."""

import ast
from pathlib import Path

from conftest import ROOT

SRC = ROOT / "src"

# Bottom to top; a module may import modules of its own layer or below, never above. Same-layer imports are allowed
# but may not form a circle (checked separately). The README's developer section lists the same layers.
LAYERS = [
    ["ftdata.problems", "ftdata.canonical", "ftdata.jsonarray", "ftdata.sink", "ftdata.staging", "fttrain.spec",
     "ftdata.similarity", "ftdata.minhash"],
    ["ftdata.rules", "ftdata.io", "ftdata.media", "ftdata.tokens", "ftdata.textkeys", "ftdata.dedup_index",
     "fttrain.checks"],
    ["ftdata.formats.light", "ftdata.formats.write"],
    ["ftdata.formats.base"],
    ["ftdata.formats.alpaca", "ftdata.formats.canonical", "ftdata.formats.firefly", "ftdata.formats.llamafactory_v1",
     "ftdata.formats.moss",
     "ftdata.formats.openai", "ftdata.formats.sharegpt", "ftdata.formats.text", "ftdata.formats.trl"],
    ["ftdata.formats"],
    ["ftdata.reports", "ftdata.dataset_info", "ftdata.schemas", "ftdata.parallel", "ftdata.filechecks", "ftdata.fixes"],
    ["ftdata.engine", "ftdata.stats", "ftdata.dataset_info_writer"],
    ["ftdata.validation", "ftdata.batch", "ftdata.v1_descriptor", "ftdata.shards"],
    ["ftdata.convert", "ftdata.dedup", "ftdata.fix", "ftdata.descriptors", "ftdata.distributed"],
    ["ftdata.api"],
    ["ftdata.render"],
    ["ftdata.cli", "ftdata", "fttrain.template", "fttrain.lengths"],
    ["fttrain.model", "fttrain.data"],
    ["fttrain.trainers", "fttrain.inspection"],
    ["fttrain.run"],
    ["fttrain.cli", "fttrain"],
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path) -> set[str]:
    """Our modules that `path` imports anywhere (functions included), except under `if TYPE_CHECKING:`."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in MODULES else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in MODULES}


GRAPH = {name: imports(path) - {name} for name, path in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    placed = [m for layer in LAYERS for m in layer]
    assert len(placed) == len(set(placed))
    assert set(placed) == set(MODULES), "add new modules to LAYERS (and to the README's developer section)"


def test_layers_import_only_downward() -> None:
    level = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    upward = [(m, d) for m, deps in GRAPH.items() for d in deps if level[d] > level[m]]
    assert upward == []


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_no_import_circle() -> None:
    assert circles(GRAPH) == []


def test_the_checks_see_imports_inside_functions_and_circles(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import os\nif TYPE_CHECKING:\n    from ftdata.canonical import Record\n"
                 "def g():\n    from ftdata.api import validate\n    from ftdata import formats\n")
    assert imports(f) == {"ftdata.api", "ftdata.formats"}
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_packages_import_nothing_of_their_own_eagerly() -> None:
    """`import ftdata.problems` must not load the engine: ftdata/__init__ and fttrain/__init__ are lazy."""
    assert GRAPH["ftdata"] == set() and GRAPH["fttrain"] == set()


def test_the_library_needs_neither_typer_nor_rich() -> None:
    import subprocess
    import sys

    code = ("import sys, ftdata.api, ftdata.convert, ftdata.stats, ftdata.batch, ftdata.shards\n"
            "heavy = ('typer', 'rich', 'torch', 'transformers', 'ray')\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
