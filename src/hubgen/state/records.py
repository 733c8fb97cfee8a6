"""What a build records for the next one, as typed records with their JSON form.

Every record lives in the cache (state/cache.py) under the output folder it describes, so two
output folders of one hub (a preview and a production build) never read each other's records:

- `BuildRecord`: the fingerprint of everything the build read, each file it left in the output
  with its stamp, its counts and warnings (road 1, "nothing changed", answers from this alone);
- `ContentRecord`: the hash of each content file and the cache key of each item's rendered body
  (road 2, "only bodies changed", starts from these);
- the built hub itself, front matter as resolved and no bodies (`hub_to_json`);
- `PageRecord`: a rendered page's key (the hash of everything it is made from) and the stamp of
  the file it left, so an unchanged page is taken as it is;
- `SearchRecord`: the key of the search index and the stamps of its files.

A record from another hubgen version, or one that does not parse, reads as no record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubgen.errors import Problem
from hubgen.model import Counts, Hub, Item, PlainPage, Topic
from hubgen.output.writer import Stamp
from hubgen.state.cache import VERSION_SALT


class RecordError(ValueError):
    """A record this hubgen cannot read: the build takes the full road instead."""


def _stamp(value: Any) -> Stamp:
    size, time_ns = value
    return (int(size), int(time_ns))


@dataclass(frozen=True)
class OutputRecord:
    """One file a build left in its output folder."""

    path: str
    public: bool
    stamp: Stamp


@dataclass(frozen=True)
class BuildRecord:
    """The last build into one output folder: road 1 answers from this alone."""

    inputs: str  # Inputs.fingerprint
    outputs: tuple[OutputRecord, ...]
    counts: Counts
    warnings: tuple[Problem, ...]

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION_SALT, "inputs": self.inputs,
                "outputs": [[o.path, o.public, *o.stamp] for o in self.outputs],
                "counts": {"by_type": self.counts.by_type, "gated": self.counts.gated,
                           "held": self.counts.held},
                "warnings": [[w.path, w.message, w.line, w.hint] for w in self.warnings]}

    @classmethod
    def from_json(cls, data: Any) -> BuildRecord:
        try:
            _check_version(data)
            return cls(
                inputs=str(data["inputs"]),
                outputs=tuple(OutputRecord(str(path), bool(public), _stamp((size, time_ns)))
                              for path, public, size, time_ns in data["outputs"]),
                counts=Counts(dict(data["counts"]["by_type"]), int(data["counts"]["gated"]),
                              int(data["counts"]["held"])),
                warnings=tuple(Problem(path, message, line, hint, warning=True)
                               for path, message, line, hint in data["warnings"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(str(exc)) from None


@dataclass(frozen=True)
class ContentRecord:
    """What a build read, file by file, and the cache key of each item's rendered body."""

    settings: str  # Inputs.settings: everything but content/
    files: Mapping[str, str]  # file under content/ -> hash of its bytes
    render_keys: Mapping[str, str]  # item id -> cache key of its rendered body

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION_SALT, "settings": self.settings, "files": dict(self.files),
                "render_keys": dict(self.render_keys)}

    @classmethod
    def from_json(cls, data: Any) -> ContentRecord:
        try:
            _check_version(data)
            return cls(str(data["settings"]), dict(data["files"]), dict(data["render_keys"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(str(exc)) from None


@dataclass(frozen=True)
class PageRecord:
    """A rendered page: the key of what it was made from, and the stamp of the file it left."""

    key: str
    stamp: Stamp

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "stamp": list(self.stamp)}

    @classmethod
    def from_json(cls, data: Any) -> PageRecord:
        try:
            return cls(str(data["key"]), _stamp(data["stamp"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(str(exc)) from None


@dataclass(frozen=True)
class SearchRecord:
    """The search index a build left: the key of the pages it indexes, and its files' stamps."""

    key: str
    files: Mapping[str, Stamp]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "files": {path: list(s) for path, s in self.files.items()}}

    @classmethod
    def from_json(cls, data: Any) -> SearchRecord:
        try:
            return cls(str(data["key"]), {str(p): _stamp(s) for p, s in data["files"].items()})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecordError(str(exc)) from None


def _check_version(data: Any) -> None:
    if not isinstance(data, dict) or data.get("version") != VERSION_SALT:
        raise RecordError("a record of another hubgen version")


# --- the built hub, front matter as resolved, no bodies -------------------------------------

_PATHS = {"source"}
_DATES = {"date", "updated"}
_TUPLES = ("personas", "phases", "topics")


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
    for name in _TUPLES:
        values[name] = tuple(values[name])
    return Item(body="", **values)


def hub_to_json(hub: Hub) -> dict[str, Any]:
    """The built hub as the next build needs it for road 2: items and pages without bodies."""
    return {
        "version": VERSION_SALT,
        "items": [_item_json(item) for item in hub.items],
        "pages": [[p.source.as_posix(), p.slug, p.title, p.summary] for p in hub.pages],
        "topics": [[t.slug, t.label] for t in hub.topics],
        "today": hub.today.isoformat(),
    }


def hub_from_json(data: Any) -> Hub:
    """The hub a record describes, bodies left out (road 2 renders only the edited ones)."""
    try:
        _check_version(data)
        return Hub(
            items=tuple(_item_from_json(item) for item in data["items"]),
            pages=tuple(PlainPage(Path(source), slug, title, summary, "", 0)
                        for source, slug, title, summary in data["pages"]),
            topics=tuple(Topic(slug, label) for slug, label in data["topics"]),
            today=dt.date.fromisoformat(data["today"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(str(exc)) from None
