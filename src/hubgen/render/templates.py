"""Themes: where templates, static files and messages come from, and the Jinja environment.

A theme name is looked up in the hub's own themes/ first, then among the themes that ship with
hubgen; the default theme is always last in the chain, so a hub's theme may override one template,
one static file or one message and inherit the rest.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date as babel_format_date
from jinja2.loaders import split_template_path

from hubgen.config import LANGUAGES, Config
from hubgen.errors import Problems
from hubgen.sources import HubFiles, Refused, builtin_themes_dir


def theme_chain(config: Config, problems: Problems) -> list[Path]:
    """Theme folders, most specific first, ending with the built-in default. A theme folder of
    the hub that is a link out of the hub is refused (sources.py)."""
    chain: list[Path] = []
    files = HubFiles(config.root)
    for base in (config.root / "themes", builtin_themes_dir()):
        candidate = base / config.theme
        if candidate.is_dir() and candidate.resolve() not in [c.resolve() for c in chain]:
            try:
                files.vet_folder(candidate)
            except Refused as refused:
                problems.error(candidate, refused.reason, hint=refused.hint)
                return [builtin_themes_dir() / "default"]
            chain.append(candidate)
            break
    if not chain:
        problems.error(config.root / "hub.toml", f"theme '{config.theme}' not found",
                       hint=f"create themes/{config.theme}/templates/ or use theme = \"default\"")
    default = builtin_themes_dir() / "default"
    if default.resolve() not in [c.resolve() for c in chain]:
        chain.append(default)
    return chain


@dataclass(frozen=True)
class Messages:
    """The theme's message catalogue in the hub's language, with hub.toml [strings] on top."""

    language: str
    table: dict[str, str]

    def __call__(self, key: str, /, **kwargs: Any) -> str:
        try:
            text = self.table[key]
        except KeyError:
            raise KeyError(f"no message '{key}' in the theme's messages.toml") from None
        return text.format(**kwargs) if kwargs else text


def load_messages(chain: list[Path], config: Config, problems: Problems) -> Messages:
    table: dict[str, str] = {}
    files = HubFiles(config.root)
    for theme in reversed(chain):  # default first, then overrides
        path = theme / "messages.toml"
        if not os.path.lexists(path):
            continue
        try:
            data = tomllib.loads(files.read(path).decode("utf-8"))
        except Refused as refused:
            problems.error(path, refused.reason, hint=refused.hint)
            continue
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.error(path, f"invalid message catalogue: {exc}")
            continue
        for key, texts in data.items():
            if isinstance(texts, dict) and isinstance(texts.get(config.language), str):
                table[key] = texts[config.language]
            elif isinstance(texts, dict) and not set(texts) <= set(LANGUAGES):
                problems.error(path, f"message '{key}' has unknown languages",
                               hint=f"use {', '.join(LANGUAGES)}")
    for key, text in config.strings.items():
        if key not in table:
            problems.error(config.root / "hub.toml", f"[strings] overrides unknown message '{key}'",
                           hint="see the keys in themes/default/messages.toml")
        table[key] = text
    return Messages(config.language, table)


@dataclass(frozen=True)
class StaticFile:
    name: str  # path inside static/, e.g. "hub.css"
    source: Path
    url: str  # fingerprinted site path, e.g. "/static/hub.1a2b3c4d5e.css"


def static_files(chain: list[Path], files: HubFiles,
                 problems: Problems | None = None) -> dict[str, StaticFile]:
    """Every static file of the chain (most specific wins), fingerprinted by content hash; each
    by its real path (sources.py), so what is copied is what was vetted."""
    found: dict[str, Path] = {}
    for theme in reversed(chain):
        base = theme / "static"
        if base.is_dir():
            for path in files.files(base, problems):
                found[path.relative_to(base).as_posix()] = files.vet(path)
    out = {}
    for name, path in sorted(found.items()):
        digest = hashlib.sha256(files.read(path, limit=None)).hexdigest()[:10]
        stem, dot, ext = name.rpartition(".")
        hashed = f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"
        out[name] = StaticFile(name, path, f"/static/{hashed}")
    return out


def theme_fingerprint(chain: list[Path], messages: Messages, files: HubFiles,
                      problems: Problems) -> str:
    """A hash of every template and of the messages in use: any edit changes it. A template
    the build may not read (sources.py) is recorded in `problems`."""
    h = hashlib.sha256()
    for theme in chain:
        base = theme / "templates"
        for path in files.files(base, problems) if base.is_dir() else ():
            h.update(path.relative_to(base).as_posix().encode() + b"\0")
            try:
                h.update(files.read(path) + b"\0")
            except Refused as refused:
                problems.error(path, refused.reason, hint=refused.hint)
    h.update(repr(sorted(messages.table.items())).encode())
    return h.hexdigest()


def make_environment(
    chain: list[Path], config: Config, messages: Messages, statics: dict[str, StaticFile],
    preview: bool,
) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=ThemeLoader([t / "templates" for t in chain], HubFiles(config.root)),
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
