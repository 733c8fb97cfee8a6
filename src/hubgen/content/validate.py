"""Validation of front matter: one file's header -> an Item or a PlainPage, every problem recorded
with its line and a hint."""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from pathlib import Path

from hubgen.config import ACCESS, Config
from hubgen.content.frontmatter import Source
from hubgen.content.limits import MAX_TOPICS, body_problem, control_character
from hubgen.content.slugs import RESERVED_SLUGS, SLUG_RE, default_slug, make_slug
from hubgen.errors import Problems, did_you_mean
from hubgen.gating.gate import resolve_access
from hubgen.model import SECTIONS, TYPE_OF_SECTION, Item, PlainPage
from hubgen.sources import HubFiles, Refused

ITEM_KEYS = ("title", "personas", "phase", "type", "access", "summary", "date", "updated",
             "draft", "slug", "topics", "cover", "download", "teaser", "featured")
PAGE_KEYS = ("title", "summary", "slug", "draft")
# Files an editor's tools leave beside the content: never items, never published.
IGNORED = re.compile(r"^(\.|_|~)|(~|\.swp|\.swx|\.tmp|\.bak)$")


class _Check:
    """Type checks for one file's front matter; every failure is recorded, not raised."""

    def __init__(self, src: Source, problems: Problems, files: HubFiles) -> None:
        self.src, self.problems, self.files = src, problems, files

    def line(self, key: str) -> int:
        return self.src.lines.get(key, 1)

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        self.problems.error(self.src.path, message, self.line(key), hint)

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.src.meta.get(key)
        if value is None:
            if required:
                self.problems.error(self.src.path, f"missing '{key}' in the front matter", 2,
                                    f"add a line '{key}: …'")
            return None
        if isinstance(value, bool | int | float | dt.date):
            self.error(key, f"'{key}' must be text, not {type(value).__name__} {value!r}",
                       f"put the value in quotes: {key}: \"{value}\"")
            return None
        if not isinstance(value, str):
            self.error(key, f"'{key}' must be text")
            return None
        if required and not value.strip():
            self.error(key, f"'{key}' is empty")
            return None
        if not self.printable(key, value):
            return None
        return value.strip()

    def printable(self, key: str, value: str) -> bool:
        """False (and an error) for a text with a control character (a YAML escape such as
        \\v or \\x01) or a lone surrogate (\\ud800): no page, feed or sitemap can carry it."""
        found = control_character(value)
        if found is not None:
            self.error(key, f"'{key}' holds the invisible control character {found}",
                       "retype the text, or remove the escape (a backslash code) from it")
        return found is None

    def texts(self, key: str, required: bool = False) -> list[str]:
        value = self.src.meta.get(key)
        if value is None:
            if required:
                self.problems.error(self.src.path, f"missing '{key}' in the front matter", 2,
                                    f"add a line '{key}: [...]'")
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for entry in items:
            if isinstance(entry, str) and entry.strip():
                if self.printable(key, entry):
                    out.append(entry.strip())
            else:
                self.error(key, f"'{key}' must be a list of texts; {entry!r} is not one",
                           f"write {key}: [first, second]")
        if required and not out and not isinstance(value, list | str):
            return []
        if required and not out:
            self.error(key, f"'{key}' is empty", f"name at least one in {key}")
        return out

    def boolean(self, key: str) -> bool:
        value = self.src.meta.get(key, False)
        if not isinstance(value, bool):
            self.error(key, f"'{key}' must be true or false, not {value!r}")
            return False
        return value

    def date(self, key: str, tz: str) -> dt.date | None:
        value = self.src.meta.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                return value.astimezone(zoneinfo.ZoneInfo(tz)).date()
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
            try:
                moment = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                if moment.tzinfo is not None:
                    moment = moment.astimezone(zoneinfo.ZoneInfo(tz))
                return moment.date()
        self.error(key, f"'{key}' must be a date like 2026-03-02, not {value!r}")
        return None

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(key)
        if value is not None and value not in choices:
            self.error(key, f"'{key}' must be one of {', '.join(choices)}, not {value!r}",
                       did_you_mean(value, choices, list_known=False))
            return None
        return value

    def unknown_keys(self, known: tuple[str, ...]) -> None:
        for key in self.src.meta:
            if key not in known:
                self.error(key, f"unknown front matter key '{key}'", did_you_mean(key, known))

    def beside(self, key: str) -> tuple[str | None, Path | None]:
        """A file named in `key` that must sit beside the content file."""
        name = self.text(key)
        if name is None:
            return None, None
        if "/" in name or "\\" in name or name.startswith("."):
            self.error(key, f"'{key}' must name a file beside {self.src.path.name}, not {name!r}",
                       "put the file in the same folder and give only its name")
            return None, None
        target = self.src.path.parent / name
        try:
            self.files.vet(target)
        except Refused as refused:
            if not os.path.lexists(target):
                self.error(key, f"'{key}' file {name!r} not found beside {self.src.path.name}",
                           "check the spelling, or add the file to the same folder")
            else:
                self.error(key, f"'{key}' file {name!r} {refused.reason}", refused.hint)
            return None, None
        return name, target


def _slug(check: _Check, path: Path) -> str | None:
    given = check.text("slug")
    if given is None:
        slug = default_slug(path)
        if not slug:
            check.problems.error(path, "cannot make a slug from the file name", 1,
                                 "add 'slug: some-name' to the front matter")
            return None
        return slug
    if not SLUG_RE.match(given):
        check.error("slug", f"slug {given!r} must be lower-case ASCII letters, digits and '-'"
                    " (no '/', '..' or spaces)", f"try slug: {make_slug(given) or 'my-item'}")
        return None
    return given


def ignored(name: str) -> bool:
    """A file or folder name that editors' tools leave beside the content (IGNORED)."""
    return IGNORED.search(name) is not None


def load_item(src: Source, section: str, config: Config, problems: Problems,
              files: HubFiles) -> Item | None:
    check = _Check(src, problems, files)
    before = len(problems.errors)
    check.unknown_keys(ITEM_KEYS)
    title = check.text("title", required=True)
    type_ = check.choice("type", tuple(SECTIONS)) or TYPE_OF_SECTION[section]
    personas = _keys(check, "personas", config.persona_keys, allow_all=True)
    phases = _keys(check, "phase", config.phase_keys, allow_all=False)
    access = check.choice("access", ACCESS)
    topics = check.texts("topics")
    if len(topics) > MAX_TOPICS:
        check.error("topics", f"{len(topics)} topics; an item may have at most {MAX_TOPICS}",
                    "keep the few that say what the item is about: each topic is a page, and "
                    "every listing shows them")
        topics = []
    _check_body(check, src)
    slug = _slug(check, src.path)
    teaser = src.meta.get("teaser")
    if teaser is not None and (not isinstance(teaser, int) or isinstance(teaser, bool)
                               or teaser < 0):
        check.error("teaser", f"'teaser' must be a whole number of paragraphs, not {teaser!r}")
        teaser = None
    cover, _ = check.beside("cover")
    download, _ = check.beside("download")
    item_date = check.date("date", config.timezone)
    updated = check.date("updated", config.timezone)
    draft = check.boolean("draft")
    featured = check.boolean("featured")
    summary = check.text("summary") or ""
    if len(problems.errors) > before or title is None or slug is None:
        return None
    return Item(
        source=Path(problems.rel(src.path)),
        type=type_,  # type: ignore[arg-type]
        slug=slug,
        title=title,
        summary=summary,
        personas=tuple(personas),
        phases=tuple(phases),
        access=resolve_access(access, phases, type_, config),
        body=src.body,
        body_line=src.body_line,
        date=item_date,
        updated=updated,
        draft=draft,
        topics=_unique_topics(check, topics),
        cover=cover,
        download=download,
        teaser=teaser,
        assets=_assets(files, src.path),
        featured=featured,
    )


def _check_body(check: _Check, src: Source) -> None:
    found = body_problem(src.body)
    if found is not None:
        line, message, hint = found
        check.problems.error(src.path, message, src.body_line + line, hint)


def _unique_topics(check: _Check, labels: list[str]) -> tuple[str, ...]:
    """Topics deduplicated by slug, so 'ECDIS' and 'ecdis' are one topic."""
    out: dict[str, str] = {}
    for label in labels:
        slug = make_slug(label)
        if not slug:
            check.error("topics", f"topic {label!r} has no letters or digits to make a page of")
            continue
        out.setdefault(slug, label)
    return tuple(out.values())


def _keys(check: _Check, key: str, known: tuple[str, ...], allow_all: bool) -> list[str]:
    """Persona or phase keys, validated against hub.toml, in hub.toml's order."""
    given = check.texts(key, required=True)
    if allow_all and given == ["all"]:
        return list(known)
    noun = "persona" if key == "personas" else "phase"
    for value in given:
        if value not in known:
            check.error(key, f"unknown {noun} '{value}'", did_you_mean(value, known))
    return [k for k in known if k in given]


def _assets(files: HubFiles, path: Path) -> tuple[Path, ...]:
    """Files that travel with an item: everything beside an index.md, or the named files. A file
    the build may not read is left out (content_files reported it)."""
    if path.name != "index.md":
        return ()
    return tuple(p for p in files.files(path.parent, None, skip=ignored, recursive=False)
                 if p.suffix != ".md")


def load_page(src: Source, problems: Problems, files: HubFiles) -> PlainPage | None:
    check = _Check(src, problems, files)
    before = len(problems.errors)
    check.unknown_keys(PAGE_KEYS)
    title = check.text("title", required=True)
    slug = _slug(check, src.path)
    if slug in RESERVED_SLUGS:
        check.error("slug", f"the page slug '{slug}' is taken by the hub's own pages",
                    "rename the file or set another 'slug:'")
    summary = check.text("summary") or ""
    _check_body(check, src)
    if check.boolean("draft"):
        return None
    if len(problems.errors) > before or title is None or slug is None:
        return None
    return PlainPage(Path(problems.rel(src.path)), slug, title, summary, src.body, src.body_line,
                     _assets(files, src.path))
