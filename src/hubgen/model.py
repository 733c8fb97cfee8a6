"""The hub's domain objects: frozen, so every stage can share them without copying."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Access = Literal["open", "gated"]
ItemType = Literal["article", "ebook", "checklist"]

# Item type -> the content/ folder it lives in, which is also its URL section.
SECTIONS: dict[str, str] = {"article": "articles", "ebook": "ebooks", "checklist": "checklists"}
TYPE_OF_SECTION: dict[str, str] = {v: k for k, v in SECTIONS.items()}


@dataclass(frozen=True)
class Persona:
    key: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Phase:
    key: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Item:
    """One hub item (article, e-book or checklist), validated and resolved."""

    source: Path  # relative to the hub root, e.g. content/articles/x.md
    type: ItemType
    slug: str
    title: str
    summary: str
    personas: tuple[str, ...]
    phases: tuple[str, ...]
    access: Access
    body: str  # Markdown source of the body
    body_line: int  # line of the file where the body starts (for messages)
    date: dt.date | None = None
    updated: dt.date | None = None
    draft: bool = False
    topics: tuple[str, ...] = ()  # labels as the editor wrote them; Topic slugs via make_slug
    cover: str | None = None  # file name beside the item
    download: str | None = None  # file name beside the item
    teaser: int | None = None
    assets: tuple[Path, ...] = ()  # files beside the item to publish with it (absolute paths)
    featured: bool = False

    @property
    def section(self) -> str:
        return SECTIONS[self.type]

    @functools.cached_property
    def id(self) -> str:
        """Stable identity used in submissions and unlock tokens: `<section>/<slug>`."""
        return f"{self.section}/{self.slug}"

    @functools.cached_property
    def url(self) -> str:
        return f"/{self.section}/{self.slug}/"

    @property
    def gated(self) -> bool:
        return self.access == "gated"

    @property
    def sort_date(self) -> dt.date:
        return self.updated or self.date or dt.date.min


@dataclass(frozen=True)
class PlainPage:
    """A page from content/pages/: not a hub item, published at /<slug>/."""

    source: Path
    slug: str
    title: str
    summary: str
    body: str
    body_line: int
    assets: tuple[Path, ...] = ()

    @property
    def url(self) -> str:
        return f"/{self.slug}/"


@dataclass(frozen=True)
class Topic:
    slug: str
    label: str

    @property
    def url(self) -> str:
        return f"/topics/{self.slug}/"


@dataclass(frozen=True)
class Hub:
    """Everything the renderer needs, resolved and ordered; nothing here is read from disk later."""

    items: tuple[Item, ...]  # published items, newest first
    pages: tuple[PlainPage, ...]
    topics: tuple[Topic, ...]
    # Items left out of this build (drafts, scheduled) for the report; empty when --drafts.
    held_back: tuple[Item, ...] = field(default=())
    today: dt.date = dt.date.min

    def by_persona(self, key: str) -> list[Item]:
        return [i for i in self.items if key in i.personas]

    def by_phase(self, key: str) -> list[Item]:
        return [i for i in self.items if key in i.phases]

    def by_type(self, type_: str) -> list[Item]:
        return [i for i in self.items if i.type == type_]


@dataclass(frozen=True)
class Counts:
    """What a build summary reports about the items of a hub."""

    by_type: dict[str, int]
    gated: int
    held: int

    @classmethod
    def of(cls, hub: Hub) -> Counts:
        types = {t: 0 for t in SECTIONS}
        for item in hub.items:
            types[item.type] += 1
        return cls(types, sum(1 for i in hub.items if i.gated), len(hub.held_back))
