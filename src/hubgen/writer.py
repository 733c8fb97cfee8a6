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


def write_site(out: Path, outputs: Iterable[Output]) -> int:
    """Lay out every output in a fresh folder, then swap it in; returns how many files were
    written (files kept from the previous build are linked, not counted)."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.new-{os.getpid()}"
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    count = 0
    try:
        staging.mkdir()
        made: set[Path] = set()
        for output in outputs:
            rel = _safe_relative(output.path)
            target = staging.joinpath(*rel.parts)
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            previous = out.joinpath(*rel.parts)
            if output.data is None:
                assert output.reuse is not None, output.path
                _link_or_copy(output.reuse, target)
            elif _unchanged(previous, output.data):
                _link_or_copy(previous, target)
            else:
                target.write_bytes(output.data)
                count += 1
        if out.exists():
            out.rename(retired)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not out.exists():
            retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return count
