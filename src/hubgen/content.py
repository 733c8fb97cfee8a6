"""Walk content/, split front matter from the body, validate it -> Items and PlainPages.

Front matter is YAML 1.2 (ruamel.yaml), not PyYAML's YAML 1.1: `NO` stays the text "NO", `12:30`
stays a text, and a value of the wrong type is an error naming its line, never a silent change.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import threading
import time
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from frontmatter.default_handlers import YAMLHandler
from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode
from ruamel.yaml.scalarbool import ScalarBoolean
from slugify import slugify

from .cache import Cache, digest
from .config import ACCESS, Config
from .errors import Problem, Problems, did_you_mean
from .gating import resolve_access
from .model import SECTIONS, TYPE_OF_SECTION, Item, PlainPage
from .parallel import parallel_iter
from .sources import MAX_TEXT_BYTES, HubFiles, Refused

ITEM_KEYS = ("title", "personas", "phase", "type", "access", "summary", "date", "updated",
             "draft", "slug", "topics", "cover", "download", "teaser", "featured")
PAGE_KEYS = ("title", "summary", "slug", "draft")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Pages may not take a slug the hub itself uses for its own pages.
RESERVED_SLUGS = frozenset({*SECTIONS.values(), "personas", "phases", "topics", "matrix",
                            "unlocked", "static", "search", "feeds", "pagefind", "_hubgen",
                            "thanks", "preview"})
IGNORED = re.compile(r"^(\.|_|~)|(~|\.swp|\.swx|\.tmp|\.bak)$")


@functools.lru_cache(maxsize=65536)
def make_slug(text: str) -> str:
    """Lower-case ASCII slug; Norwegian and Danish letters transliterated (æ→ae, ø→o, å→a)."""
    return str(slugify(text, replacements=[["æ", "ae"], ["Æ", "ae"], ["ø", "o"], ["Ø", "o"],
                                           ["å", "a"], ["Å", "a"]]))


class _Constructor(RoundTripConstructor):
    """Dates stay text here and are parsed by the validator, which can name the line."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)


class _SafeConstructor(SafeConstructor):
    """The same for the fast loader: dates stay text."""


_SafeConstructor.add_constructor("tag:yaml.org,2002:timestamp",
                                 _SafeConstructor.construct_yaml_str)

_LOADERS = threading.local()  # a YAML object is not safe to share between threads


def _loader(typ: str, constructor: type[SafeConstructor]) -> YAML:
    """One YAML object per thread and type: a YAML object is not safe to share between threads.
    Both types read YAML 1.2 unless a file says otherwise, and refuse duplicate keys."""
    loader = getattr(_LOADERS, typ, None)
    if loader is None:
        loader = YAML(typ=typ)
        loader.Constructor = constructor
        loader.allow_duplicate_keys = False
        setattr(_LOADERS, typ, loader)
    return cast(YAML, loader)


def _yaml() -> YAML:
    """The round-trip loader: each key's line, and a `%YAML 1.1` directive heeded."""
    return _loader("rt", _Constructor)


def _fast_yaml() -> YAML:
    """The same YAML 1.2 reading through libyaml's C parser (ruamel.yaml.clib) where installed,
    several times faster: the line of each key comes from the parsed nodes."""
    return _loader("safe", _SafeConstructor)


def load_front_matter(fm: str) -> tuple[Any, dict[str, int]]:
    """Front matter as plain data, and each top-level key's line (1 = the first line after the
    opening '---'). Raises ruamel's YAMLError, with the line, on invalid YAML."""
    if not fm.lstrip().startswith("%"):  # no %YAML directive, which only the round trip heeds
        loader = _fast_yaml()
        try:
            node = loader.compose(fm)
            # Keys merged in (<<) have no line of their own: the round trip sorts those out.
            plain = isinstance(node, MappingNode) and \
                not any(key.tag.endswith(":merge") for key, _ in node.value)
            data = loader.constructor.construct_document(node) if node is not None else None
        except YAMLError:  # the round trip says what is wrong, in its own (clearer) words
            node = None
        else:
            if not isinstance(node, MappingNode):
                return data, {}
            if plain and isinstance(data, dict) and len(data) == len(node.value):
                return ({str(k): _plain(v) for k, v in data.items()},
                        {str(key): key_node.start_mark.line + 1
                         for key, (key_node, _) in zip(data, node.value, strict=True)})
    data = _yaml().load(fm)
    if not isinstance(data, dict):
        return data, {}
    found = data.lc.data  # type: ignore[attr-defined]  # a key merged in (<<) has no line
    return ({str(k): _plain(v) for k, v in data.items()},
            {str(k): found[k][0] + 1 for k in data if k in found})


# python-frontmatter finds and splits off the front matter; load_front_matter reads it.
HANDLER = YAMLHandler()


@dataclass(frozen=True)
class Source:
    """A content file split into front matter and body, with line numbers kept."""

    path: Path
    meta: dict[str, Any]
    lines: dict[str, int]  # key -> line in the file
    body: str
    body_line: int


def today(config: Config) -> dt.date:
    """Today in the hub's time zone; SOURCE_DATE_EPOCH fixes it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = float(epoch) if epoch and epoch.isdigit() else time.time()
    return dt.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(config.timezone)).date()


def read_source(files: HubFiles, path: Path, problems: Problems) -> Source | None:
    """Read one content file through the hub's gate and split it; on any problem record it and
    return None."""
    raw = read_refusing(files, path, problems)
    return None if raw is None else parse_source(path, raw, problems)


def read_refusing(files: HubFiles, path: Path, problems: Problems,
                  limit: int | None = MAX_TEXT_BYTES) -> bytes | None:
    """A file's bytes, or None with the reason recorded when the build may not read it."""
    try:
        return files.read(path, limit)
    except Refused as refused:
        problems.error(path, refused.reason, hint=refused.hint)
        return None


def parse_source(path: Path, raw: bytes, problems: Problems) -> Source | None:
    """Split one file's bytes; on any problem record it and return None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.error(path, f"not UTF-8 text (byte {exc.start})", line,
                       "save the file as UTF-8 in your editor")
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not HANDLER.detect(text):
        problems.error(path, "no front matter", 1,
                       "the file must start with a line '---', then title, personas and phase, "
                       "then another '---'")
        return None
    try:
        fm, body = HANDLER.split(text)
    except ValueError:
        problems.error(path, "front matter is not closed", 1,
                       "add a line '---' after the last front matter key")
        return None
    try:
        data, lines = load_front_matter(fm)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = (exc.problem or "invalid YAML").strip()
        problems.error(path, f"invalid front matter: {problem}", line,
                       "check the indentation, and put quotes around values containing ': '")
        return None
    except YAMLError as exc:
        problems.error(path, f"invalid front matter: {exc}", 1)
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.error(path, "front matter must be 'key: value' lines", 2)
        return None
    body_line = fm.count("\n") + 2
    return Source(path, {str(k): v for k, v in data.items()}, lines, body, body_line)


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers -> plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool | ScalarBoolean):  # int subclasses: test them first
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


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
        return value.strip()

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


def _default_slug(path: Path) -> str:
    stem = path.parent.name if path.name == "index.md" else path.stem
    return make_slug(stem)


def _slug(check: _Check, path: Path) -> str | None:
    given = check.text("slug")
    if given is None:
        slug = _default_slug(path)
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


def content_files(files: HubFiles, problems: Problems | None) -> list[Path]:
    """Markdown files under content/, sorted so every build sees the same order. Every entry
    under content/ that the build may not read (a link out of the folder, a pipe) is reported
    here, once, whatever its kind."""
    found = files.files(files.root / "content", problems, skip=_ignored)
    return [path for path in found if path.name.endswith(".md")]


def _ignored(name: str) -> bool:
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
    topics = [t for t in check.texts("topics")]
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
    return tuple(p for p in files.files(path.parent, None, skip=_ignored, recursive=False)
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
    if check.boolean("draft"):
        return None
    if len(problems.errors) > before or title is None or slug is None:
        return None
    return PlainPage(Path(problems.rel(src.path)), slug, title, summary, src.body, src.body_line,
                     _assets(files, src.path))


def source_key(file_hash: str) -> str:
    """The cache key of a parsed file, from the hash of its bytes (as content_hashes makes it)."""
    return digest("source", file_hash)


def _parse_one(job: tuple[Path, Path | None]) -> tuple[str, Source | None, list[Problem]]:
    """Parse one file; with the cache key of the very bytes parsed (the file may have changed
    since it was hashed)."""
    path, root = job
    problems = Problems(root)
    data = read_refusing(HubFiles(root), path, problems) if root is not None else None
    if data is None:
        return "", None, list(problems)
    return source_key(digest(data)), parse_source(path, data, problems), list(problems)


def _cached_sources(files: HubFiles, paths: list[Path], problems: Problems, cache: Cache | None,
                    jobs: int | None, hashes: Mapping[str, str] | None
                    ) -> dict[Path, Source | None]:
    """Parse every file, taking unchanged ones (same bytes) from the cache. Files are read one
    at a time and parsed sources go to the cache in batches, so memory stays flat. `hashes`:
    the files' hashes by their path under `content`, when the build has them already (a file
    is then not read twice); without a cache no key is needed at all."""
    if cache is not None and not cache.enabled:
        cache = None
    keys: dict[Path, str] = {}
    content = files.root / "content"
    if cache is not None:
        hashes = hashes or {}
        for path in paths:
            known_hash = hashes.get(path.relative_to(content).as_posix())
            if known_hash is None:
                data = read_refusing(files, path, Problems(problems.root))
                known_hash = digest(data) if data is not None else ""
            keys[path] = source_key(known_hash)
    known = cache.get_many("source", keys.values()) if cache else {}
    parsed: dict[Path, Source | None] = {}
    fresh: dict[str, Any] = {}
    missing = [path for path in paths if keys.get(path) not in known]
    # YAML parsing is the slow part of loading: spread it over the cores (problems come back).
    results = parallel_iter(_parse_one, [(path, problems.root) for path in missing], jobs)
    for path, (key, src, found) in zip(missing, results, strict=True):
        problems.extend(found)
        parsed[path] = src
        if src is not None and key:
            fresh[key] = {"meta": src.meta, "lines": src.lines, "body": src.body,
                          "body_line": src.body_line}
        if cache and len(fresh) >= 200:
            cache.put_many("source", fresh)
            fresh = {}
    for path in paths:
        hit = known.get(keys[path]) if path in keys else None
        if hit is not None:
            parsed[path] = Source(path, hit["meta"], hit["lines"], hit["body"], hit["body_line"])
    if cache:
        cache.put_many("source", fresh)
        cache.prune("source", keys.values())
    return parsed


def load_content(config: Config, problems: Problems, cache: Cache | None = None,
                 jobs: int | None = None, hashes: Mapping[str, str] | None = None
                 ) -> tuple[list[Item], list[PlainPage]]:
    """Every item and page under content/; problems recorded, bad files left out. `jobs`: worker
    processes for parsing (None: one per core). `hashes`: see _cached_sources."""
    root = config.root
    items: list[Item] = []
    pages: list[PlainPage] = []
    if not (root / "content").is_dir():
        problems.error(root / "content", "no content/ folder", hint="create content/articles/")
        return items, pages
    files = HubFiles(root)
    paths = []
    for path in content_files(files, problems):
        parts = path.relative_to(root / "content").parts
        section = parts[0] if len(parts) > 1 else ""
        if section != "pages" and section not in TYPE_OF_SECTION:
            problems.error(path, f"'{section or path.name}' is not a content folder",
                           hint="put items in content/articles, ebooks, checklists or pages")
            continue
        depth_ok = len(parts) == 2 or (len(parts) == 3 and parts[2] == "index.md")
        if not depth_ok:
            problems.error(path, "too deep: an item is content/<section>/<name>.md or "
                           "content/<section>/<name>/index.md")
            continue
        paths.append(path)
    sources = _cached_sources(files, paths, problems, cache, jobs, hashes)
    for path in paths:
        section = path.relative_to(root / "content").parts[0]
        src = sources[path]
        if src is None:
            continue
        if section == "pages":
            page = load_page(src, problems, files)
            if page is not None:
                pages.append(page)
        else:
            item = load_item(src, section, config, problems, files)
            if item is not None:
                items.append(item)
    _check_unique(items, pages, problems, root)
    return items, pages


def _check_unique(items: list[Item], pages: list[PlainPage], problems: Problems,
                  root: Path) -> None:
    seen: dict[str, Path] = {}
    entries: list[Item | PlainPage] = [*items, *pages]
    for entry in entries:
        url = entry.url
        if url in seen:
            problems.error(root / entry.source, f"two files publish {url}: this one and "
                           f"{seen[url].as_posix()}", 1, "rename one of them or set another 'slug:'")
        else:
            seen[url] = entry.source
