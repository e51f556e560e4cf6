"""Where converted rows go: the JSON row writer and the batched file writer under it.

Rows reach a file through a `BatchWriter`: their bytes objects are collected and written 1 MB at a time with one
`writev`, so the kernel copies straight from the row objects (no user-space buffer copy, one system call per
megabyte). A file that will be synced before it is put in place (`early_sync`) is handed to the disk as it grows, in
a thread, so that the final sync (`ftdata.io.staging`) waits only for the tail. Which file, and how it gets into
place, is `ftdata.io.staging`'s business.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import orjson

CHUNK = 1 << 20  # bytes collected before a write
MAX_PARTS = 1024  # ... or pieces: the most one writev takes (IOV_MAX)
SYNC_EVERY = 8 << 20  # bytes written before the next early sync starts
SYNC_THREAD = "ftdata-early-sync"


class Sink(Protocol):
    """Where rows are written: a binary file, stdout's buffer, or a `BatchWriter`."""

    def write(self, data: bytes | memoryview, /) -> int: ...


class BatchWriter:
    """A write-only binary file that writes in 1 MB batches; `flush` (or `close`) writes what is collected."""

    def __init__(self, f: BinaryIO, early_sync: bool = False) -> None:
        f.flush()  # from here on rows go to the file descriptor itself
        self.f, self.fd = f, f.fileno()
        self.parts: list[bytes] = []
        self.size = 0
        # a regular file that will be synced: written data goes to the disk while the run goes on (`flush`)
        self.early_sync = early_sync and stat.S_ISREG(os.fstat(self.fd).st_mode)
        self.unsynced = 0
        self.syncing: Any = None  # the thread syncing now (threading is imported only where it is used)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.parts.append(data if type(data) is bytes else bytes(data))  # views into a reused buffer: copy
        self.size += len(data)
        if self.size >= CHUNK or len(self.parts) >= MAX_PARTS:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.parts:
            parts, self.parts, written, self.size = self.parts, [], self.size, 0
            _write_all(self.fd, parts)
            if self.early_sync:
                self.unsynced += written
                if self.unsynced >= SYNC_EVERY and (self.syncing is None or not self.syncing.is_alive()):
                    import threading

                    self.unsynced = 0
                    self.syncing = threading.Thread(target=_sync_quietly, args=(self.fd,), daemon=True,
                                                    name=SYNC_THREAD)
                    self.syncing.start()

    def append_file(self, path: Path) -> None:
        """Append the whole of the file at `path` after what was written so far (copied inside the kernel)."""
        self.flush()
        with open(path, "rb") as src:
            total = 0
            try:
                while n := os.copy_file_range(src.fileno(), self.fd, 1 << 30):
                    total += n
                return
            except (AttributeError, OSError):  # no copy_file_range here (macOS, old kernels, some file systems)
                src.seek(total)
            while block := src.read(CHUNK):
                _write_all(self.fd, [block])

    def settle(self) -> None:
        """Wait for the early sync running now, if any (before the process forks, or the file is closed)."""
        if self.syncing is not None:
            self.syncing.join()

    def close(self) -> None:
        self.flush()
        self.settle()  # before the file is synced and closed: never a sync of a reused descriptor

    def fileno(self) -> int:
        return self.fd


def _sync_quietly(fd: int) -> None:
    """Hand what was written so far to the disk (the final sync reports any error)."""
    try:
        os.fdatasync(fd)
    except (OSError, AttributeError):  # no fdatasync here (macOS)
        pass


def _write_all(fd: int, parts: list[bytes]) -> None:
    """Write `parts` in order with one writev (the kernel copies each part: no joined copy)."""
    total = sum(map(len, parts))
    done = os.writev(fd, parts)
    if done < total:  # a short write (rare on files): the rest, joined, until all is written
        rest = memoryview(b"".join(parts))[done:]
        while rest:
            rest = rest[os.write(fd, rest):]


class JsonWriter:
    """Rows out as JSON Lines, or as one JSON array (streamed) when the path ends in .json."""

    def __init__(self, f: Sink, array: bool) -> None:
        self.f, self.array, self.count = f, array, 0
        if array:
            f.write(b"[\n")

    def write(self, row: Any) -> None:
        if self.array:
            self.write_json(orjson.dumps(row))
        else:
            self.f.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
            self.count += 1

    def write_json(self, text: bytes | memoryview) -> None:
        """One row given as its JSON text (one line, no newline): `convert` copies rows already in shape."""
        if self.array and self.count:
            self.f.write(b",\n")
        self.f.write(text)
        if not self.array:
            self.f.write(b"\n")
        self.count += 1

    def close(self) -> None:
        if self.array:
            self.f.write(b"\n]\n" if self.count else b"]\n")
