"""Live reload for `hubgen serve`: watch the sources, rebuild after a quiet moment, tell browsers.

Watcher filters file-system events down to the hub's sources; Rebuilder runs one build at a time in
one thread; LiveBuild runs each attempt, keeps its BuildStatus and announces it to the terminal and,
through EventBroker, over Server-Sent Events to the script that the server injects into every HTML
response (pages.py; never into `hubgen build` output: the server adds it to the bytes it sends,
not to the files on disk).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from hubgen.build import BuildOptions, BuildResult, build
from hubgen.errors import BuildFailed, HubgenError, Problem
from hubgen.state.resident import Resident


def problem_json(problem: Problem) -> dict[str, Any]:
    return {"path": problem.path, "line": problem.line, "message": problem.message,
            "hint": problem.hint, "location": problem.location(), "warning": problem.warning,
            "text": str(problem)}


@dataclass(frozen=True)
class BuildStatus:
    """What the last build attempt left behind; the site served is the last successful one."""

    builds: int = 0  # finished attempts, failed ones included
    successes: int = 0
    failed: bool = False  # the last attempt failed: its errors are in `problems`
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    seconds: float = 0.0
    finished: dt.datetime | None = None
    summary: str = ""
    build_id: str = ""  # names the site being served; "" before the first success
    base_path: str = ""  # the path part of site.base_url, e.g. "/hub" ("" at a domain's root)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.failed, "build": self.build_id, "builds": self.builds,
            "seconds": round(self.seconds, 3),
            "finished": self.finished.isoformat(timespec="seconds") if self.finished else None,
            "summary": self.summary,
            "problems": [problem_json(p) for p in self.problems],
            "warnings": [problem_json(p) for p in self.warnings],
        }


def sse_message(event: str, data: object) -> bytes:
    """One Server-Sent Event; the JSON is on one line, so one `data:` field holds it."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class EventBroker:
    """Fans events out to every open /_hubgen/events stream (one queue per stream)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: set[queue.Queue[bytes | None]] = set()
        self._closed = False

    def subscribe(self) -> queue.Queue[bytes | None]:
        stream: queue.Queue[bytes | None] = queue.Queue()
        with self._lock:
            if self._closed:
                stream.put(None)
            self._streams.add(stream)
        return stream

    def unsubscribe(self, stream: queue.Queue[bytes | None]) -> None:
        with self._lock:
            self._streams.discard(stream)

    def publish(self, event: str, data: object) -> None:
        message = sse_message(event, data)
        with self._lock:
            for stream in self._streams:
                stream.put(message)

    def close(self) -> None:
        """Ends every stream (None tells its handler to return) and refuses new ones."""
        with self._lock:
            self._closed = True
            for stream in self._streams:
                stream.put(None)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._streams)


# -- watching and rebuilding ---------------------------------------------------------------------

SOURCES = ("content", "themes")  # watched recursively, with hub.toml beside them
IGNORED = {"output", ".hubgen", ".git", "__pycache__", "node_modules"}
_NO_CHANGE = {"opened", "closed_no_write"}  # a build reading the sources must not trigger one


def is_editor_temp(name: str) -> bool:
    """Backup, swap and lock files that editors write beside the file being saved."""
    return (name.endswith(("~", ".swp", ".swx", ".swo", ".tmp")) or name == "4913"
            or name.startswith(".#") or (name.startswith("#") and name.endswith("#"))
            or name == ".DS_Store")


class Watcher(FileSystemEventHandler):
    """Reports changes to hub.toml, content/ and themes/ (and the built-in themes when they lie
    outside the hub) as paths relative to the hub; everything else is ignored."""

    def __init__(self, root: Path, extra: list[Path], on_change: Callable[[str], None]) -> None:
        self.root = root.resolve()
        sources = [self.root / name for name in SOURCES]
        self.extra = [p.resolve() for p in extra
                      if not any(p.resolve().is_relative_to(s) for s in sources)]
        self.on_change = on_change
        self.observer: BaseObserver = Observer()
        self._watched: set[Path] = set()

    def folders(self) -> list[tuple[Path, bool]]:
        """(folder, recursive) to watch; the root itself only for hub.toml and new folders."""
        return [(self.root, False), *((self.root / name, True) for name in SOURCES),
                *((p, True) for p in self.extra)]

    def ensure(self) -> None:
        """Watch every folder that exists now (content/ or themes/ may appear later)."""
        for folder, recursive in self.folders():
            if folder not in self._watched and folder.is_dir():
                self.observer.schedule(self, str(folder), recursive=recursive)
                self._watched.add(folder)

    def start(self) -> None:
        self.ensure()
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join()

    def relevant(self, path: Path) -> str | None:
        """The changed path as the editor knows it, or None when the change does not matter."""
        if is_editor_temp(path.name):
            return None
        base = next((p for p in (*self.extra, self.root) if path.is_relative_to(p)), None)
        if base is None:
            return None
        rel = path.relative_to(base)
        if IGNORED & set(rel.parts):
            return None
        if base != self.root:
            return path.as_posix()
        return rel.as_posix() if rel.parts and rel.parts[0] in ("hub.toml", *SOURCES) else None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _NO_CHANGE or (event.is_directory and event.event_type == "modified"):
            return
        for raw in (event.src_path, event.dest_path):
            changed = self.relevant(Path(os.fsdecode(raw))) if raw else None
            if changed:
                self.on_change(changed)
                return


class Rebuilder:
    """One background thread that runs `build(changes)` after `quiet` seconds without a change.

    Never two builds at once: changes during a build are collected and cause one more."""

    def __init__(self, build: Callable[[list[str]], None], quiet: float) -> None:
        self.build = build
        self.quiet = quiet
        self._changed = threading.Event()
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="hubgen-rebuild", daemon=True)

    def start(self) -> None:
        """Starts the thread; the first build runs at once."""
        self._changed.set()
        self._thread.start()

    def notify(self, change: str) -> None:
        with self._lock:
            if change not in self._pending:
                self._pending.append(change)
        self._changed.set()

    def stop(self) -> None:
        """Lets a running build finish, then ends the thread."""
        self._stopping = True
        self._changed.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._changed.wait()
            while not self._stopping:  # debounce: wait for a quiet period
                self._changed.clear()
                if not self._changed.wait(self.quiet):
                    break
            if self._stopping:
                return
            with self._lock:
                changes, self._pending = self._pending, []
            self.build(changes)


Log = Callable[[str, bool], None]  # (text, is_error)


class LiveBuild:
    """The preview's build attempts: their status, waiting for them, and telling the terminal and
    the browsers. A failed attempt keeps the last good site (the writer never replaced it)."""

    def __init__(self, options: BuildOptions, broker: EventBroker, log: Log,
                 on_success: Callable[[BuildResult], None]) -> None:
        self.options = options
        self.resident = Resident()  # what every build of this preview keeps for the next
        self.broker = broker
        self.log = log
        self.on_success = on_success  # e.g. the collector takes the hub the build read
        self.status = BuildStatus()
        self._announced = 0
        self._done = threading.Condition()
        self._instance = secrets.token_hex(4)  # a restarted server's build ids differ

    def wait(self, n: int, timeout: float | None) -> BuildStatus:
        with self._done:
            if not self._done.wait_for(lambda: self._announced >= n, timeout):
                raise TimeoutError(f"build {n} did not finish within {timeout} s")
            return self.status

    def attempt(self, changes: list[str]) -> None:
        start = time.perf_counter()
        result = None
        problems: list[Problem] = []
        try:
            result = build(self.options, self.resident)
        except BuildFailed as exc:
            problems = exc.problems
        except HubgenError as exc:
            problems = [Problem("hub.toml", line) for line in exc.lines()]
        except Exception as exc:  # a bug must not end the preview: show it, keep serving
            self.log(traceback.format_exc().rstrip(), True)
            problems = [Problem("hubgen", f"the build crashed: {type(exc).__name__}: {exc}",
                                hint="a bug in hubgen or in the theme; traceback in the terminal")]
        old = self.status
        seconds, now = time.perf_counter() - start, dt.datetime.now()
        if result is not None:
            new = replace(old, builds=old.builds + 1, seconds=seconds, finished=now,
                          successes=old.successes + 1, failed=False, problems=(),
                          warnings=tuple(result.warnings), summary=result.summary(),
                          build_id=f"{self._instance}.{old.successes + 1}",
                          base_path=result.config.base_path)
        else:
            new = replace(old, builds=old.builds + 1, seconds=seconds, finished=now, failed=True,
                          problems=tuple(p for p in problems if not p.warning),
                          warnings=tuple(p for p in problems if p.warning))
        self.status = new
        self._announce(old, new, changes, result)
        full = result is not None and result.road == "full"
        result = None  # its cache reader must not be frozen alive
        self.resident.settle(read_the_hub=full)
        with self._done:
            self._announced += 1
            self._done.notify_all()

    def _announce(self, old: BuildStatus, new: BuildStatus, changes: list[str],
                  result: BuildResult | None) -> None:
        """The terminal first, then the browsers, then on_success (it may take a moment)."""
        what = f" ({', '.join(changes[:3])}{', …' if len(changes) > 3 else ''})" if changes else ""
        if new.failed:
            self.log(f"build failed in {new.seconds:.2f} s{what}: {len(new.problems)} error(s); "
                     "still serving the last good version", True)
            for problem in new.problems:
                self.log(str(problem), True)
            self.broker.publish("error", new.to_json())
            return
        first = old.builds == 0
        self.log(f"{'built' if first else 'rebuilt'} in {new.seconds:.2f} s{what}"
                 + (f": {new.summary}" if first else ""), False)
        if first or new.warnings != old.warnings:
            for warning in new.warnings:
                self.log(str(warning), True)
        if old.failed:
            self.broker.publish("ok", new.to_json())
        self.broker.publish("reload", {"build": new.build_id})
        if result is not None:
            self.on_success(result)
