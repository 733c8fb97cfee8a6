"""The preview's HTTP handler: the built site (only files inside it), the /_hubgen/ tools, the
live-reload event stream, and the collector's endpoint bridged to its WSGI app.

Safety, after other dev servers' advisories (MkDocs CVE-2021-40978, Vite CVE-2025-24010, CPython
CVE-2021-28861): every request must name this server in its Host header (no DNS rebinding: a page
of another site that resolves its own name to 127.0.0.1 gets nothing, drafts and unlocked pages
included); only files inside the built folder are readable (serve/sitefiles.py); the /_hubgen/
endpoints also check Origin when a browser sends one, and the check, which builds the whole hub,
runs only for requests from the preview's own pages.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import socketserver
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from hubgen.serve.live import BuildStatus, sse_message
from hubgen.serve.pages import (
    CHECK_URL,
    CLIENT_JS,
    CLIENT_URL,
    EVENTS_URL,
    STATUS_URL,
    TOOLS_URL,
    check_page,
    fallback_page,
    inject,
    tools_page,
)
from hubgen.serve.sitefiles import HTML, content_type, locate, open_file

if TYPE_CHECKING:
    from hubgen.serve.server import PreviewServer

SUBMIT_URL = "/_hubgen/submit"
KEEPALIVE_SECONDS = 15.0  # an SSE comment this often finds closed streams
FIRST_BUILD_WAIT_SECONDS = 1.0  # longest wait for the first build's folder to appear
MAX_FORM_BYTES = 1 << 20
class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # On Windows SO_REUSEADDR would let us bind a port another server already listens on.
    allow_reuse_address = sys.platform != "win32"
    preview: PreviewServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a slow resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the browser went away (a reload mid-response); nothing to report
        super().handle_error(request, client_address)


class PreviewHTTPServer6(PreviewHTTPServer):
    address_family = socket.AF_INET6


class PreviewHandler(BaseHTTPRequestHandler):
    server_version = "hubgen-preview"
    sys_version = ""

    @property
    def preview(self) -> PreviewServer:
        return cast(PreviewHTTPServer, self.server).preview

    def log_message(self, format: str, *args: Any) -> None:
        return  # the terminal is for builds and their problems

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_OPTIONS = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        if not self.path.startswith("/"):
            self._plain(400, "bad request target")
            return
        if not self.preview.trusted(self.headers.get("Host"), None):
            # DNS rebinding: a page on another name that resolves to this machine gets nothing.
            self._plain(403, "forbidden: this preview answers only requests addressed to "
                        f"{self.preview.url}")
            return
        path, _, query = self.path.partition("?")
        path = path.partition("#")[0]
        if path == "/_hubgen" or path.startswith("/_hubgen/") or path == self.preview.submit_path:
            self._tool(path, query)
        elif self.command not in ("GET", "HEAD"):
            self._plain(405, "method not allowed", [("Allow", "GET, HEAD")])
        else:
            self._site(path, query)

    # -- responses ---------------------------------------------------------------------------

    def _head(self, code: int, ctype: str, length: int | None,
              headers: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _send(self, code: int, body: bytes, ctype: str,
              headers: Iterable[tuple[str, str]] = ()) -> None:
        self._head(code, ctype, len(body), headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _plain(self, code: int, text: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        self._send(code, (text + "\n").encode(), "text/plain; charset=utf-8", headers)

    def _redirect(self, location: str, query: str) -> None:
        location += f"?{query}" if query else ""
        self._send(302, b"", "text/plain; charset=utf-8", [("Location", location)])

    # -- the built site ----------------------------------------------------------------------

    def _site(self, path: str, query: str) -> None:
        status = self.preview.status  # read before the file: a newer file only reloads once more
        if status.base_path and path == "/":
            self._redirect(status.base_path + "/", query)
            return
        site = self.preview.site_dir
        deadline = time.monotonic() + FIRST_BUILD_WAIT_SECONDS
        while True:
            with self.preview.site_lock:
                target = locate(site, path, status.base_path)
                handle = open_file(target.file) if target is not None and target.file else None
            if target is not None and target.redirect is not None:
                self._redirect(target.redirect, query)
                return
            if target is not None and target.file is not None and handle is not None:
                with handle:
                    self._file(target.file.name, handle, status)
                return
            # Before the first build's folder is in place: wait for it a little.
            if site.is_dir() or not status.successes or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self._not_found(site, status)

    def _file(self, name: str, handle: BinaryIO, status: BuildStatus) -> None:
        ctype = content_type(name)
        if ctype == HTML:
            self._send(200, inject(handle.read(), status.build_id), ctype)
            return
        self._head(200, ctype, os.fstat(handle.fileno()).st_size)
        if self.command != "HEAD":
            shutil.copyfileobj(handle, self.wfile)

    def _not_found(self, site: Path, status: BuildStatus) -> None:
        target = locate(site, "/404.html")
        body = None
        if target is not None and target.file is not None:
            handle = open_file(target.file)
            if handle is not None:
                with handle:
                    body = handle.read()
        self._send(404, inject(body or fallback_page(status), status.build_id), HTML)

    # -- /_hubgen/ ---------------------------------------------------------------------------

    def _tool(self, path: str, query: str) -> None:
        preview = self.preview
        if not preview.trusted(self.headers.get("Host"), self.headers.get("Origin")):
            self._plain(403, "forbidden: the preview tools answer only requests addressed to "
                        f"{preview.url}")
            return
        if path in (SUBMIT_URL, preview.submit_path):
            self._collector(path, query)
            return
        if self.command not in ("GET", "HEAD"):
            self._plain(405, "method not allowed", [("Allow", "GET, HEAD")])
            return
        status = preview.status
        if path == "/_hubgen":
            self._redirect(TOOLS_URL, query)
        elif path == TOOLS_URL:
            self._send(200, inject(tools_page(status), status.build_id), HTML)
        elif path == CLIENT_URL:
            self._send(200, CLIENT_JS.encode(), content_type("client.js"))
        elif path == STATUS_URL:
            self._send(200, json.dumps(status.to_json(), ensure_ascii=False).encode(),
                       content_type("status.json"))
        elif path == EVENTS_URL:
            self._events()
        elif path == CHECK_URL:
            if not _from_the_preview(self.headers.get("Sec-Fetch-Site")):
                # An <img> or a link on another site must not start a full build each time.
                self._plain(403, "forbidden: the check runs only from the preview's own pages; "
                            f"open {preview.url}_hubgen/ and follow its link")
                return
            problems, failure = preview.run_check()
            self._send(200, inject(check_page(problems, failure), status.build_id), HTML)
        else:
            self._plain(404, "not found")

    def _events(self) -> None:
        """Server-Sent Events: `hello` (the current status) first, then reload / error / ok."""
        self.close_connection = True
        self._head(200, "text/event-stream; charset=utf-8", None, [("X-Accel-Buffering", "no")])
        if self.command == "HEAD":
            return
        broker = self.preview.broker
        stream = broker.subscribe()  # before reading the status, so no build goes unannounced
        try:
            self.wfile.write(b"retry: 1000\n\n"
                             + sse_message("hello", self.preview.status.to_json()))
            while True:
                try:
                    message = stream.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    message = b": keep-alive\n\n"
                if message is None:
                    break
                self.wfile.write(message)
        except (ConnectionError, OSError):
            pass
        finally:
            broker.unsubscribe(stream)

    def _collector(self, path: str, query: str) -> None:
        """Hands the request to the collector's WSGI app (its own Origin check applies too)."""
        app = self.preview.collector
        if app is None:
            self._plain(503, f"the local form collector is not running: {self.preview.collector_problem}")
            return
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
            self._plain(413 if declared.isdigit() else 400, "form too large or unreadable")
            return
        body = self.rfile.read(int(declared)) if int(declared) > 0 else b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": path,
            "QUERY_STRING": query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "SERVER_NAME": self.preview.host,
            "SERVER_PORT": str(self.preview.port), "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0], "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.input": BytesIO(body), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in self.headers.items()
               if k.lower() not in ("content-type", "content-length")},
        }
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None,
                           /) -> Callable[[bytes], object]:
            started[:] = [status, headers]
            return lambda data: None

        try:
            data = b"".join(app(environ, start_response))
        except Exception:
            self.preview.log("the form collector failed:\n" + traceback.format_exc(), err=True)
            self._plain(500, "the form collector failed; see the terminal")
            return
        code, _, reason = str(started[0]).partition(" ")
        self.send_response(int(code), reason)
        for name, value in started[1]:
            # Our length; and a wildcard origin never leaves this server, whoever sets it.
            if name.lower() != "content-length" and not (
                    name.lower() == "access-control-allow-origin" and value.strip() == "*"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _from_the_preview(fetch_site: str | None) -> bool:
    """A browser says where a request comes from (Sec-Fetch-Site): this origin, or the editor's
    own typing or bookmark. Tools without the header (curl, tests) are the editor too."""
    return fetch_site is None or fetch_site.strip().lower() in ("same-origin", "none")


def split_host(value: str) -> tuple[str, int | None]:
    """'Host' or an origin's host part -> (lower-case name, port or None)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    return name, int(port) if port.isdigit() else None
