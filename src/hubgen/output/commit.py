"""The commit: a build's staged files made the output, all or nothing, whatever interrupts it.

A build stages its new and changed files in a folder beside the output (writer.Staging). The
commit then

1. writes a journal into the staging folder — the files it moves in, and every file of the new
   site — and renames it to COMMIT: the one atomic step that decides. Before it the old site
   stands whole; after it the new site is certain;
2. moves the staged files in and removes what the new site no longer holds (apply);
3. removes the staging folder.

Every build into an output folder first takes that folder's lock (between processes: two builds
of one folder run one after the other) and, before anything else, finishes a commit that a killed
build left half done and removes staging folders that no build owns (a build killed while it was
still staging). So after any interruption — kill -9, a crash, a power cut once the journal is on
disk — the next build makes the output exactly the interrupted build's new site, or finds the old
one exactly as it was. A Ctrl-C during step 2 lets step 2 finish first.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: builds of one folder are not serialised there
    fcntl = None  # type: ignore[assignment]

JOURNAL = "COMMIT"


def staging_prefix(out: Path) -> str:
    """The name every staging folder of `out` starts with (they sit beside it)."""
    return f".{out.name}.new-"


@contextlib.contextmanager
def claim(out: Path) -> Iterator[None]:
    """Hold the output folder's lock for a whole build, and recover the folder first. The lock
    is taken on the folder that holds the output (and its staging folders), so it leaves no file
    behind; builds into two outputs side by side wait for each other too."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if fcntl is not None:
            _lock(fd)
        recover(out)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # A worker process importing a script that builds without `if __name__ == "__main__":`
        # (multiprocessing marks a child that is still importing its parent's main module):
        # waiting would wait for the parent, which waits for its workers. It ends instead, and
        # the parent says what to do (parallel.WorkerLost).
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            raise RuntimeError("a worker process started a build while importing the main "
                               "module") from None
        fcntl.flock(fd, fcntl.LOCK_EX)  # another build of this folder: wait for it


def recover(out: Path) -> None:
    """Finish every commit a killed build decided on, and remove every other staging folder.
    Called with the folder's lock held, so no staging folder belongs to a live build."""
    for folder in sorted(out.parent.glob(staging_prefix(out) + "*")):
        if folder.is_symlink() or not folder.is_dir():  # never a build's: never followed
            folder.unlink()
            continue
        journal = folder / JOURNAL
        if journal.is_file():
            with contextlib.suppress(ValueError, OSError):  # unreadable: it never was decided
                apply(out, folder, Journal.read(journal))
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Journal:
    """What a decided commit does: the staged files to move in, and every file of the new site
    (None: only some of its files were made, nothing is removed)."""

    moves: tuple[str, ...]
    site: frozenset[str] | None

    def write(self, folder: Path, durable: bool) -> None:
        """Into `folder`, decided by one rename; `durable`: on disk before the rename."""
        temporary = folder / (JOURNAL + ".tmp")
        data = json.dumps({"moves": list(self.moves),
                           "site": sorted(self.site) if self.site is not None else None})
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, folder / JOURNAL)
        if durable and hasattr(os, "O_DIRECTORY"):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    @classmethod
    def read(cls, path: Path) -> Journal:
        data = json.loads(path.read_text("utf-8"))
        site = data["site"]
        return cls(tuple(data["moves"]), frozenset(site) if site is not None else None)


def apply(out: Path, folder: Path, journal: Journal) -> None:
    """Move the staged files in and remove what the new site no longer holds. Each step can be
    repeated: a move whose staged file is gone was made already."""
    base, staged = str(out), str(folder)
    folders = Folders(base)
    for path in journal.moves:
        source, target = f"{staged}/{path}", f"{base}/{path}"
        if not os.path.lexists(source):
            continue
        folders.make(target.rpartition("/")[0])
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)  # a folder where this build puts a file
        os.replace(source, target)  # replaces a link, never follows it
    if journal.site is not None:
        remove_stale(base, journal.site)


def commit(out: Path, folder: Path, journal: Journal, durable: bool) -> None:
    """Decide, apply and clean up. A Ctrl-C meanwhile waits for the end of it: a half moved site
    is worse than a late exit."""
    with _ctrl_c_deferred():
        journal.write(folder, durable)
        apply(out, folder, journal)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Ctrl-C (SIGINT) is held back until the block is done, then raised. Only the main thread
    receives signals; elsewhere the block simply runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def remove_stale(out: str, site: Iterable[str]) -> None:
    """Delete the files (and links) that are not in `site`, and the folders left empty."""
    keep = set(site)
    kept: set[str] = set()  # folders that still hold something
    for dirpath, dirnames, filenames in os.walk(out, topdown=False):
        base = dirpath[len(out) + 1:].replace(os.sep, "/")
        prefix = base + "/" if base else ""
        holds = False
        for name in filenames:
            if prefix + name in keep and not os.path.islink(os.path.join(dirpath, name)):
                holds = True
            else:
                os.unlink(os.path.join(dirpath, name))
        for name in dirnames:  # a link to a folder: never the build's, never followed
            if os.path.islink(os.path.join(dirpath, name)):
                os.unlink(os.path.join(dirpath, name))
        if holds or any(os.path.join(dirpath, name) in kept for name in dirnames):
            kept.add(dirpath)
        elif base:
            with contextlib.suppress(OSError):  # a folder a reader just filled
                os.rmdir(dirpath)


class Folders:
    """Makes folders inside the output, never through a link: a link or a file that stands where
    a folder must be is removed first, so nothing is ever written outside the output folder."""

    def __init__(self, out: str) -> None:
        self._made = {out}

    def make(self, folder: str) -> None:
        if folder in self._made:
            return
        self.make(folder.rpartition("/")[0])
        try:
            info: os.stat_result | None = os.lstat(folder)
        except FileNotFoundError:
            info = None
        if info is not None and not stat.S_ISDIR(info.st_mode):
            os.unlink(folder)  # a link (to anywhere) or a file
            info = None
        if info is None:
            os.mkdir(folder)
        self._made.add(folder)
