"""The build pipeline, read top to bottom in `build()` (docs/architecture.md):

    read inputs -> unchanged? -> load (or the recorded hub and the edited bodies) -> validate ->
    markdown -> templates -> publish -> search -> links -> write -> remember

Everything is read and validated before the first byte is written; every problem of the run is
reported together; a failed build leaves the previous output exactly as it was. `hubgen check`
runs the same pipeline into a scratch folder and audits what it wrote (check.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from hubgen.config import Config, today
from hubgen.content.load import SourceReader, load_content
from hubgen.errors import BuildFailed, Problem, Problems
from hubgen.gating.gate import Gate
from hubgen.hub import build_hub
from hubgen.model import Counts, Hub, Item, PlainPage
from hubgen.output.commit import claim
from hubgen.output.writer import Output, Staging, check_target
from hubgen.parallel import release_memory
from hubgen.render import search
from hubgen.render.bodies import Bodies, render_bodies
from hubgen.render.links import check_links, unlocked_also
from hubgen.render.markdown import Rendered
from hubgen.render.site import (
    OutsideScope,
    Rendering,
    Scope,
    Settings,
    make_site,
    publish_files,
    render_site_pages,
    search_stage,
)
from hubgen.render.theme import Environments, ThemeParts
from hubgen.state.buildstate import BodyPlan, BuildState, Recorded
from hubgen.state.cache import Cache, open_cache
from hubgen.state.inputs import Inputs, Options, read_inputs
from hubgen.state.resident import Resident


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
    # The result's hub keeps each item's Markdown (`hubgen check` reads the links in it); else
    # a build lets go of the bodies once they are rendered.
    keep_bodies: bool = False
    # Held while new files move into the output (a server reading it takes the same lock).
    commit_lock: AbstractContextManager[object] | None = field(default=None, compare=False)

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else self.root / "output"

    @property
    def inputs(self) -> Options:
        return Options(self.root, self.base_url, self.drafts, self.preview, self.dev,
                       self.search and search.available(), self.strict)

    @property
    def settings(self) -> Settings:
        return Settings(self.preview, self.drafts, self.search, self.jobs)


@dataclass(frozen=True)
class BuildResult:
    config: Config
    hub: Hub | None  # None when nothing changed and the previous output stands
    gate: Gate
    counts: Counts
    outputs: tuple[Output, ...] = ()
    rendered: Mapping[str, Rendered] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    written: int = 0
    road: str = "full"  # "unchanged", "bodies" or "full" (state/buildstate.py)
    # The theme's messages the pages were made with (the collector's texts).
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


@dataclass(frozen=True)
class Loaded:
    config: Config
    hub: Hub
    gate: Gate
    warnings: tuple[Problem, ...]


def build(options: BuildOptions, resident: Resident | None = None) -> BuildResult:
    """Build the hub into options.out_dir; the previous output stays if anything fails.
    `resident`: what a process that builds again and again keeps between builds (`hubgen
    serve`)."""
    check_target(options.out_dir, options.root)
    stages = Stages()
    # One build of an output folder at a time; a commit a killed build left is finished first.
    with claim(options.out_dir), open_cache(options.root, options.cache) as cache:
        state = BuildState(options.out_dir, cache, resident, records=options.reuse_pages)
        with stages.stage("unchanged?"):
            inputs = read_inputs(options.inputs, cache if state.records else None,
                                 _environments(resident), resident.file_hashes if resident else None)
            recorded = state.unchanged(inputs)
        if recorded is not None:
            return _unchanged(inputs, recorded, stages)
        plan = state.plan(inputs, options.strict)
        try:
            return _make(options, inputs, state, plan, stages)
        except OutsideScope:  # an edit that makes a file the last build did not: the whole site
            return _make(options, inputs, state, None, stages)


def _make(options: BuildOptions, inputs: Inputs, state: BuildState, plan: BodyPlan | None,
          stages: Stages) -> BuildResult:
    """The stages after "unchanged?": the whole site, or (plan) the edited items' own pages."""
    config, theme = inputs.config, inputs.theme
    with stages.stage("load"):
        found = _read_content(inputs, state.sources(inputs, options.jobs)) if plan is None else None
    with stages.stage("validate"):
        loaded = _validate(inputs, found, options.drafts) if found else _restore(inputs, plan)
    with stages.stage("markdown"):
        bodies = _bodies(config, loaded.hub, plan, options, state)
        hub = loaded.hub if options.strict or options.keep_bodies else _without_bodies(loaded.hub)
        release_memory()
    scope = Scope(plan.edited, plan.kept) if plan else Scope()
    with Staging(options.out_dir, options.commit_lock, durable=not options.preview) as staging:
        with stages.stage("templates"):
            site, fingerprint = make_site(config, hub, loaded.gate, theme, options.settings, bodies)
            outputs, pages = render_site_pages(site, fingerprint, theme, bodies, scope,
                                               state.reuse(), staging, options.jobs)
        with stages.stage("publish"):
            files = publish_files(site, theme, outputs, scope, staging)
        with stages.stage("search"):
            index, record, skipped = search_stage(config, files, options.settings, state.reuse(),
                                                  staging)
        if options.strict:
            with stages.stage("links"):
                _check_links(loaded.hub, [*files, *index], config, loaded.gate)
        with stages.stage("write"):
            staging.commit()
    rendering = Rendering((*files, *index), pages, record)
    trouble = state.trouble(options.root)
    warnings = (*loaded.warnings, *skipped, *((trouble,) if trouble else ()))
    result = BuildResult(config, loaded.hub, loaded.gate, Counts.of(loaded.hub), rendering.outputs,
                         bodies.items, warnings, stages.timings, staging.written,
                         "bodies" if plan else "full", theme.messages.table)
    state.remember(inputs, result.counts, warnings, rendering, hub,
                   {**(plan.render_keys if plan else {}), **bodies.keys}, plan is None)
    return result


def _unchanged(inputs: Inputs, recorded: Recorded, stages: Stages) -> BuildResult:
    return BuildResult(inputs.config, None, inputs.gate, recorded.counts, recorded.outputs,
                       warnings=recorded.warnings, timings=stages.timings, road="unchanged")


def _environments(resident: Resident | None) -> Environments:
    if resident is not None:
        return resident.environment
    return lambda key, make: make()


Found = tuple[list[Item], list[PlainPage], Problems]


def _read_content(inputs: Inputs, reader: SourceReader | None) -> Found:
    """Every content file parsed and checked; problems recorded (the config's gate and the
    theme's among them), bad files left out."""
    problems = Problems(inputs.config.root)
    problems.extend(inputs.problems)
    items, pages = load_content(inputs.config, problems, reader)
    return items, pages, problems


def _validate(inputs: Inputs, found: Found, drafts: bool) -> Loaded:
    """The items and pages made into the Hub; BuildFailed with every problem of the run."""
    config, (items, pages, problems) = inputs.config, found
    hub = build_hub(config, items, pages, today(config), drafts, problems)
    problems.raise_if_errors()
    return Loaded(config, hub, inputs.gate, tuple(problems.warnings))


def _restore(inputs: Inputs, plan: BodyPlan | None) -> Loaded:
    assert plan is not None
    return Loaded(inputs.config, plan.hub, inputs.gate, plan.warnings)


def _bodies(config: Config, hub: Hub, plan: BodyPlan | None, options: BuildOptions,
            state: BuildState) -> Bodies:
    """The bodies to render: the edited items' (road 2), or every item's and page's."""
    if plan is not None:
        return render_bodies(config, plan.edited, (), state.bodies(), options.jobs, whole=False)
    return render_bodies(config, hub.items, hub.pages, state.bodies(), options.jobs)


def _without_bodies(hub: Hub) -> Hub:
    """The hub without its items' Markdown, which the pages do not need once it is rendered: a
    large hub's bodies are most of a build's memory."""
    return replace(hub, items=tuple(replace(item, body="") for item in hub.items),
                   held_back=tuple(replace(item, body="") for item in hub.held_back))


def _check_links(hub: Hub, files: list[Output], config: Config, gate: Gate) -> None:
    broken = check_links([*hub.items, *hub.pages],
                         [(o.path, o.read() if o.path.endswith(".html") else None) for o in files],
                         config.base_path, unlocked_also(gate))
    if broken:
        raise BuildFailed(sorted(broken, key=str))


def load(options: BuildOptions, cache: Cache | None = None) -> Loaded:
    """Read and validate the hub without building it (`hubgen report`, the collector); parsed
    files come from `cache` when given. Raises BuildFailed with every problem found."""
    inputs = read_inputs(options.inputs, None, lambda key, make: make())
    reader = BuildState(options.out_dir, cache, None, records=False).sources(inputs, options.jobs) \
        if cache is not None else None
    return _validate(inputs, _read_content(inputs, reader), options.drafts)


__all__ = ["BuildFailed", "BuildOptions", "BuildResult", "ThemeParts", "build", "load"]
