"""What templates see: plain, read-only views of the hub (documented in docs/themes.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

from hubgen.config import Config
from hubgen.content.slugs import make_slug
from hubgen.model import SECTIONS, Heading, Hub, Item, Topic


@dataclass(frozen=True)
class PersonaView:
    key: str
    label: str
    description: str
    url: str


@dataclass(frozen=True)
class PhaseView:
    key: str
    label: str
    description: str
    url: str


@dataclass(frozen=True)
class SectionView:
    type: str
    section: str
    label: str
    url: str


class ReprOnce:
    """A frozen view whose repr is made once: reprs are part of every page key that shows the
    view (build.render_pages), and a card or a filter bar appears on many pages."""

    def __repr__(self) -> str:
        cached: str | None = self.__dict__.get("_repr")
        if cached is None:
            parts = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                              for f in fields(self))  # type: ignore[arg-type]
            cached = f"{type(self).__name__}({parts})"
            object.__setattr__(self, "_repr", cached)
        return cached


@dataclass(frozen=True, repr=False)
class ItemView(ReprOnce):
    """An item as a card or as its page; body_html is whatever this page may show."""

    id: str
    type: str
    type_label: str
    title: str
    summary: str
    url: str
    personas: tuple[PersonaView, ...]
    phases: tuple[PhaseView, ...]
    topics: tuple[Topic, ...]
    date: dt.date | None
    updated: dt.date | None
    gated: bool
    cover_url: str | None
    draft: bool
    scheduled: dt.date | None
    reading_minutes: int = 0
    headings: tuple[Heading, ...] = ()
    body_html: str = ""  # Markup on pages that show a body
    download_url: str | None = None
    download_name: str | None = None


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    url: str
    active: bool


@dataclass(frozen=True, repr=False)
class FilterGroup(ReprOnce):
    kind: str
    label: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Cell:
    phase: PhaseView
    count: int
    open: int
    gated: int
    url: str
    empty: bool


@dataclass(frozen=True)
class MatrixRow:
    persona: PersonaView
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class JourneyStep:
    phase: PhaseView
    items: tuple[ItemView, ...]  # the newest few; `total` says how many there are
    empty: bool
    total: int = 0
    url: str = ""  # the page with all of them


@dataclass(frozen=True)
class Matrix:
    phases: tuple[PhaseView, ...]
    rows: tuple[MatrixRow, ...]


@dataclass(frozen=True)
class FormResult:
    """The no-JavaScript result page after a form POST."""

    ok: bool
    message: str
    unlock_url: str | None
    back_url: str


RELATED_SCAN = 60


def cell_url(persona: str, phase: str) -> str:
    return f"/personas/{persona}/{phase}/"


class Views:
    """Builds views of one hub; the indexes are made once, so each lookup is cheap."""

    def __init__(self, config: Config, hub: Hub, t: Callable[..., str]) -> None:
        self.config, self.hub, self.t = config, hub, t
        self.personas = {p.key: PersonaView(p.key, p.label, p.description, f"/personas/{p.key}/")
                         for p in config.personas}
        self.phases = {p.key: PhaseView(p.key, p.label, p.description, f"/phases/{p.key}/")
                       for p in config.phases}
        self.sections = tuple(SectionView(type_, section, t(f"section_{section}"), f"/{section}/")
                              for type_, section in SECTIONS.items())
        by_slug = {topic.slug: topic for topic in hub.topics}
        self.topic_of = {label: by_slug[make_slug(label)]
                         for item in hub.items for label in item.topics}
        self._cards: dict[str, ItemView] = {}
        self._filters: dict[tuple[str | None, ...], tuple[FilterGroup, ...]] = {}
        self.cell_items: dict[tuple[str, str], list[Item]] = defaultdict(list)
        self.topic_items: dict[str, list[Item]] = defaultdict(list)
        for item in hub.items:  # hub.items is newest first, so every list here is too
            for persona in item.personas:
                for phase in item.phases:
                    self.cell_items[(persona, phase)].append(item)
            for label in item.topics:
                self.topic_items[self.topic_of[label].slug].append(item)

    def card(self, item: Item) -> ItemView:
        """The card view of an item: no body, no download. Memoised per build."""
        if item.id not in self._cards:
            self._cards[item.id] = ItemView(
                id=item.id,
                type=item.type,
                type_label=self.t(f"type_{item.type}"),
                title=item.title,
                summary=item.summary,
                url=item.url,
                personas=tuple(self.personas[k] for k in item.personas),
                phases=tuple(self.phases[k] for k in item.phases),
                topics=tuple(self.topic_of[label] for label in item.topics),
                date=item.date,
                updated=item.updated,
                gated=item.gated,
                cover_url=item.url + item.cover if item.cover else None,
                draft=item.draft,
                scheduled=item.date if item.date and item.date > self.hub.today else None,
            )
        return self._cards[item.id]

    def cards(self, items: Sequence[Item]) -> tuple[ItemView, ...]:
        return tuple(self.card(i) for i in items)

    def filters(self, persona: str | None = None, phase: str | None = None,
                type_: str | None = None, topic: str | None = None) -> tuple[FilterGroup, ...]:
        """Filter links: each goes to a real page, so filtering works without JavaScript."""
        wanted = (persona, phase, type_, topic)
        if wanted not in self._filters:
            self._filters[wanted] = self._make_filters(*wanted)
        return self._filters[wanted]

    def _make_filters(self, persona: str | None, phase: str | None, type_: str | None,
                      topic: str | None) -> tuple[FilterGroup, ...]:

        def persona_url(key: str) -> str:
            return cell_url(key, phase) if phase else f"/personas/{key}/"

        def phase_url(key: str) -> str:
            return cell_url(persona, key) if persona else f"/phases/{key}/"

        return (
            FilterGroup("persona", self.t("filter_persona"), tuple(
                Option(p.key, p.label, persona_url(p.key), p.key == persona)
                for p in self.personas.values())),
            FilterGroup("phase", self.t("filter_phase"), tuple(
                Option(p.key, p.label, phase_url(p.key), p.key == phase)
                for p in self.phases.values())),
            FilterGroup("type", self.t("filter_type"), tuple(
                Option(s.type, s.label, s.url, s.type == type_) for s in self.sections)),
            FilterGroup("topic", self.t("filter_topic"), tuple(
                Option(tp.slug, tp.label, tp.url, tp.slug == topic) for tp in self.hub.topics)),
        )

    def matrix(self) -> tuple[MatrixRow, ...]:
        rows = []
        for persona in self.personas.values():
            cells = []
            for phase in self.phases.values():
                items = self.cell_items.get((persona.key, phase.key), [])
                gated = sum(1 for i in items if i.gated)
                cells.append(Cell(phase, len(items), len(items) - gated, gated,
                                  cell_url(persona.key, phase.key), not items))
            rows.append(MatrixRow(persona, tuple(cells)))
        return tuple(rows)

    def journey(self, persona: str, limit: int) -> tuple[JourneyStep, ...]:
        """A persona's path: per phase its newest `limit` items and a link to the rest."""
        steps = []
        for phase in self.phases.values():
            items = self.cell_items.get((persona, phase.key), [])
            steps.append(JourneyStep(phase, self.cards(items[:limit]), not items, len(items),
                                     cell_url(persona, phase.key)))
        return tuple(steps)

    def next_steps(self, item: Item, limit: int = 3) -> tuple[ItemView, ...]:
        """Same personas in the next phase first, then items sharing a topic; never the item."""
        order = list(self.phases)
        last = max(order.index(p) for p in item.phases)
        chosen: dict[str, Item] = {}
        if last + 1 < len(order):
            following = order[last + 1]
            for persona in item.personas:
                for other in self.cell_items.get((persona, following), []):
                    if len(chosen) >= limit:
                        break
                    if other.id != item.id:
                        chosen.setdefault(other.id, other)
        if len(chosen) < limit:
            shared: dict[str, tuple[int, Item]] = {}
            for label in item.topics:
                # The newest few per topic are enough to rank, and keep this linear in the hub.
                for other in self.topic_items.get(self.topic_of[label].slug, [])[:RELATED_SCAN]:
                    if other.id != item.id and other.id not in chosen:
                        count = shared.get(other.id, (0, other))[0] + 1
                        shared[other.id] = (count, other)
            ranked = sorted(shared.values(), key=lambda pair: -pair[0])  # stable: newest first
            for _count, other in ranked[: limit - len(chosen)]:
                chosen[other.id] = other
        return self.cards(list(chosen.values())[:limit])
