"""Media references: URLs are recorded, never fetched; local files must exist inside the media folder.

A path that leaves the media folder (`..`, an absolute path, a symlink pointing out) is an error unless the user
allows it (`--allow-outside-media`): validating a dataset never reads files the user did not point at. Images that
exist are decoded, audio and video probed (`ftdata.io.decode`, cached per file), and held to the budgets
(`--max-pixels`, `--max-media-per-row`, `--max-duration`).
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
from ftdata.io.decode import NOT_CHECKED, Probe, cached_probe, probe_data_url

URL_PREFIXES = ("http://", "https://", "s3://", "gs://", "data:")


@dataclass(frozen=True)
class Media:
    """Where relative media paths resolve, and whether paths may leave that folder."""

    base: Path
    allow_outside: bool = False
    decode: bool = True  # images decoded (Pillow); False: existence only
    max_pixels: int | None = None  # an image with more pixels is `media_too_large`
    max_per_row: int | None = None  # a row naming more media files is `media_too_many`
    max_seconds: float | None = None  # audio / video longer than this is `media_too_long`
    # "remote" (URLs, never fetched), "unchecked" (media nothing here can decode): counted for the summary
    seen: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # folder as written in a ref -> (that folder resolved, its entries: name -> FILE / LINK / OTHER, or None when
    # it is not listed); rows of a dataset name files in a few folders, so a folder is resolved and listed once
    folders: dict[str, tuple[str, dict[str, int] | None]] = field(default_factory=dict, compare=False, repr=False)
    # kind -> refs found clean in this run (located, inside, decoded, within the budgets, nothing counted): a ref
    # named again costs a set look-up; kind -> resolved file -> what decoding found. One snapshot per run, as the
    # folder listings are: a file changed while the run reads is not looked at again (see `check_refs`)
    clean: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in MEDIA_KINDS}, compare=False,
                                       repr=False)
    probed: dict[str, dict[str, Probe]] = field(default_factory=lambda: {k: {} for k in MEDIA_KINDS}, compare=False,
                                                repr=False)

    def probe(self, kind: str, target: str) -> Probe:
        """What the file holds, decoded once per run (`cached_probe`: once per process while its stat is the same);
        not checked (and counted) where nothing here can decode it."""
        if not self.decode:
            return NOT_CHECKED
        known = self.probed[kind]
        found = known.get(target)
        if found is None:
            found = cached_probe(target, kind)
            if len(known) < MAX_REMEMBERED:
                known[target] = found
        return self.count("unchecked", found) if not found.checked else found

    def probe_url(self, kind: str, url: str) -> Probe:
        """What a data URL holds (decoded each time: the row holds its bytes)."""
        if not self.decode:
            return NOT_CHECKED
        found = probe_data_url(url, kind)
        return self.count("unchecked", found) if not found.checked else found

    def count(self, what: str, probe: Probe) -> Probe:
        self.seen[what] = self.seen.get(what, 0) + 1
        return probe

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
            # resolve() drops "x/.." on paper; the OS walks it, so a missing or non-folder x fails a loader's open
            walkable = ".." not in folder.split("/") or os.path.isdir(self.base / folder)
            listing = (_listing(parent) if len(self.folders) < MAX_LISTED else None) if walkable else {}
            known = (parent, listing)
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
MAX_REMEMBERED = 1_000_000  # refs (and files) remembered per kind per run (memory); beyond it: checked each time
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


@dataclass(frozen=True)
class MediaRules:
    """How media are checked wherever they resolve (a descriptor's entries each resolve against their own folder):
    paths allowed outside the media folder, and the budgets."""

    allow_outside: bool = False
    max_pixels: int | None = None
    max_per_row: int | None = None
    max_seconds: float | None = None

    def at(self, base: Path) -> Media:
        """These rules for media resolved against `base`."""
        return Media(base, self.allow_outside, max_pixels=self.max_pixels, max_per_row=self.max_per_row,
                     max_seconds=self.max_seconds)


def inside(path: str, top: str) -> bool:
    """`Path(path).is_relative_to(top)` for resolved paths, on their text (a hundred times cheaper)."""
    return path == top or path.startswith(top if top.endswith(os.sep) else top + os.sep)


def is_url(ref: str) -> bool:
    return ref.startswith(URL_PREFIXES)


def check_media(record: Record, media: Media) -> list[Problem]:
    """`media_outside` for paths leaving the media folder, `media_missing` for files that do not exist."""
    out: list[Problem] = []
    lists = {kind: getattr(record, kind) or [] for kind in MEDIA_KINDS}
    for kind, refs in lists.items():
        out += check_refs(kind, refs, media)
    return out + too_many(lists, media)


def refs_ok(row: dict[str, Any], media: Media) -> bool:
    """The media lists at a row's top level (a fast lane's row, a light record's lists: lists of strings) have no
    problem. Refs found clean before cost a set look-up; a row refused counts nothing (the full lane counts)."""
    if media.max_per_row is not None and sum(len(row.get(k) or ()) for k in MEDIA_KINDS) > media.max_per_row:
        return False
    for kind in MEDIA_KINDS:
        refs = row.get(kind)
        if refs and not media.clean[kind].issuperset(refs):
            before = dict(media.seen)
            if not any(check_refs(k, row.get(k) or [], media) for k in MEDIA_KINDS):
                return True
            media.seen.clear()  # the full lane looks again and counts what it finds (remote URLs, ...)
            media.seen.update(before)
            return False
    return True


def too_many(lists: dict[str, list[str]], media: Media) -> list[Problem]:
    """`media_too_many` when a row names more media than `--max-media-per-row` allows."""
    total = sum(len(refs) for refs in lists.values())
    if media.max_per_row is None or total <= media.max_per_row:
        return []
    where = next(kind for kind, refs in lists.items() if refs)
    return [problem(where, "media_too_many", f"this row names {total} media files, over --max-media-per-row "
                                             f"{media.max_per_row}; split the row or raise the budget")]


def check_refs(kind: str, refs: list[str], media: Media) -> list[Problem]:
    """The problems of one media list (`images`, ...); URLs are recorded, never fetched."""
    out: list[Problem] = []
    root, clean = media.root, media.clean[kind]
    for i, ref in enumerate(refs):
        if ref in clean:
            continue
        if is_url(ref):
            if ref.startswith("data:"):
                out += _contents(kind, i, "data URL", media.probe_url(kind, ref), media)
            elif not ref.startswith("data:"):
                media.count("remote", NOT_CHECKED)
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
        else:
            found = media.probe(kind, target)
            said = _contents(kind, i, f"media file '{ref}'", found, media)
            if said:
                out += said
            elif (found.checked or not media.decode) and len(clean) < MAX_REMEMBERED:
                clean.add(ref)  # nothing to say, nothing counted: the same ref again says nothing (one snapshot)
    return out


def _contents(kind: str, i: int, what: str, found: Probe, media: Media) -> list[Problem]:
    """`media_undecodable` when a loader could not read it, `media_too_large` over `--max-pixels`,
    `media_too_long` over `--max-duration`."""
    if found.error is not None:
        noun = {"images": "an image", "audios": "audio", "videos": "video"}[kind]
        return [problem(f"{kind}[{i}]", "media_undecodable", f"{what} cannot be decoded as {noun}: {found.error}; "
                                                             "replace or remove it")]
    if media.max_seconds is not None and found.seconds is not None and found.seconds > media.max_seconds:
        return [problem(f"{kind}[{i}]", "media_too_long", f"{what} lasts {found.seconds:.1f} s, over --max-duration "
                                                          f"{media.max_seconds:g}; cut it or raise the budget")]
    if media.max_pixels is not None and kind == "images" and found.pixels > media.max_pixels:
        return [problem(f"{kind}[{i}]", "media_too_large", f"{what} is {found.width}x{found.height} "
                                                           f"({found.pixels:,} pixels), over --max-pixels "
                                                           f"{media.max_pixels:,}; resize it or raise the budget")]
    return []


def media_sizes(record: Record, media: Media) -> tuple[list[tuple[int, int]], list[float]]:
    """(width, height) of each of the record's images and the seconds of each audio and video that can be read here
    (local files in the media folder, data URLs), from the checks' cache; remote URLs and unreadable files are left
    out."""
    sizes: list[tuple[int, int]] = []
    seconds: list[float] = []
    for kind in MEDIA_KINDS:
        for ref in getattr(record, kind) or []:
            found = _looked(kind, ref, media)
            if found is None or not found.checked or found.error is not None:
                continue
            if kind == "images":
                sizes.append((found.width, found.height))
            elif found.seconds is not None:
                seconds.append(found.seconds)
    return sizes, seconds


def _looked(kind: str, ref: str, media: Media) -> Probe | None:
    """What the checks found for one reference (None: a remote URL, or a file not readable here)."""
    if ref.startswith("data:"):
        return probe_data_url(ref, kind)
    if is_url(ref):
        return None
    try:
        target, is_file = media.locate(ref)
    except (OSError, RuntimeError, ValueError):
        return None
    if not is_file or not (media.allow_outside or inside(target, media.root)):
        return None
    return cached_probe(target, kind)
