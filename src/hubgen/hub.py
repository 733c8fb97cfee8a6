"""Items + config -> the Hub: what is published, in which order, with which topics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from hubgen.config import Config
from hubgen.content.slugs import make_slug
from hubgen.errors import Problems, did_you_mean
from hubgen.model import Hub, Item, PlainPage, Topic


@dataclass(frozen=True)
class Publication:
    """Why an item is or is not in this build."""

    published: bool
    draft: bool
    scheduled: dt.date | None


def publication(item: Item, today: dt.date, include_drafts: bool) -> Publication:
    scheduled = item.date if item.date is not None and item.date > today else None
    held = item.draft or scheduled is not None
    return Publication(include_drafts or not held, item.draft, scheduled)


def newest_first(items: Iterable[Item]) -> list[Item]:
    """Newest first; ties broken by title then id so the order never depends on the disk."""
    ordered = sorted(items, key=lambda i: (i.title.casefold(), i.id))
    return sorted(ordered, key=lambda i: i.sort_date, reverse=True)


def build_hub(
    config: Config, items: list[Item], pages: list[PlainPage], today: dt.date,
    include_drafts: bool, problems: Problems,
) -> Hub:
    published = [i for i in items if publication(i, today, include_drafts).published]
    held = [i for i in items if not publication(i, today, include_drafts).published]
    ids = {i.id for i in items}
    for wanted in config.featured:
        if wanted not in ids:
            problems.error(config.root / "hub.toml", f"featured item '{wanted}' does not exist",
                           hint=did_you_mean(wanted, sorted(ids)))
    return Hub(
        items=tuple(newest_first(published)),
        pages=tuple(sorted(pages, key=lambda p: p.slug)),
        topics=collect_topics(published),
        held_back=tuple(newest_first(held)),
        today=today,
    )


def collect_topics(items: Iterable[Item]) -> tuple[Topic, ...]:
    """One Topic per slug; its label is the first spelling met in file order."""
    labels: dict[str, str] = {}
    for item in sorted(items, key=lambda i: i.source.as_posix()):
        for label in item.topics:
            labels.setdefault(make_slug(label), label)
    return tuple(Topic(slug, labels[slug]) for slug in sorted(labels))
