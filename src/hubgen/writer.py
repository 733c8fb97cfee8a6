"""The only code that writes the built site.

The whole site is laid out in a fresh folder beside the target, then swapped in with renames, so a
failed build (or one interrupted half-way) leaves the previous output exactly as it was, and a
server never sees a half-written site. A file whose bytes did not change is not written again: the
new folder gets a hard link to the previous file (same inode, same modification time), so a
rebuild with no change writes no file data and deploy tools that compare times see no change.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .errors import UsageError
from .render import Output


def check_target(out: Path, root: Path) -> None:
    """Refuse an output folder whose replacement would destroy the hub's sources."""
    out, root = out.resolve(), root.resolve()
    protected = [root, root / "content", root / "themes", root / ".git"]
    if out in protected or root.is_relative_to(out) or any(
        out.is_relative_to(p) for p in protected[1:]
    ):
        raise UsageError(f"{out}: refusing to build into this folder: it holds the hub's sources; "
                         "choose another --out")


def _safe_relative(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"refusing to write outside the output folder: {path!r}")
    return rel


def _unchanged(previous: Path, data: bytes) -> bool:
    try:
        if previous.stat().st_size != len(data):
            return False
        return previous.read_bytes() == data
    except OSError:
        return False


def _link_or_copy(previous: Path, target: Path) -> None:
    try:
        os.link(previous, target)
    except OSError:  # another file system, or links not supported
        shutil.copy2(previous, target)


class Staging:
    """The fresh folder a build fills, file by file as pages are made, then swaps in.

    Used as a context manager: leaving it by an exception removes the half-made folder and leaves
    the previous output untouched; `commit()` makes the new folder the output.
    """

    def __init__(self, out: Path) -> None:
        self.out = out.resolve()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.folder = self.out.parent / f".{self.out.name}.new-{os.getpid()}"
        self._retired = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
        for leftover in (self.folder, self._retired):
            shutil.rmtree(leftover, ignore_errors=True)
        self.folder.mkdir()
        self.written = 0  # files whose bytes were written (not linked from the last build)
        self._dirs: set[Path] = set()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if error is not None or self.folder.exists():
            self.abort()

    def add(self, output: Output) -> Output:
        """Put one file in place; returns its record, which reads from the staging folder."""
        rel = _safe_relative(output.path)
        target = self.folder.joinpath(*rel.parts)
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        previous = self.out.joinpath(*rel.parts)
        if output.data is None:
            assert output.reuse is not None, output.path
            _link_or_copy(output.reuse, target)
        elif _unchanged(previous, output.data):
            _link_or_copy(previous, target)
        else:
            target.write_bytes(output.data)
            self.written += 1
        return Output(output.path, None, output.public, reuse=target, key=output.key)

    def commit(self) -> None:
        """Swap the new folder in (two renames), then remove the old one."""
        if self.out.exists():
            self.out.rename(self._retired)
        try:
            self.folder.rename(self.out)
        except BaseException:
            if self._retired.exists() and not self.out.exists():
                self._retired.rename(self.out)
            raise
        shutil.rmtree(self._retired, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def write_site(out: Path, outputs: Iterable[Output]) -> int:
    """Lay out every output in a fresh folder, then swap it in; returns how many files were
    written (files kept from the previous build are linked, not counted)."""
    with Staging(out) as staging:
        for output in outputs:
            staging.add(output)
        staging.commit()
    return staging.written
