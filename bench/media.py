"""The cost of media checks per file: 1,000 seeded images (`generate.media_folder`), decoded cold (a fresh
`Media`, files in the OS cache) and again from the per-run cache; the median of --repeat rounds.

    python bench/media.py [--kind JPEG|PNG] [--size 320x240] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import MEDIA_FILES, media_folder  # noqa: E402

from ftdata.io.decode import PROBES  # noqa: E402
from ftdata.io.media import Media, check_refs  # noqa: E402


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__)
    a.add_argument("--kind", default="JPEG")
    a.add_argument("--size", default="320x240")
    a.add_argument("--repeat", type=int, default=3)
    args = a.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    suffix = "jpg" if args.kind == "JPEG" else args.kind.lower()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        media_folder(folder, args.kind, (width, height))
        refs = [f"media/{i}.{suffix}" for i in range(MEDIA_FILES)]
        kb = sum((folder / r).stat().st_size for r in refs) / MEDIA_FILES / 1024
        for label, decode in (("exists only", False), ("decoded", True)):
            cold, warm = [], []
            for _ in range(args.repeat):
                PROBES.clear()  # a fresh run
                media = Media(folder, decode=decode)
                start = time.perf_counter()
                assert check_refs("images", refs, media) == []
                cold.append(time.perf_counter() - start)
                start = time.perf_counter()
                check_refs("images", refs, media)
                warm.append(time.perf_counter() - start)
            print(f"{args.kind} {width}x{height} ({kb:.1f} KB): {label}: {statistics.median(cold) / MEDIA_FILES * 1e6:.0f} "
                  f"us/file first time, {statistics.median(warm) / MEDIA_FILES * 1e6:.0f} us/file cached")


if __name__ == "__main__":
    main()
