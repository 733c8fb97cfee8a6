"""The cache behind the stages' stores: parsed content files for the loader (content/load.py) and
rendered bodies for the renderer (render/bodies.py). Each entry is keyed by a hash of everything
that goes into it, so an entry is never stale, only unused; a build prunes what it did not use."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hubgen.content.frontmatter import Source, read_refusing
from hubgen.content.load import parse_files, source_key
from hubgen.digests import digest
from hubgen.errors import Problems
from hubgen.render.markdown import Rendered
from hubgen.sources import HubFiles
from hubgen.state.cache import Cache

SOURCE, BODY = "source", "markdown"  # the cache's kinds of entry for these stores
BATCH = 200


class CachedSources:
    """A SourceReader: files whose bytes an earlier build parsed come from the cache; the others
    are parsed on every core and stored in batches, so memory stays flat. `hashes`: the files'
    hashes by their path under content/ (state/inputs.py made them), so a file is not read
    twice; a file without one is hashed here."""

    def __init__(self, root: Path, cache: Cache, hashes: Mapping[str, str] | None,
                 jobs: int | None) -> None:
        self.root, self.cache, self.hashes, self.jobs = root, cache, hashes or {}, jobs

    def read(self, paths: Sequence[Path], problems: Problems) -> dict[Path, Source | None]:
        files, content = HubFiles(self.root), self.root / "content"
        keys: dict[Path, str] = {}
        for path in paths:
            known_hash = self.hashes.get(path.relative_to(content).as_posix())
            if known_hash is None:
                data = read_refusing(files, path, Problems(self.root))  # parse_files reports
                known_hash = digest(data) if data is not None else ""
            keys[path] = source_key(known_hash)
        known = self.cache.get_many(SOURCE, keys.values())
        parsed: dict[Path, Source | None] = {}
        fresh: dict[str, Any] = {}
        missing = [path for path in paths if keys[path] not in known]
        for path, (key, src, found) in zip(missing, parse_files(self.root, missing, self.jobs),
                                           strict=True):
            problems.extend(found)
            parsed[path] = src
            if src is not None and key:
                fresh[key] = {"meta": src.meta, "lines": src.lines, "body": src.body,
                              "body_line": src.body_line}
            if len(fresh) >= BATCH:
                self.cache.put_many(SOURCE, fresh)
                fresh = {}
        for path in paths:
            hit = known.get(keys[path])
            if hit is not None:
                parsed[path] = Source(path, hit["meta"], hit["lines"], hit["body"],
                                      hit["body_line"])
        self.cache.put_many(SOURCE, fresh)
        self.cache.prune(SOURCE, keys.values())
        return parsed


class CachedBodies:
    """A BodyStore over the cache: rendered bodies by key."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def known(self, keys: Iterable[str]) -> set[str]:
        return self.cache.present(BODY, keys)

    def put(self, bodies: Mapping[str, Rendered]) -> bool:
        self.cache.put_many(BODY, {key: r.to_json() for key, r in bodies.items()})
        return self.cache.enabled

    def keep_only(self, keys: Iterable[str]) -> None:
        self.cache.prune(BODY, keys)

    def reader(self) -> Callable[[str], Rendered | None] | None:
        reader = self.cache.reader()
        if reader is None:
            return None

        def read(key: str) -> Rendered | None:
            stored = reader.get(BODY, key)
            return Rendered.from_json(json.loads(stored)) if stored else None

        return read
