"""Hub -> the pages of the site, as (path, bytes). Nothing here writes to disk.

Item pages depend on the item, its rendered body and the few cards they link to; hub pages depend on
the listing they show. Keeping each page a function of its inputs is what the cache and the
parallel renderer (build.py) rely on.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from hubgen.config import Config
from hubgen.digests import digest
from hubgen.gating.forms import FormView, form_view
from hubgen.gating.gate import Gate
from hubgen.model import Hub, Item, PlainPage
from hubgen.output.writer import Output
from hubgen.render.markdown import Rendered, html_to_text
from hubgen.render.seo import Feed, PageMeta, item_jsonld, site_jsonld
from hubgen.render.theme import StaticFile
from hubgen.render.views import FormResult, ItemView, JourneyStep, Matrix, Views, cell_url
from hubgen.sources import HubFiles, Refused

WORDS_PER_MINUTE = 200


@dataclass(frozen=True)
class PageJob:
    """A page still to render: its template and its whole context (globals excepted)."""

    template: str
    context: dict[str, Any]


@dataclass(frozen=True)
class Page:
    """A page to write. Either its job is made at once, or `sig` stands for everything the page
    is made from (besides the build-wide fingerprint) and `make` makes the job only when the page
    must really be rendered: an unchanged page then costs no context at all."""

    path: str
    job: PageJob | None
    public: bool = True
    sig: str | None = None
    make: Callable[[], PageJob] | None = None

    def resolve(self) -> PageJob:
        if self.job is not None:
            return self.job
        assert self.make is not None, self.path
        return self.make()


@dataclass
class Site:
    """One build's inputs for rendering (read-only once made)."""

    config: Config
    hub: Hub
    gate: Gate
    env: jinja2.Environment
    views: Views
    statics: Mapping[str, StaticFile]
    rendered: Mapping[str, Rendered]
    render_keys: Mapping[str, str]  # item id -> the store key of its rendered body
    consent_version: str
    preview: bool = False
    feeds: tuple[Feed, ...] = field(default=())

    @functools.cached_property
    def files(self) -> HubFiles:
        """The gate through which the pages' files are read (sources.py)."""
        return HubFiles(self.config.root)

    def page(self, template: str, meta: PageMeta, **context: Any) -> PageJob:
        if not meta.feeds:
            meta = replace(meta, feeds=self.feeds)
        return PageJob(template, {"page": meta, **context})

    def globals(self) -> dict[str, Any]:
        """What every template sees besides its page's context (docs/themes.md)."""
        return {
            "site": self.config, "personas": tuple(self.views.personas.values()),
            "phases": tuple(self.views.phases.values()), "sections": self.views.sections,
            "topics": self.hub.topics,
        }

    def meta(self, title: str, url: str, kind: str, description: str = "",
             **extra: Any) -> PageMeta:
        return PageMeta(title=title, description=description or self.config.description,
                        url=url, canonical=self.config.absolute(url), kind=kind, **extra)


def index_path(url: str) -> str:
    """'/articles/x/' -> 'articles/x/index.html'."""
    return (url.strip("/") + "/index.html").lstrip("/")


def _item_view(site: Site, item: Item, unlocked: bool) -> ItemView:
    rendered = site.rendered[item.id]
    full = unlocked or not item.gated
    words = rendered.words
    base = (unlocked and site.gate.unlocked_url(item)) or item.url
    show_download = item.download is not None and full
    return replace(
        site.views.card(item),
        reading_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        headings=rendered.headings,
        body_html=Markup(rendered.html if full else rendered.teaser_html),
        download_url=base + item.download if show_download and item.download else None,
        download_name=item.download if show_download else None,
    )


def _public_job(site: Site, item: Item, steps: tuple[ItemView, ...]) -> PageJob:
    config, gate = site.config, site.gate
    teaser_text = html_to_text(site.rendered[item.id].teaser_html)
    og_image = config.absolute(item.url + item.cover) if item.cover else None
    form = None
    if item.gated:
        unlock = gate.unlocked_url(item) if gate.mode == "soft" else None
        form = form_view(config, item.id, config.absolute(item.url), site.consent_version,
                         site.views.t("role_other"), unlock)
    meta = site.meta(item.title, item.url, "item", item.summary, og_image=og_image,
                     og_type="article", jsonld=item_jsonld(config, item, teaser_text))
    return site.page(f"{item.type}.html", meta, item=_item_view(site, item, unlocked=False),
                     unlocked=False, form=form, next_steps=steps)


def _unlocked_job(site: Site, item: Item, steps: tuple[ItemView, ...]) -> PageJob:
    url = site.gate.unlocked_url(item)
    meta = site.meta(item.title, url, "unlocked", item.summary, noindex=True, og_type="article")
    return site.page(f"{item.type}.html", meta, item=_item_view(site, item, unlocked=True),
                     unlocked=True, form=None, next_steps=steps)


def item_pages(site: Site, item: Item) -> Iterator[Output | Page]:
    """The public page of an item, and for a gated one its unlocked page; with their files.

    An item page is made from the item (its card, access, download, teaser setting, featured
    flag), its rendered body (by cache key), its next-step cards, and the build-wide globals
    (config, theme, messages, gate): exactly what its `sig` holds.
    """
    steps = site.views.next_steps(item)
    # Hashed at once: a large hub holds one of these per page until the pages are rendered.
    sig = digest(repr((site.views.card(item), item.access, item.download, item.teaser,
                       item.featured, site.render_keys[item.id], steps)))
    yield Page(index_path(item.url), None, sig="public" + sig,
               make=lambda: _public_job(site, item, steps))
    public_files: set[str] = set()
    if item.assets:  # an index.md with images beside it: publish those its public part shows
        rendered = site.rendered[item.id]
        public_files.update(_referenced(rendered.teaser_html if item.gated else rendered.html))
    if item.cover:
        public_files.add(item.cover)
    if item.download and not item.gated:
        public_files.add(item.download)
    yield from _files(site, item, item.url, public_files, public=True)
    if not item.gated:
        return
    unlocked_url = site.gate.unlocked_url(item)
    yield Page(index_path(unlocked_url), None, public=False, sig="unlocked" + sig,
               make=lambda: _unlocked_job(site, item, steps))
    everything = {p.name for p in item.assets}
    if item.download:
        everything.add(item.download)
    yield from _files(site, item, unlocked_url, everything - {item.cover}, public=False)


def _referenced(fragment: str) -> list[str]:
    """Relative file names an HTML fragment links to (images beside an index.md)."""
    return re.findall(r'(?:src|href)="([^":/#?]+)"', fragment)


def _files(site: Site, item: Item, url: str, names: set[str],
           public: bool) -> Iterator[Output | Page]:
    source_dir = site.config.root / item.source.parent
    for name in sorted(n for n in names if n):
        real = _readable(site, source_dir / name)
        if real is not None:
            yield Output(url.strip("/") + "/" + name, None, public=public, reuse=real)


def _readable(site: Site, path: Path) -> Path | None:
    """The real path of a file the build may publish (sources.py), else None: a file the load
    stage refused, or a name in the body that is no file (the link check reports that)."""
    try:
        return site.files.vet(path)
    except Refused:
        return None


def paginate(site: Site, items: Sequence[Item], url: str) -> Iterator[tuple[str, tuple[ItemView, ...], Any]]:
    """(url, cards, pagination) per page of a listing; page 1 lives at `url` itself."""
    size = site.config.page_size
    pages = max(1, math.ceil(len(items) / size))
    urls = [url if n == 1 else f"{url}page/{n}/" for n in range(1, pages + 1)]
    for n in range(1, pages + 1):
        chunk = site.views.cards(items[(n - 1) * size: n * size])
        pagination = None
        if pages > 1:
            pagination = Pagination(n, pages, urls[n - 2] if n > 1 else None,
                                    urls[n] if n < pages else None, tuple(urls))
        yield urls[n - 1], chunk, pagination


@dataclass(frozen=True)
class Pagination:
    page: int
    pages: int
    prev_url: str | None
    next_url: str | None
    page_urls: tuple[str, ...]


@dataclass(frozen=True)
class Listing:
    title: str
    intro: str
    kind: str
    items: tuple[ItemView, ...]
    pagination: Pagination | None
    filters: Any


def listing_pages(site: Site, kind: str, title: str, intro: str, items: Sequence[Item],
                  url: str, filters: Any, **extra: Any) -> Iterator[Output | Page]:
    for page_url, cards, pagination in paginate(site, items, url):
        meta = site.meta(title, page_url, "list", intro,
                         prev_url=pagination.prev_url if pagination else None,
                         next_url=pagination.next_url if pagination else None)
        listing = Listing(title, intro, kind, cards, pagination, filters)
        yield Page(index_path(page_url), site.page("list.html", meta, listing=listing, **extra))


def hub_pages(site: Site) -> Iterator[Output | Page]:
    """Home, the type, persona, phase, cell and topic listings, and the matrix."""
    views, hub, t = site.views, site.hub, site.views.t
    yield from home_page(site)
    for section in views.sections:
        yield from listing_pages(site, "section", section.label, "", hub.by_type(section.type),
                                 section.url, views.filters(type_=section.type))
    for persona in views.personas.values():
        # One page: the journey shows each phase's newest items and links to the cell pages,
        # so a persona page stays the same size however large the hub grows.
        meta = site.meta(persona.label, persona.url, "list", persona.description)
        listing = Listing(persona.label, persona.description, "persona", (), None,
                          views.filters(persona=persona.key))
        yield Page(index_path(persona.url), site.page(
            "list.html", meta, listing=listing,
            journey=views.journey(persona.key, site.config.page_size)))
        for phase in views.phases.values():
            title = t("cell_title", persona=persona.label, phase=phase.label)
            items = views.cell_items.get((persona.key, phase.key), [])
            yield from listing_pages(site, "cell", title, "", items,
                                     cell_url(persona.key, phase.key),
                                     views.filters(persona=persona.key, phase=phase.key))
    for phase in views.phases.values():
        yield from listing_pages(site, "phase", phase.label, phase.description,
                                 hub.by_phase(phase.key), phase.url,
                                 views.filters(phase=phase.key))
    for topic in hub.topics:
        yield from listing_pages(site, "topic", topic.label, "",
                                 views.topic_items.get(topic.slug, []), topic.url,
                                 views.filters(topic=topic.slug))
    meta = site.meta(t("matrix"), "/matrix/", "matrix", t("matrix_intro"))
    matrix = Matrix(tuple(views.phases.values()), views.matrix())
    yield Page("matrix/index.html", site.page("matrix.html", meta, matrix=matrix))


def home_page(site: Site) -> Iterator[Output | Page]:
    views, hub, config = site.views, site.hub, site.config
    featured = [i for i in hub.items if i.featured or i.id in config.featured]
    latest = [JourneyStep(phase, views.cards(hub.by_phase(phase.key)[:3]),
                          not hub.by_phase(phase.key)) for phase in views.phases.values()]
    meta = site.meta(config.title, "/", "home", jsonld=site_jsonld(config))
    # The home page lists everything in a small hub, and the newest items in a large one.
    shown = hub.items[: config.page_size * 3]
    yield Page("index.html", site.page(
        "home.html", meta, featured=views.cards(featured[:6]), latest_by_phase=latest,
        filters=views.filters(), all_items=views.cards(shown),
        all_shown=len(shown) == len(hub.items)))


EMBED = "<p>[[consent-form]]</p>"


def embed_form(site: Site, body: str, key: str, url: str) -> tuple[Markup, FormView | None]:
    """`[[consent-form]]` on a line of its own in Markdown -> a plain sign-up form there."""
    if EMBED not in body:
        return Markup(body), None
    form = form_view(site.config, "", site.config.absolute(url), site.consent_version,
                     site.views.t("role_other"), None, name=key)
    html = site.env.get_template("partials/consent_form.html").render(**site.globals(), form=form)
    return Markup(body.replace(EMBED, html)), form


def plain_pages(site: Site, pages: Sequence[PlainPage],
                rendered: dict[str, str]) -> Iterator[Output | Page]:
    for page in pages:
        meta = site.meta(page.title, page.url, "page", page.summary)
        content, form = embed_form(site, rendered[page.url], "page-" + page.slug, page.url)
        yield Page(index_path(page.url), site.page("page.html", meta, content=content, form=form))
        for asset in page.assets:
            real = _readable(site, asset)
            if real is not None:
                yield Output(page.url.strip("/") + "/" + asset.name, None, reuse=real)


# The site's own utility pages: public, but noindex, and in no sitemap or search index.
UNLISTED = frozenset({"404.html", "thanks/index.html", "search/index.html"})


def special_pages(site: Site, search_available: bool) -> Iterator[Output | Page]:
    t = site.views.t
    meta = site.meta(t("search_title"), "/search/", "search", t("search_intro"), noindex=True)
    yield Page("search/index.html", site.page("search.html", meta,
                                              search_available=search_available))
    meta = site.meta(t("not_found_title"), "/404.html", "404", noindex=True)
    yield Page("404.html", site.page("404.html", meta))
    meta = site.meta(t("thanks_title"), "/thanks/", "thanks", noindex=True)
    result = FormResult(ok=True, message=t("form_success"), unlock_url=None, back_url="/")
    yield Page("thanks/index.html", site.page("thanks.html", meta, result=result))


def static_outputs(statics: Mapping[str, StaticFile]) -> Iterator[Output]:
    for static in statics.values():
        yield Output(static.url.lstrip("/"), None, reuse=static.source)
