"""Run a pure function over many inputs on every core, with results in input order.

Workers are forked, so they inherit the build's read-only state (the hub, the Jinja environment)
instead of receiving a pickled copy; only indexes go to a worker and only results come back. Where
fork is unavailable (Windows, macOS' default), or the work is too small to pay for a pool, the same
function runs in this process. Output never depends on the number of jobs.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_PER_WORKER = 16  # below this, starting processes costs more than it saves
IN_FLIGHT = 3  # chunks queued per worker
MAX_CHUNK = 48  # inputs per chunk: a chunk's results (rendered pages) wait whole in memory

# Set just before forking and cleared after: the one piece of module state, read only by workers.
_TASK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
_POOL_LOCK = threading.Lock()


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _TASK is not None
    func, inputs = _TASK
    return [func(inputs[i]) for i in range(*bounds)]


def parallel_iter(func: Callable[[T], R], inputs: Sequence[T],
                  jobs: int | None = None) -> Iterator[R]:
    """func(x) for each input, in input order, as results arrive: the caller can write each one
    away instead of holding them all."""
    global _TASK
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(inputs) < MIN_PER_WORKER * 2 or \
            "fork" not in multiprocessing.get_all_start_methods():
        yield from (func(x) for x in inputs)
        return
    jobs = min(jobs, len(inputs) // MIN_PER_WORKER)
    # Many small chunks: uneven work evens out, and results come back in small pieces.
    size = max(MIN_PER_WORKER // 2, min(MAX_CHUNK, -(-len(inputs) // (jobs * 16))))
    bounds = [(start, min(start + size, len(inputs))) for start in range(0, len(inputs), size)]
    # One pool at a time per process (the preview's check page builds in a thread of its own):
    # _TASK is what the forked workers run.
    _POOL_LOCK.acquire()
    _TASK = (func, inputs)
    # The collector would touch every object the workers inherit, copying the memory they
    # share with this process page by page: frozen objects are left alone, in here and there.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            # A few chunks in flight per worker, no more: results the caller has not taken yet
            # (rendered pages) would otherwise pile up in memory.
            pending: deque[Future[list[Any]]] = deque()
            queued = iter(bounds)
            for chunk in itertools.islice(queued, jobs * IN_FLIGHT):
                pending.append(pool.submit(_run_chunk, chunk))
            while pending:
                part = pending.popleft().result()
                for chunk in itertools.islice(queued, 1):
                    pending.append(pool.submit(_run_chunk, chunk))
                yield from part
    finally:
        _TASK = None
        gc.unfreeze()
        _POOL_LOCK.release()
