"""The local form backend: a WSGI app that checks consent-form submissions and stores them.

It answers one path (the path of `[forms] collector_url`, default `/_hubgen/submit`): a JSON POST
from the page's script, or the plain form POST of a browser without JavaScript. A valid submission
is stored (leads.py) and answered with the gated item's unlock address. Status codes, bodies and
the stored record are documented in docs/submission.md.

Only the standard library (wsgiref, sqlite3, json): the collector must start wherever hubgen is
installed, inside `hubgen serve` or alone on a small server, with no web framework or database
server to install and keep patched; one endpoint with a handful of fields does not need one, and
SQLite in WAL mode easily takes a content hub's submission rate.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from hubgen.collector import leads
from hubgen.config import Config
from hubgen.gating.forms import HONEYPOT, consent_version, consent_words
from hubgen.gating.gate import Gate
from hubgen.model import Item

log = logging.getLogger("hubgen.collector")

MAX_BODY = 16 * 1024
_DRAIN_LIMIT = 1024 * 1024  # read (and drop) an oversized body up to this, so the 413 arrives
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
_ANY_PORT = ":*"


@dataclass(frozen=True)
class HubState:
    """What the collector knows of the hub; replaced as a whole by reload(). It is handed in by
    whoever runs the collector (hubgen/collect.py), never read here: the collector does not
    depend on the build pipeline."""

    config: Config
    gate: Gate
    items: Mapping[str, Item]  # by item.id, drafts included (the preview shows them)
    version: str
    messages: Mapping[str, str]  # the theme's message table in the hub's language

    def unlock_url(self, item: Item | None) -> str | None:
        """Site path of a gated item's unlocked page (with base_url's path); None for others."""
        if item is None or not item.gated:
            return None
        return self.config.base_path + self.gate.unlocked_url(item)

    def text(self, key: str) -> str:
        return self.messages.get(key, key)


def hub_state(config: Config, gate: Gate, items: Iterable[Item],
              messages: Mapping[str, str]) -> HubState:
    """The collector's view of a hub a build has read (drafts included, as the preview shows
    them), with the theme's messages the build used. Only front matter matters here: the
    items' bodies are not kept."""
    return HubState(
        config=config, gate=gate, items={i.id: replace(i, body="") if i.body else i for i in items},
        # The same words, hence the same version, as the build's form and consent manifest.
        version=consent_version(config, *consent_words(messages)),
        messages=dict(messages))


@dataclass(frozen=True)
class Reply:
    status: str
    headers: list[tuple[str, str]]
    body: bytes = b""


def _json_reply(status: str, data: Mapping[str, Any]) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Reply(status, [("Content-Type", "application/json; charset=utf-8")], body)


def _failure(status: str, key: str = "error_generic", field: str = leads.FORM_ERROR) -> Reply:
    return _json_reply(status, {"ok": False, "errors": {field: key}})


class BadRequest(Exception):
    """The request cannot be read at all; carries the reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class CollectorApp:
    """The WSGI app. Thread-safe: one SQLite connection per thread, the hub swapped atomically."""

    def __init__(self, db_path: Path, read_hub: Callable[[], HubState],
                 allowed_origins: tuple[str, ...] | None, state: HubState | None = None) -> None:
        self.db_path, self._read_hub = db_path, read_hub
        self._extra_origins = tuple(o.rstrip("/").lower() for o in allowed_origins or ())
        self._local = threading.local()
        self._lock = threading.Lock()
        self.state = state or read_hub()
        self.honeypot_hits = 0  # discarded bot submissions since start (also logged)
        conn = leads.connect(db_path, create=True)
        try:
            leads.ensure_schema(conn, db_path)
        finally:
            conn.close()

    @property
    def path(self) -> str:
        """The path this app answers: that of `[forms] collector_url`."""
        return urlsplit(str(self.state.config.forms["collector_url"])).path or "/_hubgen/submit"

    @property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset((_origin(self.state.config.base_url), *self._extra_origins))

    def reload(self, state: HubState | None = None) -> None:
        """Take the hub as a rebuild read it (`state`), or read it again; the database stays
        open. On errors the previous hub stays in use and BuildFailed is raised."""
        self.state = state or self._read_hub()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = leads.connect(self.db_path, create=True)
            leads.ensure_schema(conn, self.db_path)  # cheap; recreates a file deleted meanwhile
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close the calling thread's connection (other threads' close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        reply = self.handle(environ)
        start_response(reply.status, [*reply.headers, ("Vary", "Origin"), ("Cache-Control", "no-store"),
                                      ("X-Content-Type-Options", "nosniff"),
                                      ("Content-Length", str(len(reply.body)))])
        return [reply.body]

    def handle(self, environ: WSGIEnvironment) -> Reply:
        state = self.state  # one hub for the whole request, even if reload() runs meanwhile
        if environ.get("PATH_INFO", "").rstrip("/") != self.path.rstrip("/"):
            _drain(environ)
            return _failure("404 Not Found")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        origin = environ.get("HTTP_ORIGIN")
        cors: list[tuple[str, str]] = []
        if origin is not None:
            if not _origin_allowed(origin, self.allowed_origins):
                _drain(environ)
                return _failure("403 Forbidden")
            cors.append(("Access-Control-Allow-Origin", origin))
        if method == "OPTIONS":
            return Reply("204 No Content", [*cors, ("Allow", "POST, OPTIONS"),
                                            ("Access-Control-Allow-Methods", "POST"),
                                            ("Access-Control-Allow-Headers", "Content-Type"),
                                            ("Access-Control-Max-Age", "600")])
        if method != "POST":
            cors.append(("Allow", "POST, OPTIONS"))
            outcome = _failure("405 Method Not Allowed")
        else:
            try:
                raw, from_form = _read(environ)
                outcome = self._submit(state, raw, from_form)
            except BadRequest as exc:
                outcome = exc.reply
        return Reply(outcome.status, [*outcome.headers, *cors], outcome.body)

    def _returning(self, state: HubState, raw: Mapping[str, Any]) -> Reply:
        """A browser that submitted before asks for another gated item: no new record."""
        item = state.items.get(str(raw.get("item_id") or ""))
        try:
            known = leads.known_visitor(self._connection(), str(raw.get("visitor") or ""))
        except sqlite3.Error:
            log.exception("could not read %s", self.db_path)
            return _failure("503 Service Unavailable")
        if item is None or not known:
            return _failure("403 Forbidden")
        return _json_reply("200 OK", {"ok": True, "unlock_url": state.unlock_url(item)})

    def _submit(self, state: HubState, raw: Mapping[str, Any], from_form: bool) -> Reply:
        if not from_form and "visitor" in raw and "email" not in raw:
            return self._returning(state, raw)
        try:
            if _filled(raw.get(HONEYPOT)):
                with self._lock:
                    self.honeypot_hits += 1
                log.warning("honeypot field filled: submission discarded (%d so far)",
                            self.honeypot_hits)
                return _success(state, None, raw, from_form)
            record, errors = leads.validate(
                raw, config=state.config, item_ids=state.items.keys(), version=state.version,
                from_form=from_form, now=time.time())
        except Exception:  # input we did not foresee must still get a 4xx, never a 500
            log.exception("unreadable submission")
            return _failure("400 Bad Request")
        if record is None:
            return _invalid(state, errors, raw, from_form)
        visitor = secrets.token_urlsafe(24)
        try:
            leads.insert(self._connection(), record, visitor)
        except sqlite3.Error:
            log.exception("could not store a submission in %s", self.db_path)
            return _failure("503 Service Unavailable")
        return _success(state, state.items.get(record.item_id), raw, from_form, visitor)


def _read(environ: WSGIEnvironment) -> tuple[dict[str, Any], bool]:
    """The request's fields and whether it came as a plain form POST; BadRequest if unreadable."""
    ctype = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    if ctype not in (JSON_TYPE, FORM_TYPE):
        _drain(environ)
        raise BadRequest(_failure("415 Unsupported Media Type"))
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest(_failure("400 Bad Request")) from None
    if length > MAX_BODY:
        _drain(environ)
        raise BadRequest(_failure("413 Content Too Large"))
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        text = body.decode("utf-8")
        if ctype == FORM_TYPE:
            pairs = parse_qs(text, keep_blank_values=True, max_num_fields=100)
            return {key: values[0] for key, values in pairs.items()}, True
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(_failure("400 Bad Request")) from None
    if not isinstance(data, dict):
        raise BadRequest(_failure("400 Bad Request"))
    return data, False


def _drain(environ: WSGIEnvironment) -> None:
    """Read an unwanted body, so that closing the socket does not reset the reply away."""
    try:
        left = min(int(environ.get("CONTENT_LENGTH") or 0), _DRAIN_LIMIT)
    except ValueError:
        return
    stream = environ["wsgi.input"]
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        left -= len(chunk)


def _filled(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _success(state: HubState, item: Item | None, raw: Mapping[str, Any], from_form: bool,
             visitor: str | None = None) -> Reply:
    unlock = state.unlock_url(item)
    if not from_form:
        reply: dict[str, Any] = {"ok": True, "unlock_url": unlock}
        if visitor:
            reply["visitor"] = visitor
        return _json_reply("200 OK", reply)
    target = unlock or _back_path(state, raw, item) + "?subscribed=1"
    return Reply("303 See Other", [("Location", _location(state, target))])


def _invalid(state: HubState, errors: Mapping[str, str], raw: Mapping[str, Any],
             from_form: bool) -> Reply:
    if not from_form:
        return _json_reply("422 Unprocessable Content", {"ok": False, "errors": dict(errors)})
    item = state.items.get(str(raw.get("item_id") or ""))
    labels = {"email": state.text("form_email_label"), "role": state.text("form_role_label"),
              **{f"consent_{c.id}": c.text for c in state.config.consents}}
    heading = state.text("thanks_error_heading")
    lines = "".join(
        f"<li>{html.escape(labels[field] + ': ') if field in labels else ''}"
        f"{html.escape(state.text(key))}</li>\n" for field, key in errors.items())
    back = html.escape(_location(state, _back_path(state, raw, item)))
    page = (f'<!doctype html>\n<html lang="{html.escape(state.config.language)}">\n<head>\n'
            '<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, '
            'initial-scale=1">\n<meta name="robots" content="noindex">\n'
            f"<title>{html.escape(heading)}</title>\n</head>\n<body>\n<main>\n"
            f"<h1>{html.escape(heading)}</h1>\n<ul>\n{lines}</ul>\n"
            f'<p><a href="{back}">{html.escape(state.text("thanks_try_again"))}</a></p>\n'
            "</main>\n</body>\n</html>\n")
    return Reply("422 Unprocessable Content", [("Content-Type", "text/html; charset=utf-8")],
                 page.encode())


def _back_path(state: HubState, raw: Mapping[str, Any], item: Item | None) -> str:
    """The page the form was on, as a path of this site; never another site (no open redirect)."""
    sent = raw.get("item_url")
    if isinstance(sent, str) and "\\" not in sent:
        parts = urlsplit(sent.strip())
        ours = (not parts.scheme and not parts.netloc) or (
            parts.scheme in ("http", "https") and _origin(sent) == _origin(state.config.base_url))
        if ours and parts.path.startswith("/") and not parts.path.startswith("//"):
            return parts.path
    return state.config.base_path + (item.url if item else "/")


def _location(state: HubState, path: str) -> str:
    """A Location for a site path: the path itself when the collector shares the site's origin
    (collector_url is a path), else absolute against base_url."""
    safe = quote(path, safe="/%?=&:@!$'()*+,;~-._")
    collector = urlsplit(str(state.config.forms["collector_url"]))
    if collector.netloc and _origin(str(state.config.forms["collector_url"])) != _origin(
            state.config.base_url):
        return _origin(state.config.base_url) + safe
    return safe


def _origin(url: str) -> str:
    """scheme://host[:port] as a browser's Origin header writes it (default ports left out)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _origin_allowed(origin: str, allowed: frozenset[str]) -> bool:
    """Exact origins, or `scheme://host:*` for any port of a host (what `hubgen serve` passes)."""
    origin = origin.strip().rstrip("/").lower()
    if origin in allowed:
        return True
    head, _, port = origin.rpartition(":")
    return port.isdigit() and head + _ANY_PORT in allowed


class _QuietHandler(WSGIRequestHandler):
    # wsgiref logs every request with the client's IP address; the collector keeps none.
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server with a thread per request, so one slow client holds up no one."""

    daemon_threads = True
    request_queue_size = 64


def make_collector_server(app: Callable[..., Any], host: str = "127.0.0.1", port: int = 8001
                          ) -> WSGIServer:
    """A threading server for `app` (port 0: any free port, see server.server_port)."""
    return make_server(host, port, app, server_class=ThreadingWSGIServer,
                       handler_class=_QuietHandler)


def serve_forever(app: CollectorApp, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run the collector on its own until interrupted (`hubgen collect`)."""
    with make_collector_server(app, host, port) as server:
        server.serve_forever()
