"""Media references: URLs are recorded, never fetched; local files must exist inside the media folder.

A path that leaves the media folder (`..`, an absolute path, a symlink pointing out) is an error unless the user
allows it (`--allow-outside-media`): validating a dataset never reads files the user did not point at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ftdata.canonical import MEDIA_KINDS, Record
from ftdata.problems import Problem, problem

URL_PREFIXES = ("http://", "https://", "s3://", "gs://", "data:")


@dataclass(frozen=True)
class Media:
    """Where relative media paths resolve, and whether paths may leave that folder."""

    base: Path
    allow_outside: bool = False

    @cached_property
    def root(self) -> Path:
        return self.base.resolve()


def is_url(ref: str) -> bool:
    return ref.startswith(URL_PREFIXES)


def check_media(record: Record, media: Media) -> list[Problem]:
    """`media_outside` for paths leaving the media folder, `media_missing` for files that do not exist."""
    out: list[Problem] = []
    root = media.root
    for kind in MEDIA_KINDS:
        for i, ref in enumerate(getattr(record, kind) or []):
            if is_url(ref):
                continue
            try:
                target = (media.base / ref).resolve()  # an absolute ref replaces the base; symlinks are followed
                is_file = target.is_file()
            except (OSError, RuntimeError, ValueError) as err:  # a NUL byte, a name too long, a symlink loop
                out.append(problem(f"{kind}[{i}]", "media_missing", f"media path {ref[:80]!r} cannot be used: "
                                   f"{getattr(err, 'strerror', None) or err}; fix the path"))
                continue
            if not media.allow_outside and not target.is_relative_to(root):
                how = "an absolute path" if os.path.isabs(ref) else "a path that leaves it (.. or a symlink)"
                out.append(problem(f"{kind}[{i}]", "media_outside",
                                   f"media '{ref}' is {how}, outside the media folder {media.base}; "
                                   "move it in, or pass --allow-outside"))
            elif not is_file:
                out.append(problem(f"{kind}[{i}]", "media_missing",
                                   f"media file '{ref}' not found (looked in {media.base}); fix the path or pass --media-dir"))
    return out
