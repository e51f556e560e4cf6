"""Output files that appear whole, together, or not at all, in a folder other runs and users share.

Each output is written to a temp file beside its target: a dot-file whose name carries this process's id and a
random token (`.OUT.ftdata-<pid>-<token>.tmp`), created exclusively and never through a link (a symlink planted at
a guessable name is refused, not followed), with the mode a plain write would give under the user's umask (an
existing target's own mode when it is replaced). `commit` renames the files of one run into place with signals
held, so OUT and its rejects file appear together; a target created without --force is created exclusively (a
hard link fails when the name exists), so of two runs racing to the same new OUT one wins and the other stops
without touching it. A later run removes temp files whose process is gone (kill -9, a crash).

Every command's outputs pass one check before any work (`check_output`: never an input under any name, regular
files only, a name that fits) and single-file outputs are written by `write_output` (checked, staged, committed).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import secrets
import signal
import stat
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from ftdata.io.readers import STDIN, UsageError, same_file

TAG = "ftdata"
STALE = re.compile(rf"^\..+\.{TAG}-(\d+)-[0-9a-f]{{12}}\.(tmp|part\d+\.out|part\d+\.rejects)$")  # pid, kind
HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
NAME_MAX = 255  # bytes in a file name on every file system we write to (ext4, xfs, btrfs, tmpfs, APFS)


class OutputExists(Exception):
    """A target that was to be created appeared while this run was writing (another run?)."""


def file_mode(path: Path) -> int:
    """The mode a file at `path` should get: an existing file's own; for a new one, what a plain open() would give
    under the user's umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def temp_name(target: Path, run: str, suffix: str = "tmp") -> Path:
    """'.OUT.ftdata-<pid>-<token>.<suffix>' beside `target`: unique to the run, recognisable when stale. OUT's part
    is shortened so that the name fits where OUT's own name fits (an OUT near the name limit is not refused for
    its temp file)."""
    tail = f".{TAG}-{run}.{suffix}"
    name = target.name
    if len(f".{name}{tail}".encode()) > NAME_MAX:  # cut, with a digest of the whole name: OUT and OUT.rejects differ
        digest = hashlib.sha1(name.encode(errors="surrogateescape")).hexdigest()[:8]
        while len(f".{name}~{digest}{tail}".encode()) > NAME_MAX and name:
            name = name[:-1]
        name = f"{name}~{digest}"
    return target.parent / f".{name}{tail}"


def new_run() -> str:
    """This run's id in temp names: the process id (to tell stale files) and a random token (unguessable)."""
    return f"{os.getpid()}-{secrets.token_hex(6)}"


def create(path: Path, mode: int) -> BinaryIO:
    """Open a new file for writing: exclusively (never an existing file), never through a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    os.fchmod(fd, mode)  # the umask already applied to a new file's mode; an existing target's mode is kept as is
    return os.fdopen(fd, "wb")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale(folder: Path) -> list[Path]:
    """Remove this tool's temp and part files in `folder` whose process is gone; returns them."""
    removed = []
    with suppress(OSError):
        for entry in os.scandir(folder):
            m = STALE.match(entry.name)
            if m and int(m.group(1)) != os.getpid() and not alive(int(m.group(1))) and entry.is_file(follow_symlinks=False):
                with suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


class Staged:
    """One output being written to its temp file; `commit` puts it in place. `replace`: an existing regular file may
    be replaced (--force); otherwise the target is created exclusively, trying `alternatives` in turn."""

    def __init__(self, target: Path, replace: bool, run: str, alternatives: tuple[Path, ...] = ()) -> None:
        self.target = target.resolve() if target.is_symlink() else target  # write through a link, keep the link
        self.replace, self.alternatives = replace, alternatives
        self.tmp = temp_name(self.target, run)
        self.file = create(self.tmp, file_mode(self.target))
        self.placed: Path | None = None

    def sync(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def discard(self) -> None:
        with suppress(OSError):
            self.file.close()
        with suppress(FileNotFoundError):
            os.unlink(self.tmp)

    def place(self) -> Path:
        self.file.close()
        if self.replace:
            os.replace(self.tmp, self.target)
            self.placed = self.target
            return self.target
        for target in (self.target, *self.alternatives):
            try:
                os.link(self.tmp, target)  # fails when the name exists: creation is exclusive
            except FileExistsError:
                continue
            except OSError as err:
                if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                if os.path.lexists(target):  # no hard links on this file system: check, then rename
                    continue
                os.replace(self.tmp, target)
            else:
                os.unlink(self.tmp)
            self.placed = target
            return target
        raise OutputExists(self.target)


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block is done, then deliver them as they would have been.

    Python runs signal handlers in the main thread whichever thread the kernel picked, so a mask on this thread
    alone would not hold a signal in a process with other threads: the handlers are swapped for one that only
    takes note. (Outside the main thread handlers cannot be swapped: the block runs unheld.)"""
    got: list[int] = []
    try:
        old = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in HELD}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(got):
            handler = old[signal.Signals(signum)]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)


def commit(staged: list[Staged], discard: tuple[Staged, ...] = ()) -> None:
    """Sync and put `staged` in place in order, drop `discard`: as one step as far as the file system allows. When
    a target to create appeared meanwhile, the files this commit created are removed again and OutputExists is
    raised (replaced files cannot be put back, so replacing targets go last). A file this run read as media (a
    row's image, say) is never replaced: UsageError."""
    from ftdata.io.decode import was_probed  # media are inputs known only once read: checked at the last moment

    read = next((s.target for s in staged if s.replace and was_probed(str(s.target))), None)
    if read is not None:
        for s in [*staged, *discard]:
            s.discard()
        raise UsageError(f"{read} is a media file this run read (a row names it); choose another output")
    try:
        for s in staged:
            s.sync()
    except BaseException:  # a full disk shows here at the latest: no temp file is left behind
        for s in [*staged, *discard]:
            s.discard()
        raise
    done: list[Staged] = []
    with signals_held():
        try:
            for s in staged:
                s.place()
                done.append(s)
        except BaseException:
            for s in done:
                if not s.replace and s.placed is not None:
                    with suppress(FileNotFoundError):
                        os.unlink(s.placed)
            raise
        finally:
            for s in [*staged, *discard]:
                if s not in done:
                    s.discard()


def refuse_inputs(outputs: Iterable[Path], inputs: Iterable[Path], flag: str = "-o") -> None:
    """UsageError when an output is one of `inputs` under any name (symlinks, hard links); "-" (stdin) is none."""
    named = [p for p in inputs if str(p) != STDIN]
    for target in outputs:
        for source in named:
            if same_file(target, source):
                raise UsageError(f"{target} is the input {source} (the same file); choose another {flag}")


def check_replaceable(out: Path, force: bool, flag: str = "-o") -> None:
    """UsageError unless `out` may be written: its name fits, it is absent, or (with `force`) a regular file. A
    folder, FIFO or device is never replaced."""
    if len(out.name.encode(errors="surrogateescape")) > NAME_MAX:
        raise UsageError(f"{flag} {out}: the file name is longer than {NAME_MAX} bytes; choose a shorter name")
    try:
        exists = os.path.lexists(out)
        regular = is_regular_or_absent(out)
    except OSError as err:
        raise UsageError(f"{flag} {out}: {err.strerror or err}") from None
    except ValueError:  # a NUL byte in the name
        raise UsageError(f"{flag} {out!r}: not a usable file name") from None
    if exists and not regular:
        how = "--force replaces" if flag == "-o" else "an output replaces"
        raise UsageError(f"{out} is not a regular file (a folder, FIFO or device); {how} regular files only")
    if exists and not force:
        raise UsageError(f"{out} exists; pass --force to replace it, or choose another {flag}")


def check_output(out: Path, inputs: Iterable[Path], force: bool, flag: str = "-o") -> None:
    """The checks every output of every command passes before any work: not an input under any name (pass all a
    run reads, a descriptor's data files included), its folder exists, and `check_replaceable`."""
    refuse_inputs([out], inputs, flag)
    try:
        folder_ok = out.parent.is_dir()
    except (OSError, ValueError):
        folder_ok = False
    if not folder_ok:
        raise UsageError(f"{flag} {out}: the folder {out.parent} does not exist; create it or choose another {flag}")
    check_replaceable(out, force, flag)


def write_output(out: Path, data: bytes, inputs: Iterable[Path], force: bool, flag: str = "-o") -> None:
    """`check_output`, then write `data` to `out` whole or not at all (a temp file renamed into place; created
    exclusively unless `force`). A failure (a full disk, a read-only place) is a UsageError naming `out`, and
    leaves no temp file."""
    check_output(out, inputs, force, flag)
    try:
        clean_stale(out.parent.resolve())
        staged = Staged(out, replace=force, run=new_run())
        try:
            staged.file.write(data)
        except BaseException:
            staged.discard()
            raise
        commit([staged])
    except OutputExists:
        raise UsageError(f"{out} was created by another run meanwhile; it was left as it is") from None
    except OSError as err:
        raise UsageError(f"{flag} {out}: cannot write it: {err.strerror or err}; nothing was written") from None


def is_regular_or_absent(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on a folder (flock on its descriptor): read-modify-write of a file in it by one run at a
    time. Nothing is left behind."""
    fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write a whole file, replacing `path` only when done (a failure leaves the old one and no temp file)."""
    staged = Staged(path, replace=True, run=new_run())
    try:
        yield staged.file
    except BaseException:
        staged.discard()
        raise
    commit([staged])
