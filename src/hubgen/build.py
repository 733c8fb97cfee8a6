"""The build pipeline, read top to bottom:

    load config -> load items -> Hub -> (check stops here) -> render pages -> write

Everything is read and validated before the first byte is written; every problem of the run is
reported together.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .config import Config, load_config
from .content import load_content, today
from .errors import BuildFailed, Problem, Problems
from .forms import consent_version
from .gating import Gate, make_gate
from .hub import build_hub
from .markdown import Rendered, render_markdown
from .model import Hub
from .publish import feed_list, feeds, headers, manifest, robots, sitemap
from .render import (
    Output,
    Site,
    hub_pages,
    item_pages,
    plain_pages,
    special_pages,
    static_outputs,
)
from .theme import (
    Messages,
    load_messages,
    make_environment,
    static_files,
    theme_chain,
)
from .views import Views
from .writer import check_target, write_site


@dataclass(frozen=True)
class BuildOptions:
    root: Path
    out: Path | None = None  # default: root/output
    drafts: bool = False  # include drafts and scheduled items (preview)
    base_url: str | None = None
    dev: bool = False  # allow the public development secret in strict mode
    preview: bool = False  # `hubgen serve`: banners on drafts and scheduled items

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else self.root / "output"


@dataclass
class BuildResult:
    config: Config
    hub: Hub
    gate: Gate
    outputs: list[Output] = field(default_factory=list)
    rendered: dict[str, Rendered] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    written: int = 0

    def summary(self) -> str:
        types = Counter(i.type for i in self.hub.items)
        gated = sum(1 for i in self.hub.items if i.gated)
        pages = sum(1 for o in self.outputs if o.path.endswith(".html"))
        kinds = ", ".join(f"{types[t]} {t}s" for t in ("article", "ebook", "checklist"))
        held = f", {len(self.hub.held_back)} held back (draft or scheduled)" \
            if self.hub.held_back else ""
        return (f"{len(self.hub.items)} items ({kinds}; {len(self.hub.items) - gated} open, "
                f"{gated} gated){held}; {pages} pages, {len(self.outputs)} files; "
                f"{sum(self.timings.values()):.2f} s")


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


def load(options: BuildOptions, stages: Stages | None = None) -> Loaded:
    """Read and validate everything; raises BuildFailed with every problem found."""
    stages = stages or Stages()
    with stages.stage("load"):
        config = load_config(options.root, options.base_url)
        problems = Problems(options.root)
        items, pages = load_content(config, problems)
    with stages.stage("validate"):
        gate = make_gate(config, problems, dev=options.dev)
        hub = build_hub(config, items, pages, today(config), options.drafts, problems)
    problems.raise_if_errors()
    return Loaded(config, hub, gate, problems)


def render_bodies(loaded: Loaded) -> tuple[dict[str, Rendered], dict[str, str]]:
    """Markdown of every item and page -> HTML (the expensive, pure step)."""
    config = loaded.config
    default_teaser = config.gating["teaser_paragraphs"]
    items = {
        item.id: render_markdown(
            item.body, item.teaser if item.teaser is not None else default_teaser,
            config.sanitize)
        for item in loaded.hub.items
    }
    pages = {page.url: render_markdown(page.body, 0, config.sanitize).html
             for page in loaded.hub.pages}
    return items, pages


def render_site(
    loaded: Loaded, preview: bool, stages: Stages
) -> tuple[list[Output], dict[str, Rendered]]:
    config, hub, problems = loaded.config, loaded.hub, loaded.problems
    with stages.stage("theme"):
        chain = theme_chain(config, problems)
        messages = load_messages(chain, config, problems)
        statics = static_files(chain)
        problems.raise_if_errors()
        env = make_environment(chain, config, messages, statics, preview)
    with stages.stage("markdown"):
        rendered, page_html = render_bodies(loaded)
    with stages.stage("templates"):
        version = consent_version(config, _message(messages, "form_withdraw"))
        views = Views(config, hub, messages)
        site = Site(config, hub, loaded.gate, env, views, statics, rendered, version, preview,
                    feed_list(config, hub, messages))
        outputs = _guard_templates(problems, lambda: [
            *(out for item in hub.items for out in item_pages(site, item)),
            *hub_pages(site),
            *plain_pages(site, hub.pages, page_html),
            *special_pages(site),
        ])
        problems.raise_if_errors()
    with stages.stage("publish"):
        outputs.extend(static_outputs(statics))
        outputs.extend(feeds(config, hub, site.feeds))
        outputs.append(sitemap(config, hub, outputs))
        outputs.extend([robots(config), headers(),
                        manifest(config, _message(messages, "form_withdraw"))])
    return outputs, rendered


def _message(messages: Messages, key: str) -> str:
    return messages.table.get(key, "")


def _guard_templates(problems: Problems, render: Callable[[], list[Output]]) -> list[Output]:
    """Template mistakes become problems naming the template and its line."""
    try:
        return render()
    except jinja2.TemplateSyntaxError as exc:
        problems.error(exc.filename or exc.name or "template", f"template error: {exc.message}",
                       exc.lineno)
    except jinja2.TemplateNotFound as exc:
        problems.error("themes", f"template not found: {exc.name}",
                       hint="add it to your theme or remove the reference")
    except (jinja2.UndefinedError, KeyError, TypeError, AttributeError) as exc:
        problems.error("themes", f"template error: {exc}", _template_line(exc),
                       "a template uses a name the renderer does not provide (docs/themes.md)")
    return []


def _template_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".html"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def build(options: BuildOptions) -> BuildResult:
    """Build the hub into options.out_dir; the previous output stays if anything fails."""
    check_target(options.out_dir, options.root)
    stages = Stages()
    loaded = load(options, stages)
    outputs, rendered = render_site(loaded, options.preview, stages)
    with stages.stage("write"):
        written = write_site(options.out_dir, outputs)
    return BuildResult(loaded.config, loaded.hub, loaded.gate, outputs, rendered,
                       loaded.problems.warnings, stages.timings, written)


__all__ = ["BuildFailed", "BuildOptions", "BuildResult", "build", "load"]
