"""`ftdata dedup` on generated data with planted duplicates of known ground truth: time, peak RSS, precision, recall.

    python bench/dedup.py [--rows 1000000] [--near 0.8] [--dir /tmp/ftdata-dedup-bench] [--compare-only]
                          [--system] [--compare all]

Data (seeded): a sharegpt file of distinct conversations (30% Chinese, whose words are single characters), then,
appended after their originals:
- exact copies: the same conversation with other whitespace and an `id` (4% of the rows), and the same
  conversations as OpenAI rows in a second file (2%);
- near copies: 1-3 words changed per 100 (4%): true Jaccard of word 3-grams mostly 0.8-0.97;
- near misses: 8-15 words changed per 100 (2%): true Jaccard under 0.8; removing one is a false positive;
- an eval file whose prompts are the questions of 3,000 training rows (exact contamination), 500 variants of
  training questions with one word changed (near contamination) and 2,000 unrelated prompts.
The truth for near pairs is their exact Jaccard, computed here with an independent tokenizer (a regex); a pair
counts as a duplicate when it reaches --near. With --system every row carries the same 1 kB system prompt (as
MOSS's rows do): the truth stays the Jaccard of what differs, and dedup's default `--compare conversation` must
leave the shared prompt out to match it (`--compare all` counts it: the old behaviour).

Then `ftdata dedup train.jsonl` (exact duplicates only) on the same rows: time and peak RSS.

Also (unless --no-compare; alone with --compare-only): the MinHash libraries side by side on the same 20,000 texts:
signature time and the error of the estimated Jaccard against the exact one, for rensa and datasketch (skipped when
datasketch is not installed; `make bench` installs it).
Results: bench/results/dedup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
WORDS = [''.join(random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=random.Random(-i).randint(2, 9)))
         for i in range(30000)]
CJK = [chr(0x4E00 + i) for i in range(3000)]
REF = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+")


def words(rng: random.Random, n: int, zh: bool) -> list[str]:
    return rng.choices(CJK if zh else WORDS, k=n)


def join(ws: list[str], zh: bool) -> str:
    return "".join(ws) if zh else " ".join(ws)


def shingles(text: str) -> set[str]:
    t = REF.findall(text.lower())
    return {" ".join(t[i:i + 3]) for i in range(len(t) - 2)} if len(t) >= 3 else set(t)


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def edit(rng: random.Random, ws: list[str], n: int, zh: bool) -> list[str]:
    out = list(ws)
    for _ in range(n):
        i = rng.randrange(len(out))
        op = rng.random()
        if op < 0.6:
            out[i] = rng.choice(CJK if zh else WORDS)
        elif op < 0.8:
            out.insert(i, rng.choice(CJK if zh else WORDS))
        elif len(out) > 10:
            del out[i]
    return out


SYSTEM = "\n".join(f"- Rule {i}: " + " ".join(random.Random(10**6 + i).choices(WORDS, k=14)) for i in range(16))
PROMPTS: dict = {}  # {"system": SYSTEM} with --system


def generate(folder: Path, rows: int, threshold: float, seed: int = 0) -> dict:
    """Write train.jsonl, extra.jsonl, eval.jsonl; return the truth."""
    rng = random.Random(seed)
    n_exact, n_cross, n_near, n_miss = int(rows * .04), int(rows * .02), int(rows * .04), int(rows * .02)
    n_base = rows - n_exact - n_cross - n_near - n_miss
    base: list[tuple[list[str], list[str], bool]] = []
    truth: dict = {"remove": {}, "near_pairs": [], "keep_near_misses": 0}
    with open(folder / "train.jsonl", "wb") as f:
        for _ in range(n_base):
            zh = rng.random() < 0.3
            q, a = words(rng, rng.randint(10, 40), zh), words(rng, rng.randint(30, 120), zh)
            base.append((q, a, zh))
            f.write(orjson.dumps({**PROMPTS, "conversations": [{"from": "human", "value": join(q, zh)},
                                                               {"from": "gpt", "value": join(a, zh)}]}) + b"\n")
        originals = rng.sample(range(n_base), n_exact + n_cross + n_near + n_miss + 3500)
        picks = iter(originals)
        line = n_base
        for _ in range(n_exact):  # exact copies: other whitespace, an id
            q, a, zh = base[next(picks)]
            f.write(orjson.dumps({**PROMPTS, "id": line, "conversations": [
                {"from": "human", "value": "  " + join(q, zh) + "\n"}, {"from": "gpt", "value": join(a, zh) + " "}]})
                + b"\n")
            truth["remove"][f"train.jsonl:{line}"] = "exact"
            line += 1
        for kind, count, edits in (("near", n_near, (1, 3)), ("miss", n_miss, (8, 15))):
            for _ in range(count):
                q, a, zh = base[next(picks)]
                per100 = rng.randint(*edits)
                q2 = edit(rng, q, max(0, round(len(q) * per100 / 100)), zh)
                a2 = edit(rng, a, max(1, round(len(a) * per100 / 100)), zh)
                before, after = join(q, zh) + "\n" + join(a, zh), join(q2, zh) + "\n" + join(a2, zh)
                j = jaccard(before, after)
                f.write(orjson.dumps({**PROMPTS, "conversations": [{"from": "human", "value": join(q2, zh)},
                                                                   {"from": "gpt", "value": join(a2, zh)}]}) + b"\n")
                truth["near_pairs"].append(round(j, 4))
                truth.setdefault("jaccard", {})[f"train.jsonl:{line}"] = round(j, 4)
                if j >= threshold:
                    truth["remove"][f"train.jsonl:{line}"] = "near"
                line += 1
    with open(folder / "extra.jsonl", "wb") as f:
        for i in range(n_cross):  # the same conversations in OpenAI's shape
            q, a, zh = base[next(picks)]
            system = [{"role": "system", "content": SYSTEM}] if PROMPTS else []
            f.write(orjson.dumps({"messages": [*system, {"role": "user", "content": join(q, zh)},
                                               {"role": "assistant", "content": join(a, zh)}]}) + b"\n")
            truth["remove"][f"extra.jsonl:{i}"] = "exact"
    with open(folder / "eval.jsonl", "wb") as f:
        for n in range(3500):
            row = next(picks)
            q, _, zh = base[row]
            if n >= 3000:  # near: one word of the question changed
                changed = edit(rng, q, 1, zh)
                if jaccard(join(changed, zh), join(q, zh)) >= threshold:
                    truth["remove"][f"train.jsonl:{row}"] = "contamination"
                q = changed
            else:
                truth["remove"][f"train.jsonl:{row}"] = "contamination"
            f.write(orjson.dumps({"messages": [{"role": "user", "content": join(q, zh)},
                                               {"role": "assistant", "content": "an eval answer"}]}) + b"\n")
        for _ in range(2000):
            zh = rng.random() < 0.3
            f.write(orjson.dumps({"messages": [{"role": "user", "content": join(words(rng, 20, zh), zh)},
                                               {"role": "assistant", "content": "x"}]}) + b"\n")
    return truth


def run(folder: Path, threshold: float | None, compare: str = "conversation") -> dict:
    """`ftdata dedup` in a fresh process (`threshold` None: exact duplicates of train.jsonl only): seconds and peak
    RSS; its summary."""
    cmd = [sys.executable, "-c", "import sys; from ftdata.cli import main; sys.argv[0] = 'ftdata'; main()", "dedup",
           str(folder / "train.jsonl")]
    if threshold is not None:
        cmd += [str(folder / "extra.jsonl"), "--near", str(threshold), "--against", str(folder / "eval.jsonl"),
                "--to", "sharegpt", "--compare", compare]
    cmd += ["-o", str(folder / "out.jsonl"), "--force", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent / "src")}
    # GNU time's own small process forks the command: a child forked from this (large) process would count this
    # process's pages in its peak RSS
    timer = ["/usr/bin/time", "-f", "peak_kb=%M"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    proc = subprocess.run(timer + cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-3000:])
    found = re.findall(r"peak_kb=(\d+)", proc.stderr)
    peak = int(found[-1]) / 1024 if found else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "summary": json.loads(proc.stdout)}


def score(folder: Path, truth: dict) -> dict:
    """Precision and recall of the removed rows against the planted ones, overall and per kind."""
    removed: dict[str, str] = {}
    with open(folder / "out.jsonl.dupes.jsonl", "rb") as f:
        for line in f:
            d = orjson.loads(line)
            removed[f"{Path(d['file']).name}:{d['index']}"] = d["kind"]
    want = truth["remove"]
    hits = set(removed) & set(want)
    out = {"removed": len(removed), "planted": len(want), "precision": round(len(hits) / max(len(removed), 1), 4),
           "recall": round(len(hits) / max(len(want), 1), 4)}
    for kind in ("exact", "near", "contamination"):
        planted = {k for k, v in want.items() if v == kind}
        out[f"recall_{kind}"] = round(len(planted & set(removed)) / max(len(planted), 1), 4)
    # near pairs by their exact Jaccard: estimation noise (about +-0.03 at 128 values) decides near the threshold
    for low, high in ((0.0, 0.7), (0.7, 0.75), (0.75, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 1.01)):
        pairs = [k for k, j in truth["jaccard"].items() if low <= j < high]
        if pairs:
            out[f"near pairs J {low:.2f}-{min(high, 1):.2f} removed"] = \
                f"{sum(k in removed for k in pairs)} of {len(pairs)}"
    return out


def compare(n: int = 20000) -> list[dict]:
    """rensa (ftdata's pipeline) vs datasketch on the same texts: signature time, estimate error."""
    import numpy as np

    sys.path.insert(0, str(HERE.parent / "src"))
    from ftdata.ops.minhash import signatures, similarity

    rng = random.Random(1)
    texts, pairs = [], []
    for i in range(n // 2):
        zh = rng.random() < 0.3
        ws = words(rng, rng.randint(40, 160), zh)
        texts += [join(ws, zh), join(edit(rng, ws, rng.randint(1, 20), zh), zh)]
        pairs.append((2 * i, 2 * i + 1))
    exact = np.array([jaccard(texts[a], texts[b]) for a, b in pairs])
    rows = []
    start = time.perf_counter()
    sigs = np.concatenate([signatures(texts[k:k + 2000]) for k in range(0, n, 2000)])
    seconds = time.perf_counter() - start
    est = np.array([similarity(sigs[a], sigs[b:b + 1])[0] for a, b in pairs])
    rows.append({"library": "ftdata.ops.minhash: numpy word 3-grams + rensa R-MinHash, 8-bit values (from raw text)",
                 "texts": n, "seconds": round(seconds, 2), "rmse": round(float(np.sqrt(((est - exact) ** 2).mean())), 4)})
    tokens = [sorted(shingles(t)) for t in texts]  # the same shingle strings for both libraries (not timed)
    import rensa

    start = time.perf_counter()
    matrix = np.array(rensa.RMinHash.digest_matrix_from_token_sets(tokens, 128, 1).to_rows(), dtype=np.uint32)
    seconds = time.perf_counter() - start
    est = np.array([(matrix[a] == matrix[b]).mean() for a, b in pairs])
    rows.append({"library": "rensa 0.5 RMinHash.digest_matrix_from_token_sets (shingle strings given)", "texts": n,
                 "seconds": round(seconds, 2), "rmse": round(float(np.sqrt(((est - exact) ** 2).mean())), 4)})
    try:
        from datasketch import MinHash
    except ImportError:
        return rows
    encoded = [[s.encode() for s in t] for t in tokens]
    start = time.perf_counter()
    hashes = MinHash.bulk(encoded, num_perm=128)
    seconds = time.perf_counter() - start
    est = np.array([hashes[a].jaccard(hashes[b]) for a, b in pairs])
    rows.append({"library": "datasketch 2.0 MinHash.bulk, 128 permutations (shingle strings given)", "texts": n,
                 "seconds": round(seconds, 2), "rmse": round(float(np.sqrt(((est - exact) ** 2).mean())), 4)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--near", type=float, default=0.8)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ftdata-dedup-bench"))
    parser.add_argument("--compare-only", action="store_true")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--system", action="store_true", help="every row carries one shared system prompt")
    parser.add_argument("--compare", default="conversation", help="dedup's --compare")
    args = parser.parse_args()
    if args.system:
        PROMPTS["system"] = SYSTEM
    result: dict = {}
    if not args.no_compare:
        result["libraries"] = compare()
        print(json.dumps(result["libraries"], indent=1))
    if not args.compare_only:
        args.dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        truth = generate(args.dir, args.rows, args.near)
        sizes = {p.name: round(p.stat().st_size / 1e6, 1) for p in sorted(args.dir.glob("*.jsonl")) if "out" not in p.name}
        print(f"generated {args.rows} rows in {time.perf_counter() - start:.0f}s: {sizes} MB")
        measured = run(args.dir, args.near, args.compare)
        result.update(rows=args.rows, near=args.near, system=args.system, compare=args.compare, files_mb=sizes, cores=os.cpu_count(), **measured,
                      score=score(args.dir, truth), near_pairs_over_threshold=sum(j >= args.near for j in truth["near_pairs"]),
                      near_pairs=len(truth["near_pairs"]))
        exact = run(args.dir, None)
        result["exact_only"] = {"rows": exact["summary"]["records"], "seconds": exact["seconds"],
                                "peak_rss_mb": exact["peak_rss_mb"], "removed": exact["summary"]["removed"]}
        print(json.dumps({k: v for k, v in result.items() if k != "libraries"}, indent=1))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / "dedup.json"
    previous = json.loads(path.read_text()) if path.exists() else {}  # --compare-only keeps the last 1 M run, and back
    path.write_text(json.dumps({**previous, **result}, indent=1) + "\n")


if __name__ == "__main__":
    main()
