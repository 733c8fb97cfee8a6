"""The build pipeline, read top to bottom:

    load config -> load items -> Hub -> (check stops here) -> render pages -> write

Everything is read and validated before the first byte is written; every problem of the run is
reported together.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import jinja2

from . import search
from .cache import VERSION_SALT, Cache, digest, open_cache
from .config import Config, load_config
from .content import load_content, today
from .errors import BuildFailed, Problem, Problems
from .forms import consent_version, consent_words
from .gating import Gate, make_gate
from .hub import build_hub
from .links import check_links
from .markdown import RENDER_VERSION, Rendered, render_markdown
from .model import Hub, Item
from .parallel import parallel_iter
from .publish import feed_list, feeds, headers, manifest, robots, sitemap
from .render import (
    Output,
    Page,
    Site,
    hub_pages,
    item_pages,
    plain_pages,
    special_pages,
    static_outputs,
)
from .theme import (
    base_path,
    load_messages,
    make_environment,
    static_files,
    theme_chain,
    theme_fingerprint,
)
from .views import Views
from .writer import Staging, check_target

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
         cache: Cache | None = None) -> Loaded:
    """Read and validate everything; raises BuildFailed with every problem found."""
    stages = stages or Stages()
    with stages.stage("load"):
        config = load_config(options.root, options.base_url)
        problems = Problems(options.root)
        items, pages = load_content(config, problems, cache)
    with stages.stage("validate"):
        gate = make_gate(config, problems, dev=options.dev)
        hub = build_hub(config, items, pages, today(config), options.drafts, problems)
    problems.raise_if_errors()
    return Loaded(config, hub, gate, problems)


def _teaser(config: Config, item: Item) -> int:
    return item.teaser if item.teaser is not None else config.gating["teaser_paragraphs"]


def _render_body(args: tuple[str, int, bool]) -> Rendered:
    return render_markdown(*args)


class LazyRendered(Mapping[str, Rendered]):
    """Rendered bodies by item id; one taken from the cache is decoded when first asked for, so
    a rebuild that renders few pages decodes few bodies."""

    def __init__(self, fresh: dict[str, Rendered], stored: dict[str, str]) -> None:
        self._done = dict(fresh)
        self._stored = stored

    def __getitem__(self, name: str) -> Rendered:
        if name not in self._done:
            self._done[name] = Rendered.from_json(json.loads(self._stored[name]))
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._stored, **self._done})

    def __len__(self) -> int:
        return len(self._stored.keys() | self._done.keys())


def render_bodies(loaded: Loaded, cache: Cache, jobs: int | None
                  ) -> tuple[Mapping[str, Rendered], dict[str, str], dict[str, str]]:
    """Markdown of every item and page -> HTML: the expensive, pure step; cached and parallel."""
    config = loaded.config
    wanted: dict[str, tuple[str, int, bool]] = {
        item.id: (item.body, _teaser(config, item), config.sanitize) for item in loaded.hub.items}
    wanted.update({page.url: (page.body, 0, config.sanitize) for page in loaded.hub.pages})
    keys = {name: digest(RENDER_VERSION, VERSION_SALT, repr(args)) for name, args in wanted.items()}
    known = cache.get_raw("markdown", keys.values())
    missing = [name for name in wanted if keys[name] not in known]
    done: dict[str, Rendered] = {}
    batch: dict[str, object] = {}
    made = parallel_iter(_render_body, [wanted[name] for name in missing], jobs)
    for name, result in zip(missing, made, strict=True):
        done[name] = result
        batch[keys[name]] = result.to_json()
        if len(batch) >= 200:  # into the cache in small batches, not one huge list
            cache.put_many("markdown", batch)
            batch = {}
    cache.put_many("markdown", batch)
    cache.prune("markdown", keys.values())
    ids = {item.id for item in loaded.hub.items}
    items = LazyRendered({n: r for n, r in done.items() if n in ids},
                         {n: known[keys[n]] for n in ids if n not in done})
    everything = LazyRendered(done, {n: known[keys[n]] for n in wanted if n not in done})
    pages = {page.url: everything[page.url].html for page in loaded.hub.pages}
    return items, pages, {item.id: keys[item.id] for item in loaded.hub.items}


def render_site(
    loaded: Loaded, options: BuildOptions, stages: Stages, cache: Cache, staging: Staging
) -> tuple[list[Output], Mapping[str, Rendered]]:
    """Render every page and file into `staging`; returns their records (paths, no bytes)."""
    config, hub, problems = loaded.config, loaded.hub, loaded.problems
    with stages.stage("theme"):
        chain = theme_chain(config, problems)
        messages = load_messages(chain, config, problems)
        statics = static_files(chain)
        problems.raise_if_errors()
        env = make_environment(chain, config, messages, statics, options.preview)
    with stages.stage("markdown"):
        rendered, page_html, render_keys = render_bodies(loaded, cache, options.jobs)
    with stages.stage("templates"):
        version = consent_version(config, *consent_words(messages.table))
        views = Views(config, hub, messages)
        site = Site(config, hub, loaded.gate, env, views, statics, rendered, render_keys,
                    version, options.preview, feed_list(config, messages))
        planned = _guard_templates(problems, lambda: [
            *(out for item in hub.items for out in item_pages(site, item)),
            *hub_pages(site),
            *plain_pages(site, hub.pages, page_html),
            *special_pages(site, options.search and search.available()),
        ])
        problems.raise_if_errors()
        # What every page depends on besides its own context: the template globals.
        fingerprint = digest(VERSION_SALT, repr(config), theme_fingerprint(chain, messages),
                             repr(sorted((k, v.url) for k, v in statics.items())),
                             repr((options.preview, options.drafts)), version,
                             loaded.gate.mode, digest(loaded.gate.secret))
        outputs = _guard_templates(problems, lambda: render_pages(
            site, planned, fingerprint, cache, options, staging))
        problems.raise_if_errors()
    with stages.stage("publish"):
        made = [*static_outputs(statics), *feeds(config, hub, site.feeds)]
        made.append(sitemap(config, hub, [*outputs, *made]))
        made.extend([robots(config), headers(), manifest(config, *consent_words(messages.table))])
        outputs.extend(staging.add(output) for output in made)
    with stages.stage("search"):
        if not options.search:
            pass
        elif search.available():
            outputs.extend(staging.add(output)
                           for output in search_outputs(config, outputs, cache, options))
        else:
            problems.warn(config.root / "hub.toml", "search index skipped: Pagefind is not "
                          "installed", hint="pip install 'hubgen[search]'")
    return outputs, rendered


def search_outputs(config: Config, outputs: list[Output], cache: Cache,
                   options: BuildOptions) -> list[Output]:
    """Pagefind's index of the public pages; taken from the last build when none changed."""
    pages = [o for o in outputs if search.indexable(o)]
    key = digest(VERSION_SALT, config.language,
                 *(o.path + ":" + (o.key or digest(o.read())) for o in pages))
    state_kind = "search:" + str(options.out_dir.resolve())
    remember = cache.enabled and options.reuse_pages
    before = cache.get_many(state_kind, ["index"]).get("index") if remember else None
    out_dir = options.out_dir
    if before and before["key"] == key and all((out_dir / p).is_file() for p in before["files"]):
        return [Output(p, None, reuse=out_dir / p) for p in before["files"]]
    index = search.search_index(config.language, [(o.path, o.read) for o in pages])
    if remember:
        cache.replace_kind(state_kind, {"index": {"key": key, "files": [o.path for o in index]}})
    return index


def render_pages(site: Site, planned: list[Output | Page], fingerprint: str, cache: Cache,
                 options: BuildOptions, staging: Staging) -> list[Output]:
    """Pages whose inputs did not change are taken from the previous output; the rest render.

    A page's key hashes everything it is made from: the template chain, the config, the messages
    and its own context (items, cards, listings, links). Equal keys mean equal bytes.
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
        if before and before["key"] == keys[entry.path] and _same_size(old_file, before["size"]):
            done[entry.path] = staging.add(Output(entry.path, None, entry.public, reuse=old_file,
                                                  key=keys[entry.path]))
            state[entry.path] = before
        else:
            todo.append(entry)
    # Each page is written away as soon as it is made, so memory does not grow with the hub.
    failures: list[Problem] = []
    # A page's context is made where it is rendered (in the worker), never all at once.
    made = parallel_iter(functools.partial(_render_one, site), todo, options.jobs)
    for page, data in zip(todo, made, strict=True):
        if isinstance(data, Problem):
            failures.append(data)
            continue
        done[page.path] = staging.add(Output(page.path, data, page.public, key=keys[page.path]))
        state[page.path] = {"key": keys[page.path], "size": len(data)}
    if failures:
        raise BuildFailed(sorted(set(failures), key=str))
    if remember:
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


def _render_one(site: Site, page: Page) -> bytes | Problem:
    """Make and render one page; in a worker process a template mistake comes back as a Problem."""
    try:
        return site.render(page.resolve())
    except TEMPLATE_MISTAKES as exc:
        return template_problem(exc, page.path)


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


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


def input_fingerprint(config: Config, gate: Gate, options: BuildOptions, cache: Cache) -> str:
    """A hash of everything a build reads: every file under content/ (by its bytes; a file's
    hash is remembered by size and modification time, and made again when either changes), the
    config, the theme's templates, messages and static files, today's date (scheduled items),
    the options, the unlock secret, and hubgen's own version."""
    base = config.root / "content"
    stats = []
    for path in sorted(base.rglob("*")):
        if path.is_file():
            info = path.stat()
            stats.append((path, f"{path.relative_to(base).as_posix()}:{info.st_size}:"
                                f"{info.st_mtime_ns}"))
    known = cache.get_many("filehash", [key for _, key in stats])
    fresh = {key: digest(path.read_bytes()) for path, key in stats if key not in known}
    cache.put_many("filehash", fresh)
    cache.prune("filehash", [key for _, key in stats])
    hashes = {**known, **fresh}
    problems = Problems(config.root)
    chain = theme_chain(config, problems)
    statics = static_files(chain)
    theme = theme_fingerprint(chain, load_messages(chain, config, problems))
    settings = (options.drafts, options.preview, options.search and search.available(),
                options.strict, gate.mode, digest(gate.secret))
    return digest(VERSION_SALT, RENDER_VERSION, repr(config), theme, today(config).isoformat(),
                  repr(settings), repr(sorted((k, v.url) for k, v in statics.items())),
                  *(key + "=" + hashes[key] for _, key in stats))


def _unchanged_build(options: BuildOptions, cache: Cache, config: Config, gate: Gate,
                     fingerprint: str) -> BuildResult | None:
    """The last build's result, when it was made from exactly these inputs and is still there."""
    last = cache.get_many("build:" + str(options.out_dir.resolve()), ["last"]).get("last")
    if not last or last.get("input") != fingerprint:
        return None
    out = options.out_dir
    try:
        records = [Output(path, None, public, reuse=out / path)
                   for path, public in last["outputs"]]
        counts = Counts(**last["counts"])
        warnings = [Problem(path, message, line, hint, warning=True)
                    for path, message, line, hint in last["warnings"]]
    except (KeyError, TypeError, ValueError):  # a record from another hubgen: build afresh
        return None
    if not all(record.reuse is not None and record.reuse.is_file() for record in records):
        return None
    return BuildResult(config, None, gate, counts, records, warnings=warnings)


def _remember_build(options: BuildOptions, cache: Cache, fingerprint: str,
                    result: BuildResult) -> None:
    cache.replace_kind("build:" + str(options.out_dir.resolve()), {"last": {
        "input": fingerprint, "outputs": [[o.path, o.public] for o in result.outputs],
        "counts": {"by_type": result.counts.by_type, "gated": result.counts.gated,
                   "held": result.counts.held},
        "warnings": [[w.path, w.message, w.line, w.hint] for w in result.warnings]}})


def build(options: BuildOptions) -> BuildResult:
    """Build the hub into options.out_dir; the previous output stays if anything fails."""
    check_target(options.out_dir, options.root)
    stages = Stages()
    cache = open_cache(options.root, options.cache)
    try:
        fingerprint = ""
        if cache.enabled and options.reuse_pages:
            with stages.stage("unchanged?"):
                config = load_config(options.root, options.base_url)
                gate_problems = Problems(options.root)
                gate = make_gate(config, gate_problems, dev=options.dev)
                if not gate_problems.errors:
                    fingerprint = input_fingerprint(config, gate, options, cache)
                    same = _unchanged_build(options, cache, config, gate, fingerprint)
                    if same is not None:
                        # Nothing that goes into the site changed: the output stands, untouched.
                        same.timings = stages.timings
                        return same
        loaded = load(options, stages, cache)
        with Staging(options.out_dir, options.commit_lock) as staging:
            outputs, rendered = render_site(loaded, options, stages, cache, staging)
            if options.strict:
                with stages.stage("links"):
                    broken = check_links([*loaded.hub.items, *loaded.hub.pages],
                                         [(o.path, o.read() if o.path.endswith(".html") else None)
                                          for o in outputs], base_path(loaded.config))
                    if broken:
                        raise BuildFailed(sorted(broken, key=str))
            with stages.stage("write"):
                staging.commit()
        if cache.trouble:
            loaded.problems.warn(cache.path or options.root, f"build cache not used: {cache.trouble}",
                                 hint="the output is the same; delete .hubgen/cache.sqlite if "
                                 "this repeats")
        result = BuildResult(loaded.config, loaded.hub, loaded.gate, Counts.of(loaded.hub),
                             outputs, rendered, loaded.problems.warnings, stages.timings,
                             staging.written)
        if fingerprint:
            _remember_build(options, cache, fingerprint, result)
    finally:
        cache.close()
    return result


__all__ = ["BuildFailed", "BuildOptions", "BuildResult", "build", "load"]
