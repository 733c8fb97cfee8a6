"""The only code that writes the built site.

The whole site is written into a fresh folder beside the target, then swapped in with renames, so a
failed build (or one interrupted half-way) leaves the previous output exactly as it was, and a
server never sees a half-written site.
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


def write_site(out: Path, outputs: Iterable[Output]) -> int:
    """Write every output into a fresh folder, then swap it in; returns the number of files."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.new-{os.getpid()}"
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    count = 0
    try:
        staging.mkdir()
        for output in outputs:
            target = staging.joinpath(*_safe_relative(output.path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
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
