"""Every console example in the README (a fenced block starting with `$ ftdata ...` or `$ fttrain ...`) runs as
typed and prints what the README shows: line for line (trailing spaces aside), a `...` line standing for any number
of lines and `...` inside a line for any text. A block may go on with more `$ ` commands (`$ head -1 out.jsonl`),
run in turn, each followed by its own output. Paths under /tmp/ go to a fresh folder, so examples that write files
can run again."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text()
EXAMPLES = [m.group(1) for m in re.finditer(r"```\n(\$ ft(?:data|train) .*?)```", README, re.S)]


def matches(expected: list[str], got: list[str]) -> bool:
    """`...` in `expected` matches any run of lines (none included)."""
    if not expected:
        return not got
    if expected[0].strip() == "...":
        return any(matches(expected[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and same_line(expected[0], got[0]) and matches(expected[1:], got[1:])


def same_line(expected: str, got: str) -> bool:
    """Equal, where `...` inside a line stands for any text (a machine's own paths)."""
    if "..." not in expected:
        return expected == got
    return re.fullmatch(".*".join(re.escape(part) for part in expected.split("...")), got) is not None


def test_the_readme_has_console_examples() -> None:
    assert len(EXAMPLES) >= 3


def steps(block: str) -> list[tuple[str, list[str]]]:
    """A block's commands, each with the output the README shows for it."""
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line, []))
        else:
            out[-1][1].append(line.rstrip())
    return out


@pytest.mark.parametrize("block", EXAMPLES, ids=lambda b: b.splitlines()[0][2:40])
def test_readme_example_runs_as_typed(block: str, tmp_path: Path) -> None:
    (tmp_path / "ex").mkdir()  # the folder examples write to
    for command, expected in steps(block.replace("/tmp/", f"{tmp_path}/")):
        args = shlex.split(command[2:])
        if args[0] in ("ftdata", "fttrain"):
            exe = Path(sys.executable).with_name(args[0])
            if not exe.exists():
                pytest.skip("console script not installed in this environment")
            args[0] = str(exe)
        env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
        proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
        got = [line.rstrip() for line in (proc.stdout + proc.stderr).splitlines()]
        assert matches(expected, got), "\n".join([command, "expected:", *expected, "", "got:", *got])
