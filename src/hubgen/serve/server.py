"""`hubgen serve`: build with drafts, serve, rebuild on change, reload the browser, run the collector.

The preview site is built into ROOT/.hubgen/preview by the ordinary pipeline. The writer moves a
rebuild's new files in under `site_lock`, and requests open their file under the same lock, so a
request during a rebuild gets the previous complete version (or waits the milliseconds a commit
takes). A failed rebuild leaves the last good site served and its problems shown in the terminal
and, through live.py, in the browser. What each request may see is decided in handler.py.
"""

from __future__ import annotations

import errno
import ipaddress
import sys
import threading
import webbrowser
from pathlib import Path
from typing import TextIO

from hubgen.build import BuildOptions, BuildResult
from hubgen.collect import make_app, state_of
from hubgen.collector.app import CollectorApp, HubState
from hubgen.collector.leads import default_db
from hubgen.errors import EXIT_OK, Problem, UsageError
from hubgen.serve.handler import (
    SUBMIT_URL,
    PreviewHandler,
    PreviewHTTPServer,
    PreviewHTTPServer6,
    split_host,
)
from hubgen.serve.live import (
    BuildStatus,
    EventBroker,
    LiveBuild,
    Rebuilder,
    Watcher,
)
from hubgen.sources import builtin_themes_dir
from hubgen.state.cache import work_folder

PREVIEW_DIR = Path(".hubgen") / "preview"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
PORT_TRIES = 10  # a busy port: try this many ports from the one asked for
QUIET_SECONDS = 0.05  # debounce: build once saves have stopped for this long


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
        self._httpd: PreviewHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._check_lock = threading.Lock()

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

    def _bind(self) -> PreviewHTTPServer:
        kind = PreviewHTTPServer6 if ":" in self.host else PreviewHTTPServer
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
        """`hubgen check` on the hub now, for /_hubgen/check: (problems, None) or (None, why).
        One check at a time: each is a whole build; requests that come meanwhile wait for it."""
        with self._check_lock:
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
        name, port = split_host(value)
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
