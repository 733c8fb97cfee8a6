"""Templates: the Jinja environment of a theme, the Renderer that renders a page from its context
(in this process or a worker), and template mistakes as problems naming the template and line."""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from babel.dates import format_date as babel_format_date
from jinja2.loaders import split_template_path
from markupsafe import Markup

from hubgen.config import Config
from hubgen.errors import BuildFailed, Problem, Problems
from hubgen.sources import HubFiles, Refused

T = TypeVar("T")


def make_environment(
    chain: Sequence[Path], config: Config, messages: Callable[..., str],
    statics: Mapping[str, Any], preview: bool,
) -> jinja2.Environment:
    """The Jinja environment of a theme chain with hubgen's globals (docs/themes.md). Templates
    are compiled once: an environment lives as long as the theme it was made from (its key)."""
    env = jinja2.Environment(
        loader=ThemeLoader([t / "templates" for t in chain], HubFiles(config.root)),
        auto_reload=False,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    prefix = config.base_path

    def url(path: str) -> str:
        return prefix + path if path.startswith("/") else path

    def asset(name: str) -> str:
        try:
            return url(statics[name].url)
        except KeyError:
            raise KeyError(f"no static file '{name}' in the theme") from None

    env.globals.update(
        t=messages,
        url=url,
        asset=asset,
        format_date=date_formatter(config.language),
        preview=preview,
    )
    return env


class ThemeLoader(jinja2.BaseLoader):
    """Templates from the theme chain, read through the hub's gate (sources.py): a template that
    is a link out of its theme is an error, never included in a page."""

    def __init__(self, folders: list[Path], files: HubFiles) -> None:
        self.folders, self.files = folders, files

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        parts = split_template_path(template)  # refuses '..' and the like
        for folder in self.folders:
            path = folder.joinpath(*parts)
            if not os.path.lexists(path):
                continue
            try:
                text = self.files.read(path).decode("utf-8")
            except Refused as refused:
                raise jinja2.TemplateNotFound(
                    template, f"{template}: {refused.reason} ({refused.hint})") from None
            return text, str(path), functools.partial(_unchanged_since, path,
                                                      os.stat(path).st_mtime_ns)
        raise jinja2.TemplateNotFound(template)


def _unchanged_since(path: Path, mtime: int) -> bool:
    try:
        return os.stat(path).st_mtime_ns == mtime
    except OSError:
        return False


def date_formatter(language: str) -> Callable[[dt.date | None], str]:
    def format_date(value: dt.date | None) -> str:
        return "" if value is None else str(babel_format_date(value, "long", locale=language))

    return format_date


class Renderer:
    """What renders a page from its context, in this process or in a worker (it is sent there by
    pickle, once per worker): the parts of the theme that its environment is made from, and the
    template globals. A process makes the environment once, on first use; the building process
    hands over the environment it has.

    Pages call `card_html(card, level)` for their cards: a card looks the same on every listing
    that shows it, so a renderer renders each one once (per heading level) for the pages it
    renders, not once per listing.
    """

    def __init__(self, theme: tuple[Sequence[Path], Config, Callable[..., str], Mapping[str, Any],
                                    bool],
                 globals_: dict[str, Any], env: jinja2.Environment | None = None) -> None:
        self.theme, self.globals, self._env = theme, globals_, env
        self._cards: dict[tuple[Any, int], Markup] = {}

    def __reduce__(self) -> tuple[type[Renderer], tuple[Any, ...]]:
        # The environment and the cards stay in the process that made them.
        return Renderer, (self.theme, self.globals)

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            self._env = make_environment(*self.theme)
        return self._env

    def render(self, template: str, context: Mapping[str, Any]) -> bytes:
        return self.env.get_template(template).render(
            **self.globals, card_html=self.card_html, **context).encode("utf-8")

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
        template = self.env.get_template("partials/card.html")
        return Markup(template.render(**self.globals, card_html=self.card_html, card=card,
                                      card_level=level))


# What a template's mistake raises while it renders (a name the context lacks, a bad filter...).
TEMPLATE_MISTAKES = (jinja2.TemplateError, KeyError, TypeError, AttributeError, ValueError)


def template_problem(exc: BaseException, fallback: str) -> Problem:
    """A template mistake as a problem naming the template and its line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return Problem(exc.filename or exc.name or fallback, f"template error: {exc.message}",
                       exc.lineno)
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem(fallback, f"template not found: {exc.message or exc.name}",
                       hint="add it to your theme or remove the reference")
    where, line = _template_frame(exc)
    return Problem(where, f"template error: {exc}", line,
                   "a template uses a name the renderer does not provide (docs/themes.md)")


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


def guard_templates(problems: Problems, render: Callable[[], T], empty: T) -> T:
    """Run `render`; template mistakes become problems naming the template and its line (and
    `empty` is returned)."""
    try:
        return render()
    except BuildFailed as failed:
        found = failed.problems
    except TEMPLATE_MISTAKES as exc:
        found = [template_problem(exc, "themes")]
    problems.extend(Problem(problems.rel(p.path), p.message, p.line, p.hint) for p in found)
    return empty
