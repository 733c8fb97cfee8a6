"""The preview's own pages: the live-reload script injected into every HTML response, the tools
page at /_hubgen/, the check page and the page shown when there is no site (yet)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from hubgen.errors import Problem
from hubgen.serve.live import BuildStatus

EVENTS_URL = "/_hubgen/events"
STATUS_URL = "/_hubgen/status"
CLIENT_URL = "/_hubgen/client.js"
TOOLS_URL = "/_hubgen/"
CHECK_URL = "/_hubgen/check"
UNLOCKED_KEY = "hubgen:unlocked"  # the theme's form script reads it: {item_id: unlock_url}


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
