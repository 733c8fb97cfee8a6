"""Themes: where templates, static files and messages come from, read once per build into
ThemeParts (with the Jinja environment of render/templates.py).

A theme name is looked up in the hub's own themes/ first, then among the themes that ship with
hubgen; the default theme is always last in the chain, so a hub's theme may override one template,
one static file or one message and inherit the rest.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from hubgen.config import LANGUAGES, Config
from hubgen.digests import digest
from hubgen.errors import Problems
from hubgen.render.templates import make_environment
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


@dataclass(frozen=True)
class ThemeParts:
    """The theme as one build uses it: templates (in an environment), messages, static files."""

    chain: tuple[Path, ...]
    messages: Messages
    statics: Mapping[str, StaticFile]
    fingerprint: str  # of the templates and the messages
    key: str  # of everything the environment is made from
    env: jinja2.Environment = field(compare=False, repr=False)

    @property
    def static_urls(self) -> str:
        """The fingerprinted URL of each static file, as a text that goes into page keys."""
        return repr(sorted((k, v.url) for k, v in self.statics.items()))


Environments = Callable[[str, Callable[[], jinja2.Environment]], jinja2.Environment]


def _make_now(key: str, make: Callable[[], jinja2.Environment]) -> jinja2.Environment:
    return make()


def load_theme(config: Config, problems: Problems, preview: bool,
               environments: Environments = _make_now) -> ThemeParts:
    """Read the theme: chain, messages, static files, the templates' fingerprint; problems are
    recorded. `environments(key, make)` may hand back an environment made earlier from the same
    key (`hubgen serve` keeps them: state/resident.py); by default one is made."""
    chain = theme_chain(config, problems)
    messages = load_messages(chain, config, problems)
    files = HubFiles(config.root)
    statics = static_files(chain, files, problems)
    fingerprint = theme_fingerprint(chain, messages, files, problems)
    urls = repr(sorted((k, v.url) for k, v in statics.items()))
    key = digest(repr(chain), repr(config), fingerprint, repr(preview), urls)
    env = environments(key, functools.partial(make_environment, chain, config, messages, statics,
                                              preview))
    return ThemeParts(tuple(chain), messages, statics, fingerprint, key, env)
