"""`hubgen serve`: build with drafts, serve, rebuild on change, reload the browser, run the collector.

The preview site is built into ROOT/.hubgen/preview by the ordinary pipeline. The writer moves a
rebuild's new files in under `site_lock`, and requests open their file under the same lock, so a
request during a rebuild gets the previous complete version (or waits the milliseconds a commit
takes). A failed rebuild leaves the last good site served and its problems
shown in the terminal and, through livereload.py, in the browser.

Safety, after other dev servers' advisories (MkDocs CVE-2021-40978, Vite CVE-2025-24010, CPython
CVE-2021-28861): only files inside the built folder are readable (decoded segments are checked,
then the resolved path), redirects are built from the checked segments so they never leave the
server, and the /_hubgen/ endpoints answer only requests whose Host (and Origin, when sent) is this
server.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import queue
import shutil
import socket
import socketserver
import sys
import threading
import time
import traceback
import webbrowser
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

from hubgen.build import BuildOptions, BuildResult
from hubgen.collect import make_app, state_of
from hubgen.collector.app import CollectorApp, HubState
from hubgen.collector.leads import default_db
from hubgen.errors import EXIT_OK, Problem, UsageError
from hubgen.serve.live import (
    CHECK_URL,
    CLIENT_JS,
    CLIENT_URL,
    EVENTS_URL,
    STATUS_URL,
    TOOLS_URL,
    BuildStatus,
    EventBroker,
    LiveBuild,
    Rebuilder,
    Watcher,
    check_page,
    fallback_page,
    inject,
    sse_message,
    tools_page,
)
from hubgen.serve.sitefiles import HTML, content_type, locate, open_file
from hubgen.sources import builtin_themes_dir
from hubgen.state.cache import work_folder

PREVIEW_DIR = Path(".hubgen") / "preview"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
PORT_TRIES = 10  # a busy port: try this many ports from the one asked for
QUIET_SECONDS = 0.05 # debounce: build once saves have stopped for this long
SUBMIT_URL = "/_hubgen/submit"
KEEPALIVE_SECONDS = 15.0  # an SSE comment this often finds closed streams
FIRST_BUILD_WAIT_SECONDS = 1.0  # longest wait for the first build's folder to appear
MAX_FORM_BYTES = 1 << 20
class _HTTPServer(ThreadingHTTPServer):
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


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class PreviewHandler(BaseHTTPRequestHandler):
    server_version = "hubgen-preview"
    sys_version = ""

    @property
    def preview(self) -> PreviewServer:
        return cast(_HTTPServer, self.server).preview

    def log_message(self, format: str, *args: Any) -> None:
        return  # the terminal is for builds and their problems

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_OPTIONS = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        if not self.path.startswith("/"):
            self._plain(400, "bad request target")
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


def _split_host(value: str) -> tuple[str, int | None]:
    """'Host' or an origin's host part -> (lower-case name, port or None)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    return name, int(port) if port.isdigit() else None


class PreviewServer:
    """A preview build kept up to date and served with live reload and the local collector.

    start() binds, starts every thread and returns the port without waiting for the first build;
    wait_for_build(n) blocks until n build attempts have finished and been announced; stop() ends
    the watcher, the builder and the server and frees the port.
    """

    def __init__(self, root: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                 port_tries: int = PORT_TRIES, quiet: float = QUIET_SECONDS, watch: bool = True,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.root = root.resolve()
        self.host = host
        self.requested_port = port
        self.port = 0
        self.port_tries = port_tries
        # No search index in preview: Pagefind re-reads every page, which would cost each save
        # seconds on a large hub; `hubgen build` makes it.
        # Requests open files under this lock and the build commits under it, so a request never
        # sees a half-committed site (it waits the few milliseconds a commit takes).
        self.site_lock = threading.Lock()
        self.options = BuildOptions(self.root, out=self.root / PREVIEW_DIR, drafts=True,
                                    preview=True, dev=True, search=False,
                                    commit_lock=self.site_lock)
        self.site_dir = self.options.out_dir
        self.leads_db = default_db(self.root)
        self.broker = EventBroker()
        self.collector: CollectorApp | None = None
        self.collector_problem = "it starts when the first build has succeeded"
        self._streams = (out, err)
        self._log_lock = threading.Lock()
        self.live = LiveBuild(self.options, self.broker, self.log, self._built)
        self._rebuilder = Rebuilder(self._rebuild, quiet)
        self._watcher = Watcher(self.root, [builtin_themes_dir()], self._rebuilder.notify) \
            if watch else None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> int:
        work_folder(self.root)
        self._httpd = self._bind()
        self._httpd.preview = self
        self.port = self._httpd.server_port
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,),
                                        name="hubgen-http", daemon=True)
        self._thread.start()
        if self._watcher is not None:
            self._watcher.start()
        self._rebuilder.start()
        return self.port

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._watcher is not None:
            self._watcher.stop()
        self._rebuilder.stop()
        self.broker.close()
        if self._httpd is not None and self._thread is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()

    def wait(self) -> None:
        """Blocks until stop() (or Ctrl-C, which reaches the caller)."""
        while not self._stopped.wait(0.5):
            pass

    def __enter__(self) -> PreviewServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bind(self) -> _HTTPServer:
        kind = _HTTPServer6 if ":" in self.host else _HTTPServer
        first = self.requested_port
        ports = [first] if first == 0 else range(first, min(first + self.port_tries, 65536))
        for port in ports:
            try:
                server = kind((self.host, port), PreviewHandler)
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                    continue
                raise UsageError(f"cannot listen on {self.host}:{port}: {exc.strerror or exc} "
                                 "(--host, --port)") from exc
            if port != first:
                self.log(f"port {first} is in use; using {port}")
            return server
        raise UsageError(f"ports {first}-{ports[-1]} on {self.host} are all in use; "
                         "choose another with --port")

    # -- builds ------------------------------------------------------------------------------

    @property
    def status(self) -> BuildStatus:
        return self.live.status

    def wait_for_build(self, n: int = 1, timeout: float | None = 30.0) -> BuildStatus:
        """Waits until `n` build attempts (the first included) have finished and been announced
        to browsers; raises TimeoutError after `timeout` seconds."""
        return self.live.wait(n, timeout)

    def _rebuild(self, changes: list[str]) -> None:
        if self._watcher is not None:
            self._watcher.ensure()  # content/ or themes/ may have been created since
        self.live.attempt(changes)

    def _built(self, result: BuildResult) -> None:
        """After each good build the collector takes the hub as the build read it, instead of
        reading it a second time. A build that changed only bodies, or nothing, read no front
        matter (result.road) and leaves the collector's hub as it is; when the first build is
        such a build, the collector reads the hub itself."""
        if self.collector is not None and result.road != "full":
            return
        try:
            state = state_of(result)
            if self.collector is None:
                self._start_collector(state)
            else:
                self.collector.reload(state)
        except Exception as exc:
            self.log(f"the form collector could not reload: {exc}", err=True)

    def _start_collector(self, state: HubState | None) -> None:
        """The collector reads the hub (or takes the build's): if that fails now, the next good
        build tries again."""
        try:
            self.collector = make_app(self.root, self.leads_db, allowed_origins=self.origins,
                                      state=state)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            if problem != self.collector_problem:
                self.log(f"the local form collector is not running: {problem}", err=True)
            self.collector_problem = problem

    @property
    def submit_path(self) -> str:
        """Where the preview's forms post: the path of [forms] collector_url."""
        path = self.collector.path if self.collector is not None else SUBMIT_URL
        return path if path.startswith("/") and not path.startswith("//") else SUBMIT_URL

    def run_check(self) -> tuple[list[Problem] | None, str | None]:
        """`hubgen check` on the hub now, for /_hubgen/check: (problems, None) or (None, why)."""
        try:
            from hubgen.check import run_check

            return run_check(self.root, dev=True), None
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
        return f"http://{_bracket(host)}:{self.port}/"

    def _names(self) -> list[str]:
        names = ["127.0.0.1", "localhost"]
        host = self.host.lower().strip("[]")
        if host not in WILDCARD_HOSTS and host not in names:
            names.append(host)
        return names

    @property
    def origins(self) -> tuple[str, ...]:
        """The origins pages of this server have; the collector accepts posts from these."""
        return tuple(f"http://{_bracket(name)}:{self.port}" for name in self._names())

    def _host_allowed(self, value: str) -> bool:
        name, port = _split_host(value)
        if (port or 80) != self.port:
            return False
        if name in self._names():
            return True
        if self.host in WILDCARD_HOSTS:  # bound to every interface: any IP literal, no names
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False

    def trusted(self, host: str | None, origin: str | None) -> bool:
        """Host must name this server (no DNS rebinding); Origin, when sent, must be its own."""
        if not host or not self._host_allowed(host):
            return False
        return origin is None or (origin.lower().startswith("http://")
                                  and self._host_allowed(origin[len("http://"):]))

    def log(self, text: str, err: bool = False) -> None:
        stream = self._streams[1 if err else 0] or (sys.stderr if err else sys.stdout)
        with self._log_lock:
            print(text, file=stream, flush=True)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(root: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          open_browser: bool = False) -> int:
    """`hubgen serve`: runs until Ctrl-C, then stops cleanly."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: a port is a number from 0 to 65535")
    server = PreviewServer(root, host, port)
    server.start()
    try:
        server.wait_for_build(1, timeout=None)
        server.log(f"serving {server.url}  (drafts and scheduled items included; preview tools "
                   f"at {server.url}_hubgen/; Ctrl-C to stop)")
        if open_browser:
            webbrowser.open(server.url)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        server.log("stopped")
    return EXIT_OK
