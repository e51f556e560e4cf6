"""Where validate's and convert's CPU time goes on rows with media: decoding the distinct files (fixed per file) vs
the per-row work, for two source trees side by side (each command in a fresh process, trees alternated, median of
--repeat), with two floors: read + orjson.loads, and that plus Pillow's open + load of each distinct image once.

    python bench/media_split.py OLD_SRC NEW_SRC FILE [--repeat 5] [--target openai]

FILE: a `bench/generate.py multimodal` file (its media folder beside it). Decode time is the CPU spent inside
`ftdata.io.decode.probe_image` (and `probe_sound`) in that process; per-row = the rest.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def floor(path: Path) -> set[str]:
    """Read + orjson.loads every line; the distinct image refs the rows name."""
    import orjson

    refs: set[str] = set()
    with path.open("rb") as f:
        for line in f:
            row = orjson.loads(line)
            if isinstance(row, dict) and isinstance(row.get("images"), list):
                refs.update(r for r in row["images"] if isinstance(r, str))
    return refs


def floor_decode(path: Path) -> None:
    """The floor, and Pillow's open + load of each distinct image file once (what a loader does, once)."""
    from PIL import Image

    for ref in sorted(floor(path)):
        try:
            with Image.open(path.parent / ref) as im:
                im.load()
        except OSError:
            pass  # missing or broken: nothing to decode


def one(tool: str, path: Path, target: str) -> None:
    """In the child: run one command; print its CPU seconds, the CPU seconds spent decoding, peak RSS."""
    spent = [0.0]
    if tool in ("validate", "convert"):
        from ftdata.io import decode

        def timed(f: Callable[..., Any]) -> Callable[..., Any]:
            def run(*a: Any) -> Any:
                t = cpu()
                try:
                    return f(*a)
                finally:
                    spent[0] += cpu() - t
            return run

        decode.probe_image = timed(decode.probe_image)  # type: ignore[method-assign]
        decode.probe_sound = timed(decode.probe_sound)  # type: ignore[method-assign]
        import PIL.Image  # imports are not the command's work (the floors import theirs before the clock too)
    else:
        import orjson  # noqa: F401
        import PIL.Image  # noqa: F401
    from ftdata import validate_file
    from ftdata.ops.convert import convert_files

    scratch = tempfile.TemporaryDirectory()  # the output, removed when this process ends (a run writes hundreds)
    out = Path(scratch.name) / "out.jsonl"
    run = {"floor": lambda: floor(path), "floor_decode": lambda: floor_decode(path),
           "validate": lambda: validate_file(path),
           "convert": lambda: convert_files([path], target, out, dataset_info=False)}[tool]
    t, w = cpu(), time.time()
    run()
    print(json.dumps({"cpu": cpu() - t, "decode": spent[0], "wall": time.time() - w,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(src: str, tool: str, path: Path, target: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, __file__, "--one", tool, str(path), target], env=env, capture_output=True,
                          text=True, check=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("file")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--target", default="openai")
    a = p.parse_args()
    path = Path(a.file).resolve()
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(a.repeat):
        for side, src in (("old", a.old), ("new", a.new)):
            for tool in ("floor", "floor_decode", "validate", "convert"):
                runs.setdefault((side, tool), []).append(measure(src, tool, path, a.target))
        loads.append(os.getloadavg()[0])
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("cpu", "decode", "rss_mb")} for k, v in runs.items()}
    fl = statistics.median([med["old", "floor"]["cpu"], med["new", "floor"]["cpu"]])
    fd = statistics.median([med["old", "floor_decode"]["cpu"], med["new", "floor_decode"]["cpu"]])
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB; CPU s, median of {a.repeat}; floor {fl:.3f} s, "
          f"floor + Pillow open+load of each distinct image {fd:.3f} s (decoding {fd - fl:.3f} s)\n")
    print("| command | tree | CPU s | decoding s | per-row s | x floor | x floor with decoding | per-row x floor |"
          "\n|---|---|---|---|---|---|---|---|")
    for tool in ("validate", "convert"):
        for side in ("old", "new"):
            m = med[side, tool]
            rows = m["cpu"] - m["decode"]
            print(f"| {tool} | {side} | {m['cpu']:.3f} | {m['decode']:.3f} | {rows:.3f} | {fl / m['cpu']:.2f} | "
                  f"{fd / m['cpu']:.2f} | {fl / rows:.2f} |")
    print(f"\nload average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
    else:
        main()
