"""hub.toml -> a frozen, typed :class:`Config`.

Every key a hub may set is declared once in the tables below, with its type, default and meaning
(README.md's hub.toml reference is written from them). Unknown keys, wrong types and missing required
keys are all collected, then reported together.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hubgen.errors import BuildFailed, Problems, did_you_mean
from hubgen.model import SECTIONS, Persona, Phase
from hubgen.sources import HubFiles, Refused

LANGUAGES = ("nb", "da", "en")
ACCESS = ("open", "gated")
BACKENDS = ("local", "webhook", "hubspot", "netlify")
GATE_MODES = ("soft", "strict")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

# (type, required, default, meaning) per key. `str` keys are texts; tuples of strings are choices.
Spec = dict[str, tuple[Any, bool, Any, str]]

SITE: Spec = {
    "title": (str, True, None, "the hub's name, in <title> and the header"),
    "base_url": (str, True, None, "absolute URL the site is served from; feeds, sitemap, canonical"),
    "description": (str, False, "", "one sentence for the home page's meta description"),
    "language": (LANGUAGES, False, "nb", "theme strings, date formats, <html lang>"),
    "theme": (str, False, "default", "a folder in themes/ or a theme that ships with hubgen"),
    "timezone": (str, False, "Europe/Oslo", "time zone of dates written without a time"),
    "publisher": (str, False, "", "organisation named in JSON-LD and feeds; default: title"),
    "page_size": (int, False, 24, "cards per listing page before it paginates"),
    "featured": (list, False, [], "item ids (`section/slug`) shown first on the home page"),
}
PERSONA: Spec = {
    "label": (str, True, None, "the persona's name as visitors read it"),
    "description": (str, False, "", "shown on the persona's page"),
}
PHASE: Spec = PERSONA
GATING: Spec = {
    "default": (ACCESS, False, "open", "access of an item that says nothing and has no policy"),
    "by_phase": (dict, False, {}, "phase key -> open|gated"),
    "by_type": (dict, False, {}, "article|ebook|checklist -> open|gated"),
    "mode": (GATE_MODES, False, "soft", "soft: the page unlocks itself; strict: only the backend"),
    "secret_env": (str, False, "HUBGEN_GATE_SECRET", "environment variable holding the secret"),
    "teaser_paragraphs": (int, False, 2, "paragraphs a gated item shows without `teaser`/more"),
}
FORMS: Spec = {
    "backend": (BACKENDS, False, "local", "where submissions go"),
    "privacy_url": (str, True, None, "the privacy page linked from every form"),
    "collector_url": (str, False, "/_hubgen/submit", "local backend: where the form posts"),
    "endpoint": (str, False, "", "webhook: the URL that receives the JSON POST"),
    "portal_id": (str, False, "", "hubspot: the portal (account) id"),
    "form_guid": (str, False, "", "hubspot: the form's GUID"),
    "api_base": (str, False, "https://api.hsforms.com", "hubspot: the API's base URL"),
    "role_property": (str, False, "jobtitle", "hubspot: contact property that receives the role"),
    "netlify_name": (str, False, "hub-consent", "netlify: form name prefix"),
    "min_seconds": (int, False, 3, "a submission faster than this after page load is a bot"),
    "consents": (list, False, [], "the consent purposes, one [[forms.consents]] each"),
}
CONSENT: Spec = {
    "id": (str, True, None, "stable key of the purpose, stored with every submission"),
    "text": (str, True, None, "the exact words shown beside the checkbox"),
    "required": (bool, False, False, "never recommended: `hubgen check` warns (GDPR art. 7(4))"),
    "subscription_type_id": (int, False, 0, "hubspot: the subscription type this purpose maps to"),
}
MARKDOWN: Spec = {
    "sanitize": (bool, False, True, "clean rendered HTML against an allowlist; false trusts it"),
}
TOP_LEVEL = ("site", "personas", "phases", "gating", "forms", "markdown", "strings")


@dataclass(frozen=True)
class Consent:
    id: str
    text: str
    required: bool = False
    subscription_type_id: int = 0


@dataclass(frozen=True)
class Config:
    root: Path
    title: str
    base_url: str
    description: str
    language: str
    theme: str
    timezone: str
    publisher: str
    page_size: int
    featured: tuple[str, ...]
    personas: tuple[Persona, ...]
    phases: tuple[Phase, ...]
    gating: Mapping[str, Any]
    forms: Mapping[str, Any]
    consents: tuple[Consent, ...]
    sanitize: bool
    strings: Mapping[str, str] = field(default_factory=dict)

    @property
    def persona_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.personas)

    @property
    def phase_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.phases)

    def persona(self, key: str) -> Persona:
        return next(p for p in self.personas if p.key == key)

    def phase(self, key: str) -> Phase:
        return next(p for p in self.phases if p.key == key)

    def absolute(self, url: str) -> str:
        """A site-relative URL ('/x/') made absolute against base_url."""
        return self.base_url.rstrip("/") + "/" + url.lstrip("/")

    @property
    def base_path(self) -> str:
        """The path part of base_url without its trailing slash ('' at a domain's root)."""
        return urlsplit(self.base_url).path.rstrip("/")


def today(config: Config) -> dt.date:
    """Today in the hub's time zone; SOURCE_DATE_EPOCH fixes it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = float(epoch) if epoch and epoch.isdigit() else time.time()
    return dt.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(config.timezone)).date()


def _line_of(text: str, table: str, key: str | None) -> int | None:
    """Best-effort line number of `[table]`'s `key` (tomllib keeps no positions)."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\[?\s*" + re.escape(table) + r"\s*\]\]?\s*(#.*)?$")
    start = next((n for n, line in enumerate(lines) if header.match(line)), None)
    if key is None:
        return None if start is None else start + 1
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for n in range(0 if start is None else start, len(lines)):
        if pattern.match(lines[n]):
            return n + 1
    return None if start is None else start + 1


class _Reader:
    """Validates one TOML table against a Spec, collecting problems."""

    def __init__(self, path: Path, text: str, problems: Problems) -> None:
        self.path, self.text, self.problems = path, text, problems

    def table(self, name: str, data: Any, spec: Spec, line_table: str | None = None) -> dict[str, Any]:
        where = line_table or name
        if not isinstance(data, dict):
            self.problems.error(self.path, f"[{name}] must be a table", _line_of(self.text, where, None))
            data = {}
        out: dict[str, Any] = {}
        for key in data:
            if key not in spec:
                self.problems.error(
                    self.path,
                    f"unknown key '{key}' in [{name}]",
                    _line_of(self.text, where, key),
                    did_you_mean(key, spec),
                )
        for key, (kind, required, default, meaning) in spec.items():
            if key not in data:
                if required:
                    self.problems.error(
                        self.path,
                        f"missing required key '{key}' in [{name}]",
                        _line_of(self.text, where, None),
                        f"add {key} = …: {meaning}",
                    )
                out[key] = default
                continue
            out[key] = self._value(name, where, key, data[key], kind, default)
        return out

    def _value(self, name: str, where: str, key: str, value: Any, kind: Any, default: Any) -> Any:
        line = _line_of(self.text, where, key)
        if isinstance(kind, tuple):
            if value not in kind:
                self.problems.error(
                    self.path,
                    f"[{name}] {key} = {value!r} is not one of: {', '.join(kind)}",
                    line,
                    did_you_mean(str(value), kind, list_known=False),
                )
                return default
            return value
        # bool is an int in Python; a TOML `true` must not pass as a number.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.error(
                self.path,
                f"[{name}] {key} must be {_kind_name(kind)}, not {_kind_name(type(value))}",
                line,
            )
            return default
        return value


def _kind_name(kind: Any) -> str:
    names = {str: "text", int: "a whole number", bool: "true or false", list: "a list",
             dict: "a table", float: "a number"}
    return names.get(kind, getattr(kind, "__name__", str(kind)))


def load_config(root: Path, base_url: str | None = None) -> Config:
    """Read and validate `root/hub.toml`; raise BuildFailed with every problem found."""
    path = root / "hub.toml"
    problems = Problems(root)
    if not os.path.lexists(path):
        problems.error(path, "no hub.toml here", hint="run hubgen in a hub folder or pass --root DIR")
        problems.raise_if_errors()
    try:
        raw = HubFiles(root).read(path)
    except Refused as refused:
        problems.error(path, refused.reason, hint=refused.hint)
        raise BuildFailed(problems.sorted()) from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        problems.error(path, f"not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8")
        raise BuildFailed(problems.sorted()) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        problems.error(path, f"invalid TOML: {exc}", int(match.group(1)) if match else None,
                       "check quotes, brackets and '=' on that line")
        raise BuildFailed(problems.sorted()) from None
    config = _build(root, path, text, data, problems, base_url)
    problems.raise_if_errors()
    assert config is not None
    return config


def _build(
    root: Path, path: Path, text: str, data: dict[str, Any], problems: Problems,
    base_url: str | None,
) -> Config | None:
    reader = _Reader(path, text, problems)
    for key in data:
        if key not in TOP_LEVEL:
            problems.error(path, f"unknown table [{key}]", _line_of(text, key, None),
                           did_you_mean(key, TOP_LEVEL))
    site = reader.table("site", data.get("site", {}), SITE)
    if "site" not in data:
        problems.error(path, "missing [site] table", hint="add [site] with title and base_url")
    personas = _keyed(reader, "personas", data.get("personas"), PERSONA, Persona)
    phases = _keyed(reader, "phases", data.get("phases"), PHASE, Phase)
    gating = reader.table("gating", data.get("gating", {}), GATING)
    forms_data = data.get("forms", {})
    forms = reader.table("forms", forms_data, FORMS)
    markdown = reader.table("markdown", data.get("markdown", {}), MARKDOWN)
    strings = data.get("strings", {})
    if not isinstance(strings, dict) or not all(isinstance(v, str) for v in strings.values()):
        problems.error(path, "[strings] must map message keys to texts", _line_of(text, "strings", None))
        strings = {}

    consents = _consents(reader, forms.get("consents") or [])
    _check_policy(reader, gating, tuple(p.key for p in phases))
    _check_site(reader, site, base_url)
    _check_forms(reader, forms, gating)
    return Config(
        root=root,
        title=site["title"] or "",
        base_url=_normalise_base(base_url or site["base_url"] or "/"),
        description=site["description"],
        language=site["language"],
        theme=site["theme"],
        timezone=site["timezone"],
        publisher=site["publisher"] or site["title"] or "",
        page_size=max(1, site["page_size"]),
        featured=tuple(str(f) for f in site["featured"]),
        personas=personas,
        phases=phases,
        gating=gating,
        forms=forms,
        consents=consents,
        sanitize=markdown["sanitize"],
        strings=dict(strings),
    )


def _normalise_base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _keyed(reader: _Reader, name: str, data: Any, spec: Spec, cls: Any) -> tuple[Any, ...]:
    """[personas.<key>] / [phases.<key>] tables, in declaration order."""
    if not isinstance(data, dict) or not data:
        reader.problems.error(reader.path, f"no [{name}.<key>] tables", None,
                              f"declare at least one, e.g. [{name}.example] with label = \"…\"")
        return ()
    out = []
    for key, table in data.items():
        if not KEY_RE.match(key) or key == "all":
            reader.problems.error(
                reader.path, f"[{name}.{key}]: a key must be lower-case letters, digits, - or _"
                " and not 'all'", _line_of(reader.text, f"{name}.{key}", None))
            continue
        values = reader.table(f"{name}.{key}", table, spec)
        out.append(cls(key=key, label=values["label"] or key, description=values["description"]))
    return tuple(out)


def _consents(reader: _Reader, data: list[Any]) -> tuple[Consent, ...]:
    out: list[Consent] = []
    seen: set[str] = set()
    for entry in data:
        values = reader.table("forms.consents", entry, CONSENT)
        cid = values["id"]
        if cid is None:
            continue
        if not KEY_RE.match(cid):
            reader.problems.error(reader.path, f"consent id '{cid}' must be lower-case letters,"
                                  " digits, - or _", _line_of(reader.text, "forms.consents", "id"))
        if cid in seen:
            reader.problems.error(reader.path, f"consent id '{cid}' is declared twice",
                                  _line_of(reader.text, "forms.consents", "id"),
                                  "give every purpose its own id")
        seen.add(cid)
        out.append(Consent(cid, (values["text"] or "").strip(), values["required"],
                           values["subscription_type_id"]))
    return tuple(out)


def _check_policy(reader: _Reader, gating: dict[str, Any], phase_keys: tuple[str, ...]) -> None:
    for table, known in (("by_phase", phase_keys), ("by_type", tuple(SECTIONS))):
        for key, value in gating[table].items():
            line = _line_of(reader.text, "gating", table)
            if key not in known:
                reader.problems.error(reader.path, f"[gating] {table} names unknown '{key}'",
                                      line, did_you_mean(key, known))
            if value not in ACCESS:
                reader.problems.error(reader.path, f"[gating] {table}.{key} = {value!r} must be"
                                      " 'open' or 'gated'", line)


def _check_site(reader: _Reader, site: dict[str, Any], override: str | None) -> None:
    url = override or site["base_url"]
    if url and not re.match(r"^https?://[^/\s]+", url):
        reader.problems.error(reader.path, f"base_url {url!r} must be an absolute http(s) URL",
                              _line_of(reader.text, "site", "base_url"),
                              "e.g. base_url = \"https://hub.example.no/\"")
    try:
        zoneinfo.ZoneInfo(site["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        reader.problems.error(reader.path, f"unknown time zone {site['timezone']!r}",
                              _line_of(reader.text, "site", "timezone"), "e.g. Europe/Oslo")
    if site["page_size"] < 1:
        reader.problems.error(reader.path, "page_size must be at least 1",
                              _line_of(reader.text, "site", "page_size"))


def _check_forms(reader: _Reader, forms: dict[str, Any], gating: dict[str, Any]) -> None:
    if gating["mode"] == "strict" and forms["backend"] in ("hubspot", "netlify"):
        reader.problems.error(
            reader.path, f"gating mode \"strict\" needs a backend that returns the unlock address "
            f"(local or webhook); {forms['backend']} cannot", _line_of(reader.text, "gating", "mode"),
            "use mode = \"soft\", or send submissions to a webhook that forwards them")
    needs = {"webhook": ("endpoint",), "hubspot": ("portal_id", "form_guid")}
    for key in needs.get(forms["backend"], ()):
        if not forms[key]:
            reader.problems.error(reader.path, f"[forms] backend = \"{forms['backend']}\" needs"
                                  f" {key}", _line_of(reader.text, "forms", "backend"))
