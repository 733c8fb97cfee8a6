"""Loading: every content file found, parsed (on every core, unchanged ones from the cache) and
validated -> Items and PlainPages; problems recorded, bad files left out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hubgen.config import Config
from hubgen.content.frontmatter import Source, parse_source, read_refusing
from hubgen.content.validate import ignored, load_item, load_page
from hubgen.digests import digest
from hubgen.errors import Problem, Problems
from hubgen.model import TYPE_OF_SECTION, Item, PlainPage
from hubgen.parallel import parallel_iter
from hubgen.sources import HubFiles


def content_files(files: HubFiles, problems: Problems | None) -> list[Path]:
    """Markdown files under content/, sorted so every build sees the same order. Every entry
    under content/ that the build may not read (a link out of the folder, a pipe) is reported
    here, once, whatever its kind."""
    found = files.files(files.root / "content", problems, skip=ignored)
    return [path for path in found if path.name.endswith(".md")]


def source_key(file_hash: str) -> str:
    """The store key of a parsed file, from the hash of its bytes (as content_hashes makes it)."""
    return digest("source", file_hash)


Parsed = tuple[str, Source | None, list[Problem]]  # (store key, the source or None, problems)


def _parse_one(job: tuple[Path, Path]) -> Parsed:
    """Parse one file; with the store key of the very bytes parsed (the file may have changed
    since it was hashed)."""
    path, root = job
    problems = Problems(root)
    data = read_refusing(HubFiles(root), path, problems)
    if data is None:
        return "", None, list(problems)
    return source_key(digest(data)), parse_source(path, data, problems), list(problems)


def parse_files(root: Path, paths: Sequence[Path], jobs: int | None) -> Iterator[Parsed]:
    """Each file parsed, in order, as results come: YAML is the slow part of loading, so it is
    spread over the cores (`jobs`: worker processes, None: one per core)."""
    return parallel_iter(_parse_one, [(path, root) for path in paths], jobs)


class SourceReader(Protocol):
    """How the loader gets each content file parsed (state/ gives one that takes unchanged files
    from the cache)."""

    def read(self, paths: Sequence[Path], problems: Problems) -> dict[Path, Source | None]: ...


@dataclass(frozen=True)
class ParseAll:
    """Parse every file, on every core (`jobs`: None for one worker per core)."""

    root: Path
    jobs: int | None = None

    def read(self, paths: Sequence[Path], problems: Problems) -> dict[Path, Source | None]:
        parsed: dict[Path, Source | None] = {}
        for path, (_, src, found) in zip(paths, parse_files(self.root, paths, self.jobs),
                                         strict=True):
            problems.extend(found)
            parsed[path] = src
        return parsed


def load_content(config: Config, problems: Problems, reader: SourceReader | None = None
                 ) -> tuple[list[Item], list[PlainPage]]:
    """Every item and page under content/; problems recorded, bad files left out. `reader`
    parses the files (default: all of them, on every core)."""
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
    sources = (reader or ParseAll(root)).read(paths, problems)
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
