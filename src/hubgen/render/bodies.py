"""Markdown of items and pages -> rendered bodies: the expensive, pure step, run on every core.

A body is rendered only when no earlier build left it in the store that state/ hands in (the
build cache), keyed by everything it is made from, so a stored body is never stale. The build then
holds no body it does not need: pages read each one back from the store when they are made.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hubgen import __version__
from hubgen.config import Config
from hubgen.content.frontmatter import read_source
from hubgen.digests import digest
from hubgen.errors import BuildFailed, Problem, Problems
from hubgen.model import Item, PlainPage
from hubgen.parallel import parallel_iter
from hubgen.render.markdown import RENDER_VERSION, Rendered, render_markdown
from hubgen.sources import HubFiles

Body = tuple[str, int, bool]  # Markdown, teaser paragraphs, sanitize: what a body is made from
BATCH = 200  # bodies go into the store in batches of this many, not one huge list


class BodyStore(Protocol):
    """Where rendered bodies are kept between builds, by key (state/ makes it: the cache)."""

    def known(self, keys: Iterable[str]) -> set[str]: ...

    def put(self, bodies: Mapping[str, Rendered]) -> bool:
        """Store these; False when the store could not take them (they stay in memory)."""
        ...

    def keep_only(self, keys: Iterable[str]) -> None: ...

    def reader(self) -> Callable[[str], Rendered | None] | None:
        """A function that reads one body back (from any thread), or None if nothing is kept."""
        ...


class NoStore:
    """No store at all (`--no-cache`): every body is rendered and held in memory."""

    def known(self, keys: Iterable[str]) -> set[str]:
        return set()

    def put(self, bodies: Mapping[str, Rendered]) -> bool:
        return False

    def keep_only(self, keys: Iterable[str]) -> None:
        pass

    def reader(self) -> Callable[[str], Rendered | None] | None:
        return None


def teaser_of(config: Config, item: Item) -> int:
    return item.teaser if item.teaser is not None else config.gating["teaser_paragraphs"]


def body_of(config: Config, item: Item) -> Body:
    """What an item's rendered body is made from."""
    return item.body, teaser_of(config, item), config.sanitize


def body_key(body: Body) -> str:
    """The store key of a rendered body."""
    return digest(RENDER_VERSION, __version__, repr(body))


def render_one(body: Body) -> Rendered:
    return render_markdown(*body)


def _encoded(body: Body) -> tuple[bytes, int, bool]:
    """A body as it goes to a worker: as UTF-8 bytes, because pickling a str makes CPython keep
    a UTF-8 copy inside it, which would double the memory of a large hub's bodies."""
    return body[0].encode("utf-8"), body[1], body[2]


def _render_encoded(body: tuple[bytes, int, bool]) -> Rendered:
    return render_markdown(body[0].decode("utf-8"), body[1], body[2])


def render_all(bodies: Sequence[Body], jobs: int | None) -> Iterator[Rendered]:
    """Bodies rendered on every core, in order, as they come."""
    return parallel_iter(_render_encoded, bodies, jobs, prepare=_encoded)


class LazyRendered(Mapping[str, Rendered]):
    """Rendered bodies by name (item id or page URL), read from the store when asked for, so the
    build does not hold every body of a large hub. Bodies the store could not take are held
    here. A body that another build on the same hub pruned from the store meanwhile is made
    again from its file."""

    def __init__(self, names: list[str], held: dict[str, Rendered], keys: dict[str, str],
                 read: Callable[[str], Rendered | None] | None,
                 remake: Callable[[str], Rendered]) -> None:
        self._names, self._held, self._keys, self._read = names, held, keys, read
        self._remake = remake

    def __getitem__(self, name: str) -> Rendered:
        if name in self._held:
            return self._held[name]
        key = self._keys[name]  # KeyError for an unknown name, as a mapping should
        stored = self._read(key) if self._read else None
        return stored if stored is not None else self._remake(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class Bodies:
    """The rendered bodies of one build: items' by id (read back when a page needs one), plain
    pages' HTML by URL, and each item's store key (which goes into its pages' keys)."""

    items: Mapping[str, Rendered]
    pages: Mapping[str, str]
    keys: Mapping[str, str]


def render_bodies(config: Config, items: Sequence[Item], pages: Sequence[PlainPage],
                  store: BodyStore, jobs: int | None, whole: bool = True) -> Bodies:
    """Render the bodies of these items and pages that the store does not hold; `whole`: these
    are all of the hub's, so the store may forget any other."""
    wanted: dict[str, Body] = {item.id: body_of(config, item) for item in items}
    wanted.update({page.url: (page.body, 0, config.sanitize) for page in pages})
    keys = {name: body_key(body) for name, body in wanted.items()}
    known = store.known(keys.values())
    missing = [name for name in wanted if keys[name] not in known]
    held: dict[str, Rendered] = {}  # what the store did not take
    batch: dict[str, Rendered] = {}
    for name, result in zip(missing, render_all([wanted[n] for n in missing], jobs), strict=True):
        batch[name] = result
        if len(batch) >= BATCH:
            _store(store, batch, keys, held)
            batch = {}
    _store(store, batch, keys, held)
    if whole:
        store.keep_only(keys.values())
    read = store.reader()
    if read is None:  # no store, or it gave up on the way: what went into it stays there
        lost = [name for name in wanted if name not in held]
        held.update(zip(lost, render_all([wanted[n] for n in lost], jobs), strict=True))
    origins = {item.id: (item.source, *wanted[item.id][1:]) for item in items}
    origins.update({page.url: (page.source, 0, config.sanitize) for page in pages})
    remake = functools.partial(_render_again, config.root, origins, keys)
    everything = LazyRendered(list(wanted), held, keys, read, remake)
    ids = [item.id for item in items]
    return Bodies(LazyRendered(ids, {n: held[n] for n in ids if n in held}, keys, read, remake),
                  {page.url: everything[page.url].html for page in pages},
                  {item.id: keys[item.id] for item in items})


def _store(store: BodyStore, batch: dict[str, Rendered], keys: dict[str, str],
           held: dict[str, Rendered]) -> None:
    if batch and not store.put({keys[name]: r for name, r in batch.items()}):
        held.update(batch)  # no store, or it gave up: keep them in memory


def _render_again(root: Path, origins: dict[str, tuple[Path, int, bool]], keys: dict[str, str],
                  name: str) -> Rendered:
    """A body rendered once more from its file, which must still hold the body this build read."""
    path, teaser, safe = origins[name]
    source = read_source(HubFiles(root), root / path, Problems(root))  # None: gone meanwhile
    body = (source.body if source else "", teaser, safe)
    if body_key(body) != keys[name]:
        raise BuildFailed([Problem(path.as_posix(), "the file changed or went away while the site "
                                   "was being built", hint="build again")])
    return render_one(body)
