"""The render stage: a hub's pages planned, rendered on every core into the staging folder, then
the files for crawlers and feed readers, then the search index.

One sequence for every road of a rebuild (state/buildstate.py decides the road): told to render
only the edited items' pages, it plans those and takes every other file as the last build left
it. A page whose key (the hash of everything it is made from) is the one recorded for the file in
the output is taken as it is; the others are rendered. Nothing here reads the cache: state/ hands
in what the last build recorded (`Reuse`) and remembers the records this stage returns.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from hubgen import __version__
from hubgen.config import Config
from hubgen.digests import digest
from hubgen.errors import BuildFailed, Problem, Problems
from hubgen.gating.forms import consent_version, consent_words
from hubgen.gating.gate import Gate
from hubgen.model import Hub, Item
from hubgen.output.writer import Output, Placer, Staging, Stamp
from hubgen.parallel import parallel_iter
from hubgen.render import search
from hubgen.render.bodies import Bodies
from hubgen.render.pages import (
    Page,
    PageJob,
    Site,
    hub_pages,
    item_pages,
    plain_pages,
    special_pages,
    static_outputs,
)
from hubgen.render.publish import feed_list, feeds, headers, manifest, robots, sitemap
from hubgen.render.templates import TEMPLATE_MISTAKES, Renderer, guard_templates, template_problem
from hubgen.render.theme import ThemeParts
from hubgen.render.views import Views


class Reuse(Protocol):
    """What the last build left in the output, as state/ knows it."""

    def page(self, path: str, key: str) -> Stamp | None:
        """The stamp of the file at `path` if it is exactly what `key` makes, else None."""
        ...

    def search(self, key: str) -> Mapping[str, Stamp] | None:
        """The files of a search index made from `key`, if they still stand, else None."""
        ...


class NoReuse:
    """Nothing is taken from an earlier build (`--no-cache`, `hubgen check`)."""

    def page(self, path: str, key: str) -> Stamp | None:
        return None

    def search(self, key: str) -> Mapping[str, Stamp] | None:
        return None


@dataclass(frozen=True)
class Scope:
    """What this render is told to make: the whole site, or only some items' own pages (road 2),
    with every other file as the last build left it (`kept`)."""

    edited: tuple[Item, ...] | None = None  # None: the whole site
    kept: tuple[Output, ...] = ()

    @property
    def whole(self) -> bool:
        return self.edited is None


@dataclass(frozen=True)
class Rendering:
    """What the render stages made: every file of the site (records that read from where the
    bytes are now), and the records state/ keeps for the next build."""

    outputs: tuple[Output, ...]
    pages: Mapping[str, tuple[str, Stamp]]  # path -> (key, stamp) of each page rendered or kept
    search: tuple[str, Mapping[str, Stamp]] | None = None  # key and files of the search index


@dataclass(frozen=True)
class Settings:
    """The options that shape the pages (besides config and theme)."""

    preview: bool
    drafts: bool
    search: bool  # make the search index (when Pagefind is installed)
    jobs: int | None


def make_site(config: Config, hub: Hub, gate: Gate, theme: ThemeParts, settings: Settings,
              bodies: Bodies) -> tuple[Site, str]:
    """The renderer's inputs, and the fingerprint of what every page depends on besides its own
    context: the template globals (config, theme, messages, static files, options, gate)."""
    words = consent_words(theme.messages.table)
    version = consent_version(config, *words)
    site = Site(config, hub, gate, theme.env, Views(config, hub, theme.messages), theme.statics,
                bodies.items, bodies.keys, version, settings.preview,
                feed_list(config, theme.messages))
    fingerprint = digest(__version__, repr(config), theme.fingerprint, theme.static_urls,
                         repr((settings.preview, settings.drafts)), version,
                         gate.mode, digest(gate.secret))
    return site, fingerprint


def render_site_pages(site: Site, fingerprint: str, theme: ThemeParts, bodies: Bodies,
                      scope: Scope, reuse: Reuse, staging: Staging, jobs: int | None
                      ) -> tuple[dict[str, Output], dict[str, tuple[str, Stamp]]]:
    """Plan what `scope` asks for and render it into `staging`: the pages (and the files
    beside items and pages) by path, and (key, stamp) of each page. Template mistakes are raised
    together, each naming its template and line."""
    problems = Problems(site.config.root)
    nothing: list[Output | Page] = []
    planned = guard_templates(problems, lambda: plan_pages(site, bodies, scope), nothing)
    problems.raise_if_errors()
    empty: tuple[dict[str, Output], dict[str, tuple[str, Stamp]]] = ({}, {})
    made = guard_templates(problems, lambda: render_pages(
        site, theme, planned, fingerprint, reuse, staging, jobs), empty)
    problems.raise_if_errors()
    return made


def publish_files(site: Site, theme: ThemeParts, pages: Mapping[str, Output], scope: Scope,
                  staging: Staging) -> list[Output]:
    """Every file of the site besides the search index: the pages, then the static files, feeds,
    sitemap, robots.txt, _headers and the consent manifest. For road 2, the last build's files
    with the pages made now in their place (feeds and sitemap are made from front matter)."""
    if not scope.whole:
        return [pages.get(o.path) or staging.add(o) for o in scope.kept
                if not o.path.startswith(search.FOLDER)]
    config = site.config
    files = [*static_outputs(theme.statics), *feeds(config, site.hub, site.feeds)]
    files.append(sitemap(config, site.hub, [*pages.values(), *files]))
    files.extend([robots(config), headers(), manifest(config, *consent_words(theme.messages.table))])
    return [*pages.values(), *(staging.add(f) for f in files)]


def plan_pages(site: Site, bodies: Bodies, scope: Scope) -> list[Output | Page]:
    """Every page and file of the site, or the edited items' own pages (with their files)."""
    if scope.edited is not None:
        planned = [out for item in scope.edited for out in item_pages(site, item)]
        recorded = {o.path for o in scope.kept}
        if any(p.path not in recorded for p in planned):
            raise OutsideScope()
        return planned
    hub = site.hub
    return [*(out for item in hub.items for out in item_pages(site, item)),
            *hub_pages(site), *plain_pages(site, hub.pages, dict(bodies.pages)),
            *special_pages(site, search.available())]


class OutsideScope(Exception):
    """An edit makes a file the last build did not make: only the whole site is right."""


def render_pages(site: Site, theme: ThemeParts, planned: Sequence[Output | Page],
                 fingerprint: str, reuse: Reuse, staging: Staging, jobs: int | None
                 ) -> tuple[dict[str, Output], dict[str, tuple[str, Stamp]]]:
    """Pages whose key is the one recorded for their file are taken as they are; the rest are
    rendered on every core, each worker writing its pages into the staging folder. Returns the
    outputs by path, and (key, stamp) of each page."""
    keys = {p.path: digest(fingerprint, p.sig if p.sig is not None else repr(p.job))
            for p in planned if isinstance(p, Page)}
    todo: list[Page] = []
    done: dict[str, Output] = {}
    records: dict[str, tuple[str, Stamp]] = {}
    for entry in planned:
        if not isinstance(entry, Page):
            done[entry.path] = staging.add(entry)
            continue
        key = keys[entry.path]
        kept = reuse.page(entry.path, key)
        if kept is not None:
            done[entry.path] = staging.keep(entry.path, entry.public, key)
            records[entry.path] = (key, kept)
        else:
            todo.append(entry)
    renderer = Renderer((theme.chain, site.config, theme.messages, theme.statics, site.preview),
                        site.globals(), theme.env)
    failures: list[Problem] = []
    # A page's context is made here a chunk at a time; a worker renders and writes it, so no
    # process holds many pages at once, and only (written?, stamp) comes back.
    made = parallel_iter(functools.partial(_render_one, renderer, staging.placer), todo, jobs,
                         prepare=_prepare)
    for page, outcome in zip(todo, made, strict=True):
        if isinstance(outcome, Problem):
            failures.append(outcome)
            continue
        written, page_stamp = outcome
        key = keys[page.path]
        done[page.path] = staging.adopt(Output(page.path, None, page.public, key=key), written)
        records[page.path] = (key, page_stamp)
    if failures:
        raise BuildFailed(sorted(set(failures), key=str))
    return {entry.path: done[entry.path] for entry in planned}, records


def _prepare(page: Page) -> tuple[str, PageJob] | Problem:
    """A page's whole context, made here just before it goes to a worker."""
    try:
        return page.path, page.resolve()
    except TEMPLATE_MISTAKES as exc:
        return template_problem(exc, page.path)


def _render_one(renderer: Renderer, placer: Placer, prepared: tuple[str, PageJob] | Problem
                ) -> tuple[bool, Stamp] | Problem:
    """Render and place one page: (written?, its stamp). In a worker process a template mistake
    comes back as a Problem."""
    if isinstance(prepared, Problem):
        return prepared
    path, job = prepared
    try:
        data = renderer.render(job.template, job.context)
    except TEMPLATE_MISTAKES as exc:
        return template_problem(exc, path)
    return placer.place(path, data)


def search_stage(config: Config, outputs: Iterable[Output], settings: Settings, reuse: Reuse,
                 staging: Staging
                 ) -> tuple[list[Output], tuple[str, Mapping[str, Stamp]] | None, list[Problem]]:
    """Pagefind's index of the public pages; taken as the last build left it when no indexed
    page changed. Returns its files, its record, and a warning when Pagefind is missing."""
    if not settings.search:
        return [], None, []
    if not search.available():
        return [], None, [Problem("hub.toml", "search index skipped: Pagefind is not installed",
                                  hint="pip install 'hubgen[search]'", warning=True)]
    pages = [o for o in outputs if search.indexable(o)]
    key = digest(__version__, config.language,
                 *(o.path + ":" + (o.key or digest(o.read())) for o in pages))
    kept = reuse.search(key)
    if kept is not None:
        return [staging.keep(path, True) for path in kept], (key, kept), []
    records = [staging.add(o) for o in search.search_index(
        config.language, [(o.path, o.read) for o in pages])]
    return records, (key, {r.path: staging.stamp_of(r) for r in records}), []
