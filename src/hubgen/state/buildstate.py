"""The build state: what a build knows of the last build into the same output folder, which road
it takes, and what it records for the next one. The only code that reads or writes build records.

The dependency model. Every build records, beside its output (records.py): the hash of every
file under content/ and one hash of everything else it read (`Inputs`), the hub it built (front
matter as resolved, no bodies), and each page's key. The next build takes the cheapest road that
gives the same bytes as a clean build:

1. nothing changed (`unchanged`): the output stands, nothing is read, rendered or written;
2. only the bodies of published items changed (`plan`): a body reaches its item's own pages
   (public and unlocked), the search index and the link check, and nothing else — cards,
   listings, the matrix, journeys, next-step blocks, feeds and the sitemap are made from front
   matter only, and the reading time is shown on the item's own page only. So only those pages
   are rendered, from the recorded hub;
3. anything else: the whole site is planned, every page is keyed again and those whose key
   changed are rendered (render/site.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hubgen.config import Config
from hubgen.content.frontmatter import read_source
from hubgen.content.load import SourceReader
from hubgen.content.validate import load_item
from hubgen.errors import Problem, Problems
from hubgen.model import Counts, Hub, Item
from hubgen.output.writer import Output, Stamp, stamp
from hubgen.render.bodies import BodyStore, NoStore
from hubgen.render.site import NoReuse, Rendering, Reuse
from hubgen.sources import HubFiles
from hubgen.state.cache import Cache
from hubgen.state.inputs import Inputs
from hubgen.state.records import (
    BuildRecord,
    ContentRecord,
    OutputRecord,
    PageRecord,
    RecordError,
    SearchRecord,
    hub_from_json,
    hub_to_json,
)
from hubgen.state.resident import Memory, Resident
from hubgen.state.stores import CachedBodies, CachedSources

CACHE_TROUBLE = "build cache not used"


@dataclass(frozen=True)
class Recorded:
    """The last build's result, when its output stands as it left it."""

    counts: Counts
    warnings: tuple[Problem, ...]
    outputs: tuple[Output, ...]


@dataclass(frozen=True)
class BodyPlan:
    """Road 2: the recorded hub with the edited items' new bodies, and the last build's files."""

    hub: Hub
    edited: tuple[Item, ...]
    kept: tuple[Output, ...]  # every file of the last build, with its page key where recorded
    render_keys: Mapping[str, str]  # the recorded bodies' keys (the edited ones are made anew)
    warnings: tuple[Problem, ...]


class BuildState:
    """The records of the builds into one output folder, in the cache and (for `hubgen serve`)
    in the Resident. `records`: False for a build that neither reads nor writes them (`hubgen
    check` builds into a scratch folder; `--no-cache` keeps nothing)."""

    def __init__(self, out: Path, cache: Cache, resident: Resident | None, records: bool) -> None:
        self.out, self.cache, self.resident = out, cache, resident
        self.records = records and cache.enabled
        name = str(out.resolve())
        self._kinds = ("build:" + name, "page:" + name, "search:" + name)
        self._memory: Memory | None = None
        self._last: BuildRecord | None = None
        self._read = False

    # -- what the last build left ------------------------------------------------------------

    def last(self) -> BuildRecord | None:
        """The record of the last build into this folder, from memory or the cache."""
        if not self.records or self._read:
            return self._last
        self._read = True
        latest = self.cache.get_many(self._kinds[0], ["input"]).get("input")
        self._memory = self.resident.memory(str(self.out.resolve()), latest) \
            if self.resident else None
        if self._memory is not None:
            self._last = self._memory.record
        else:
            try:
                self._last = BuildRecord.from_json(
                    self.cache.get_many(self._kinds[0], ["last"]).get("last"))
            except RecordError:
                self._last = None
        return self._last

    def _standing(self, record: BuildRecord) -> tuple[Output, ...] | None:
        """The last build's files, if each is still exactly as it left it (same size and time); a
        file edited or rewritten since sends the build down the full road."""
        base = str(self.out)
        if not all(stamp(f"{base}/{o.path}") == o.stamp for o in record.outputs):
            return None
        if self._memory is not None:
            return self._memory.outputs
        return tuple(Output(o.path, None, o.public, reuse=self.out / o.path)
                     for o in record.outputs)

    def unchanged(self, inputs: Inputs) -> Recorded | None:
        """Road 1: the last build's result when it was made from exactly these inputs and its
        files stand. A resident process keeps the recorded hub, so its first edit takes road 2
        without reading it back."""
        record = self.last()
        if record is None or inputs.problems or record.inputs != inputs.fingerprint:
            return None
        outputs = self._standing(record)
        if outputs is None:
            return None
        if self.resident is not None and self._memory is None:
            self._keep_recorded(record, outputs)
        return Recorded(record.counts, record.warnings, outputs)

    def _keep_recorded(self, record: BuildRecord, outputs: tuple[Output, ...]) -> None:
        assert self.resident is not None
        stored = self.cache.get_many(self._kinds[0], ["state", "hub"])
        try:
            content, hub = ContentRecord.from_json(stored.get("state")), \
                hub_from_json(stored.get("hub"))
        except RecordError:  # a record this hubgen cannot read: no matter
            return
        self.resident.remember(str(self.out.resolve()), Memory(record, content, hub, outputs))

    # -- road 2 ------------------------------------------------------------------------------

    def plan(self, inputs: Inputs, strict: bool) -> BodyPlan | None:
        """Road 2 when only the bodies of published items changed; None when the change
        reaches further (or --strict, which checks the links of every page)."""
        record = self.last()
        if strict or record is None or inputs.problems or inputs.files is None:
            return None
        stored = self.cache.get_many(self._kinds[0], ["state"]) if self._memory is None else {}
        try:
            content = self._memory.content if self._memory else \
                ContentRecord.from_json(stored.get("state"))
        except RecordError:
            return None
        changed = changed_bodies(content, inputs)
        if not changed:
            return None
        try:
            hub = self._memory.hub if self._memory else \
                hub_from_json(self.cache.get_many(self._kinds[0], ["hub"]).get("hub"))
        except RecordError:
            return None
        edited = body_edits(inputs.config, hub, changed, {w.path for w in record.warnings})
        outputs = self._standing(record) if edited else None
        if not edited or outputs is None:
            return None
        hub = replace(hub, items=tuple(edited.get(item.id, item) for item in hub.items))
        return BodyPlan(hub, tuple(edited.values()), self._with_keys(outputs),
                        content.render_keys, record.warnings)

    def _with_keys(self, outputs: Sequence[Output]) -> tuple[Output, ...]:
        """Outputs with the key recorded for each page, while its file is the one recorded (a
        build that failed after recording never put its pages in the output)."""
        pages = self._page_records()
        base = str(self.out)
        return tuple(
            replace(o, key=pages[o.path].key) if o.path in pages and
            stamp(f"{base}/{o.path}") == pages[o.path].stamp else o for o in outputs)

    def _page_records(self) -> dict[str, PageRecord]:
        found: dict[str, PageRecord] = {}
        for path, data in self.cache.get_kind(self._kinds[1]).items():
            try:
                found[path] = PageRecord.from_json(data)
            except RecordError:
                continue
        return found

    # -- what the stages use ------------------------------------------------------------------

    def sources(self, inputs: Inputs, jobs: int | None) -> SourceReader | None:
        """How the loader gets parsed files: unchanged ones from the cache (None: parse all)."""
        if not self.cache.enabled:
            return None
        return CachedSources(inputs.config.root, self.cache, inputs.files, jobs)

    def bodies(self) -> BodyStore:
        return CachedBodies(self.cache) if self.cache.enabled else NoStore()

    def reuse(self) -> Reuse:
        """What the render stage may take from the last build's output."""
        if not self.records:
            return NoReuse()
        search = self.cache.get_many(self._kinds[2], ["index"]).get("index")
        try:
            index = SearchRecord.from_json(search) if search else None
        except RecordError:
            index = None
        return _Reuse(self.out, self._page_records(), index)

    def trouble(self, root: Path) -> Problem | None:
        """A warning when the cache was given up during this build (the output is the same)."""
        if not self.cache.trouble:
            return None
        return Problem(Problems(root).rel(self.cache.path or root),
                       f"{CACHE_TROUBLE}: {self.cache.trouble}", hint="the output is the same; "
                       "delete .hubgen/cache.sqlite if this repeats", warning=True)

    # -- the record for the next build ---------------------------------------------------------

    def remember(self, inputs: Inputs, counts: Counts, warnings: Sequence[Problem],
                 rendering: Rendering, hub: Hub, render_keys: Mapping[str, str],
                 whole: bool) -> None:
        """Record this build for the next one, in the cache and (resident) in memory. A file this
        build left where it was keeps the stamp the last record gave it; the others are stat'ed."""
        if not self.records or inputs.files is None:
            return
        before = {o.path: o.stamp for o in self._last.outputs} if self._last else {}
        base, resolved = str(self.out), str(self.out.resolve())
        outputs, kept = [], []
        for o in rendering.outputs:
            left = str(o.reuse) in (f"{base}/{o.path}", f"{resolved}/{o.path}")
            file_stamp = before[o.path] if left and o.path in before else stamp(f"{base}/{o.path}")
            outputs.append(OutputRecord(o.path, o.public, file_stamp))
            kept.append(o if left else Output(o.path, None, o.public, reuse=self.out / o.path))
        # What the inputs cause, not this run's trouble with the cache: a later build replays it.
        record = BuildRecord(inputs.fingerprint, tuple(outputs), counts,
                             tuple(w for w in warnings if not w.message.startswith(CACHE_TROUBLE)))
        content = ContentRecord(inputs.settings, dict(inputs.files), dict(render_keys))
        entries = {"input": inputs.fingerprint, "last": record.to_json(),
                   "state": content.to_json()}
        pages = {path: PageRecord(key, s).to_json() for path, (key, s) in rendering.pages.items()}
        if whole:
            self.cache.replace_kind(self._kinds[0], {**entries, "hub": hub_to_json(hub)})
            self.cache.replace_kind(self._kinds[1], pages)
        else:  # the hub's front matter is as recorded; the other pages' records stay
            self.cache.put_many(self._kinds[0], entries)
            self.cache.put_many(self._kinds[1], pages)
        if rendering.search is not None:
            key, files = rendering.search
            self.cache.replace_kind(self._kinds[2], {"index": SearchRecord(key, files).to_json()})
        if self.resident is not None:
            self.resident.remember(resolved, Memory(record, content, hub, tuple(kept)))


class _Reuse:
    """Reuse answered from the records of the last build."""

    def __init__(self, out: Path, pages: dict[str, PageRecord], index: SearchRecord | None) -> None:
        self.base, self.pages, self.index = str(out), pages, index

    def page(self, path: str, key: str) -> Stamp | None:
        before = self.pages.get(path)
        if before is None or before.key != key or stamp(f"{self.base}/{path}") != before.stamp:
            return None
        return before.stamp

    def search(self, key: str) -> Mapping[str, Stamp] | None:
        index = self.index
        if index is None or index.key != key:
            return None
        if not all(stamp(f"{self.base}/{path}") == s for path, s in index.files.items()):
            return None
        return index.files


def changed_bodies(content: ContentRecord, inputs: Inputs) -> list[str] | None:
    """The content files changed since `content` was recorded, when they may be body edits: the
    same settings, the same files, only Markdown files of items changed. None otherwise."""
    if inputs.files is None or content.settings != inputs.settings:
        return None
    before = content.files
    if before.keys() != inputs.files.keys():
        return None
    changed = [name for name, h in inputs.files.items() if before[name] != h]
    if not changed or not all(name.endswith(".md") and not name.startswith("pages/")
                              for name in changed):
        return None
    return changed


def body_edits(config: Config, hub: Hub, changed: list[str],
               warned: set[str]) -> dict[str, Item] | None:
    """The items of `hub` whose body alone changed in these files, by id, with their new bodies;
    None when a file's front matter changed too: then only the full pass is right.

    `warned`: files the last build warned about (their warnings are remade by the full pass).
    """
    by_source = {item.source.as_posix(): item for item in hub.items}
    problems = Problems(config.root)
    files = HubFiles(config.root)
    edited: dict[str, Item] = {}
    for name in changed:
        source = "content/" + name
        old = by_source.get(source)
        # An item held back (draft, scheduled), or with files beside it: the full pass.
        if old is None or old.assets or source in warned:
            return None
        src = read_source(files, config.root / source, problems)
        item = load_item(src, name.split("/", 1)[0], config, problems, files) if src else None
        if item is None or len(problems) or \
                dataclasses.replace(item, body="") != dataclasses.replace(old, body=""):
            return None  # its front matter changed, or it has a problem to report
        edited[item.id] = item
    return edited
