"""What changed since the last build, and what the change reaches: the dependency model.

Every build records, beside its output (in the cache, see cache.py):

- the hash of each file under content/ and one hash of everything else it read (config, theme,
  messages, static files, today's date, options, unlock secret, hubgen's version): `Inputs`;
- a snapshot of the hub it built: every published item as resolved from its front matter, without
  its body, and the cache key of each rendered body.

The next build compares, and takes the cheapest road that gives the same bytes as a clean build:

1. nothing changed: the output stands (build._unchanged_build);
2. only the bodies of published items changed (`body_edits`): a body reaches its item's own pages
   (public and unlocked), the search index and the link check, and nothing else. Cards, listings,
   the matrix, journeys, next-step blocks, feeds and the sitemap are made from front matter only,
   and the reading time is shown on the item's own page only. So only those pages are rendered;
3. anything else (front matter, a file added, removed or renamed, a page, a cover or download,
   hub.toml, the theme, the date, the options): every page is signed again and those whose inputs
   changed are rendered (build.render_pages).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubgen.config import Config
from hubgen.content.frontmatter import read_source
from hubgen.content.validate import load_item
from hubgen.errors import Problems
from hubgen.model import Hub, Item, PlainPage, Topic
from hubgen.sources import HubFiles, Refused
from hubgen.state.cache import VERSION_SALT, Cache, digest


@dataclass(frozen=True)
class Inputs:
    """What a build reads: `settings` hashes everything but content/, `files` maps each file
    under content/ (posix path relative to it) to the hash of its bytes."""

    settings: str
    files: dict[str, str]

    @functools.cached_property
    def fingerprint(self) -> str:
        return digest(self.settings, *(f"{name}={h}" for name, h in sorted(self.files.items())))


def content_hashes(root: Path, cache: Cache) -> dict[str, str]:
    """The hash of every file under content/. A file's hash is remembered by its size and
    modification time and made again when either changes, so a rebuild reads only edited files.

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
    known = {key: _HASHES[base + key] for key in keys if base + key in _HASHES}
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
    _HASHES.clear()
    _HASHES.update({base + key: hashes[key] for key in keys})
    found = {rel: hashes[key] for rel, (_, key) in stats.items()}
    # A file the build may not read counts too, so adding or removing such a link is a change.
    for problem in refused:
        found[problem.path] = digest("refused", problem.message)
    return dict(sorted(found.items()))


RACY_SECONDS = 2.0
# The last call's hashes (by folder and key), kept in this process for the next: `hubgen serve`.
_HASHES: dict[str, str] = {}


# --- the snapshot of a built hub ----------------------------------------------------------------

_PATHS = {"source"}
_DATES = {"date", "updated"}


def _item_json(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Item):
        value = getattr(item, f.name)
        if f.name == "body":
            continue
        if f.name in _PATHS:
            value = value.as_posix()
        elif f.name == "assets":
            value = [str(p) for p in value]
        elif f.name in _DATES:
            value = value.isoformat() if value is not None else None
        out[f.name] = value
    return out


def _item_from_json(data: dict[str, Any]) -> Item:
    values = dict(data)
    values["source"] = Path(values["source"])
    values["assets"] = tuple(Path(p) for p in values["assets"])
    for name in _DATES:
        values[name] = dt.date.fromisoformat(values[name]) if values[name] else None
    for name in ("personas", "phases", "topics"):
        values[name] = tuple(values[name])
    return Item(body="", **values)


def hub_record(hub: Hub) -> dict[str, Any]:
    """The built hub as the next build needs it for road 2: items and pages without bodies."""
    return {
        "version": VERSION_SALT,
        "items": [_item_json(item) for item in hub.items],
        "pages": [[p.source.as_posix(), p.slug, p.title, p.summary] for p in hub.pages],
        "topics": [[t.slug, t.label] for t in hub.topics],
        "today": hub.today.isoformat(),
    }


def restore_hub(record: dict[str, Any]) -> Hub | None:
    """The hub a record describes, bodies left out (road 2 renders only the edited ones)."""
    if record.get("version") != VERSION_SALT:
        return None
    return Hub(
        items=tuple(_item_from_json(data) for data in record["items"]),
        pages=tuple(PlainPage(Path(source), slug, title, summary, "", 0)
                    for source, slug, title, summary in record["pages"]),
        topics=tuple(Topic(slug, label) for slug, label in record["topics"]),
        today=dt.date.fromisoformat(record["today"]),
    )


def state_record(inputs: Inputs, render_keys: dict[str, str]) -> dict[str, Any]:
    """What a build read, file by file, and the cache key of each item's rendered body."""
    return {"version": VERSION_SALT, "settings": inputs.settings, "files": inputs.files,
            "render_keys": render_keys}


def changed_bodies(state: dict[str, Any] | None, inputs: Inputs) -> list[str] | None:
    """The content files changed since `state` was recorded, when they may be body edits: the
    same settings, the same files, only Markdown files of items changed. None otherwise."""
    if not state or state.get("version") != VERSION_SALT or state["settings"] != inputs.settings:
        return None
    before: dict[str, str] = state["files"]
    if before.keys() != inputs.files.keys():
        return None
    changed = [name for name, h in inputs.files.items() if before[name] != h]
    if not changed or not all(name.endswith(".md") and not name.startswith("pages/")
                              for name in changed):
        return None
    return changed


def body_edits(config: Config, hub: Hub, changed: list[str],
               warned: set[str]) -> dict[str, Item] | None:
    """The items of `hub` whose body alone changed in these files, by id, with their new bodies;
    None when a file's front matter changed too: then only the full pass is right.

    `warned`: files the last build warned about (their warnings are remade by the full pass).
    """
    by_source = {item.source.as_posix(): item for item in hub.items}
    problems = Problems(config.root)
    edited: dict[str, Item] = {}
    for name in changed:
        source = "content/" + name
        old = by_source.get(source)
        # An item held back (draft, scheduled), or with files beside it: the full pass.
        if old is None or old.assets or source in warned:
            return None
        files = HubFiles(config.root)
        src = read_source(files, config.root / source, problems)
        item = load_item(src, name.split("/", 1)[0], config, problems, files) if src else None
        if item is None or len(problems) or \
                dataclasses.replace(item, body="") != dataclasses.replace(old, body=""):
            return None  # its front matter changed, or it has a problem to report
        edited[item.id] = item
    return edited


@dataclass
class Kept:
    """The last build into an output folder, kept in this process (`hubgen serve` builds again
    and again): the next build skips reading its records back when they are still the latest."""

    input: str  # the build's Inputs.fingerprint
    state: dict[str, Any]
    hub: Hub
    last: dict[str, Any]  # the record of its outputs, counts and warnings
    records: list[Any]  # its render.Output records, each reading from the output folder


_KEPT: dict[str, Kept] = {}


def kept(out: str, last_input: str | None) -> Kept | None:
    found = _KEPT.get(out)
    return found if found is not None and found.input == last_input else None


def keep(out: str, memory: Kept) -> None:
    _KEPT[out] = memory
