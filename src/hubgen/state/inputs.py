"""What a build reads, read once: the config, the gate, the theme, and the hash of every file
under content/. The "unchanged?" check compares these with the last build's record; the stages
after it take them as they are instead of reading them again.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hubgen import __version__
from hubgen.config import Config, load_config, today
from hubgen.digests import digest
from hubgen.errors import Problem, Problems
from hubgen.gating.gate import Gate, make_gate
from hubgen.render.markdown import RENDER_VERSION
from hubgen.render.theme import Environments, ThemeParts, load_theme
from hubgen.sources import HubFiles, Refused
from hubgen.state.cache import Cache

RACY_SECONDS = 2.0  # a file changed this recently is hashed again however it looks


@dataclass(frozen=True)
class Options:
    """The options that change what a build makes (see build.BuildOptions)."""

    root: Path
    base_url: str | None
    drafts: bool
    preview: bool
    dev: bool
    search: bool  # the search index is made (the option, and Pagefind installed)
    strict: bool


@dataclass(frozen=True)
class Inputs:
    """Everything a build reads. `settings` hashes everything but content/ (config, theme,
    messages, static files, today's date, options, unlock secret, hubgen's version); `files`
    maps each file under content/ (posix path relative to it) to the hash of its bytes, or is
    None when the build keeps no record (no cache)."""

    config: Config
    gate: Gate
    theme: ThemeParts
    problems: tuple[Problem, ...]  # of the config's gate and the theme: the load stage reports them
    settings: str
    files: Mapping[str, str] | None

    @functools.cached_property
    def fingerprint(self) -> str:
        return digest(self.settings, *(f"{name}={h}"
                                       for name, h in sorted((self.files or {}).items())))


def read_inputs(options: Options, cache: Cache | None, environments: Environments,
                hashes: dict[str, str] | None = None) -> Inputs:
    """Read the config (BuildFailed if it has errors), the gate and the theme, and hash the
    content files when `cache` keeps a record. `hashes`: the file hashes a process that builds
    again keeps from the last call (state/resident.py)."""
    config = load_config(options.root, options.base_url)
    problems = Problems(options.root)
    gate = make_gate(config, problems, dev=options.dev)
    theme = load_theme(config, problems, options.preview, environments)
    settings = (options.drafts, options.preview, options.search, options.strict, gate.mode,
                digest(gate.secret))
    fingerprint = digest(__version__, RENDER_VERSION, repr(config), theme.fingerprint,
                         today(config).isoformat(), repr(settings), theme.static_urls,
                         repr([str(p) for p in problems]))  # a refused theme file is an input too
    files = content_hashes(config.root, cache, hashes) if cache is not None else None
    return Inputs(config, gate, theme, tuple(problems), fingerprint, files)


def content_hashes(root: Path, cache: Cache, memo: dict[str, str] | None = None
                   ) -> dict[str, str]:
    """The hash of every file under content/ that the build may read (sources.py), and a mark
    for each it may not. A file's hash is remembered by its size, time and inode (in `memo`, then
    in the cache) and made again when one of them changes, so a rebuild reads only edited files.

    A file changed in the last RACY_SECONDS is read every time: a second write within the
    file system's clock tick could keep both its size and its time (git's "racy clean" case).
    """
    files = HubFiles(root)
    base = str(root / "content")
    stats: dict[str, tuple[Path, str]] = {}
    recent: set[str] = set()
    refused = Problems(root)  # reported by the load stage; here they only count as inputs
    racy_after = time.time_ns() - int(RACY_SECONDS * 1e9)
    if os.path.isdir(base):
        for path in files.files(root / "content", refused):
            try:
                info = os.stat(path)
            except OSError:  # removed while we looked
                continue
            rel = str(path)[len(base) + 1:].replace(os.sep, "/")
            key = f"{rel}:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
            stats[rel] = (path, key)
            if info.st_mtime_ns >= racy_after:
                recent.add(key)
    keys = [key for _, key in stats.values() if key not in recent]
    memo = memo if memo is not None else {}
    known = {key: memo[base + key] for key in keys if base + key in memo}
    if len(known) < len(keys):
        known.update(cache.get_many("filehash", [key for key in keys if key not in known]))
    fresh = {}
    for path, key in stats.values():
        if key not in known:
            try:
                fresh[key] = files.digest(path)
            except Refused as exc:  # replaced meanwhile: the load stage says what is wrong
                fresh[key] = digest("refused", exc.reason)
    lasting = {key: h for key, h in fresh.items() if key not in recent}
    cache.put_many("filehash", lasting)
    if lasting:
        cache.prune("filehash", keys)
    hashes = {**known, **fresh}
    memo.clear()
    memo.update({base + key: hashes[key] for key in keys})
    found = {rel: hashes[key] for rel, (_, key) in stats.items()}
    # A file the build may not read counts too, so adding or removing such a link is a change.
    for problem in refused:
        found[problem.path] = digest("refused", problem.message)
    return dict(sorted(found.items()))
