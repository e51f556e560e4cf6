"""Map a function over byte ranges of one file in parallel processes; results come back in file order.

Generic: it knows nothing of validating or converting. This process works on the first range itself (it would
otherwise wait idle) while worker processes take the others.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ftdata.io.readers import line_ranges

R = TypeVar("R")
PARALLEL_MIN_BYTES = 16 << 20  # below this, starting worker processes costs more than it saves


def workers_for(asked: int) -> int:
    """Processes worth starting: no more than asked, than cores (`-w 64` on 2 cores would only thrash)."""
    return max(1, min(asked, os.cpu_count() or 1))


def _die_with_parent() -> None:
    """A worker ends when this process does (kill -9 included), rather than writing on as an orphan (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL (a handler would catch TERM)
    except (OSError, AttributeError):
        pass


def map_ranges(path: Path, parts: int, local: Callable[[int, int], R], remote: Callable[..., R],
               *shared: Any) -> Iterator[R]:
    """Split `path` into up to `parts` ranges that start at line starts; yield `local(start, end)` for the first
    (run here) and then `remote(index, start, end, *shared)` for the others (run in worker processes, so `remote`
    and `shared` must pickle), in file order."""
    (first_start, first_end), *rest = line_ranges(path, parts) or [(0, 0)]
    from concurrent.futures import (
        ProcessPoolExecutor,  # here: `import ftdata` and small runs skip it
    )

    with ProcessPoolExecutor(max_workers=max(len(rest), 1), initializer=_die_with_parent) as pool:
        futures = [pool.submit(remote, i, a, b, *shared) for i, (a, b) in enumerate(rest, start=1)]
        yield local(first_start, first_end)
        for future in futures:
            yield future.result()
