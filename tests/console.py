"""Console examples in Markdown, run as typed: the machinery README.md's test and the docs' test share.

An example is a fenced block with no language whose first line starts with `$ `: commands (`$ ...`), each followed
by the output it prints, compared line for line (trailing spaces aside), a `...` line standing for any number of
lines and `...` inside a line for any text. The commands of a block run in turn, through bash (pipes work), in a
fresh folder that holds copies of `fixtures/`, `tests/data/` and `tests/train/` and an empty `out/`: examples read
the bundled data by the paths a checkout has and write under `out/`, and nothing they write reaches the checkout.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("fixtures", "tests/data", "tests/train", "src/fttrain/assets")  # what examples read, by the paths a checkout has
BLOCK = re.compile(r"^```\n(\$ .*?)^```", re.DOTALL | re.MULTILINE)


def examples(text: str) -> list[str]:
    """The console examples of a Markdown text (blocks starting with `$ `)."""
    return [m.group(1) for m in BLOCK.finditer(text)]


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


def trains(block: str) -> bool:
    """Does a block train a model (a `fttrain sft|dpo|kto` without --dry-run)? Those run as `slow` tests."""
    return any(re.match(r"fttrain (sft|dpo|kto) ", command) and "--dry-run" not in command
               for command, _ in steps(block))


def outside(block: str) -> list[str]:
    """The paths a block's commands name outside their folder (absolute, `~`, `..`): an example must not need them."""
    words = [word for command, _ in steps(block) for word in shlex.split(command, comments=True)]
    return [word for word in words if word != "/dev/null"
            and (word.startswith(("/", "~")) or ".." in Path(word.split("=")[-1]).parts)]


def steps(block: str) -> list[tuple[str, list[str]]]:
    """A block's commands, each with the output shown for it."""
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            out[-1][1].append(line.rstrip())
    return out


def workspace(tmp: Path) -> Path:
    """A folder laid out as a checkout's root for the examples: copies of what they read, and `out/`."""
    for name in COPIED:
        shutil.copytree(ROOT / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__", ".fttrain-cache"))
    (tmp / "out").mkdir()
    return tmp


def console_scripts() -> Path | None:
    """The folder holding the `ftdata` and `fttrain` commands of this Python, or None when they are not installed."""
    folder = Path(sys.executable).parent
    return folder if (folder / "ftdata").exists() and (folder / "fttrain").exists() else None


def run_example(block: str, tmp: Path, scripts: Path) -> None:
    """Run a block's commands in a fresh workspace under `tmp`; fail on the first output that differs."""
    cwd = workspace(tmp)
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "HF_HUB_OFFLINE": "1",
           "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}", "FTTRAIN_CACHE_DIR": str(tmp / ".cache")}
    src = ROOT / "src"  # this checkout's code first, as the suite runs it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))
    for command, expected in steps(block):
        proc = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, timeout=300,
                              check=False)
        got = [line.rstrip() for line in (proc.stdout + proc.stderr).splitlines()]
        assert matches(expected, got), "\n".join(["$ " + command, "expected:", *expected, "", "got:", *got])
