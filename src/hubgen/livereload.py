"""The browser side of `hubgen serve`: build status, the Server-Sent Events channel, the script the
server injects into every HTML response, and the preview-only tools page.

Nothing here is ever part of `hubgen build` output: the server adds the script to the bytes it sends,
never to the files on disk.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from dataclasses import dataclass
from html import escape
from typing import Any

from .errors import Problem

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


# The script keeps to what every current browser has (EventSource, fetch, sessionStorage), builds
# its UI with textContent only (problem texts come from editors' files), and sets styles through the
# CSSOM so a theme's Content-Security-Policy without 'unsafe-inline' does not block it.
CLIENT_JS = r"""(function () {
  "use strict";
  var me = document.getElementById("hubgen-live");
  var build = me ? me.getAttribute("data-build") : "";
  var scrollKey = "hubgen:scroll:" + location.pathname + location.search;
  var unlockedKey = "%(unlocked_key)s";
  var panel = null;
  var saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(scrollKey) || "null");
    sessionStorage.removeItem(scrollKey);
  } catch (e) { saved = null; }
  function restore() { if (saved) { window.scrollTo(saved[0], saved[1]); } }
  if (saved) { restore(); window.addEventListener("load", restore); }

  function reload() {
    try {
      sessionStorage.setItem(scrollKey, JSON.stringify([window.scrollX, window.scrollY]));
    } catch (e) { /* private mode: reload without the position */ }
    location.reload();
  }
  function el(tag, text, css) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (css) { node.style.cssText = css; }
    return node;
  }
  function hideProblems() {
    if (panel) { panel.remove(); panel = null; }
  }
  function showProblems(problems) {
    hideProblems();
    panel = el("div", "", "position:fixed;left:1rem;right:1rem;bottom:3rem;max-height:60vh;" +
      "overflow:auto;z-index:2147483646;background:#2b0b0b;color:#fff;padding:1rem 1.25rem;" +
      "font:14px/1.5 ui-monospace,Menlo,Consolas,monospace;border-left:6px solid #ff5c5c;" +
      "border-radius:6px;box-shadow:0 4px 24px rgba(0,0,0,.45);text-align:left");
    panel.id = "hubgen-overlay";
    panel.setAttribute("role", "alert");
    panel.appendChild(el("p", "Build failed \u2013 still showing the last good version. " +
      "Fix the file and save; this goes away by itself.",
      "margin:0 0 .5rem;font-weight:bold;color:#ffb3b3"));
    var list = el("ul", "", "margin:0;padding:0;list-style:none");
    (problems || []).forEach(function (p) {
      var item = el("li", "", "margin:.3rem 0;white-space:pre-wrap");
      item.appendChild(el("span", p.location + ": " + p.message));
      if (p.hint) { item.appendChild(el("span", " (" + p.hint + ")", "color:#ffd9a0")); }
      list.appendChild(item);
    });
    panel.appendChild(list);
    document.body.appendChild(panel);
  }
  function status(data) {
    if (data.build !== build) { reload(); }
    else if (data.ok) { hideProblems(); }
    else { showProblems(data.problems); }
  }
  function connect() {
    var events = new EventSource("%(events_url)s");
    events.addEventListener("hello", function (e) { status(JSON.parse(e.data)); });
    events.addEventListener("reload", reload);
    events.addEventListener("ok", hideProblems);
    events.addEventListener("error", function (e) {
      if (e.data) { showProblems(JSON.parse(e.data).problems); return; }
      // A dropped stream: EventSource retries by itself unless it gave up (CLOSED).
      if (events.readyState === EventSource.CLOSED) { setTimeout(connect, 1000); }
    });
  }
  function tools() {
    var link = el("a", "hubgen", "position:fixed;right:.5rem;bottom:.5rem;" +
      "z-index:2147483645;font:12px/1 system-ui,sans-serif;padding:.4rem .55rem;" +
      "border-radius:4px;background:rgba(20,20,20,.7);color:#fff;text-decoration:none;" +
      "opacity:.55");
    link.id = "hubgen-tools";
    link.href = "%(tools_url)s";
    link.title = "hubgen preview tools";
    document.body.appendChild(link);
  }
  function visitorButtons() {
    var state = document.getElementById("hubgen-visitor-state");
    function show() {
      if (state) {
        state.textContent = localStorage.getItem(unlockedKey) ?
          "a known visitor (has submitted a form)" : "a new visitor";
      }
    }
    document.querySelectorAll("[data-hubgen-visitor]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (button.getAttribute("data-hubgen-visitor") === "known") {
          var known = {};
          try { known = JSON.parse(localStorage.getItem(unlockedKey) || "{}") || {}; }
          catch (e) { known = {}; }
          known["*"] = true;
          localStorage.setItem(unlockedKey, JSON.stringify(known));
        } else {
          localStorage.removeItem(unlockedKey);
        }
        show();
      });
    });
    show();
  }

  tools();
  visitorButtons();
  fetch("%(status_url)s", {cache: "no-store"})
    .then(function (r) { return r.json(); })
    .then(function (data) { if (!data.ok) { showProblems(data.problems); } })
    .catch(function () { /* the stream's hello says the same */ });
  connect();
})();
""" % {"unlocked_key": UNLOCKED_KEY, "events_url": EVENTS_URL, "tools_url": TOOLS_URL,
       "status_url": STATUS_URL}

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
