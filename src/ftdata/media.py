"""Media references: which are URLs (recorded, never fetched) and which local files must exist."""

from __future__ import annotations

import os
from pathlib import Path

from ftdata.canonical import MEDIA_KINDS, Record
from ftdata.problems import Problem, problem

URL_PREFIXES = ("http://", "https://", "s3://", "gs://", "data:")


def is_url(ref: str) -> bool:
    return ref.startswith(URL_PREFIXES)


def check_media(record: Record, media_dir: Path) -> list[Problem]:
    """A `media_missing` problem for each local media path that does not exist under `media_dir`."""
    out: list[Problem] = []
    for kind in MEDIA_KINDS:
        for i, ref in enumerate(getattr(record, kind) or []):
            if is_url(ref):
                continue
            target = Path(ref) if os.path.isabs(ref) else media_dir / ref
            if not target.is_file():
                out.append(problem(f"{kind}[{i}]", "media_missing",
                                   f"media file '{ref}' not found (looked in {media_dir}); fix the path or pass --media-dir"))
    return out
