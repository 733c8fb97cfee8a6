"""The only code that writes the built site.

New and changed files are written into a staging folder beside the output while the build runs;
only when everything succeeded are they committed (commit.py), so a failed or interrupted build
leaves the previous output exactly as it was. A file whose bytes did not change is never written
again (same inode, same modification time), so a rebuild with no change writes nothing and
deploy tools that compare times see no change.
"""

from __future__ import annotations

import os
import shutil
import stat
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from hubgen.errors import BuildFailed, Problem, UsageError
from hubgen.output.commit import JOURNAL, Journal, commit, staging_prefix


@dataclass(frozen=True)
class Output:
    """One file of the built site. `public` is False under /unlocked/.

    `data` is None for a file copied as it is: a page unchanged since the previous build, or a
    cover, download or theme file; `reuse` names the file to copy.
    """

    path: str  # relative, posix, e.g. "articles/x/index.html"
    data: bytes | None
    public: bool = True
    reuse: Path | None = None
    key: str | None = None  # a rendered page's fingerprint (render/site.py)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.reuse is not None, self.path
        return self.reuse.read_bytes()


def check_target(out: Path, root: Path) -> None:
    """Refuse an output folder whose replacement would destroy the hub's sources."""
    out, root = out.resolve(), root.resolve()
    protected = [root, root / "content", root / "themes", root / ".git"]
    if out in protected or root.is_relative_to(out) or any(
        out.is_relative_to(p) for p in protected[1:]
    ):
        raise UsageError(f"{out}: refusing to build into this folder: it holds the hub's sources; "
                         "choose another --out")


def _check_relative(path: str) -> None:
    if not path or path.startswith("/") or ".." in path.split("/") or "\\" in path:
        raise ValueError(f"refusing to write outside the output folder: {path!r}")


Stamp = tuple[int, int]  # (size, modification time in ns)
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def stamp(path: str | Path) -> Stamp:
    """What a record about a file remembers of it: it is trusted only while the file still has
    this size and time, so a file a later build rewrote (or someone edited) is never taken for
    the one recorded. A link or anything but a regular file has no stamp: a build never makes
    one, so whatever put it there, it is made again."""
    try:
        info = os.lstat(path)
    except OSError:
        return (-1, -1)
    if not stat.S_ISREG(info.st_mode):
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


def _open_regular(path: str | Path) -> int | None:
    """A descriptor of a regular file, opened without following a link; None for anything else."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _unchanged(previous: str, data: bytes) -> bool:
    fd = _open_regular(previous)
    if fd is None:
        return False
    try:
        if os.fstat(fd).st_size != len(data):
            return False
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read() == data
    finally:
        os.close(fd)


def _same_file(previous: str, source: Path) -> bool:
    """A copy made by an earlier build (_copy keeps the modification time) of this source."""
    try:
        old, new = os.lstat(previous), os.stat(source)
    except OSError:
        return False
    return stat.S_ISREG(old.st_mode) and \
        (old.st_size, old.st_mtime_ns) == (new.st_size, new.st_mtime_ns)


def _copy(source: Path, target: str) -> None:
    """Copy a file as it is, keeping its modification time. `source` is a real path vetted by
    sources.py; it is opened without following a link, so a file swapped for a link since is
    refused rather than published."""
    fd = _open_regular(source)
    if fd is None:
        raise BuildFailed([Problem(str(source), "changed into a link or went away while the site "
                                   "was being built", hint="build again")])
    try:
        info = os.fstat(fd)
        with os.fdopen(fd, "rb", closefd=False) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    finally:
        os.close(fd)


class Placer:
    """Puts files into a staging folder. Small and picklable: a worker process places the pages
    it renders with a copy of its staging's placer, and the build then adopts each one."""

    def __init__(self, out: str, folder: str, fresh: bool) -> None:
        self.out, self.folder, self.fresh = out, folder, fresh
        self._dirs: set[str] = set()  # folders made by this process

    def __reduce__(self) -> tuple[type[Placer], tuple[str, str, bool]]:
        return Placer, (self.out, self.folder, self.fresh)  # a worker makes its own folders

    def place(self, path: str, data: bytes) -> tuple[bool, Stamp]:
        """Put a file's bytes into the staging folder, unless the output holds exactly these
        bytes already: (written?, the file's stamp). Changes nothing the commit relies on."""
        _check_relative(path)
        previous = f"{self.out}/{path}"
        if not self.fresh and _unchanged(previous, data):
            return False, stamp(previous)
        target = self.target(path)
        with open(target, "wb") as handle:
            handle.write(data)
        return True, stamp(target)  # a move into the output keeps it

    def target(self, path: str) -> str:
        target = f"{self.folder}/{path}"
        parent = target.rpartition("/")[0]
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        return target


class Staging:
    """Where a build puts its files, one by one as they are made, until it succeeds.

    Only files whose bytes are new go into the staging folder; an unchanged file stays where it is,
    untouched. `commit()` then makes them the output, all or nothing (output/commit.py). Leaving
    the context by an exception before the commit removes the staging folder and leaves the
    previous output exactly as it was. A build stages only while it holds the output folder
    (commit.claim). `lock`, if given, is held during the commit, so that a server reading the
    output under the same lock never sees a half-committed site. `durable`: the commit's journal
    is on disk before it decides (off for the preview, which needs no power-loss safety).
    """

    def __init__(self, out: Path, lock: AbstractContextManager[object] | None = None,
                 durable: bool = True) -> None:
        self.out = out.resolve()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.folder = self.out.parent / f"{staging_prefix(self.out)}{os.getpid()}-{os.urandom(4).hex()}"
        self.folder.mkdir()
        self._durable = durable
        self.written = 0  # files whose bytes were written
        self._lock = lock or nullcontext()
        self._fresh = not self.out.is_dir()  # first build: the staging folder becomes the output
        self._out, self._folder = str(self.out), str(self.folder)
        self._paths: set[str] = set()
        self._staged: list[str] = []
        self.placer = Placer(self._out, self._folder, self._fresh)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.abort()

    def add(self, output: Output) -> Output:
        """Take one file; returns its record, which reads from where its bytes are now."""
        path = output.path
        _check_relative(path)
        if path in self._paths:
            raise ValueError(f"two outputs for {path}")
        if output.data is not None:
            return self.adopt(output, self.place(path, output.data)[0])
        self._paths.add(path)
        previous = f"{self._out}/{path}"
        assert output.reuse is not None, path
        if not self._fresh and str(output.reuse) == previous:
            return output  # the previous build's file, where it already is: nothing to do
        if not self._fresh and _same_file(previous, output.reuse):
            return Output(path, None, output.public, reuse=Path(previous), key=output.key)
        # A file copied as it is (a cover, a download, a theme file): a copy, never a link into
        # the hub's sources.
        _copy(output.reuse, self.placer.target(path))
        self.written += 1
        self._staged.append(path)
        return Output(path, None, output.public, reuse=Path(self._folder, path), key=output.key)

    def keep(self, path: str, public: bool = True, key: str | None = None) -> Output:
        """A file of the previous output that this build keeps exactly as it is."""
        return self.add(Output(path, None, public, reuse=self.out / path, key=key))

    def stamp_of(self, output: Output) -> Stamp:
        """The stamp a file taken by this staging will have in the output (a move keeps it)."""
        return stamp(output.reuse or "")

    def place(self, path: str, data: bytes) -> tuple[bool, Stamp]:
        """See Placer.place; the build then adopts each file placed."""
        return self.placer.place(path, data)

    def adopt(self, output: Output, written: bool) -> Output:
        """Record a file placed by place() (in this process or a worker); returns its record."""
        path = output.path
        if path in self._paths:
            raise ValueError(f"two outputs for {path}")
        self._paths.add(path)
        if not written:
            return Output(path, None, output.public, reuse=Path(self._out, path), key=output.key)
        self.written += 1
        self._staged.append(path)
        return Output(path, None, output.public, reuse=Path(self._folder, path), key=output.key)

    def commit(self, remove_stale: bool = True) -> None:
        """Make the staged files the output, all or nothing (output/commit.py), and remove what
        this build no longer makes (unless `remove_stale` is False: the build made only some of
        the site's files)."""
        with self._lock:
            if self._fresh and not self.out.exists():
                self.folder.rename(self.out)  # the first build: one rename
                return
            site = frozenset(self._paths) if remove_stale else None
            commit(self.out, self.folder, Journal(tuple(self._staged), site), self._durable)

    def abort(self) -> None:
        """Leave the output as it was: drop what was staged (never a decided commit's files)."""
        if not (self.folder / JOURNAL).exists():
            shutil.rmtree(self.folder, ignore_errors=True)
