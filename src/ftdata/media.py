"""Media references: URLs are recorded, never fetched; local files must exist inside the media folder.

A path that leaves the media folder (`..`, an absolute path, a symlink pointing out) is an error unless the user
allows it (`--allow-outside-media`): validating a dataset never reads files the user did not point at.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ftdata.canonical import MEDIA_KINDS, Record
from ftdata.problems import Problem, problem

URL_PREFIXES = ("http://", "https://", "s3://", "gs://", "data:")


@dataclass(frozen=True)
class Media:
    """Where relative media paths resolve, and whether paths may leave that folder."""

    base: Path
    allow_outside: bool = False
    # folder as written in a ref -> that folder resolved (rows of a dataset share a few folders)
    folders: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def root(self) -> str:
        """The media folder, resolved, as text."""
        return str(self.base.resolve())

    def locate(self, ref: str) -> tuple[str, bool]:
        """(the file `ref` names, resolved, symlinks followed; whether it is a regular file).

        `Path.resolve()` walks every component with a system call; here each folder is resolved once and each file
        costs one `lstat` (a symlinked file is resolved in full). Raises OSError / RuntimeError / ValueError as
        `resolve()` does (a NUL byte, a name too long, a symlink loop).
        """
        folder, name = os.path.split(ref)
        if name in ("", ".", ".."):
            whole = (self.base / ref).resolve()
            return str(whole), whole.is_file()
        parent = self.folders.get(folder)
        if parent is None:
            parent = str((self.base / folder).resolve())  # an absolute folder replaces the base
            if len(self.folders) < 10_000:
                self.folders[folder] = parent
        target = os.path.join(parent, name)
        try:
            mode = os.lstat(target).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return target, False
        if stat.S_ISLNK(mode):
            whole = Path(target).resolve()
            return str(whole), whole.is_file()
        return target, stat.S_ISREG(mode)


def inside(path: str, top: str) -> bool:
    """`Path(path).is_relative_to(top)` for resolved paths, on their text (a hundred times cheaper)."""
    return path == top or path.startswith(top if top.endswith(os.sep) else top + os.sep)


def is_url(ref: str) -> bool:
    return ref.startswith(URL_PREFIXES)


def check_media(record: Record, media: Media) -> list[Problem]:
    """`media_outside` for paths leaving the media folder, `media_missing` for files that do not exist."""
    out: list[Problem] = []
    for kind in MEDIA_KINDS:
        out += check_refs(kind, getattr(record, kind) or [], media)
    return out


def refs_ok(row: dict[str, Any], media: Media) -> bool:
    """The media lists at a row's top level (a fast lane's row: lists of strings) have no problem."""
    return not any(check_refs(kind, row[kind], media) for kind in MEDIA_KINDS if kind in row)


def check_refs(kind: str, refs: list[str], media: Media) -> list[Problem]:
    """The problems of one media list (`images`, ...); URLs are recorded, never fetched."""
    out: list[Problem] = []
    root = media.root
    for i, ref in enumerate(refs):
        if is_url(ref):
            continue
        try:
            target, is_file = media.locate(ref)  # an absolute ref replaces the base; symlinks are followed
        except (OSError, RuntimeError, ValueError) as err:  # a NUL byte, a name too long, a symlink loop
            out.append(problem(f"{kind}[{i}]", "media_missing", f"media path {ref[:80]!r} cannot be used: "
                               f"{getattr(err, 'strerror', None) or err}; fix the path"))
            continue
        if not media.allow_outside and not inside(target, root):
            how = "an absolute path" if os.path.isabs(ref) else "a path that leaves it (.. or a symlink)"
            out.append(problem(f"{kind}[{i}]", "media_outside",
                               f"media '{ref}' is {how}, outside the media folder {media.base}; "
                               "move it in, or pass --allow-outside"))
        elif not is_file:
            out.append(problem(f"{kind}[{i}]", "media_missing",
                               f"media file '{ref}' not found (looked in {media.base}); fix the path or pass --media-dir"))
    return out
