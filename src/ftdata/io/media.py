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

from ftdata.core.canonical import MEDIA_KINDS, Record
from ftdata.core.problems import Problem, problem

URL_PREFIXES = ("http://", "https://", "s3://", "gs://", "data:")


@dataclass(frozen=True)
class Media:
    """Where relative media paths resolve, and whether paths may leave that folder."""

    base: Path
    allow_outside: bool = False
    # folder as written in a ref -> (that folder resolved, its entries: name -> FILE / LINK / OTHER, or None when
    # it is not listed); rows of a dataset name files in a few folders, so a folder is resolved and listed once
    folders: dict[str, tuple[str, dict[str, int] | None]] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def root(self) -> str:
        """The media folder, resolved, as text."""
        return str(self.base.resolve())

    def locate(self, ref: str) -> tuple[str, bool]:
        """(the file `ref` names, resolved, symlinks followed; whether it is a regular file).

        `Path.resolve()` walks every component with a system call; here each folder is resolved and listed once
        (`os.scandir`: a system call per thousand entries, their types included), so a file costs a dictionary
        look-up; a symlinked file is resolved in full. Folders too big to list cost one `lstat` per file. Raises
        OSError / RuntimeError / ValueError as `resolve()` does (a NUL byte, a name too long, a symlink loop).
        """
        if os.sep == "/":
            folder, slash, name = ref.rpartition("/")
            if slash and not folder:
                folder = "/"  # "/x.jpg": the root folder, not the media folder
        else:
            folder, name = os.path.split(ref)
        if name in ("", ".", ".."):
            whole = (self.base / ref).resolve()
            return str(whole), whole.is_file()
        known = self.folders.get(folder)
        if known is None:
            parent = str((self.base / folder).resolve())  # an absolute folder replaces the base
            known = (parent, _listing(parent) if len(self.folders) < MAX_LISTED else None)
            if len(self.folders) < 10_000:
                self.folders[folder] = known
        parent, entries = known
        target = parent + name if parent.endswith(os.sep) else parent + os.sep + name
        if entries is not None and "\x00" not in name:
            kind = entries.get(name)
            if kind is None:
                return target, False
            if kind == LINK:
                whole = Path(target).resolve()
                return str(whole), whole.is_file()
            return target, kind == FILE
        try:
            mode = os.lstat(target).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return target, False
        if stat.S_ISLNK(mode):
            whole = Path(target).resolve()
            return str(whole), whole.is_file()
        return target, stat.S_ISREG(mode)


FILE, LINK, OTHER = 0, 1, 2
MAX_LISTED = 1_000  # folders listed per run (others: an lstat per file)
MAX_ENTRIES = 200_000  # a bigger folder is not listed (memory)


def _listing(folder: str) -> dict[str, int] | None:
    """A folder's entries and their types, or None when it cannot be listed or is too big to hold."""
    out: dict[str, int] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if len(out) >= MAX_ENTRIES:
                    return None
                out[entry.name] = (LINK if entry.is_symlink() else FILE if entry.is_file(follow_symlinks=False)
                                   else OTHER)
    except OSError:
        return None  # missing, not a folder, not readable: each file says so (lstat)
    return out


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
