"""Files for crawlers, feed readers and hosts: sitemap, robots.txt, Atom feeds, _headers, manifest.

Only public pages appear here; a gated item is listed by its public teaser page, never by its
unlocked address.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence

from feedgen.feed import FeedGenerator

from hubgen.config import Config
from hubgen.gating.forms import consent_manifest
from hubgen.model import Hub, Item
from hubgen.output.writer import Output
from hubgen.render.pages import UNLISTED
from hubgen.render.seo import Feed

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
FEED_SIZE = 50


def feed_list(config: Config, t: Callable[..., str]) -> tuple[Feed, ...]:
    """The hub's feed and one per persona (a CFO subscribes to what is written for CFOs)."""
    feeds = [Feed(config.title, "/feed.xml")]
    for persona in config.personas:
        title = t("feed_persona", persona=persona.label)
        feeds.append(Feed(f"{config.title}: {title}", f"/personas/{persona.key}/feed.xml"))
    return tuple(feeds)


def _timestamp(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)


def atom_feed(config: Config, items: Sequence[Item], feed: Feed) -> bytes:
    gen = FeedGenerator()
    gen.id(config.absolute(feed.url))
    gen.title(feed.title)
    gen.link(href=config.absolute(feed.url), rel="self")
    gen.link(href=config.base_url, rel="alternate")
    gen.language(config.language)
    gen.author({"name": config.publisher})
    newest = max((i.sort_date for i in items if i.date or i.updated), default=None)
    # Atom requires `updated`; an undated item takes the feed's, never the build's clock.
    feed_updated = _timestamp(newest or dt.date(2000, 1, 1))
    gen.updated(feed_updated)
    # feedgen prepends entries; add oldest first so the feed reads newest first.
    for item in reversed(list(items)[:FEED_SIZE]):
        entry = gen.add_entry()
        entry.id(config.absolute(item.url))
        entry.title(item.title)
        entry.link(href=config.absolute(item.url), rel="alternate")
        day = item.updated or item.date
        entry.updated(_timestamp(day) if day else feed_updated)
        if item.date:
            entry.published(_timestamp(item.date))
        # Summary only: a gated item's feed entry is its teaser, never its body.
        entry.summary(item.summary or item.title)
        for topic in item.topics:
            entry.category(term=topic)
    return bytes(gen.atom_str(pretty=True))


def feeds(config: Config, hub: Hub, feed_defs: tuple[Feed, ...]) -> Iterator[Output]:
    main, *per_persona = feed_defs
    yield Output(main.url.lstrip("/"), atom_feed(config, hub.items, main))
    for persona, feed in zip(config.personas, per_persona, strict=True):
        yield Output(feed.url.lstrip("/"), atom_feed(config, hub.by_persona(persona.key), feed))


def sitemap(config: Config, hub: Hub, pages: Sequence[Output]) -> Output:
    """Every public HTML page except the 404 and the form's result page."""
    lastmod = {item.url: (item.updated or item.date) for item in hub.items}
    ET.register_namespace("", SITEMAP_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    for out in sorted(pages, key=lambda o: o.path):
        if not out.public or not out.path.endswith("index.html") or out.path in UNLISTED:
            continue
        path = "/" + out.path.removesuffix("index.html")
        node = ET.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(node, f"{{{SITEMAP_NS}}}loc").text = config.absolute(path)
        day = lastmod.get(path)
        if day:
            ET.SubElement(node, f"{{{SITEMAP_NS}}}lastmod").text = day.isoformat()
    ET.indent(root)
    return Output("sitemap.xml", ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")


def robots(config: Config) -> Output:
    text = (f"User-agent: *\nDisallow: /unlocked/\n\nSitemap: {config.absolute('/sitemap.xml')}\n")
    return Output("robots.txt", text.encode())


def headers() -> Output:
    """Netlify / Cloudflare Pages headers: nothing under /unlocked/ is indexed, downloads too."""
    text = ("/unlocked/*\n  X-Robots-Tag: noindex, nofollow\n  Referrer-Policy: no-referrer\n"
            "/*\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: strict-origin-when-cross-origin\n")
    return Output("_headers", text.encode())


def manifest(config: Config, withdrawal_text: str, processing_text: str) -> Output:
    data = consent_manifest(config, withdrawal_text, processing_text)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return Output("consent-manifest.json", text.encode())
