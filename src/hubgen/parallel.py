"""Run a pure function over many inputs on every core, with results in input order.

Workers start from a small server process (multiprocessing's "forkserver", which loads hubgen's
modules once), not from the build itself: a forked copy of a build that holds a large hub would
count that hub once more per worker, and the whole process tree must stay small. So what a worker
needs travels to it: the function with its bound arguments once per worker, and each chunk of
inputs. Where there is neither forkserver nor fork (Windows), or the work is too small to pay for
a pool, the same function runs in this process. Output never depends on the number of jobs.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import Any, TypeVar, cast

from hubgen.errors import HubgenError

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")

MIN_PER_WORKER = 16  # below this, starting processes costs more than it saves
IN_FLIGHT = 3  # chunks queued per worker
MAX_CHUNK = 48  # inputs per chunk: a chunk's inputs and results wait whole in memory
PRELOAD = ["hubgen.build"]  # imported once by the server, so a worker starts in milliseconds


class WorkerLost(HubgenError):
    """A worker process ended without finishing its work."""

    def __str__(self) -> str:
        return ("a worker process of the build ended abruptly. The machine may be out of memory "
                "(try --jobs 1), or a Python script that calls hubgen's build does not guard its "
                "work with `if __name__ == \"__main__\":` (each worker imports it again)")


_FUNC: Callable[[Any], Any] | None = None  # in a worker: the function it was started for


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _context() -> BaseContext | None:
    methods = multiprocessing.get_all_start_methods()
    # A worker imports the program's main module again (as every forkserver or spawn child
    # does), so a script calling hubgen must guard its work with `if __name__ == "__main__"`.
    # A program read from stdin cannot be imported again: its workers are forked from it.
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if "forkserver" in methods and (main_file is None or os.path.isfile(main_file)):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("fork") if "fork" in methods else None


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc's; not on musl, macOS or Windows
    except (OSError, TypeError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return cast(Callable[[int], int], trim)


def release_memory() -> None:
    """Give memory this process has freed back to the system. glibc keeps freed memory that sits
    between live objects; after a stage (or the bodies) is let go, that is most of the heap."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _install(func: Callable[[Any], Any]) -> None:
    global _FUNC
    _FUNC = func


def _run_chunk(inputs: list[Any]) -> list[Any]:
    assert _FUNC is not None
    return [_FUNC(x) for x in inputs]


def _same(x: Any) -> Any:
    return x


def parallel_iter(func: Callable[[P], R], inputs: Sequence[T], jobs: int | None = None,
                  prepare: Callable[[T], P] = _same) -> Iterator[R]:
    """func(prepare(x)) for each input, in input order, as results arrive: the caller can write
    each one away instead of holding them all.

    `func` (a module-level function, or a functools.partial of one with picklable arguments) is
    sent to each worker once. `prepare` runs here, a chunk at a time just before the chunk is
    sent: what it makes (a page's whole context) never piles up for all inputs at once.
    """
    jobs = jobs or default_jobs()
    context = _context()
    if jobs <= 1 or len(inputs) < MIN_PER_WORKER * 2 or context is None:
        yield from (func(prepare(x)) for x in inputs)
        return
    jobs = min(jobs, len(inputs) // MIN_PER_WORKER)
    # Many small chunks: uneven work evens out, and results come back in small pieces.
    size = max(MIN_PER_WORKER // 2, min(MAX_CHUNK, -(-len(inputs) // (jobs * 16))))
    chunks = ([prepare(x) for x in inputs[start:start + size]]
              for start in range(0, len(inputs), size))
    try:
        yield from _pooled(func, chunks, jobs, context)
    finally:
        release_memory()


def _pooled(func: Callable[[P], R], chunks: Iterator[list[P]], jobs: int,
            context: BaseContext) -> Iterator[R]:
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_install,
                             initargs=(func,)) as pool:
        # A few chunks in flight per worker, no more: results the caller has not taken yet
        # (and inputs not sent yet) would otherwise pile up in memory.
        pending: deque[Future[list[Any]]] = deque()
        for chunk in itertools.islice(chunks, jobs * IN_FLIGHT):
            pending.append(pool.submit(_run_chunk, chunk))
        while pending:
            try:
                part = pending.popleft().result()
            except BrokenProcessPool as exc:
                raise WorkerLost() from exc
            for chunk in itertools.islice(chunks, 1):
                pending.append(pool.submit(_run_chunk, chunk))
            yield from part
