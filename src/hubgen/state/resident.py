"""What `hubgen serve` keeps between builds: a Resident that the preview server makes and hands to
every build it runs. A one-off `hubgen build` (and `hubgen check`, even inside the preview) has
none, and reads what it needs from the cache.

It keeps the last build into each output folder (its records, its hub, its files), the content
files' hashes by size, time and inode, and the template environments by what they are made from,
so a save costs only what it changed; and it owns the preview's garbage-collection policy.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass

import jinja2

from hubgen.model import Hub
from hubgen.output.writer import Output
from hubgen.state.records import BuildRecord, ContentRecord

ENVIRONMENTS = 4  # template environments kept; a new theme, config or messages makes another


@dataclass(frozen=True)
class Memory:
    """The last build into one output folder, as this process made or read it."""

    record: BuildRecord
    content: ContentRecord
    hub: Hub  # front matter as resolved, no bodies
    outputs: tuple[Output, ...]  # each reading from the output folder


class Resident:
    """State a process that builds again and again keeps between builds. Builds run one at a
    time in the preview; the lock guards the environments, which `hubgen check` never shares."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._environments: dict[str, jinja2.Environment] = {}
        self._memory: dict[str, Memory] = {}
        self.file_hashes: dict[str, str] = {}  # state/inputs.content_hashes' memo

    def environment(self, key: str, make: Callable[[], jinja2.Environment]) -> jinja2.Environment:
        """The environment made from `key` earlier in this process, or a new one."""
        with self._lock:
            env = self._environments.get(key)
            if env is None:
                if len(self._environments) >= ENVIRONMENTS:
                    self._environments.clear()
                env = self._environments[key] = make()
            return env

    def memory(self, out: str, latest: str | None) -> Memory | None:
        """The last build into `out` kept here, if it is still the latest one recorded (another
        process may have built into the same folder since)."""
        found = self._memory.get(out)
        return found if found is not None and found.record.inputs == latest else None

    def remember(self, out: str, memory: Memory) -> None:
        self._memory[out] = memory

    def settle(self, read_the_hub: bool) -> None:
        """After each preview build: collect its garbage now, then leave every object alive out
        of later collections, so that the collector never walks the kept hub in the middle of the
        next save's rebuild. After a build that read the hub, what earlier freezes kept (the hub
        it replaced) is let go too: a full collection, once."""
        if read_the_hub:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
