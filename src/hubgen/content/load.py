"""Loading: every content file found, parsed (on every core, unchanged ones from the cache) and
validated -> Items and PlainPages; problems recorded, bad files left out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hubgen.config import Config
from hubgen.content.frontmatter import Source, parse_source, read_refusing
from hubgen.content.validate import ignored, load_item, load_page
from hubgen.errors import Problem, Problems
from hubgen.model import TYPE_OF_SECTION, Item, PlainPage
from hubgen.parallel import parallel_iter
from hubgen.sources import HubFiles
from hubgen.state.cache import Cache, digest


def content_files(files: HubFiles, problems: Problems | None) -> list[Path]:
    """Markdown files under content/, sorted so every build sees the same order. Every entry
    under content/ that the build may not read (a link out of the folder, a pipe) is reported
    here, once, whatever its kind."""
    found = files.files(files.root / "content", problems, skip=ignored)
    return [path for path in found if path.name.endswith(".md")]


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
