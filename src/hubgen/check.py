"""`hubgen check`: the build pipeline stopped before writing, plus audits of what it would write."""

from __future__ import annotations

from pathlib import Path

from .build import BuildOptions, Stages, load, render_site
from .errors import BuildFailed, Problem


def run_check(root: Path, base_url: str | None = None, dev: bool = False) -> list[Problem]:
    """Every problem a build would hit, and the audits' findings; nothing is written."""
    try:
        loaded = load(BuildOptions(root=root, base_url=base_url, dev=dev))
        render_site(loaded, preview=False, stages=Stages())
    except BuildFailed as failed:
        return failed.problems
    return loaded.problems.sorted()
