"""Run one command and measure it: wall clock, and peak memory of its whole process tree.

    python benchmarks/measure.py --result R.json --log LOG [--cwd DIR] [--interval 0.1] -- CMD ...

run.py starts a fresh copy of this wrapper for every timed run, so that what the wrapper measures
belongs to that one command only:

* `seconds`: time.perf_counter() around the command (start to exit), excluding this wrapper's own
  start-up.
* `max_rss_single_kib`: resource.getrusage(RUSAGE_CHILDREN).ru_maxrss after the command and all
  its descendants have been reaped. This is the peak RSS of the *largest single process* in the
  tree, not their sum: for a process pool it is one worker (or the parent), whichever peaked highest.
* `tree_rss_peak_kib` / `tree_pss_peak_kib`: the peak of the *sum* over the whole process tree,
  sampled every --interval seconds from /proc (Linux; psutil is not needed). RSS counts pages shared
  between a parent and its forked workers once per process (an upper bound); PSS divides shared
  pages among their users (the fairest "memory of the tree" figure). A peak shorter than the interval
  can be missed. The wrapper makes itself a child subreaper (prctl), so descendants whose parent
  exits stay in the tree instead of escaping to init.

The command's stdout and stderr go to --log; the measurements go to --result as JSON.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> list[int]:
    """Every live process below `root` (by parent pid), from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of every descendant of this process until stopped."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.rss_peak = 0
        self.pss_peak = 0
        self.procs_peak = 0
        self.samples = 0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.is_set():
            pids = descendants(me)
            self.rss_peak = max(self.rss_peak, sum(_rss_kib(p) for p in pids))
            self.pss_peak = max(self.pss_peak, sum(_pss_kib(p) for p in pids))
            self.procs_peak = max(self.procs_peak, len(pids))
            self.samples += 1
            self.stop.wait(self.interval)


def _reap_orphans(timeout: float = 30.0) -> None:
    """As subreaper we inherit orphaned descendants; wait for them so their usage is counted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def measure(cmd: Sequence[str], log: Path, cwd: Path | None, interval: float,
            env: dict[str, str] | None = None) -> dict[str, object]:
    subreaper = _become_subreaper()
    sampler = TreeSampler(interval) if interval > 0 else None
    with log.open("wb") as out:
        if sampler:
            sampler.start()
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        returncode = proc.wait()
        seconds = time.perf_counter() - start
        _reap_orphans()
        if sampler:
            sampler.stop.set()
            sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cmd": list(cmd),
        "returncode": returncode,
        "seconds": seconds,
        "max_rss_single_kib": usage.ru_maxrss,
        "tree_rss_peak_kib": sampler.rss_peak if sampler else None,
        "tree_pss_peak_kib": sampler.pss_peak if sampler else None,
        "tree_procs_peak": sampler.procs_peak if sampler else None,
        "samples": sampler.samples if sampler else 0,
        "interval": interval,
        "subreaper": subreaper,
        "user_seconds": usage.ru_utime,
        "system_seconds": usage.ru_stime,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure one command (see the module docstring).")
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--log", type=Path, required=True, help="the command's stdout and stderr")
    parser.add_argument("--cwd", type=Path, help="working folder of the command")
    parser.add_argument("--interval", type=float, default=0.1,
                        help="seconds between /proc samples of the tree; 0 disables sampling")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- the command and its arguments")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")
    result = measure(cmd, args.log, args.cwd, args.interval)
    args.result.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
