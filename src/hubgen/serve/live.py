"""Live reload for `hubgen serve`: watch the sources, rebuild after a quiet moment, tell browsers.

Watcher filters file-system events down to the hub's sources; Rebuilder runs one build at a time in
one thread; LiveBuild runs each attempt, keeps its BuildStatus and announces it to the terminal and,
through EventBroker, over Server-Sent Events to the script that the server injects into every HTML
response (never into `hubgen build` output: the server adds it to the bytes it sends, not to the
files on disk). The preview-only pages under /_hubgen/ are here too.
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
from html import escape
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from hubgen.build import BuildOptions, BuildResult, build
from hubgen.errors import BuildFailed, HubgenError, Problem
from hubgen.state.resident import Resident

EVENTS_URL = "/_hubgen/events"
STATUS_URL = "/_hubgen/status"
CLIENT_URL = "/_hubgen/client.js"
TOOLS_URL = "/_hubgen/"
CHECK_URL = "/_hubgen/check"
UNLOCKED_KEY = "hubgen:unlocked"  # the theme's form script reads it: {item_id: unlock_url}


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


def inject(html: bytes, build_id: str) -> bytes:
    """The live-reload script tag, just before the last </body> (appended if there is none)."""
    tag = (f'<script id="hubgen-live" src="{CLIENT_URL}" data-build="{escape(build_id)}">'
           "</script>\n").encode()
    at = html.lower().rfind(b"</body>")
    return html + tag if at < 0 else html[:at] + tag + html[at:]


def _client_js() -> str:
    """The live-reload client (preview_assets/client.js) with the endpoints filled in."""
    text = (Path(__file__).parent / "preview_assets" / "client.js").read_text("utf-8")
    for name, value in (("UNLOCKED_KEY", UNLOCKED_KEY), ("EVENTS_URL", EVENTS_URL),
                        ("TOOLS_URL", TOOLS_URL), ("STATUS_URL", STATUS_URL)):
        text = text.replace(f"@{name}@", value)
    return text


CLIENT_JS = _client_js()

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} – hubgen preview</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1f; }}
code, pre, .problems {{ font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 14px; }}
.problems li {{ margin: .3rem 0; }}
.error {{ color: #a40000; }}
.warning {{ color: #7a4d00; }}
button {{ font: inherit; padding: .4rem .8rem; margin-right: .5rem; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def _problem_list(problems: tuple[Problem, ...] | list[Problem]) -> str:
    if not problems:
        return ""
    items = "".join(
        f'<li class="{"warning" if p.warning else "error"}">{escape(str(p))}</li>' for p in problems)
    return f'<ul class="problems">{items}</ul>'


def page(title: str, body: str) -> bytes:
    return _PAGE.format(title=escape(title), body=body).encode()


def tools_page(status: BuildStatus) -> bytes:
    """/_hubgen/: the last build, links to the matrix and the check, the visitor switch."""
    prefix = status.base_path
    if status.finished is None:
        state = "<p>The first build is running…</p>"
    else:
        when = status.finished.strftime("%H:%M:%S")
        outcome = (f'<strong class="error">failed</strong> ({len(status.problems)} error(s); '
                   "the last good version is still served)" if status.failed else "succeeded")
        state = f"<p>Last build at {when} {outcome} in {status.seconds:.2f} s.</p>"
        if status.summary:
            state += f"<p>Served: {escape(status.summary)}</p>"
        state += _problem_list(status.problems + status.warnings)
    body = f"""<h1>hubgen preview</h1>
<p><a href="{prefix}/">Home</a> · <a href="{prefix}/matrix/">Persona × phase matrix</a> ·
<a href="{CHECK_URL}">Run <code>hubgen check</code></a></p>
<h2>Last build</h2>
{state}
<h2>Gated items: who is looking?</h2>
<p>This browser is now <strong id="hubgen-visitor-state">…</strong>. A known visitor has submitted
a form once and is not asked again; a new visitor sees the consent form on gated items.</p>
<p><button type="button" data-hubgen-visitor="new">View as a new visitor</button>
<button type="button" data-hubgen-visitor="known">View as a known visitor</button></p>
<p>The switch sets or clears <code>localStorage["{UNLOCKED_KEY}"]</code> for this site only.</p>
"""
    return page("tools", body)


def check_page(problems: list[Problem] | None, failure: str | None) -> bytes:
    """/_hubgen/check: what `hubgen check` finds, run on demand."""
    if failure is not None:
        result = f'<p class="error">The check could not run: {escape(failure)}</p>'
    elif not problems:
        result = "<p>No errors, no warnings.</p>"
    else:
        errors = sum(1 for p in problems if not p.warning)
        result = (f"<p>{errors} error(s), {len(problems) - errors} warning(s).</p>"
                  + _problem_list(problems))
    body = (f'<h1>hubgen check</h1><p><a href="{TOOLS_URL}">← preview tools</a></p>{result}')
    return page("check", body)


def fallback_page(status: BuildStatus) -> bytes:
    """What a request gets when there is no built site (yet) or the site has no 404 page."""
    if status.failed:
        text = "The build failed; the errors are shown below and in the terminal."
    elif status.finished is None:
        text = "The first build is running; this page reloads when it is done."
    else:
        text = "Not found."
    return page("not found", f"<h1>Not found</h1><p>{escape(text)}</p>"
                             f'<p><a href="{TOOLS_URL}">preview tools</a></p>')


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
