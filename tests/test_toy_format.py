"""A new format takes one module + one registry line + its golden cases (and the two generators the checklist
names): a toy `dolly` format (tests/toy/dolly.py) added to a copy of the project gets validate, convert, fix, dedup,
round trips, its schema and its rows in the docs' tables, and touches nothing else."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

COPIED = ("src", "tests", "scripts", "schemas", "fixtures", "docs", "README.md", "mkdocs.yml", "pyproject.toml")
ROWS = [{"instruction": "Name a colour.", "context": "", "response": "  Blue. ", "category": "open_qa"},
        {"instruction": "Summarise", "context": "The sky is blue.", "response": "Blue sky."},
        {"instruction": "Name a colour.", "context": "", "response": "  Blue. ", "category": "open_qa"}]


def run(proj: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(proj / "src"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=proj, env=env, capture_output=True, text=True, timeout=600)


def snapshot(proj: Path) -> dict[str, bytes]:
    return {str(p.relative_to(proj)): p.read_bytes() for p in sorted(proj.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts}


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with dolly added as the checklist says; returns the copy's root."""
    proj = tmp_path_factory.mktemp("toy") / "ftdata"
    for name in COPIED:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(
            ROOT / name, proj / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / name).is_dir() else {}))
    before = snapshot(proj)
    shutil.copy(ROOT / "tests" / "toy" / "dolly.py", proj / "src/ftdata/formats/dolly.py")  # 1. the module
    registry = proj / "src/ftdata/formats/__init__.py"  # 2. one registry line
    registry.write_text(registry.read_text().replace('    "text",\n)', '    "text",\n    "dolly",\n)'))
    for kind, rows in (("valid", ROWS[:2]), ("invalid", [{"instruction": "x", "response": 3}])):  # 3. goldens
        (proj / f"tests/data/dolly/{kind}").mkdir(parents=True)
        (proj / f"tests/data/dolly/{kind}/basic.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for step in (["scripts/update_goldens.py"], ["-m", "ftdata.cli", "schema", "export", "schemas"],
                 ["scripts/update_docs.py"]):  # 4. the generators
        done = run(proj, *step)
        assert done.returncode == 0, done.stderr
    after = snapshot(proj)
    proj.joinpath("touched.json").write_text(json.dumps(sorted(k for k in after if before.get(k) != after[k])))
    return proj


def test_adding_it_touches_only_its_module_its_registry_line_and_generated_files(proj: Path) -> None:
    touched = json.loads((proj / "touched.json").read_text())
    assert touched == ["docs/commands/convert.md", "docs/formats.md", "schemas/dolly.schema.json",
                       "src/ftdata/formats/__init__.py", "src/ftdata/formats/dolly.py",
                       "tests/data/dolly/invalid/basic.expected.json", "tests/data/dolly/invalid/basic.jsonl",
                       "tests/data/dolly/valid/basic.expected.json", "tests/data/dolly/valid/basic.jsonl"]
    assert "| dolly | `instruction`, `context`, `response`, `category` | - |" in (proj / "docs/formats.md").read_text()
    convert = (proj / "docs/commands/convert.md").read_text()
    assert "| feature | sharegpt | alpaca | trl | canonical | llamafactory-v1 | openai | text | dolly |" in convert
    assert "--to sharegpt|alpaca|trl|canonical|llamafactory-v1|openai|text|dolly " in convert


def test_the_project_suite_holds_with_it(proj: Path) -> None:
    done = run(proj, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_registry.py", "tests/test_goldens.py",
               "tests/test_roundtrip.py", "tests/test_declarations.py", "tests/test_layout.py",
               "tests/test_schemas.py", "tests/test_docs.py", "-k",
               "dolly or generated or layout or declarations or schema or usage")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "dolly" in run(proj, "-m", "pytest", "-q", "--co", "tests/test_roundtrip.py").stdout


def test_the_commands_work_on_it(proj: Path, tmp_path: Path) -> None:
    src = tmp_path / "dolly.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    assert run(proj, "-m", "ftdata.cli", "validate", str(src)).returncode == 0
    done = run(proj, "-m", "ftdata.cli", "convert", str(src), "--to", "sharegpt", "-o", str(tmp_path / "sg.jsonl"))
    assert done.returncode == 0 and "records: 3  written: 3  rejected: 0" in done.stdout, done.stdout + done.stderr
    back = run(proj, "-m", "ftdata.cli", "convert", str(tmp_path / "sg.jsonl"), "--to", "dolly", "-o",
               str(tmp_path / "back.jsonl"), "--no-dataset-info")
    assert back.returncode == 0, back.stdout + back.stderr
    assert json.loads((tmp_path / "back.jsonl").read_text().splitlines()[1])["instruction"] == \
        "Summarise\nThe sky is blue."
    fixed = run(proj, "-m", "ftdata.cli", "fix", str(src), "-o", str(tmp_path / "fixed.jsonl"))
    assert fixed.returncode == 0 and "whitespace 2" in fixed.stdout, fixed.stdout + fixed.stderr
    assert json.loads((tmp_path / "fixed.jsonl").read_text().splitlines()[0])["response"] == "Blue."
    deduped = run(proj, "-m", "ftdata.cli", "dedup", str(src), "-o", str(tmp_path / "dedup.jsonl"))
    assert deduped.returncode == 0 and "kept: 2  removed: 1 (exact 1)" in deduped.stdout, deduped.stdout
