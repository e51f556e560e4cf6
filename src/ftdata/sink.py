"""Where converted rows go: atomic output files written by a background thread, and the JSON row writer.

`atomic_write` writes to a temp file beside the target and renames it into place only on success. The writes
themselves are handed to a thread in 1 MB chunks (`Spooler`): the thread writes them (one writev each: the kernel
copies straight from the row objects) and syncs them to disk while the main thread parses the next rows (system
calls release the GIL), so a conversion's output I/O overlaps its CPU work instead of adding to it.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import orjson

CHUNK = 1 << 20  # bytes handed to the writing thread at a time
MAX_PARTS = 1024  # ... or pieces: the most one writev takes (IOV_MAX)
SYNC_EVERY = 64 << 20  # bytes between the thread's fdatasync calls (the final fsync then has little left)


class Spooler:
    """A write-only binary file whose writes a background thread carries out, in order.

    An error in the thread (ENOSPC, EIO) is raised by the next `write` or by `close`; nothing is lost silently.
    """

    def __init__(self, f: BinaryIO, sync: bool = True) -> None:
        f.flush()  # from here on the thread writes to the file itself
        self.f, self.sync = f, sync
        self.fd = os.dup(f.fileno())  # the thread's own descriptor, closed by the thread: never pulled away mid-write
        self.parts: list[bytes] = []
        self.size = 0
        self.error: BaseException | None = None
        self.aborted = False
        self.chunks: queue.Queue[list[bytes] | Path | None] = queue.Queue(maxsize=8)  # bounded: ~8 MB held
        self.thread = threading.Thread(target=self._drain, name="ftdata-writer", daemon=True)
        self.thread.start()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.error is not None:
            raise self.error
        self.parts.append(data if type(data) is bytes else bytes(data))  # views into a reused buffer: copy
        self.size += len(data)
        if self.size >= CHUNK or len(self.parts) >= MAX_PARTS:
            self._hand_over()
        return len(data)

    def append_file(self, path: Path) -> None:
        """Append the whole of the file at `path`, in order with the writes (copied inside the kernel)."""
        if self.error is not None:
            raise self.error
        self._hand_over()
        self.chunks.put(path)

    def drain(self) -> None:
        """Wait until everything handed over so far is written (e.g. before removing appended files)."""
        self._hand_over()
        self.chunks.join()
        if self.error is not None:
            raise self.error

    def _hand_over(self) -> None:
        if self.parts:
            self.chunks.put(self.parts)
            self.parts, self.size = [], 0

    def _drain(self) -> None:
        written = synced = 0
        try:
            while (item := self.chunks.get()) is not None and not self.aborted:
                try:
                    if self.error is None:  # after an error: keep taking chunks, so the main thread never blocks
                        written += _append(self.fd, item) if isinstance(item, Path) else _write_all(self.fd, item)
                    if self.sync and written - synced >= SYNC_EVERY:
                        os.fdatasync(self.fd)
                        synced = written
                except BaseException as err:  # noqa: BLE001 - handed to the main thread, raised there
                    self.error = err
                finally:
                    self.chunks.task_done()
        finally:
            os.close(self.fd)

    def close(self) -> None:
        """Write what is left, wait for the thread, raise its error if it had one."""
        self._hand_over()
        self.chunks.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Stop the thread soon, without writing what is left (the output is being thrown away).

        It does not wait: an abort runs on Ctrl-C / SIGTERM, where blocking on the thread could hang the exit.
        """
        self.aborted, self.parts = True, []
        with suppress(queue.Full):
            self.chunks.put_nowait(None)

    def fileno(self) -> int:
        return self.f.fileno()


def _write_all(fd: int, parts: list[bytes]) -> int:
    """Write `parts` in order with one writev (the kernel copies each part: no joined copy); returns the bytes."""
    total = sum(map(len, parts))
    done = os.writev(fd, parts)
    if done < total:  # a short write (rare on files): the rest, joined, until all is written
        rest = memoryview(b"".join(parts))[done:]
        while rest:
            rest = rest[os.write(fd, rest):]
    return total


def _append(fd: int, path: Path) -> int:
    """Copy a whole file to the end of `fd`: copy_file_range where the system has it, else read/write."""
    with open(path, "rb") as src:
        total = 0
        try:
            while n := os.copy_file_range(src.fileno(), fd, 1 << 30):
                total += n
            return total
        except (AttributeError, OSError):  # no copy_file_range here (macOS, old kernels, some file systems)
            src.seek(total)
        while block := src.read(CHUNK):
            total += _write_all(fd, [block])
        return total


@contextmanager
def atomic_write(path: Path, spool: bool = True) -> Iterator[BinaryIO]:
    """Write to a temp file beside `path` and rename it into place only on success: no half-written output.

    With `spool` the writes go through a `Spooler` (a background thread); the data is fsynced before the rename.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if spool:
                spooler = Spooler(f)
                try:
                    yield spooler  # type: ignore[misc]
                except BaseException:
                    spooler.abort()
                    raise
                spooler.close()
            else:
                yield f
                f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class JsonWriter:
    """Rows out as JSON Lines, or as one JSON array (streamed) when the path ends in .json."""

    def __init__(self, f: BinaryIO, array: bool) -> None:
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
