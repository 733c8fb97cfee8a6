"""Metadata for search engines and link previews: page meta, Open Graph, schema.org JSON-LD.

Everything here describes the *public* page: for a gated item that is its title, summary and
teaser, never its body or its unlocked address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from hubgen.config import Config
from hubgen.model import Item

SCHEMA_TYPES = {"article": "Article", "ebook": "Book", "checklist": "HowTo"}


@dataclass(frozen=True)
class Feed:
    title: str
    url: str


@dataclass(frozen=True)
class PageMeta:
    title: str
    description: str
    url: str  # site path
    canonical: str  # absolute
    kind: str
    noindex: bool = False
    og_image: str | None = None
    og_type: str = "website"
    jsonld: Markup | None = None
    feeds: tuple[Feed, ...] = field(default=())
    prev_url: str | None = None
    next_url: str | None = None


def script_json(data: Any) -> Markup:
    """JSON safe inside <script>: '<', '>' and '&' escaped so no text can close the tag."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def publisher(config: Config) -> dict[str, Any]:
    return {"@type": "Organization", "name": config.publisher, "url": config.base_url}


def item_jsonld(config: Config, item: Item, teaser_text: str) -> Markup:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": SCHEMA_TYPES[item.type],
        "name": item.title,
        "headline": item.title,
        "url": config.absolute(item.url),
        "inLanguage": config.language,
        "publisher": publisher(config),
        "isAccessibleForFree": not item.gated,
    }
    if item.summary:
        data["description"] = item.summary
    if item.date:
        data["datePublished"] = item.date.isoformat()
    if item.updated or item.date:
        data["dateModified"] = (item.updated or item.date).isoformat()  # type: ignore[union-attr]
    if item.cover:
        data["image"] = config.absolute(item.url + item.cover)
    if item.topics:
        data["keywords"] = ", ".join(item.topics)
    if item.gated:
        # Google's paywalled-content markup: what the public page holds is the teaser.
        data["abstract"] = teaser_text
    return script_json(data)


def site_jsonld(config: Config) -> Markup:
    return script_json({
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": config.title,
        "url": config.base_url,
        "inLanguage": config.language,
        "publisher": publisher(config),
    })
