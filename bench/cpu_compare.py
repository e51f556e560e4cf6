"""CPU time of validate / convert of two source trees side by side (a loaded shared machine moves wall clock by
tens of percent; CPU time moves less): each command in a fresh process, the trees alternated, median of --repeat.

    python bench/cpu_compare.py OLD_SRC NEW_SRC [--repeat 5] [--files DIR] [--only KINDS]

DIR holds KIND.jsonl files as `bench/generate.py` writes them (moss_real: the MOSS sample repeated); prints a
markdown table: x floor (floor CPU / command CPU) before and after, and peak RSS of convert.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import TARGETS


def one(tool: str, path: Path, target: str) -> None:
    """In the child: run one command, print its CPU seconds (this process and its workers) and peak RSS."""
    import orjson

    from ftdata import validate_file
    from ftdata.ops.convert import convert_files

    scratch = tempfile.TemporaryDirectory()  # the output, removed when this process ends (a run writes hundreds)
    out = Path(scratch.name) / "out.jsonl"

    def floor() -> None:
        with path.open("rb") as f:
            for line in f:
                orjson.loads(line)

    run = {"floor": floor, "validate": lambda: validate_file(path),
           "convert": lambda: convert_files([path], target, out, dataset_info=False)}[tool]
    me, kids, t = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
    run()
    me2, kids2 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(b - a for a, b in ((me.ru_utime, me2.ru_utime), (me.ru_stime, me2.ru_stime),
                                 (kids.ru_utime, kids2.ru_utime), (kids.ru_stime, kids2.ru_stime)))
    print(json.dumps({"cpu": cpu, "wall": time.time() - t, "rss_mb": me2.ru_maxrss / 1024}))


def measure(src: str, tool: str, path: Path, target: str) -> dict:
    trees = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH", "")]))  # the tree first, then the rest
    env = {**os.environ, "PYTHONPATH": trees, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, __file__, "--one", tool, str(path), target], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--files", default=".")
    p.add_argument("--only", default="")
    a = p.parse_args()
    only = set(filter(None, a.only.split(",")))
    print("| file | MB | convert to | validate before | validate after | convert before | convert after | "
          "peak RSS MB (convert) before / after |\n|---|---|---|---|---|---|---|---|")
    for kind, target in TARGETS.items():
        path = Path(a.files) / f"{kind}.jsonl"
        if (only and kind not in only) or not path.exists():
            continue
        runs: dict[tuple[str, str], list[dict]] = {}
        for _ in range(a.repeat):
            for side, src in (("old", a.old), ("new", a.new)):
                for tool in ("floor", "validate", "convert"):
                    runs.setdefault((side, tool), []).append(measure(src, tool, path, target))
        cpu = {k: statistics.median(r["cpu"] for r in v) for k, v in runs.items()}
        floor = statistics.median([cpu["old", "floor"], cpu["new", "floor"]])
        cells = [f"{floor / cpu[side, tool]:.2f}" for tool in ("validate", "convert") for side in ("old", "new")]
        rss = [f"{max(r['rss_mb'] for r in runs[side, 'convert']):.0f}" for side in ("old", "new")]
        print(f"| {kind} | {path.stat().st_size / 1e6:.1f} | {target} | {' | '.join(cells)} | {' / '.join(rss)} |",
              flush=True)
    print(f"\nload average {os.getloadavg()}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
    else:
        main()
