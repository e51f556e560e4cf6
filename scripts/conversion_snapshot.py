"""Record what ftdata does to every fixture and golden file, so that a refactor can be compared byte for byte.

Converts each file to every target (outputs, rejects, summaries, dataset_info.json) and validates it (text and
JSON reports), into DIR. Run before and after a change, then `diff -r BEFORE AFTER`.

Usage: python scripts/conversion_snapshot.py DIR [SHARED_DATA_DIR]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from typer.testing import CliRunner

from ftdata.cli import app
from ftdata.formats import TARGETS

ROOT = Path(__file__).resolve().parent.parent


def sources(shared: Path | None) -> list[tuple[str, Path, str | None]]:
    """(label, path, --from) for every golden and fixture data file (and the shared samples when given)."""
    out: list[tuple[str, Path, str | None]] = []
    for path in sorted((ROOT / "tests" / "data").glob("*/*/*.jsonl")):
        out.append((f"golden-{path.parts[-3]}-{path.parent.name}-{path.stem}", path, path.parts[-3]))
    for path in sorted((ROOT / "fixtures" / "data").rglob("*.json*")):
        out.append((f"fixture-{path.parent.name}-{path.stem}", path, None))
    if shared is not None:
        for path in sorted(shared.rglob("*.json*")):
            if path.name != "dataset_info.json" and "v1_" not in path.name:
                out.append((f"shared-{path.parent.name}-{path.stem}", path, None))
    return out


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    shared = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else None
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    runner = CliRunner()
    for label, path, fmt in sources(shared):
        folder = out / label
        folder.mkdir()
        args = ["validate", str(path), "--workers", "1", "--max-errors", "1000"] + (["--format", fmt] if fmt else [])
        for extra, name in (([], "validate.txt"), (["--json"], "validate.json")):
            result = runner.invoke(app, args + extra)
            (folder / name).write_text(f"exit {result.exit_code}\n{result.output}".replace(str(ROOT), "ROOT"))
        for target in TARGETS:
            dest = folder / target
            dest.mkdir()
            result = runner.invoke(app, ["convert", str(path), "--to", target, "-o", str(dest / "out.jsonl"),
                                         "--workers", "1", "--name", "x"] + (["--from", fmt] if fmt else []))
            text = f"exit {result.exit_code}\n{result.output}".replace(str(out), "OUT").replace(str(ROOT), "ROOT")
            (dest / "summary.txt").write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
