"""The cost of media checks per file, on 1,000 files: seeded images (`generate.media_folder`), or audio / video
encoded by PyAV (`--kind mp3|flac|ogg|m4a|wav|mp4|webm|avi|mov`: ten seeded clips, each copied to 100 files, so the
per-file cache keyed by the file's stat still sees 1,000 files). Per file, the median of --repeat rounds:

- exists: the path checks alone (`decode=False`);
- header: opening the container / image header only (PyAV `av.open`, Pillow `Image.open`; audio also with
  soundfile's `sf.info` where libsndfile reads the format: the alternative to PyAV);
- probe: what validate does the first time it meets a file (files in the OS cache);
- cached: the same files again in the same run;
- full decode: every frame decoded (what a loader does), over the first 100 files.

With --source FILE the 1,000 files are copies of one real file (its suffix gives the kind), e.g. LLaMA-Factory's
demo media in ../shared/data/llamafactory/mllm_demo_data.

    python bench/media.py [--kind JPEG|PNG|mp3|...] [--size 320x240] [--seconds 5] [--repeat 3] [--source FILE]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from generate import MEDIA_FILES, media_folder  # noqa: E402

from ftdata.io.decode import PROBES  # noqa: E402
from ftdata.io.media import Media, check_refs  # noqa: E402

IMAGES = ("JPEG", "PNG")
VIDEO = ("mp4", "webm", "avi", "mov")
VARIANTS = 10


def sound_folder(folder: Path, suffix: str, seconds: float, size: tuple[int, int]) -> None:
    """1,000 audio / video files: VARIANTS clips encoded by PyAV (16 kHz mono tones; `size` video at 10 fps)."""
    from images import audio_bytes, video_bytes

    (folder / "media").mkdir(exist_ok=True)
    for v in range(VARIANTS):
        length = seconds * (0.8 + 0.4 * v / VARIANTS)
        data = (video_bytes(suffix, length, size) if suffix in VIDEO else audio_bytes(suffix, length, 16_000))
        (folder / "media" / f"{v}.{suffix}").write_bytes(data)
    for i in range(VARIANTS, MEDIA_FILES):
        shutil.copyfile(folder / "media" / f"{i % VARIANTS}.{suffix}", folder / "media" / f"{i}.{suffix}")


def per_file(run: Callable[[], Any], files: int, repeat: int) -> float:
    """Median microseconds per file of `run` over `repeat` rounds (each a fresh run: the probe cache cleared)."""
    times = []
    for _ in range(repeat):
        PROBES.clear()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / files * 1e6


def headers(paths: list[str], kind: str) -> dict[str, Callable[[], Any]]:
    """Header-only openers to compare with: Pillow's Image.open, PyAV's av.open, soundfile's sf.info."""
    if kind in IMAGES:
        from PIL import Image

        return {"header (Image.open)": lambda: [Image.open(p).close() for p in paths]}
    import av

    out: dict[str, Callable[[], Any]] = {"header (av.open)": lambda: [av.open(p).close() for p in paths]}
    try:
        import soundfile

        soundfile.info(paths[0])
        out["header (soundfile.info)"] = lambda: [soundfile.info(p) for p in paths]
    except Exception:  # noqa: BLE001 - not installed, or libsndfile does not read this format (m4a, video)
        pass
    return out


def full_decode(paths: list[str], kind: str) -> None:
    """Every frame of each file decoded, as a loader reads it."""
    if kind in IMAGES:
        from PIL import Image

        for p in paths:
            with Image.open(p) as im:
                im.load()
        return
    import av

    for p in paths:
        with av.open(p) as box:
            for _ in box.decode(box.streams.video[0] if kind in VIDEO else box.streams.audio[0]):
                pass


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--kind", default="JPEG")
    a.add_argument("--size", default="320x240")
    a.add_argument("--seconds", type=float, default=5.0)
    a.add_argument("--repeat", type=int, default=3)
    a.add_argument("--source", type=Path)
    args = a.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if args.source is not None:
        args.kind = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG"}.get(args.source.suffix[1:].lower(),
                                                                       args.source.suffix[1:].lower())
    suffix = {"JPEG": "jpg", "PNG": "png"}.get(args.kind, args.kind)
    media_kind = "images" if args.kind in IMAGES else "videos" if args.kind in VIDEO else "audios"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.source is not None:
            (folder / "media").mkdir()
            for i in range(MEDIA_FILES):
                shutil.copyfile(args.source, folder / "media" / f"{i}.{suffix}")
        elif args.kind in IMAGES:
            media_folder(folder, args.kind, (width, height))
        else:
            sound_folder(folder, suffix, args.seconds, (width, height))
        refs = [f"media/{i}.{suffix}" for i in range(MEDIA_FILES)]
        paths = [str(folder / r) for r in refs]
        kb = sum((folder / r).stat().st_size for r in refs) / MEDIA_FILES / 1024
        media = Media(folder)
        assert check_refs(media_kind, refs, media) == [], check_refs(media_kind, refs, media)[:1]
        cols = {"exists": per_file(lambda: check_refs(media_kind, refs, Media(folder, decode=False)),
                                   MEDIA_FILES, args.repeat)}
        cols.update({k: per_file(f, MEDIA_FILES, args.repeat) for k, f in headers(paths, args.kind).items()})
        cols["probe"] = per_file(lambda: check_refs(media_kind, refs, Media(folder)), MEDIA_FILES, args.repeat)
        check_refs(media_kind, refs, media)  # warm the cache
        start = time.perf_counter()
        check_refs(media_kind, refs, media)
        cols["cached"] = (time.perf_counter() - start) / MEDIA_FILES * 1e6
        cols["full decode"] = per_file(lambda: full_decode(paths[:100], args.kind), 100, args.repeat)
        what = f"{args.kind} {width}x{height}" if media_kind != "audios" else f"{args.kind} 16 kHz mono"
        what += "" if media_kind == "images" else f" ~{args.seconds:g} s"
        what = what if args.source is None else f"{args.source.name} (LLaMA-Factory's demo)"
        print(f"| {what} ({kb:.1f} KB) | " + " | ".join(f"{k}: {v:,.0f}" for k, v in cols.items()) + " |")


if __name__ == "__main__":
    main()
