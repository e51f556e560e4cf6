"""CPU accounting of `--workers 2`: where the main process and the worker spend their CPU (user + system).

    python bench/workers_cpu.py validate|convert FILE [TARGET] [--workers N] [--profile DIR]

Prints one JSON line: `wall`, `main` (this process's CPU over the call), `worker` (the worker processes' CPU, from
RUSAGE_CHILDREN once the pool is shut down), `worker_task` (CPU inside the worker's task function: the range
itself), `worker_start` (CPU a worker had used when its task began: fork and pool start-up), `local` (CPU of this
process's own range), `detect` (`open_items`: format detection), and `main_rest` (main - local - detect: pool start,
waiting, pickles, merge, file checks). `--profile DIR`: cProfile of each side (main.prof, worker-PID.prof).
Run in a fresh process per measurement (imports happen before the clock, as in bench/one.py).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

NOTES = Path(tempfile.mkdtemp(prefix="workers-cpu-"))  # the workers write their own timings here


def cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[..., Any], sink: dict[str, float], key: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = cpu()
        try:
            return fn(*args, **kwargs)
        finally:
            sink[key] = sink.get(key, 0.0) + cpu() - t
    return wrapper


def remote(fn: Callable[..., Any], profile: str | None) -> Callable[..., Any]:
    """The worker's task, timed (and profiled) inside the worker; the notes go to a file (the result stays as is)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = cpu()
        prof = cProfile.Profile() if profile else None
        if prof:
            prof.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            if prof:
                prof.disable()
                prof.dump_stats(f"{profile}/worker-{os.getpid()}.prof")
            (NOTES / f"{os.getpid()}.json").write_text(json.dumps({"start": start, "task": cpu() - start}))
    return wrapper


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("tool", choices=("validate", "convert"))
    p.add_argument("file")
    p.add_argument("target", nargs="?", default="sharegpt")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--profile", default=None)
    p.add_argument("--lead", type=float, default=None, help="this process's share against a worker's")
    a = p.parse_args()
    import ftdata.engine.lanes as lanes
    import ftdata.ops.convert as oc
    import ftdata.ops.validate as ov
    from ftdata import validate_file

    path, sink = Path(a.file), dict[str, float]()
    if a.lead is not None:
        ov.LEAD = oc.LEAD = a.lead
    ov.open_items = timed(ov.open_items, sink, "detect")
    oc.open_items = timed(oc.open_items, sink, "detect")
    if hasattr(ov, "first_use"):
        ov.first_use = oc.first_use = timed(ov.first_use, sink, "warm")
    ov.scan_range = timed(lanes.scan_range, sink, "local")  # this process's range (and the one-process run)
    oc.convert_range = timed(oc.convert_range, sink, "local")
    if hasattr(ov, "_scan_remote"):
        ov._scan_remote = remote(ov._scan_remote, a.profile)
    if hasattr(oc, "_convert_remote"):
        oc._convert_remote = remote(oc._convert_remote, a.profile)
    out = Path(tempfile.mkdtemp()) / "out.jsonl"
    run = {"validate": lambda: validate_file(path, workers=a.workers),
           "convert": lambda: oc.convert_files([path], a.target, out, dataset_info=False, workers=a.workers)}[a.tool]
    prof = cProfile.Profile() if a.profile else None
    me, kids, t = cpu(), cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    if prof:
        prof.enable()
    run()
    if prof:
        prof.disable()
        prof.dump_stats(f"{a.profile}/main.prof")
    wall, me, kids = time.perf_counter() - t, cpu() - me, cpu(resource.RUSAGE_CHILDREN) - kids
    notes = [json.loads(f.read_text()) for f in NOTES.glob("*.json")]
    local, detect, warm = sink.get("local", 0.0), sink.get("detect", 0.0), sink.get("warm", 0.0)
    print(json.dumps({"wall": round(wall, 3), "main": round(me, 3), "worker": round(kids, 3),
                      "worker_task": round(sum(n["task"] for n in notes), 3),
                      "worker_start": round(sum(n["start"] for n in notes), 3), "local": round(local, 3),
                      "detect": round(detect, 3), "warm": round(warm, 3),
                      "main_rest": round(me - local - detect - warm, 3),
                      "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
