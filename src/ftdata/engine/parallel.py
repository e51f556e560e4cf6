"""Map a function over byte ranges of one file in parallel processes; results come back in file order.

Generic: it knows nothing of validating or converting. This process works on the first range itself (it would
otherwise wait idle) while worker processes take the others. On Linux each worker is a plain fork that sends its
one result back through a pipe: no process pool to import and start (10-15 ms of this process's CPU, near a tenth of
validating a 40 MB file of rich rows on two cores) and no pool threads beside the range this process works on.
Elsewhere (no fork, or fork unsafe: macOS) a `ProcessPoolExecutor` runs the workers.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, TypeVar

R = TypeVar("R")
PARALLEL_MIN_BYTES = 16 << 20  # below this, starting worker processes costs more than it saves
FORK = sys.platform.startswith("linux") and hasattr(os, "fork")


def workers_for(asked: int) -> int:
    """Processes worth starting: no more than asked, than cores (`-w 64` on 2 cores would only thrash)."""
    return max(1, min(asked, os.cpu_count() or 1))


def split(path: Path, parts: int, lead: float = 1.0) -> list[tuple[int, int]]:
    """`path` as up to `parts` byte ranges that start at line starts and cover every line once, in file order; the
    first is `lead` times as long as each of the others (in bytes, to the next line start): 100 bytes, 2 parts,
    lead 0.5 -> about [(0, 33), (33, 100)]. Empty ranges are left out."""
    if parts < 1 or not lead > 0:
        raise ValueError(f"split: parts must be >= 1 and lead > 0 (got {parts}, {lead})")
    size = path.stat().st_size
    total = lead + parts - 1
    cuts = [0]
    with path.open("rb") as f:
        for i in range(1, parts):
            f.seek(max(round(size * (lead + i - 1) / total), cuts[-1]))
            f.readline()  # move to the next line start
            cuts.append(min(f.tell(), size))
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


_PDEATHSIG: list[Callable[[], object]] = []  # set in this process before the first fork (see `_prepare`)


def _prepare() -> None:
    """Load what a worker needs to set its parent-death signal here, once, so that no worker imports ctypes again
    (about 4 ms of each worker's CPU, its memory pages copied, against 2 ms once here)."""
    if _PDEATHSIG:
        return
    try:
        import ctypes

        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
        _PDEATHSIG.append(lambda: prctl(1, 9))  # PR_SET_PDEATHSIG, SIGKILL (a handler would catch TERM)
    except (OSError, AttributeError):
        _PDEATHSIG.append(lambda: None)


def _die_with_parent() -> None:
    """A worker ends when this process does (kill -9 included), rather than writing on as an orphan (Linux)."""
    _prepare()
    _PDEATHSIG[0]()


class WorkerFailed(RuntimeError):
    """A worker process ended without sending its result (killed, out of memory), or its traceback."""


def map_ranges(path: Path, parts: int, local: Callable[[int, int], R], remote: Callable[..., R],
               *shared: Any, lead: float = 1.0) -> Iterator[R]:
    """Split `path` into up to `parts` ranges (`split`; `lead`: the first range's length against each other's, for
    a caller whose own part of the work is larger); yield `local(start, end)` for the first (run here) and then
    `remote(index, start, end, *shared)` for the others (run in worker processes, so `remote`, `shared` and the
    results must pickle), in file order."""
    (first_start, first_end), *rest = split(path, parts, lead) if path.stat().st_size else [(0, 0)]
    if not FORK:
        yield from _pooled(rest, lambda: local(first_start, first_end), remote, shared)
        return
    workers: list[tuple[int, int]] = []
    # workers whose result is read are reaped last: their exit (freeing their memory, ~5 ms for 60 MB) overlaps
    # this process's use of the result instead of delaying it
    ended: list[int] = []
    if rest:
        _prepare()
    try:
        for i, (a, b) in enumerate(rest, start=1):
            workers.append(_fork(remote, (i, a, b, *shared), os.getpid()))
        yield local(first_start, first_end)
        while workers:
            pid, fd = workers[0]
            data = _collect(pid, fd)
            workers.pop(0)
            if not data:
                raise WorkerFailed(f"a worker process ended without its result ({_how(os.waitpid(pid, 0)[1])})")
            ended.append(pid)
            yield _unpack(data)
    finally:
        for pid, fd in workers:  # not collected: this process stopped early (an error, an interrupt)
            _stop(pid, fd)
        for pid in ended:
            os.waitpid(pid, 0)


def _pooled(rest: list[tuple[int, int]], first: Callable[[], R], remote: Callable[..., R],
            shared: tuple[Any, ...]) -> Iterator[R]:
    """The workers as a process pool (where fork is not the way: macOS, Windows)."""
    from concurrent.futures import ProcessPoolExecutor  # here: `import ftdata` and small runs skip it

    with ProcessPoolExecutor(max_workers=max(len(rest), 1), initializer=_die_with_parent) as pool:
        futures = [pool.submit(remote, i, a, b, *shared) for i, (a, b) in enumerate(rest, start=1)]
        yield first()
        for future in futures:
            yield future.result()


def _fork(remote: Callable[..., Any], args: tuple[Any, ...], parent: int) -> tuple[int, int]:
    """Start one worker running `remote(*args)`: its process id and the pipe its pickled result comes through."""
    r, w = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(r)
        os.close(w)
        raise
    if pid == 0:
        os.close(r)
        _work(w, remote, args, parent)
    os.close(w)
    return pid, r


def _work(fd: int, remote: Callable[..., Any], args: tuple[Any, ...], parent: int) -> NoReturn:
    """In the worker: run, send (True, result) or (False, exception, its traceback), and end without the
    interpreter's exit (nothing of this process's buffers is flushed twice, nothing torn down for nothing)."""
    code = 1
    try:
        _die_with_parent()
        if os.getppid() == parent:  # else the parent ended before the line above: nobody wants the result
            _send(fd, remote, args)
            code = 0
    finally:
        os._exit(code)


def _send(fd: int, remote: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Run `remote` and write what came of it, pickled, to `fd` (closed after)."""
    try:
        sent: tuple[Any, ...] = (True, remote(*args))
    except BaseException as err:  # every failure goes back to the parent, which raises it
        sent = (False, err, traceback.format_exc())
    try:
        data = pickle.dumps(sent, pickle.HIGHEST_PROTOCOL)
    except Exception:  # a result or exception that does not pickle: its traceback, as text
        data = pickle.dumps((False, None, traceback.format_exc()), pickle.HIGHEST_PROTOCOL)
    with open(fd, "wb") as out:
        out.write(data)


def _collect(pid: int, fd: int) -> bytes:
    """What one worker sent (all of it: the worker has closed its end)."""
    with open(fd, "rb", closefd=False) as f:
        data = f.read()
    os.close(fd)
    return data


def _unpack(data: bytes) -> Any:
    """A worker's result (its exception raised here, with its traceback)."""
    try:
        sent = pickle.loads(data)
    except Exception as err:  # an exception type that pickles but does not unpickle (its own __init__ arguments)
        raise WorkerFailed(f"a worker process sent what cannot be read back: {err!r}") from None
    if sent[0]:
        return sent[1]
    if sent[1] is None:
        raise WorkerFailed(f"a worker process failed:\n{sent[2]}")
    raise sent[1] from WorkerFailed(f"in the worker process:\n{sent[2]}")


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _stop(pid: int, fd: int) -> None:
    """End a worker whose result is no longer wanted, and reap it."""
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    try:
        os.close(fd)
    except OSError:
        pass  # closed already (after what it sent was read)
    os.waitpid(pid, 0)
