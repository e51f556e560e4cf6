"""`make bench`: ftdata against the floor and the tools people use, side by side, on the same files.

Files: plain conversations (sharegpt, alpaca; --rows each), rich rows (tool calls, MOSS plugins, preference pairs
in both shapes, KTO, multimodal with a media folder; --rich-mb each) and real data (the MOSS-003 sample repeated
to --real-mb: ../shared's 500 rows when present, else the fixture slice). Each measurement runs in a fresh process
(imports excluded from the timing, peak RSS from that process); the median of --repeat rounds is reported.
Results: bench/results/results.json, results.md, throughput.png.

    python bench/run.py [--rows 10000,50000] [--rich-mb 50] [--real-mb 200] [--gb 1] [--repeat 3] [--only KINDS]
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
    "ftdata_convert": "ftdata convert --to {target} (1 process)",
    "ftdata_convert_w2": "ftdata convert --to {target} --workers 2",
    "datasets_load": 'datasets.load_dataset("json")',
    "pydantic_plain": "plain strict pydantic + role order",
}
# each kind of file: the convert target (a real conversion: another format that holds everything in the rows)
TARGETS = {"sharegpt": "sharegpt", "alpaca": "sharegpt", "openai_tools": "trl", "sharegpt_tools": "openai",
           "moss_plugins": "sharegpt", "preference_sharegpt": "openai", "preference_openai": "sharegpt",
           "kto": "sharegpt", "multimodal": "openai", "moss_real": "sharegpt"}
PLAIN = ("sharegpt", "alpaca")  # the plain strict pydantic model reads these only
SHARED_MOSS = HERE.parent.parent / "shared" / "data" / "moss" / "moss-003-sft-sample.jsonl"
FIXTURE_MOSS = HERE.parent / "fixtures" / "data" / "moss" / "moss_sample.jsonl"


QUIET = {"OMP_NUM_THREADS": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def measure(tool: str, path: Path, target: str) -> dict:
    """Run one tool on one file in a fresh process; returns seconds, rows and peak RSS, or the tool's error (a
    reader that cannot load the file is a result too: datasets fails on the published MOSS ids)."""
    proc = subprocess.run([sys.executable, str(HERE / "one.py"), tool, str(path), target], capture_output=True,
                          text=True, env={**os.environ, **QUIET})
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"error": (lines[-1] if lines else f"exit {proc.returncode}")[:160]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_file(path: Path, kind: str, repeat: int) -> dict:
    """Each round runs every tool once, so that a machine that speeds up or slows down (shared VMs do, by tens of
    percent within a minute) moves all tools alike; the median of the rounds is reported."""
    size_mb = path.stat().st_size / 1e6
    tools = [t for t in TOOLS if t != "pydantic_plain" or kind in PLAIN]
    row: dict = {"file": path.name, "kind": kind, "target": TARGETS[kind], "mb": round(size_mb, 1), "tools": {}}
    rounds = [{tool: measure(tool, path, TARGETS[kind]) for tool in tools} for _ in range(repeat)]
    for tool in tools:
        runs = [r[tool] for r in rounds]
        if any("error" in r for r in runs):
            row["tools"][tool] = {"error": next(r["error"] for r in runs if "error" in r)}
            print(f"  {path.name} {tool:22} fails: {row['tools'][tool]['error']}", flush=True)
            continue
        secs = statistics.median(r["seconds"] for r in runs)
        row["tools"][tool] = {"seconds": round(secs, 3), "rows": runs[0]["rows"], "mb_s": round(size_mb / secs, 1),
                              "rows_s": round(runs[0]["rows"] / secs), "rss_mb": round(max(r["rss_mb"] for r in runs), 1)}
        print(f"  {path.name} {tool:22} {secs:7.2f}s {size_mb / secs:7.1f} MB/s  rss {row['tools'][tool]['rss_mb']} MB",
              flush=True)
    floor = row["tools"]["floor"]["seconds"]
    for t in row["tools"].values():
        if "seconds" in t:
            t["x_floor"] = round(floor / t["seconds"], 2)
    return row


def label(tool: str, target: str) -> str:
    return LABELS[tool].format(target=target)


def markdown(rows: list[dict], trainer: dict | None) -> str:
    out = ["| file | MB | tool | rows/s | MB/s | x floor | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        for tool, t in row["tools"].items():
            name = label(tool, row.get("target", "sharegpt"))
            if "error" in t:
                out.append(f"| {row['file']} | {row['mb']} | {name} | fails: {t['error'].replace('|', '/')} | | | |")
                continue
            out.append(f"| {row['file']} | {row['mb']} | {name} | {t['rows_s']:,} | {t['mb_s']} | {t['x_floor']} | {t['rss_mb']} |")
    if trainer:
        out += ["", "| SFT preprocessing (tiny tokenizer) | conversations/s | tokens/s |", "|---|---|---|"]
        for name, t in trainer.items():
            out.append(f"| {name} | {t['rows_s']:,} | {t['tokens_s']:,} |")
    return "\n".join(out) + "\n"


def plot(rows: list[dict], out: Path) -> None:
    """x floor of validate and convert (1 and 2 processes) for every file, as grouped bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ["ftdata_validate", "ftdata_validate_w2", "ftdata_convert", "ftdata_convert_w2", "datasets_load"]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(rows)), 4.8))
    width = 0.8 / len(shown)
    for i, tool in enumerate(shown):
        xs = [j + (i - len(shown) / 2 + 0.5) * width for j in range(len(rows))]
        ys = [r["tools"].get(tool, {}).get("x_floor", 0) for r in rows]
        ax.bar(xs, ys, width, label=label(tool, "X").replace("--to X ", ""), color=f"C{i}")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(rows)), [f"{r['file']}\n{r['mb']} MB" for r in rows], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("x floor (read lines + orjson.loads, 1 process)")
    ax.set_title("throughput relative to the floor, measured side by side (2 cores)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", default="10000,50000", help="plain files: rows each (sharegpt, alpaca)")
    p.add_argument("--rich-mb", type=float, default=50.0, help="each rich file: about this many MB")
    p.add_argument("--real-mb", type=float, default=200.0, help="the real MOSS sample repeated to about this")
    p.add_argument("--moss", default=str(SHARED_MOSS if SHARED_MOSS.exists() else FIXTURE_MOSS),
                   help="the real MOSS rows to repeat (default: ../shared's 500-row sample, else the 20-row fixture)")
    p.add_argument("--gb", type=float, default=0.0, help="also a plain sharegpt file of about this many GB")
    p.add_argument("--only", default="", help="comma-separated kinds (sharegpt, openai_tools, moss_real, ...)")
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
    from generate import RICH, generate, media_folder, repeat_file

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    rows = []
    with tempfile.TemporaryDirectory(prefix="ftdata-bench-") as tmp:
        folder = Path(tmp)
        media_folder(folder)
        files = [(fmt, n, None) for fmt in PLAIN for n in map(int, a.rows.split(","))]
        if a.gb:
            files.append(("sharegpt", int(a.gb * 1e9 / 13000), None))  # ~13 kB a generated sharegpt row
        files += [(kind, None, a.rich_mb) for kind in RICH] + [("moss_real", None, a.real_mb)]
        for kind, n, mb in files:
            if only and kind not in only:
                continue
            path = folder / (f"{kind}_{n}.jsonl" if n else f"{kind}_{mb:g}mb.jsonl")
            if kind == "moss_real":
                repeat_file(Path(a.moss), path, mb)
            elif n:
                generate(kind, n, str(path), broken_json=False)  # datasets stops at the first broken JSON line
            else:
                generate(kind, rows_for(kind, mb, folder), str(path), broken_json=False)
            rows.append(run_file(path, kind, a.repeat))
            path.unlink()
    write_results(out, rows, trainer_results())


def rows_for(kind: str, mb: float, folder: Path) -> int:
    """How many rows of `kind` make about `mb` MB (from a sample of the same generator)."""
    from generate import generate

    sample = folder / "sample.jsonl"
    generate(kind, 300, str(sample), broken_json=False)
    per_row = sample.stat().st_size / 300
    sample.unlink()
    return max(1, int(mb * 1e6 / per_row))


def trainer_results() -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "one.py"), "sft_preprocess", "-"], capture_output=True,
                          text=True, check=True, env={**os.environ, **QUIET})
    return json.loads(proc.stdout.strip().splitlines()[-1])


# issue 26's goals on rich rows and the real MOSS row: tool -> (goal, stretch) as x floor; --workers 2 as x 1 process
GOALS = {"ftdata_convert": (0.3, 0.5), "ftdata_validate": (0.5, 0.7)}
SCALING = 1.7


def goals(rows: list[dict]) -> str:
    """Each rich file's ratios beside the goals (met / not met), and --workers 2 over one process."""
    out = ["| file | convert x floor (goal 0.3, stretch 0.5) | validate x floor (goal 0.5, stretch 0.7) | "
           f"convert -w 2 / 1 (goal {SCALING}) | validate -w 2 / 1 (goal {SCALING}) |", "|---|---|---|---|---|"]
    for row in rows:
        if row["kind"] in PLAIN:
            continue
        t = row["tools"]
        cells = []
        for tool, (goal, stretch) in GOALS.items():
            x = t.get(tool, {}).get("x_floor")
            cells.append("-" if x is None else f"{x} ({'stretch' if x >= stretch else 'met' if x >= goal else 'not met'})")
        for tool in GOALS:
            one, two = t.get(tool, {}).get("seconds"), t.get(f"{tool}_w2", {}).get("seconds")
            ratio = round(one / two, 2) if one and two else None
            cells.append("-" if ratio is None else f"{ratio} ({'met' if ratio >= SCALING else 'not met'})")
        out.append(f"| {row['file']} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def write_results(out: Path, rows: list[dict], trainer: dict) -> None:
    (out / "results.json").write_text(json.dumps({"files": rows, "sft_preprocess": trainer}, indent=2))
    table = markdown(rows, trainer) + "\n" + goals(rows)
    (out / "results.md").write_text(table)
    plot(rows, out / "throughput.png")
    print(table)


if __name__ == "__main__":
    main()
