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
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import VERSION_SALT, Cache, digest
from .config import Config
from .content import load_item, read_source
from .errors import Problems
from .model import Hub, Item, PlainPage, Topic


@dataclass(frozen=True)
class Inputs:
    """What a build reads: `settings` hashes everything but content/, `files` maps each file
    under content/ (posix path relative to it) to the hash of its bytes."""

    settings: str
    files: dict[str, str]

    @property
    def fingerprint(self) -> str:
        return digest(self.settings, *(f"{name}={h}" for name, h in sorted(self.files.items())))


def content_hashes(root: Path, cache: Cache) -> dict[str, str]:
    """The hash of every file under content/. A file's hash is remembered by its size and
    modification time and made again when either changes, so a rebuild reads only edited files."""
    base = str(root / "content")
    stats: dict[str, tuple[str, str]] = {}
    for dirpath, _dirnames, filenames in os.walk(base):
        for name in filenames:
            full = os.path.join(dirpath, name)
            try:
                info = os.stat(full)
            except OSError:  # removed while we looked
                continue
            if stat.S_ISREG(info.st_mode):
                rel = full[len(base) + 1:].replace(os.sep, "/")
                stats[rel] = (full, f"{rel}:{info.st_size}:{info.st_mtime_ns}")
    known = cache.get_many("filehash", [key for _, key in stats.values()])
    fresh = {}
    for full, key in stats.values():
        if key not in known:
            with open(full, "rb") as handle:
                fresh[key] = digest(handle.read())
    cache.put_many("filehash", fresh)
    if fresh:
        cache.prune("filehash", [key for _, key in stats.values()])
    hashes = {**known, **fresh}
    return {rel: hashes[key] for rel, (_, key) in sorted(stats.items())}


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


def snapshot(inputs: Inputs, hub: Hub, render_keys: dict[str, str]) -> dict[str, Any]:
    """The record of a built hub that lets the next build take road 2 (see the module's text)."""
    return {
        "version": VERSION_SALT, "settings": inputs.settings, "files": inputs.files,
        "items": [_item_json(item) for item in hub.items],
        "pages": [[p.source.as_posix(), p.slug, p.title, p.summary] for p in hub.pages],
        "topics": [[t.slug, t.label] for t in hub.topics],
        "today": hub.today.isoformat(),
        "render_keys": render_keys,
    }


def restore_hub(snap: dict[str, Any]) -> Hub:
    """The hub a snapshot describes, bodies left out (road 2 renders only the edited ones)."""
    return Hub(
        items=tuple(_item_from_json(data) for data in snap["items"]),
        pages=tuple(PlainPage(Path(source), slug, title, summary, "", 0)
                    for source, slug, title, summary in snap["pages"]),
        topics=tuple(Topic(slug, label) for slug, label in snap["topics"]),
        today=dt.date.fromisoformat(snap["today"]),
    )


def body_edits(config: Config, snap: dict[str, Any] | None, inputs: Inputs,
               warned: set[str]) -> dict[str, Item] | None:
    """The items whose body alone changed since the snapshot, by id (with their new bodies), or
    None when anything else changed too: then only the full pass is right.

    `warned`: files the last build warned about (their warnings are remade by the full pass).
    """
    if not snap or snap.get("version") != VERSION_SALT or snap.get("settings") != inputs.settings:
        return None
    before: dict[str, str] = snap["files"]
    if before.keys() != inputs.files.keys():
        return None
    changed = [name for name, h in inputs.files.items() if before[name] != h]
    if not changed:
        return None
    by_source = {data["source"]: data for data in snap["items"]}
    problems = Problems(config.root)
    edited: dict[str, Item] = {}
    for name in changed:
        source = "content/" + name
        section = name.split("/", 1)[0]
        old = by_source.get(source)
        # A page, a cover or download, an item held back: the full pass.
        if old is None or old["assets"] or source in warned or not name.endswith(".md"):
            return None
        src = read_source(config.root / source, problems)
        item = load_item(src, section, config, problems) if src is not None else None
        if item is None or len(problems) or \
                dataclasses.replace(item, body="") != _item_from_json(old):
            return None  # its front matter changed, or it has a problem to report
        edited[item.id] = item
    return edited
