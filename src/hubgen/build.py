"""The build pipeline, read top to bottom:

    load config -> load items -> Hub -> (check stops here) -> render pages -> write

Everything is read and validated before the first byte is written; every problem of the run is
reported together.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from markupsafe import Markup

from hubgen.config import Config, load_config, today
from hubgen.content.frontmatter import read_source
from hubgen.content.load import load_content
from hubgen.errors import BuildFailed, Problem, Problems
from hubgen.gating.forms import consent_version, consent_words
from hubgen.gating.gate import Gate, make_gate
from hubgen.hub import build_hub
from hubgen.model import Hub, Item
from hubgen.output.writer import Placer, Staging, Stamp, check_target, stamp
from hubgen.parallel import parallel_iter, release_memory
from hubgen.render import search
from hubgen.render.links import check_links
from hubgen.render.markdown import RENDER_VERSION, Rendered, render_markdown
from hubgen.render.pages import (
    Output,
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
from hubgen.render.templates import (
    Messages,
    StaticFile,
    load_messages,
    make_environment,
    static_files,
    theme_chain,
    theme_fingerprint,
)
from hubgen.render.views import Views
from hubgen.sources import HubFiles
from hubgen.state.cache import VERSION_SALT, Cache, CacheReader, digest, open_cache
from hubgen.state.inputs import (
    Inputs,
    Kept,
    body_edits,
    changed_bodies,
    content_hashes,
    hub_record,
    keep,
    kept,
    restore_hub,
    state_record,
)

T = TypeVar("T")


@dataclass(frozen=True)
class BuildOptions:
    root: Path
    out: Path | None = None  # default: root/output
    drafts: bool = False  # include drafts and scheduled items (preview)
    base_url: str | None = None
    dev: bool = False  # allow the public development secret in strict mode
    preview: bool = False  # `hubgen serve`: banners on drafts and scheduled items
    jobs: int | None = None  # worker processes; None: one per core
    cache: bool = True  # use and update the cache in .hubgen/
    reuse_pages: bool = True  # take unchanged pages from the previous output (off for check)
    search: bool = True  # build the Pagefind index when the search extra is installed
    strict: bool = False  # broken internal links are errors (`hubgen check` always checks)
    # A process that builds again and again (`hubgen serve`): keep the last build's hub in
    # memory even when nothing changed, so the first edit's rebuild need not read it back.
    resident: bool = False
    # The result's hub keeps each item's Markdown (`hubgen check` reads the links in it); else
    # a build lets go of the bodies once they are rendered.
    keep_bodies: bool = False
    # Held while new files move into the output (a server reading it takes the same lock).
    commit_lock: AbstractContextManager[object] | None = field(default=None, compare=False)

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else self.root / "output"


@dataclass(frozen=True)
class Counts:
    """What the build summary reports about the items."""

    by_type: dict[str, int]
    gated: int
    held: int

    @classmethod
    def of(cls, hub: Hub) -> Counts:
        types = Counter(i.type for i in hub.items)
        return cls({t: types[t] for t in ("article", "ebook", "checklist")},
                   sum(1 for i in hub.items if i.gated), len(hub.held_back))


@dataclass
class BuildResult:
    config: Config
    hub: Hub | None  # None when nothing changed and the previous output stands
    gate: Gate
    counts: Counts
    outputs: list[Output] = field(default_factory=list)
    rendered: Mapping[str, Rendered] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    written: int = 0
    # Which road the build took (incremental.py): "unchanged", "bodies" or "full".
    road: str = "full"
    # The theme's messages the pages were made with (the collector's texts); None: unchanged.
    messages: Mapping[str, str] | None = None

    def summary(self) -> str:
        items = sum(self.counts.by_type.values())
        pages = sum(1 for o in self.outputs if o.path.endswith(".html"))
        kinds = ", ".join(_count(n, t) for t, n in self.counts.by_type.items())
        held = f", {self.counts.held} held back (draft or scheduled)" if self.counts.held else ""
        return (f"{_count(items, 'item')} ({kinds}; {items - self.counts.gated} open, "
                f"{self.counts.gated} gated){held}; {_count(pages, 'page')}, "
                f"{_count(len(self.outputs), 'file')}; {sum(self.timings.values()):.2f} s")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Stages:
    """Times each named stage of a run."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


@dataclass
class Loaded:
    config: Config
    hub: Hub
    gate: Gate
    problems: Problems


def load(options: BuildOptions, stages: Stages | None = None,
         cache: Cache | None = None, inputs: Inputs | None = None) -> Loaded:
    """Read and validate everything; raises BuildFailed with every problem found. `inputs`: what
    the build measured already (the content files' hashes)."""
    stages = stages or Stages()
    with stages.stage("load"):
        config = load_config(options.root, options.base_url)
        problems = Problems(options.root)
        items, pages = load_content(config, problems, cache, options.jobs,
                                    inputs.files if inputs else None)
    with stages.stage("validate"):
        gate = make_gate(config, problems, dev=options.dev)
        hub = build_hub(config, items, pages, today(config), options.drafts, problems)
    problems.raise_if_errors()
    return Loaded(config, hub, gate, problems)


def _teaser(config: Config, item: Item) -> int:
    return item.teaser if item.teaser is not None else config.gating["teaser_paragraphs"]


def _render_body(args: tuple[str, int, bool]) -> Rendered:
    return render_markdown(*args)


def _encoded(args: tuple[str, int, bool]) -> tuple[bytes, int, bool]:
    """A body as it goes to a worker: as UTF-8 bytes, because pickling a str makes CPython keep
    a UTF-8 copy inside it, which would double the memory of a large hub's bodies."""
    return args[0].encode("utf-8"), args[1], args[2]


def _render_encoded(args: tuple[bytes, int, bool]) -> Rendered:
    return render_markdown(args[0].decode("utf-8"), args[1], args[2])


def _render_all(args: list[tuple[str, int, bool]], jobs: int | None) -> Iterator[Rendered]:
    """Bodies rendered on every core, in order, as they come."""
    return parallel_iter(_render_encoded, args, jobs, prepare=_encoded)


def body_args(config: Config, item: Item) -> tuple[str, int, bool]:
    """What an item's rendered body is made from."""
    return item.body, _teaser(config, item), config.sanitize


def body_key(args: tuple[str, int, bool]) -> str:
    """The cache key of a rendered body."""
    return digest(RENDER_VERSION, VERSION_SALT, repr(args))


class LazyRendered(Mapping[str, Rendered]):
    """Rendered bodies by item id, read from the cache when asked for, so the build does not hold
    every body of a large hub. Bodies the cache could not take are held here. A body that another
    build on the same hub pruned from the cache meanwhile is made again from its file."""

    def __init__(self, names: list[str], held: dict[str, Rendered], keys: dict[str, str],
                 store: CacheReader | None, remake: Callable[[str], Rendered]) -> None:
        self._names, self._held, self._keys, self._store = names, held, keys, store
        self._remake = remake

    def __getitem__(self, name: str) -> Rendered:
        if name in self._held:
            return self._held[name]
        key = self._keys[name]  # KeyError for an unknown name, as a mapping should
        stored = self._store.get("markdown", key) if self._store else None
        return Rendered.from_json(json.loads(stored)) if stored else self._remake(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _render_again(root: Path, origins: dict[str, tuple[Path, int, bool]], keys: dict[str, str],
                  name: str) -> Rendered:
    """A body rendered once more from its file, which must still hold the body this build read."""
    path, teaser, safe = origins[name]
    source = read_source(HubFiles(root), root / path, Problems(root))  # None: gone meanwhile
    args = (source.body if source else "", teaser, safe)
    if body_key(args) != keys[name]:
        raise BuildFailed([Problem(path.as_posix(), "the file changed or went away while the site "
                                   "was being built", hint="build again")])
    return _render_body(args)


def render_bodies(loaded: Loaded, cache: Cache, jobs: int | None
                  ) -> tuple[Mapping[str, Rendered], dict[str, str], dict[str, str]]:
    """Markdown of every item and page -> HTML: the expensive, pure step; cached and parallel."""
    config = loaded.config
    wanted: dict[str, tuple[str, int, bool]] = {
        item.id: body_args(config, item) for item in loaded.hub.items}
    wanted.update({page.url: (page.body, 0, config.sanitize) for page in loaded.hub.pages})
    keys = {name: body_key(args) for name, args in wanted.items()}
    known = cache.present("markdown", keys.values())
    missing = [name for name in wanted if keys[name] not in known]
    held: dict[str, Rendered] = {}  # what the cache did not take
    batch: dict[str, Rendered] = {}
    made = _render_all([wanted[name] for name in missing], jobs)
    for name, result in zip(missing, made, strict=True):
        batch[name] = result
        if len(batch) >= 200:  # into the cache in small batches, not one huge list
            _store_bodies(cache, batch, keys, held)
            batch = {}
    _store_bodies(cache, batch, keys, held)
    cache.prune("markdown", keys.values())
    store = cache.reader() if cache.enabled else None
    if store is None:  # no cache, or it gave up on the way: what went into it stays there
        lost = [name for name in wanted if name not in held]
        held.update(zip(lost, _render_all([wanted[n] for n in lost], jobs), strict=True))
    origins = {item.id: (item.source, *wanted[item.id][1:]) for item in loaded.hub.items}
    origins.update({page.url: (page.source, 0, config.sanitize) for page in loaded.hub.pages})
    remake = functools.partial(_render_again, config.root, origins, keys)
    ids = [item.id for item in loaded.hub.items]
    items = LazyRendered(ids, {n: held[n] for n in ids if n in held}, keys, store, remake)
    everything = LazyRendered(list(wanted), held, keys, store, remake)
    pages = {page.url: everything[page.url].html for page in loaded.hub.pages}
    return items, pages, {item.id: keys[item.id] for item in loaded.hub.items}


def _store_bodies(cache: Cache, batch: dict[str, Rendered], keys: dict[str, str],
                  held: dict[str, Rendered]) -> None:
    cache.put_many("markdown", {keys[name]: r.to_json() for name, r in batch.items()})
    if not cache.enabled:  # no cache, or it gave up: keep them in memory
        held.update(batch)


@dataclass(frozen=True)
class ThemeParts:
    """The theme as one build uses it: templates (in an environment), messages, static files."""

    chain: list[Path]
    messages: Messages
    statics: dict[str, StaticFile]
    env: jinja2.Environment
    fingerprint: str  # of the templates and the messages
    key: str  # of everything the environment is made from


# Environments by everything they are made from: a process that builds again (`hubgen serve`)
# compiles each template once, until the theme, the config or the messages change.
_ENVIRONMENTS: dict[str, jinja2.Environment] = {}
_ENVIRONMENTS_LOCK = threading.Lock()


def environment(key: str, chain: list[Path], config: Config, messages: Messages,
                statics: dict[str, StaticFile], preview: bool) -> jinja2.Environment:
    with _ENVIRONMENTS_LOCK:  # the preview's check page builds in a thread of its own
        env = _ENVIRONMENTS.get(key)
        if env is None:
            if len(_ENVIRONMENTS) >= 4:
                _ENVIRONMENTS.clear()
            env = _ENVIRONMENTS[key] = make_environment(chain, config, messages, statics, preview)
        return env


def load_theme(config: Config, problems: Problems, preview: bool) -> ThemeParts:
    chain = theme_chain(config, problems)
    messages = load_messages(chain, config, problems)
    files = HubFiles(config.root)
    statics = static_files(chain, files, problems)
    fingerprint = theme_fingerprint(chain, messages, files, problems)
    problems.raise_if_errors()
    key = digest(repr(chain), repr(config), fingerprint, repr(preview),
                 repr(sorted((k, v.url) for k, v in statics.items())))
    env = environment(key, chain, config, messages, statics, preview)
    return ThemeParts(chain, messages, statics, env, fingerprint, key)


class Renderer:
    """What renders a page from its context, in this process or a worker (it is sent there by
    pickle): the theme's parts and the template globals. Each process makes the Jinja
    environment once.

    Pages call `card_html(card, level)` for their cards: a card looks the same on every listing
    that shows it, so a renderer renders each one once (per heading level) for the pages it
    renders, not once per listing.
    """

    def __init__(self, theme: tuple[str, list[Path], Config, Messages, dict[str, StaticFile], bool],
                 globals_: dict[str, Any]) -> None:
        self.theme, self.globals = theme, globals_
        self._cards: dict[tuple[Any, int], Markup] = {}

    def __reduce__(self) -> tuple[type[Renderer], tuple[Any, ...]]:
        return Renderer, (self.theme, self.globals)  # the cards stay in the process that made them

    @classmethod
    def of(cls, site: Site, theme: ThemeParts) -> Renderer:
        return cls((theme.key, theme.chain, site.config, theme.messages, theme.statics,
                    site.preview), site.globals())

    def render(self, job: PageJob) -> bytes:
        template = environment(*self.theme).get_template(job.template)
        return template.render(**self.globals, card_html=self.card_html,
                               **job.context).encode("utf-8")

    def card_html(self, card: Any, level: int = 3) -> Markup:
        key = (card, level)
        try:
            made = self._cards.get(key)
        except TypeError:  # a card a theme made itself, as a dict: rendered every time
            return self._card(card, level)
        if made is None:
            made = self._cards[key] = self._card(card, level)
        return made

    def _card(self, card: Any, level: int) -> Markup:
        template = environment(*self.theme).get_template("partials/card.html")
        return Markup(template.render(**self.globals, card_html=self.card_html, card=card,
                                      card_level=level))


def make_site(config: Config, hub: Hub, gate: Gate, theme: ThemeParts, options: BuildOptions,
              rendered: Mapping[str, Rendered], render_keys: dict[str, str]) -> tuple[Site, str]:
    """The renderer's inputs, and the fingerprint of what every page depends on besides its own
    context: the template globals (config, theme, messages, static files, options, gate)."""
    words = consent_words(theme.messages.table)
    version = consent_version(config, *words)
    site = Site(config, hub, gate, theme.env, Views(config, hub, theme.messages), theme.statics,
                rendered, render_keys, version, options.preview,
                feed_list(config, theme.messages))
    fingerprint = digest(VERSION_SALT, repr(config), theme.fingerprint,
                         repr(sorted((k, v.url) for k, v in theme.statics.items())),
                         repr((options.preview, options.drafts)), version,
                         gate.mode, digest(gate.secret))
    return site, fingerprint


def without_bodies(hub: Hub) -> Hub:
    """The hub without its items' Markdown, which the pages do not need once it is rendered: a
    large hub's bodies are most of a build's memory."""
    return replace(hub, items=tuple(replace(item, body="") for item in hub.items),
                   held_back=tuple(replace(item, body="") for item in hub.held_back))


def render_site(
    loaded: Loaded, options: BuildOptions, stages: Stages, cache: Cache, staging: Staging
) -> tuple[list[Output], Mapping[str, Rendered], dict[str, str], dict[str, str]]:
    """Render every page and file into `staging`; returns their records (paths, no bytes), the
    rendered bodies, their cache keys and the theme's messages."""
    config, hub, problems = loaded.config, loaded.hub, loaded.problems
    with stages.stage("theme"):
        theme = load_theme(config, problems, options.preview)
    with stages.stage("markdown"):
        rendered, page_html, render_keys = render_bodies(loaded, cache, options.jobs)
        if not (options.strict or options.keep_bodies):  # --strict reads links in the Markdown
            loaded.hub = hub = without_bodies(hub)
            release_memory()
    with stages.stage("templates"):
        site, fingerprint = make_site(config, hub, loaded.gate, theme, options, rendered,
                                      render_keys)
        planned = _guard_templates(problems, lambda: [
            *(out for item in hub.items for out in item_pages(site, item)),
            *hub_pages(site),
            *plain_pages(site, hub.pages, page_html),
            *special_pages(site, options.search and search.available()),
        ])
        problems.raise_if_errors()
        outputs = _guard_templates(problems, lambda: render_pages(
            site, theme, planned, fingerprint, cache, options, staging))
        problems.raise_if_errors()
    with stages.stage("publish"):
        made = [*static_outputs(theme.statics), *feeds(config, hub, site.feeds)]
        made.append(sitemap(config, hub, [*outputs, *made]))
        made.extend([robots(config), headers(),
                     manifest(config, *consent_words(theme.messages.table))])
        outputs.extend(staging.add(output) for output in made)
    with stages.stage("search"):
        outputs.extend(search_stage(config, outputs, cache, options, staging, problems))
    return outputs, rendered, render_keys, theme.messages.table


def search_stage(config: Config, outputs: list[Output], cache: Cache, options: BuildOptions,
                 staging: Staging, problems: Problems) -> list[Output]:
    """Pagefind's index of the public pages; taken from the last build when none changed."""
    if not options.search:
        return []
    if not search.available():
        problems.warn(config.root / "hub.toml", "search index skipped: Pagefind is not "
                      "installed", hint="pip install 'hubgen[search]'")
        return []
    pages = [o for o in outputs if search.indexable(o)]
    key = digest(VERSION_SALT, config.language,
                 *(o.path + ":" + (o.key or digest(o.read())) for o in pages))
    state_kind = "search:" + str(options.out_dir.resolve())
    remember = cache.enabled and options.reuse_pages
    before = cache.get_many(state_kind, ["index"]).get("index") if remember else None
    out_dir = options.out_dir
    if before and before["key"] == key and _stamps_hold(out_dir, before["files"]):
        return [staging.add(Output(p, None, reuse=out_dir / p)) for p in before["files"]]
    records = [staging.add(o) for o in search.search_index(
        config.language, [(o.path, o.read) for o in pages])]
    if remember:  # stamps of the files as they will be in the output
        cache.replace_kind(state_kind, {"index": {
            "key": key, "files": {r.path: stamp(r.reuse or "") for r in records}}})
    return records


def _stamps_hold(out: Path, stamps: dict[str, list[int]]) -> bool:
    """Every file recorded is still exactly as recorded (see writer.stamp)."""
    base = str(out)
    return all(list(stamp(f"{base}/{path}")) == list(s) for path, s in stamps.items())


def render_pages(site: Site, theme: ThemeParts, planned: list[Output | Page], fingerprint: str,
                 cache: Cache, options: BuildOptions, staging: Staging, partial: bool = False
                 ) -> list[Output]:
    """Pages whose inputs did not change are taken from the previous output; the rest render.

    A page's key hashes everything it is made from: the template chain, the config, the messages
    and its own context (items, cards, listings, links). Equal keys mean equal bytes. `partial`:
    `planned` is a few pages of the site, not all of them.
    """
    state_kind = "page:" + str(options.out_dir.resolve())
    pages = [p for p in planned if isinstance(p, Page)]
    keys = {p.path: digest(fingerprint, p.sig if p.sig is not None else repr(p.job))
            for p in pages}
    remember = cache.enabled and options.reuse_pages
    previous = cache.get_many(state_kind, keys) if remember else {}
    out_dir = options.out_dir
    todo: list[Page] = []
    done: dict[str, Output] = {}
    state: dict[str, dict[str, object]] = {}
    for entry in planned:
        if not isinstance(entry, Page):
            done[entry.path] = staging.add(entry)
            continue
        before = previous.get(entry.path)
        old_file = out_dir / entry.path
        if before and before["key"] == keys[entry.path] and \
                list(stamp(old_file)) == before.get("stamp"):
            done[entry.path] = staging.add(Output(entry.path, None, entry.public, reuse=old_file,
                                                  key=keys[entry.path]))
            state[entry.path] = before
        else:
            todo.append(entry)
    failures: list[Problem] = []
    # A page's context is made here a chunk at a time; the worker renders and writes it, so no
    # process holds many pages at once, and only (written?, stamp) comes back.
    made = parallel_iter(functools.partial(_render_one, Renderer.of(site, theme), staging.placer),
                         todo, options.jobs, prepare=_prepare)
    for page, outcome in zip(todo, made, strict=True):
        if isinstance(outcome, Problem):
            failures.append(outcome)
            continue
        written, page_stamp = outcome
        done[page.path] = staging.adopt(Output(page.path, None, page.public, key=keys[page.path]),
                                        written)
        state[page.path] = {"key": keys[page.path], "stamp": list(page_stamp)}
    if failures:
        raise BuildFailed(sorted(set(failures), key=str))
    if remember and partial:  # a few pages of the site: the others' entries stay
        cache.put_many(state_kind, state)
    elif remember:
        cache.replace_kind(state_kind, state)
    return [done[entry.path] for entry in planned]


TEMPLATE_MISTAKES = (jinja2.TemplateError, KeyError, TypeError, AttributeError, ValueError)


def template_problem(exc: BaseException, fallback: str) -> Problem:
    """A template mistake as a problem naming the template and its line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return Problem(exc.filename or exc.name or fallback, f"template error: {exc.message}",
                       exc.lineno)
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem(fallback, f"template not found: {exc.name}",
                       hint="add it to your theme or remove the reference")
    where, line = _template_frame(exc)
    return Problem(where, f"template error: {exc}", line,
                   "a template uses a name the renderer does not provide (docs/themes.md)")


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
        data = renderer.render(job)
    except TEMPLATE_MISTAKES as exc:
        return template_problem(exc, path)
    return placer.place(path, data)


def _guard_templates(problems: Problems, render: Callable[[], list[T]]) -> list[T]:
    """Template mistakes become problems naming the template and its line."""
    try:
        return render()
    except BuildFailed as failed:
        found = failed.problems
    except TEMPLATE_MISTAKES as exc:
        found = [template_problem(exc, "themes")]
    for p in found:
        problems.error(p.path, p.message, p.line, p.hint)
    return []


def _template_frame(exc: BaseException) -> tuple[str, int | None]:
    """The innermost template frame of a traceback: (file, line)."""
    tb = exc.__traceback__
    where: tuple[str, int | None] = ("themes", None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt")):
            where = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


def measure_inputs(config: Config, gate: Gate, options: BuildOptions, cache: Cache) -> Inputs:
    """Everything a build reads: every file under content/ (by its bytes), the config, the
    theme's templates, messages and static files, today's date (scheduled items), the options,
    the unlock secret, and hubgen's own version."""
    problems = Problems(config.root)
    chain = theme_chain(config, problems)
    files = HubFiles(config.root)
    statics = static_files(chain, files, problems)
    theme = theme_fingerprint(chain, load_messages(chain, config, problems), files, problems)
    settings = (options.drafts, options.preview, options.search and search.available(),
                options.strict, gate.mode, digest(gate.secret))
    return Inputs(
        digest(VERSION_SALT, RENDER_VERSION, repr(config), theme, today(config).isoformat(),
               repr(settings), repr(sorted((k, v.url) for k, v in statics.items())),
               repr([str(p) for p in problems])),  # a refused theme file is an input too
        content_hashes(config.root, cache))


def _record_kind(options: BuildOptions) -> str:
    return "build:" + str(options.out_dir.resolve())


def _previous_outputs(options: BuildOptions, last: dict[str, Any],
                      known: list[Output] | None = None) -> list[Output] | None:
    """The last build's files, if it recorded them and each is still exactly as it left it
    (same size and time: writer.stamp); a file edited or rewritten since sends the build down the
    full road. `known`: the same records, kept in this process."""
    out = options.out_dir
    base = str(out)
    try:
        entries = [(path, bool(public), [size, time_ns])
                   for path, public, size, time_ns in last["outputs"]]
    except (KeyError, TypeError, ValueError):  # a record from another hubgen: build afresh
        return None
    if not all(list(stamp(f"{base}/{path}")) == recorded for path, _, recorded in entries):
        return None
    if known is not None and len(known) == len(entries):
        return known
    return [Output(path, None, public, reuse=out / path) for path, public, _ in entries]


def _recorded_result(config: Config, gate: Gate, last: dict[str, Any],
                     records: list[Output]) -> BuildResult | None:
    try:
        counts = Counts(**last["counts"])
        warnings = [Problem(path, message, line, hint, warning=True)
                    for path, message, line, hint in last["warnings"]]
    except (KeyError, TypeError, ValueError):
        return None
    return BuildResult(config, None, gate, counts, records, warnings=warnings)


def _unchanged_build(options: BuildOptions, config: Config, gate: Gate, inputs: Inputs,
                     last: dict[str, Any] | None,
                     known: list[Output] | None) -> BuildResult | None:
    """The last build's result, when it was made from exactly these inputs and is still there."""
    if not last or last.get("input") != inputs.fingerprint:
        return None
    records = _previous_outputs(options, last, known)
    return _recorded_result(config, gate, last, records) if records is not None else None


def _remember_build(options: BuildOptions, cache: Cache, inputs: Inputs, result: BuildResult,
                    hub: Hub, render_keys: dict[str, str], road: str,
                    before: dict[str, Any] | None = None) -> None:
    """Record the build for the next one (incremental.py), in the cache and in this process.

    `before`: the last build's record, whose stamps this build checked; a file this build left
    where it was keeps its stamp, the others are looked at again."""
    out = options.out_dir
    base, resolved = str(out), str(out.resolve())
    checked = {path: [size, time_ns] for path, _, size, time_ns in before["outputs"]} \
        if before else {}
    outputs, records = [], []
    for o in result.outputs:
        left = str(o.reuse) in (f"{base}/{o.path}", f"{resolved}/{o.path}")
        outputs.append([o.path, o.public, *(checked[o.path] if left and o.path in checked
                                            else stamp(f"{base}/{o.path}"))])
        records.append(o if left else Output(o.path, None, o.public, reuse=out / o.path))
    last = {
        "input": inputs.fingerprint, "outputs": outputs,
        "counts": {"by_type": result.counts.by_type, "gated": result.counts.gated,
                   "held": result.counts.held},
        # What the inputs cause, not this run's trouble with the cache: a later build replays it.
        "warnings": [[w.path, w.message, w.line, w.hint] for w in result.warnings
                     if not w.message.startswith(CACHE_TROUBLE)]}
    state = state_record(inputs, render_keys)
    records_of = {"input": inputs.fingerprint, "last": last, "state": state}
    if road == "bodies":  # the hub's front matter is as recorded: only the rest is new
        cache.put_many(_record_kind(options), records_of)
    else:
        cache.replace_kind(_record_kind(options), {**records_of, "hub": hub_record(hub)})
    keep(str(out.resolve()), Kept(inputs.fingerprint, state, hub, last, records))


def _keep_recorded(options: BuildOptions, cache: Cache, inputs: Inputs, last: dict[str, Any],
                   records: list[Output]) -> None:
    """Keep the recorded hub of the build whose output stands in this process's memory."""
    recorded = cache.get_many(_record_kind(options), ["state", "hub"])
    try:
        hub = restore_hub(recorded["hub"]) if "hub" in recorded else None
    except (KeyError, TypeError, ValueError):  # a record this hubgen cannot read: no matter
        hub = None
    if hub is not None and "state" in recorded:
        keep(str(options.out_dir.resolve()),
             Kept(inputs.fingerprint, recorded["state"], hub, last, records))


CACHE_TROUBLE = "build cache not used"


def _cache_warning(options: BuildOptions, cache: Cache) -> Problem:
    return Problem(Problems(options.root).rel(cache.path or options.root),
                   f"{CACHE_TROUBLE}: {cache.trouble}", hint="the output is the same; delete "
                   ".hubgen/cache.sqlite if this repeats", warning=True)


def rebuild_bodies(options: BuildOptions, stages: Stages, cache: Cache, config: Config,
                   gate: Gate, inputs: Inputs, last: dict[str, Any],
                   memory: Kept | None) -> BuildResult | None:
    """Road 2 of the dependency model (incremental.py): only the bodies of some items changed,
    so only their own pages are rendered; None when the change reaches further."""
    if options.strict:  # --strict checks the links of every page
        return None
    kind = _record_kind(options)
    with stages.stage("load"):
        state = memory.state if memory else cache.get_many(kind, ["state"]).get("state")
        changed = changed_bodies(state, inputs)
        if not changed or state is None:
            return None
        hub = memory.hub if memory else restore_hub(cache.get_many(kind, ["hub"]).get("hub", {}))
        warned = {w[0] for w in last.get("warnings", [])}
        edited = body_edits(config, hub, changed, warned) if hub is not None else None
        if not edited or hub is None:
            return None
        records = _previous_outputs(options, last, memory.records if memory else None)
        if records is None:
            return None
        result = _recorded_result(config, gate, last, records)
        if result is None:
            return None
        hub = replace(hub, items=tuple(edited.get(item.id, item) for item in hub.items))
    problems = Problems(options.root)
    with stages.stage("theme"):
        theme = load_theme(config, problems, options.preview)
    with stages.stage("markdown"):
        render_keys = dict(state["render_keys"])
        rendered: dict[str, Rendered] = {}
        fresh: dict[str, object] = {}
        for item in edited.values():
            args = body_args(config, item)
            key = render_keys[item.id] = body_key(args)
            rendered[item.id] = _render_body(args)
            fresh[key] = rendered[item.id].to_json()
        cache.put_many("markdown", fresh)
    with Staging(options.out_dir, options.commit_lock) as staging:
        with stages.stage("templates"):
            site, fingerprint = make_site(config, hub, gate, theme, options, rendered, render_keys)
            planned = _guard_templates(problems, lambda: [
                out for item in edited.values() for out in item_pages(site, item)])
            problems.raise_if_errors()
            if {p.path for p in planned} - {o.path for o in records}:
                return None  # a file the last build did not make: leave it to the full pass
            made = _guard_templates(problems, lambda: render_pages(
                site, theme, planned, fingerprint, cache, options, staging, partial=True))
            problems.raise_if_errors()
        fresh_records = {o.path: o for o in made}
        outputs = [fresh_records.get(o.path, o) for o in records]
        if options.search and search.available():
            with stages.stage("search"):
                # Pagefind rebuilds its index whole: it sees every page, like a full build.
                recorded = cache.get_many("page:" + str(options.out_dir.resolve()),
                                          [o.path for o in outputs if o.path not in fresh_records])
                # A page's recorded key stands for it only while the file is the one recorded
                # (a build that failed after recording never put its pages in the output).
                keys = {path: entry["key"] for path, entry in recorded.items()
                        if list(stamp(options.out_dir / path)) == entry.get("stamp")}
                indexed = [replace(o, key=keys[o.path]) if o.path in keys else o
                           for o in outputs if not o.path.startswith("pagefind/")]
                pages = [staging.add(o) if o.path not in fresh_records else o for o in indexed]
                outputs = [*pages, *search_stage(config, pages, cache, options, staging,
                                                 problems)]
        with stages.stage("write"):
            staging.commit(remove_stale=options.search and search.available())
    result.outputs, result.timings, result.written = outputs, stages.timings, staging.written
    result.messages = theme.messages.table
    result.road = "bodies"
    if cache.trouble:
        result.warnings.append(_cache_warning(options, cache))
    _remember_build(options, cache, inputs, result, hub, render_keys, "bodies", last)
    return result


def build(options: BuildOptions) -> BuildResult:
    """Build the hub into options.out_dir; the previous output stays if anything fails."""
    check_target(options.out_dir, options.root)
    stages = Stages()
    cache = open_cache(options.root, options.cache)
    try:
        inputs = None
        if cache.enabled and options.reuse_pages:
            with stages.stage("unchanged?"):
                config = load_config(options.root, options.base_url)
                gate_problems = Problems(options.root)
                gate = make_gate(config, gate_problems, dev=options.dev)
                if not gate_problems.errors:
                    inputs = measure_inputs(config, gate, options, cache)
                    kind = _record_kind(options)
                    memory = kept(str(options.out_dir.resolve()),
                                  cache.get_many(kind, ["input"]).get("input"))
                    last = memory.last if memory else \
                        cache.get_many(kind, ["last"]).get("last") or {}
                    same = _unchanged_build(options, config, gate, inputs, last,
                                            memory.records if memory else None)
                    if same is not None:
                        # Nothing that goes into the site changed: the output stands, untouched.
                        if options.resident and memory is None:
                            _keep_recorded(options, cache, inputs, last, same.outputs)
                        same.timings, same.road = stages.timings, "unchanged"
                        return same
            if inputs is not None:
                quick = rebuild_bodies(options, stages, cache, config, gate, inputs, last, memory)
                if quick is not None:
                    return quick
        loaded = load(options, stages, cache, inputs)
        with Staging(options.out_dir, options.commit_lock) as staging:
            outputs, rendered, render_keys, messages = render_site(loaded, options, stages, cache,
                                                                   staging)
            if options.strict:
                with stages.stage("links"):
                    broken = check_links([*loaded.hub.items, *loaded.hub.pages],
                                         [(o.path, o.read() if o.path.endswith(".html") else None)
                                          for o in outputs], loaded.config.base_path)
                    if broken:
                        raise BuildFailed(sorted(broken, key=str))
            with stages.stage("write"):
                staging.commit()
        if cache.trouble:
            loaded.problems.extend([_cache_warning(options, cache)])
        result = BuildResult(loaded.config, loaded.hub, loaded.gate, Counts.of(loaded.hub),
                             outputs, rendered, loaded.problems.warnings, stages.timings,
                             staging.written, messages=messages)
        if inputs is not None:
            _remember_build(options, cache, inputs, result, loaded.hub, render_keys, "full")
    finally:
        cache.close()
    return result


__all__ = ["BuildFailed", "BuildOptions", "BuildResult", "build", "load"]
