"""`make bench`: fttrain's tokenized cache on generated rows (plain sharegpt, OpenAI tool calls, MOSS plugins).

For each kind: cold preparation (tokens/s) on 1 and 2 workers (and, from CPU time, what 2 workers give on two
free cores: on a shared machine the wall time shows the other users' load), trl's own dataset preparation of the same rows
(SFTTrainer._prepare_dataset: render + tokenize, no per-turn masks), a warm run on unchanged data and a run after
1% of the rows were edited (each as a fraction of the 1-worker cold time). Every timing is one call of
`fttrain.run.prepare` (read, validate, key, tokenize what is missing, write; the tokenizer load included), in one
process after the imports. Results: bench/results/prepare.json and prepare.md.

    python bench/prepare.py [--rows 2000] [--kinds sharegpt,openai_tools,moss_plugins]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FORMATS = {"sharegpt": "plain sharegpt", "openai_tools": "OpenAI tool calls", "moss_plugins": "MOSS plugins"}


def edit_one_percent(path: Path, out: Path) -> int:
    """A copy of `path` with 1% of its rows edited (a word added inside each one's longest text): the count."""
    lines = path.read_bytes().splitlines()
    step = 100
    for i in range(0, len(lines), step):
        row = json.loads(lines[i])
        _longest_edit(row)
        lines[i] = json.dumps(row, ensure_ascii=False).encode()
    out.write_bytes(b"\n".join(lines) + b"\n")
    return len(range(0, len(lines), step))


def _longest_edit(row: Any) -> None:
    found: list[tuple[int, Any, Any]] = []

    def visit(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for k, v in items:
            if isinstance(v, str):
                found.append((len(v), node, k))
            else:
                visit(v)

    visit(row)
    _, node, key = max(found, key=lambda f: f[0])
    text = node[key]
    node[key] = text[:20] + " edited" + text[20:]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the forked workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def timed(path: Path, cache: Path, workers: int) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, the prepared run) of one `prepare`."""
    from fttrain.run import prepare
    from fttrain.spec import RunSpec

    spec = RunSpec(max_length=10**6, cache_dir=str(cache), workers=workers)
    t, cpu = time.perf_counter(), cpu_seconds()
    p = prepare("sft", path, spec)
    return time.perf_counter() - t, cpu_seconds() - cpu, p


def trl_tokens_s(path: Path) -> float:
    """trl's SFTTrainer._prepare_dataset on the same conversations (the bench/one.py measurement)."""
    sys.path.insert(0, str(HERE))
    import one
    from transformers import AutoTokenizer

    from fttrain.data import load_sources
    from fttrain.model import bundled_model
    from fttrain.spec import RunSpec

    records = load_sources(path, RunSpec(), "sft")[0].records
    with tempfile.TemporaryDirectory() as scratch:
        one.SCRATCH = Path(scratch)
        return float(one.trl_prepare(AutoTokenizer.from_pretrained(bundled_model()), records)["tokens_s"])


def measure(fmt: str, rows: int, folder: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from generate import generate

    data = folder / fmt / f"{fmt}.jsonl"
    data.parent.mkdir(parents=True)
    generate(fmt, rows, str(data), invalid=0.0, seed=1)
    cold1, cpu1, p = timed(data, folder / fmt / "c1", 1)
    tokens = sum(p.counts.lengths)
    cold2, cpu2, _ = timed(data, folder / fmt / "c2", 2)
    warm, _, pw = timed(data, folder / fmt / "c1", 1)
    assert pw.cache.startswith(f"cache: {rows:,} rows reused, 0 tokenized"), pw.cache
    edited = folder / fmt / "edited" / f"{fmt}.jsonl"
    edited.parent.mkdir()
    n_edited = edit_one_percent(data, edited)
    os.replace(edited, data)
    edit, _, pe = timed(data, folder / fmt / "c1", 1)
    return {"kind": FORMATS[fmt], "rows": rows, "tokens": tokens, "cold_w1_s": round(cold1, 2),
            "cold_w1_tokens_s": round(tokens / cold1), "cold_w2_s": round(cold2, 2),
            "cold_w2_tokens_s": round(tokens / cold2), "w2_speedup": round(cold1 / cold2, 2),
            # on two free cores: two workers' CPU spread over both, against one worker's
            "cpu_w1_s": round(cpu1, 2), "cpu_w2_s": round(cpu2, 2), "w2_speedup_free_cores": round(2 * cpu1 / cpu2, 2),
            "trl_tokens_s": round(trl_tokens_s(data)), "warm_s": round(warm, 2),
            "warm_x_cold": round(warm / cold1, 3), "edited_rows": n_edited, "edit_s": round(edit, 2),
            "edit_x_cold": round(edit / cold1, 3), "edit_cache": pe.cache.split(" (")[0]}


def table(results: list[dict[str, Any]]) -> str:
    out = ["| rows (tiny tokenizer) | tokens | cold, 1 worker: tokens/s | cold, 2 workers: tokens/s (x 1 worker; "
           "x on free cores from CPU time) | trl SFTTrainer._prepare_dataset: tokens/s | unchanged: s (x cold) | "
           "1% edited: s (x cold) |", "|---|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r['rows']:,} {r['kind']} | {r['tokens']:,} | {r['cold_w1_tokens_s']:,} | "
                   f"{r['cold_w2_tokens_s']:,} ({r['w2_speedup']}x; {r['w2_speedup_free_cores']}x) | "
                   f"{r['trl_tokens_s']:,} | {r['warm_s']} ({r['warm_x_cold']}x) | {r['edit_s']} ({r['edit_x_cold']}x) |")
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=2000)
    p.add_argument("--kinds", default=",".join(FORMATS))
    p.add_argument("--out", default=str(HERE / "results"))
    a = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from datasets import disable_progress_bars

    disable_progress_bars()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for fmt in a.kinds.split(","):
            results.append(measure(fmt, a.rows, Path(scratch)))
            print(json.dumps(results[-1]), flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()}
    (out / "prepare.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    (out / "prepare.md").write_text(table(results))
    print(table(results))


if __name__ == "__main__":
    main()
