"""`make bench`: ftdata against the floor and the tools people use, side by side, on the same files.

Each measurement runs in a fresh process (imports excluded from the timing, peak RSS from that process);
the median of --repeat runs is reported. Results: bench/results/results.json, results.md, throughput.png.

    python bench/run.py [--rows 10000,50000] [--gb 1] [--formats sharegpt,alpaca] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = ["floor", "ftdata_validate", "ftdata_validate_w2", "ftdata_convert", "ftdata_convert_w2", "datasets_load",
         "pydantic_plain"]
LABELS = {
    "floor": "floor: read lines + orjson.loads",
    "ftdata_validate": "ftdata validate (1 process)",
    "ftdata_validate_w2": "ftdata validate --workers 2",
    "ftdata_convert": "ftdata convert --to sharegpt (1 process)",
    "ftdata_convert_w2": "ftdata convert --workers 2",
    "datasets_load": 'datasets.load_dataset("json")',
    "pydantic_plain": "plain strict pydantic + role order",
}


QUIET = {"OMP_NUM_THREADS": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def measure(tool: str, path: Path) -> dict:
    """Run one tool on one file in a fresh process; returns seconds, rows and peak RSS."""
    proc = subprocess.run([sys.executable, str(HERE / "one.py"), tool, str(path)], capture_output=True, text=True,
                          env={**os.environ, **QUIET})
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} on {path.name} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_file(path: Path, repeat: int) -> dict:
    """Each round runs every tool once, so that a machine that speeds up or slows down (shared VMs do, by tens of
    percent within a minute) moves all tools alike; the median of the rounds is reported."""
    size_mb = path.stat().st_size / 1e6
    row: dict = {"file": path.name, "mb": round(size_mb, 1), "tools": {}}
    rounds = [{tool: measure(tool, path) for tool in TOOLS} for _ in range(repeat)]
    for tool in TOOLS:
        runs = [r[tool] for r in rounds]
        secs = statistics.median(r["seconds"] for r in runs)
        row["tools"][tool] = {"seconds": round(secs, 3), "rows": runs[0]["rows"], "mb_s": round(size_mb / secs, 1),
                              "rows_s": round(runs[0]["rows"] / secs), "rss_mb": round(max(r["rss_mb"] for r in runs), 1)}
        print(f"  {path.name} {tool:22} {secs:7.2f}s {size_mb / secs:7.1f} MB/s  rss {row['tools'][tool]['rss_mb']} MB",
              flush=True)
    floor = row["tools"]["floor"]["seconds"]
    for tool in TOOLS:
        row["tools"][tool]["x_floor"] = round(floor / row["tools"][tool]["seconds"], 2)
    return row


def markdown(rows: list[dict], trainer: dict | None) -> str:
    out = ["| file | MB | tool | rows/s | MB/s | x floor | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        for tool in TOOLS:
            t = row["tools"][tool]
            out.append(f"| {row['file']} | {row['mb']} | {LABELS[tool]} | {t['rows_s']:,} | {t['mb_s']} | {t['x_floor']} | {t['rss_mb']} |")
    if trainer:
        out += ["", "| SFT preprocessing (tiny tokenizer) | conversations/s | tokens/s |", "|---|---|---|"]
        for name, t in trainer.items():
            out.append(f"| {name} | {t['rows_s']:,} | {t['tokens_s']:,} |")
    return "\n".join(out) + "\n"


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    formats = sorted({r["file"].split("_")[0] for r in rows})
    fig, axes = plt.subplots(1, len(formats), figsize=(6 * len(formats), 4.5), squeeze=False, sharey=True)
    for ax, fmt in zip(axes[0], formats):
        mine = sorted((r for r in rows if r["file"].startswith(fmt + "_")), key=lambda r: r["mb"])
        for i, tool in enumerate(TOOLS):
            ax.plot([r["mb"] for r in mine], [r["tools"][tool]["mb_s"] for r in mine], marker="o", color=f"C{i}",
                    linestyle="--" if tool == "floor" else "-", label=LABELS[tool])
        ax.set_xscale("log")
        ax.set_xlabel("file size (MB)")
        ax.set_title(f"{fmt} (one core unless noted)")
    axes[0][0].set_ylabel("throughput (MB/s)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", default="10000,50000")
    p.add_argument("--gb", type=float, default=0.0, help="also a file of about this many GB (sharegpt)")
    p.add_argument("--formats", default="sharegpt,alpaca")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--plot-only", action="store_true", help="re-draw the plot from results.json")
    p.add_argument("--trainer-only", action="store_true", help="re-measure only SFT preprocessing into the results")
    a = p.parse_args()
    if a.plot_only:
        plot(json.loads((Path(a.out) / "results.json").read_text())["files"], Path(a.out) / "throughput.png")
        return
    if a.trainer_only:
        rows = json.loads((Path(a.out) / "results.json").read_text())["files"]
        write_results(Path(a.out), rows, trainer_results())
        return
    sys.path.insert(0, str(HERE))
    from generate import generate

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ftdata-bench-") as tmp:
        files = []
        for fmt in a.formats.split(","):
            for n in map(int, a.rows.split(",")):
                files.append((fmt, n))
        if a.gb:
            files.append(("sharegpt", int(a.gb * 1e9 / 13000)))  # ~13 kB a generated sharegpt row
        for fmt, n in files:
            path = Path(tmp) / f"{fmt}_{n}.jsonl"
            generate(fmt, n, str(path), broken_json=False)  # datasets stops at the first broken JSON line
            rows.append(run_file(path, a.repeat))
            path.unlink()
    write_results(out, rows, trainer_results())


def trainer_results() -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "one.py"), "sft_preprocess", "-"], capture_output=True,
                          text=True, check=True, env={**os.environ, **QUIET})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_results(out: Path, rows: list[dict], trainer: dict) -> None:
    (out / "results.json").write_text(json.dumps({"files": rows, "sft_preprocess": trainer}, indent=2))
    table = markdown(rows, trainer)
    (out / "results.md").write_text(table)
    plot(rows, out / "throughput.png")
    print(table)


if __name__ == "__main__":
    main()
