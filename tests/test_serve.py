"""`hubgen serve` end to end: the real server on a free port, in a thread, on a hub in tmp_path."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup

from conftest import HUB_TOML, item
from hubgen import collect
from hubgen.cli import main
from hubgen.errors import Problem
from hubgen.serve.live import EventBroker, Rebuilder, Watcher, is_editor_temp
from hubgen.serve.pages import inject
from hubgen.serve.server import PreviewServer
from hubgen.serve.sitefiles import content_type, locate

CANARY = "leak-canary-7f3a"  # in hub.toml: must never appear in a response
HUB = HUB_TOML + f"\n# {CANARY}\n"
FIRST = "content/articles/first.md"


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Polls `check` until it returns a true value (which is returned)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {check}")
        time.sleep(0.02)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            body: bytes | None = None) -> Response:
    """One request with the path sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        if body is not None:
            sent["Content-Length"] = str(len(body))
        for name, value in sent.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                        response.read())
    finally:
        conn.close()


class EventStream:
    """A client of /_hubgen/events on a raw socket, parsed into (event, data) in a thread."""

    def __init__(self, port: int, host: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(f"GET /_hubgen/events HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}"
                          "\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        self.status_line = self.file.readline().decode()
        while self.file.readline() not in (b"\r\n", b"\n", b""):
            pass
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        name, data = "message", []
        try:
            for raw in self.file:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if data:
                        self.events.put((name, json.loads("\n".join(data))))
                    name, data = "message", []
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if field == "event":
                        name = value
                    elif field == "data":
                        data.append(value)
        except (OSError, ValueError):
            pass
        self.events.put(("closed", None))

    def next(self, wanted: str, timeout: float = 20.0) -> Any:
        """The data of the next `wanted` event (other events are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                name, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {wanted!r} event within {timeout} s") from None
            if name == wanted:
                return data
            if name == "closed":
                raise AssertionError(f"stream closed while waiting for {wanted!r}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def hub(make_hub: Callable[..., Any]) -> Any:
    return make_hub(HUB, files={
        FIRST: item("Første artikkel", "Opprinnelig tekst.\n"),
        "content/articles/utkast.md": item("Utkast", "Ikke ferdig.\n", draft="true"),
        "content/articles/gated.md": item("Låst artikkel", "Del en.\n\nDel to.\n\nHemmelig del.\n",
                                          phase="late"),
    })


@pytest.fixture
def server(hub: Any) -> Iterator[PreviewServer]:
    preview = PreviewServer(hub.root, port=0, out=io.StringIO(), err=io.StringIO())
    preview.start()
    try:
        status = preview.wait_for_build(1, timeout=60)
        assert not status.failed, [str(p) for p in status.problems]
        yield preview
    finally:
        preview.stop()


def terminal(preview: PreviewServer) -> str:
    out, err = preview._streams  # the StringIO objects the fixture passed
    assert isinstance(out, io.StringIO) and isinstance(err, io.StringIO)
    return out.getvalue() + err.getvalue()


# -- serving ---------------------------------------------------------------------------------


def test_serves_the_preview_build_with_types_and_live_reload_script(server: PreviewServer) -> None:
    port = server.port
    home = request(port, "/")
    assert home.status == 200
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    assert home.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in home.headers
    page = request(port, "/articles/first/")
    assert "Opprinnelig tekst." in page.text
    script = BeautifulSoup(page.text, "html.parser").find("script", id="hubgen-live")
    assert script is not None and script["src"] == "/_hubgen/client.js"
    assert page.text.index('id="hubgen-live"') < page.text.rindex("</body>")
    # The script is the server's, never the build's: the files on disk do not have it.
    on_disk = (server.site_dir / "articles/first/index.html").read_text("utf-8")
    assert "hubgen-live" not in on_disk and "Opprinnelig tekst." in on_disk
    # Drafts are in the preview, with their banner.
    draft = BeautifulSoup(request(port, "/articles/utkast/").text, "html.parser")
    assert draft.select_one(".banner--draft") is not None

    head = request(port, "/articles/first/", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["content-length"]) == len(page.body)
    assert request(port, "/sitemap.xml").headers["content-type"] == \
        "application/xml; charset=utf-8"
    css = next(p for p in (server.site_dir / "static").iterdir() if p.suffix == ".css")
    styles = request(port, f"/static/{css.name}")
    assert styles.headers["content-type"] == "text/css; charset=utf-8"
    assert styles.body == css.read_bytes()


def test_folders_redirect_to_their_slash_and_missing_pages_get_the_404_page(
        server: PreviewServer) -> None:
    moved = request(server.port, "/articles/first?x=1")
    assert (moved.status, moved.headers["location"]) == (302, "/articles/first/?x=1")
    missing = request(server.port, "/finnes/ikke/")
    assert missing.status == 404
    site_404 = (server.site_dir / "404.html").read_text("utf-8")
    title = BeautifulSoup(site_404, "html.parser").title
    assert title is not None and title.get_text() in missing.text
    assert "hubgen-live" in missing.text
    # No directory listings: a folder without index.html is a 404.
    assert request(server.port, "/static/").status == 404


@pytest.mark.parametrize("path", [
    "/../hub.toml", "/%2e%2e/hub.toml", "/%2E%2E/hub.toml", "/%2e%2e%2fhub.toml",
    "/..%2fhub.toml", "/..%5chub.toml", "/..\\hub.toml", "/articles/../../hub.toml",
    "//etc/passwd", "/%2fetc/passwd", "/../../../../../../etc/passwd", "/hub.toml%00.html",
    "/.%2e/.%2e/hub.toml", "/%c0%ae%c0%ae/hub.toml",
])
def test_no_path_outside_the_built_site_is_readable(server: PreviewServer, path: str) -> None:
    response = request(server.port, path)
    assert response.status in (400, 403, 404), path
    assert CANARY not in response.text and "root:x:0:0" not in response.text


def test_symlinks_out_of_the_built_folder_are_not_followed(server: PreviewServer) -> None:
    (server.site_dir / "leak.toml").symlink_to(server.root / "hub.toml")
    (server.site_dir / "leakdir").symlink_to(server.root, target_is_directory=True)
    for path in ("/leak.toml", "/leakdir/hub.toml", "/leakdir/"):
        response = request(server.port, path)
        assert response.status == 404, path
        assert CANARY not in response.text


def test_redirects_never_leave_the_server(server: PreviewServer) -> None:
    (server.site_dir / "evil.example" / "x").mkdir(parents=True)
    (server.site_dir / "evil.example" / "x" / "index.html").write_text("<p>here</p>")
    for path, location in [("//evil.example/x", "/evil.example/x/"),
                           ("///evil.example/x", "/evil.example/x/"),
                           ("//articles", "/articles/")]:
        response = request(server.port, path)
        assert (response.status, response.headers.get("location")) == (302, location), path
    for path in ("/\\evil.example/x", "/%2f%2fevil.example/x", "/%5c%5cevil.example/x"):
        response = request(server.port, path)
        assert response.status == 404 and "location" not in response.headers, path


# -- rebuilds and live reload ----------------------------------------------------------------


def test_a_saved_change_is_served_and_announced(server: PreviewServer, hub: Any) -> None:
    stream = EventStream(server.port)
    try:
        assert "200" in stream.status_line
        hello = stream.next("hello")
        assert hello["ok"] and hello["build"] == server.status.build_id
        hub.write(FIRST, item("Første artikkel", "Ny tekst etter lagring.\n"))
        reload = stream.next("reload")
        assert reload["build"] == server.status.build_id != hello["build"]
        assert "Ny tekst etter lagring." in request(server.port, "/articles/first/").text
        assert "rebuilt in " in terminal(server)
    finally:
        stream.close()


def test_a_broken_file_is_reported_the_old_site_served_and_the_fix_clears_it(
        server: PreviewServer, hub: Any) -> None:
    stream = EventStream(server.port)
    try:
        stream.next("hello")
        hub.write(FIRST, "---\ntitle: [oops\npersonas: [cfo]\nphase: early\n---\n\nKaputt.\n")
        error = stream.next("error")
        assert not error["ok"]
        locations = [p["location"] for p in error["problems"]]
        assert any(loc.startswith(f"{FIRST}:") and loc[len(FIRST) + 1:].isdigit()
                   for loc in locations), locations
        status = json.loads(request(server.port, "/_hubgen/status").body)
        assert status["ok"] is False and status["problems"] == error["problems"]
        page = request(server.port, "/articles/first/")
        assert page.status == 200 and "Opprinnelig tekst." in page.text
        assert f"{FIRST}:" in terminal(server)

        hub.write(FIRST, item("Første artikkel", "Reparert.\n"))
        ok = stream.next("ok")
        assert ok["ok"] and ok["problems"] == []
        stream.next("reload")
        assert json.loads(request(server.port, "/_hubgen/status").body)["ok"] is True
        assert "Reparert." in request(server.port, "/articles/first/").text
    finally:
        stream.close()


def test_a_hub_broken_from_the_start_is_served_once_fixed(make_hub: Callable[..., Any]) -> None:
    hub = make_hub(HUB, files={FIRST: item("Første", personas="[cfoo]")})
    preview = PreviewServer(hub.root, port=0, out=io.StringIO(), err=io.StringIO())
    preview.start()
    try:
        status = preview.wait_for_build(1, timeout=60)
        assert status.failed and "unknown persona 'cfoo'" in str(status.problems[0])
        missing = request(preview.port, "/articles/first/")
        assert missing.status == 404 and "hubgen-live" in missing.text
        hub.write(FIRST, item("Første", "Nå virker det.\n"))
        eventually(lambda: "Nå virker det." in request(preview.port, "/articles/first/").text)
    finally:
        preview.stop()


# -- the /_hubgen/ endpoints -----------------------------------------------------------------


def test_tool_endpoints_check_host_and_origin(server: PreviewServer) -> None:
    port = server.port
    assert request(port, "/_hubgen/events", headers={"Host": "evil.example"}).status == 403
    assert request(port, "/_hubgen/events",
                   headers={"Host": f"evil.example:{port}"}).status == 403
    assert request(port, "/_hubgen/status", headers={"Host": f"127.0.0.1:{port + 1}"}).status \
        == 403
    assert request(port, "/_hubgen/status", headers={"Origin": "http://evil.example"}).status \
        == 403
    assert request(port, "/_hubgen/status", headers={"Origin": "null"}).status == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        ok = request(port, "/_hubgen/status",
                     headers={"Host": host, "Origin": f"http://{host.lower()}"})
        assert ok.status == 200, host
        assert "access-control-allow-origin" not in ok.headers
    stream = EventStream(port, host="evil.example")
    try:
        assert "403" in stream.status_line
    finally:
        stream.close()


def test_site_paths_answer_only_this_servers_host(server: PreviewServer) -> None:
    # DNS rebinding: attacker.example resolves to 127.0.0.1, its page reads the preview.
    port = server.port
    gated = next(server.site_dir.glob("unlocked/*/gated/index.html"))
    paths = ["/", "/articles/utkast/", "/consent-manifest.json",
             "/" + gated.relative_to(server.site_dir).parent.as_posix() + "/"]
    for path in paths:
        assert request(port, path).status == 200, path
        refused = request(port, path, headers={"Host": f"attacker.example:{port}"})
        assert refused.status == 403, path
        assert b"Ikke ferdig" not in refused.body and b"Hemmelig del" not in refused.body


def test_the_check_runs_only_for_the_previews_own_pages(server: PreviewServer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[Path] = []
    original = server.run_check

    def counted() -> tuple[list[Problem] | None, str | None]:
        runs.append(server.root)
        return original()

    monkeypatch.setattr(server, "run_check", counted)
    # An <img src=".../_hubgen/check"> on another site: the browser says cross-site.
    for site in ("cross-site", "same-site"):
        refused = request(server.port, "/_hubgen/check", headers={"Sec-Fetch-Site": site})
        assert refused.status == 403 and runs == []
    for site in ("same-origin", "none"):
        assert request(server.port, "/_hubgen/check",
                       headers={"Sec-Fetch-Site": site}).status == 200
    assert len(runs) == 2


def test_tools_page_links_and_visitor_switch(server: PreviewServer) -> None:
    page = request(server.port, "/_hubgen/")
    assert page.status == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find("a", href="/matrix/") is not None
    buttons = {b["data-hubgen-visitor"]: b.get_text() for b in soup.select("[data-hubgen-visitor]")}
    assert buttons == {"new": "View as a new visitor", "known": "View as a known visitor"}
    assert "succeeded" in page.text
    assert request(server.port, "/_hubgen").headers["location"] == "/_hubgen/"
    check = request(server.port, "/_hubgen/check")
    assert check.status == 200 and "hubgen check" in check.text
    client = request(server.port, "/_hubgen/client.js")
    assert client.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "hubgen:unlocked" in client.text and "EventSource" in client.text


@pytest.mark.parametrize("mode", ["soft", "strict"])
def test_the_consent_form_posts_to_the_collector_and_the_row_is_stored(
        make_hub: Callable[..., Any], mode: str) -> None:
    toml = HUB.replace('by_phase = { late = "gated" }',
                       f'by_phase = {{ late = "gated" }}\nmode = "{mode}"')
    hub = make_hub(toml, files={"content/articles/gated.md": item(
        "Låst artikkel", "Del en.\n\nDel to.\n\nHemmelig del.\n", phase="late")})
    with PreviewServer(hub.root, port=0, out=io.StringIO(), err=io.StringIO()) as server:
        assert not server.wait_for_build(1, timeout=60).failed
        submit_and_unlock(server, strict=mode == "strict")


def submit_and_unlock(server: PreviewServer, strict: bool) -> None:
    public = request(server.port, "/articles/gated/").text
    assert "Hemmelig del." not in public and ("/unlocked/" not in public) == strict
    page = BeautifulSoup(public, "html.parser")
    form = page.select_one("form[data-hubgen-form]")
    assert form is not None and form["action"] == "/_hubgen/submit"
    fields = {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}
    fields.update(email="ola@example.no", role="cfo")
    origin = f"http://127.0.0.1:{server.port}"
    preflight = request(server.port, "/_hubgen/submit", method="OPTIONS",
                        headers={"Origin": origin})
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == origin
    sent = request(server.port, "/_hubgen/submit", method="POST", body=urlencode(fields).encode(),
                   headers={"Origin": origin,
                            "Content-Type": "application/x-www-form-urlencoded"})
    assert sent.status == 303, sent.text
    assert sent.headers["location"].startswith("/unlocked/")
    unlocked = request(server.port, sent.headers["location"])
    assert unlocked.status == 200 and "Hemmelig del." in unlocked.text
    with sqlite3.connect(server.root / ".hubgen" / "leads.sqlite") as db:
        rows = db.execute("SELECT email, item_id FROM submissions").fetchall()
    assert rows == [("ola@example.no", "articles/gated")]
    foreign = request(server.port, "/_hubgen/submit", method="POST", body=b"email=x",
                      headers={"Origin": "http://evil.example",
                               "Content-Type": "application/x-www-form-urlencoded"})
    assert foreign.status == 403



def test_the_collector_takes_the_hub_each_build_read_and_never_reads_it_itself(
        make_hub: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # A second read of a large hub after every save would hold up the next save's rebuild.
    def read_again(root: Path) -> None:
        raise AssertionError("the collector read the hub itself")

    monkeypatch.setattr(collect, "read_hub_state", read_again)
    hub = make_hub(HUB, files={"content/articles/gated.md": item(
        "Låst artikkel", "Del en.\n\nDel to.\n\nHemmelig del.\n", phase="late")})
    err = io.StringIO()
    with PreviewServer(hub.root, port=0, out=io.StringIO(), err=err) as server:
        assert not server.wait_for_build(1, timeout=60).failed
        submit_and_unlock(server, strict=False)
        # A new gated item (front matter: the build reads the hub) is known to the collector...
        hub.write("content/articles/ny.md", item("Ny låst", "En.\n\nTo.\n\nNy hemmelighet.\n",
                                                 phase="late"))
        assert not server.wait_for_build(2, timeout=60).failed
        assert post_form(server, "/articles/ny/").headers["location"].startswith("/unlocked/")
        # ... and after a body-only save it still is.
        hub.write("content/articles/ny.md", item("Ny låst", "En.\n\nTo.\n\nEndret.\n",
                                                 phase="late"))
        assert server.wait_for_build(3, timeout=60).build_id.endswith(".3")
        assert post_form(server, "/articles/ny/").status == 303
    assert "collector" not in err.getvalue()



def open_files(name: str) -> int:
    """How many of this process's file descriptors are open on a file called `name` (Linux)."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            count += Path(os.readlink(fd)).name == name
    return count


def test_rebuilds_in_serve_leave_no_cache_connection_behind(server: PreviewServer,
                                                            hub: Any) -> None:
    # After each build the preview freezes what is alive (gc.freeze); a build's result, which
    # holds a reader of the cache, must be gone by then, or every rebuild keeps one open.
    before = open_files("cache.sqlite")
    for n in range(2, 7):  # front matter: every save reads the hub and renders the pages
        hub.write(FIRST, item(f"Første artikkel {n}", "Opprinnelig tekst.\n"))
        assert not server.wait_for_build(n, timeout=60).failed
    assert open_files("cache.sqlite") <= before

def post_form(server: PreviewServer, path: str) -> Any:
    page = BeautifulSoup(request(server.port, path).text, "html.parser")
    form = page.select_one("form[data-hubgen-form]")
    assert form is not None
    fields = {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}
    fields.update(email="kari@example.no", role="cfo")
    return request(server.port, "/_hubgen/submit", method="POST", body=urlencode(fields).encode(),
                   headers={"Origin": f"http://127.0.0.1:{server.port}",
                            "Content-Type": "application/x-www-form-urlencoded"})

# -- start and stop --------------------------------------------------------------------------


def test_a_busy_port_moves_to_the_next_one(hub: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        out = io.StringIO()
        preview = PreviewServer(hub.root, port=taken, watch=False, out=out, err=io.StringIO())
        try:
            port = preview.start()
            assert taken < port <= taken + 9
            assert f"port {taken} is in use; using {port}" in out.getvalue()
            assert preview.url == f"http://127.0.0.1:{port}/"
        finally:
            preview.stop()


def test_stop_ends_threads_streams_and_frees_the_port(hub: Any) -> None:
    preview = PreviewServer(hub.root, port=0, out=io.StringIO(), err=io.StringIO())
    port = preview.start()
    preview.wait_for_build(1, timeout=60)
    stream = EventStream(port)
    stream.next("hello")
    before = {t.name for t in threading.enumerate()}
    assert {"hubgen-http", "hubgen-rebuild"} <= before
    preview.stop()
    assert stream.next("closed", timeout=5) is None
    stream.close()
    assert not {"hubgen-http", "hubgen-rebuild"} & {t.name for t in threading.enumerate()}
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen()
    preview.stop()  # a second stop is harmless


def test_hubgen_serve_runs_until_ctrl_c(hub: Any) -> None:
    """The real entry point: it prints the URL, serves, and stops cleanly on SIGINT."""
    run = subprocess.Popen([sys.executable, "-m", "hubgen.cli", "serve", "--root", str(hub.root),
                            "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        assert run.stdout is not None
        lines = []
        for line in run.stdout:
            lines.append(line)
            if line.startswith("serving "):
                break
        if not lines[0].startswith("built in "):
            run.send_signal(signal.SIGINT)
            pytest.fail("the first build failed:\n" + run.communicate(timeout=30)[1])
        url = lines[-1].split()[1]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert url == f"http://127.0.0.1:{port}/"
        assert "Opprinnelig tekst." in request(port, "/articles/first/").text
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    assert out.strip().endswith("stopped")


def test_cli_rejects_a_port_out_of_range(capsys: pytest.CaptureFixture[str], hub: Any) -> None:
    assert main(["serve", "--root", str(hub.root), "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err


# -- the pieces ------------------------------------------------------------------------------


def test_locate_refuses_everything_outside_the_site(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "a" / "index.html").write_text("a")
    (site / "kjøp.html").write_text("k")
    (tmp_path / "secret").write_text("s")

    def found(path: str, prefix: str = "") -> Path | str | None:
        target = locate(site, path, prefix)
        return None if target is None else target.file or target.redirect

    assert found("/a/") == site / "a" / "index.html"
    assert found("/a") == "/a/"
    assert found("/kj%C3%B8p.html") == site / "kjøp.html"
    for bad in ("/../secret", "/%2e%2e/secret", "/a/..%2f..%2fsecret", "/%00", "/a%5c..",
                "/%ff", "/nothing"):
        assert found(bad) is None, bad
    # A base_url with a path: the site lives under that prefix.
    assert found("/hub/a/", "/hub") == site / "a" / "index.html"
    assert found("/hub/a", "/hub") == "/hub/a/"
    assert found("/a/", "/hub") is None


def test_content_types() -> None:
    assert content_type("site.webmanifest") == "application/manifest+json; charset=utf-8"
    assert content_type("x.json") == "application/json; charset=utf-8"
    assert content_type("x.svg") == "image/svg+xml; charset=utf-8"
    assert content_type("x.js") == "text/javascript; charset=utf-8"
    assert content_type("x.pdf") == "application/pdf"
    assert content_type("x.PNG") == "image/png"
    assert content_type("_headers") == "text/plain; charset=utf-8"
    assert content_type("blob") == "application/octet-stream"


def test_inject_goes_before_the_last_body_end() -> None:
    assert inject(b"<body>x</BODY>", "b1") == \
        b'<body>x<script id="hubgen-live" src="/_hubgen/client.js" data-build="b1"></script>\n' \
        b"</BODY>"
    assert inject(b"<p>no body", "").startswith(b"<p>no body<script")


@pytest.mark.parametrize("name", ["x.md~", ".x.md.swp", ".x.md.swx", "4913", ".#x.md", "#x.md#",
                                  "x.md.tmp"])
def test_editor_temp_files_are_ignored(name: str) -> None:
    assert is_editor_temp(name)


def test_watcher_reports_sources_only(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    theme = tmp_path / "builtin"
    watcher = Watcher(root, [theme], lambda change: None)
    assert watcher.relevant(root / "hub.toml") == "hub.toml"
    assert watcher.relevant(root / "content/articles/x.md") == "content/articles/x.md"
    assert watcher.relevant(root / "themes/mine/templates/base.html")
    assert watcher.relevant(theme / "default/static/hub.css")
    for ignored in ("output/index.html", ".hubgen/preview/index.html", ".git/index",
                    "README.md", "content/articles/.x.md.swp", "content/articles/4913",
                    "themes/mine/.git/HEAD"):
        assert watcher.relevant(root / ignored) is None, ignored


def test_rebuilder_debounces_and_never_builds_twice_at_once() -> None:
    builds: list[list[str]] = []
    running = threading.Lock()
    gate = threading.Event()

    def build(changes: list[str]) -> None:
        assert running.acquire(blocking=False), "two builds at once"
        try:
            builds.append(changes)
            if len(builds) == 2:
                gate.wait(5)  # hold the second build while changes arrive
        finally:
            running.release()

    rebuilder = Rebuilder(build, quiet=0.05)
    rebuilder.start()
    try:
        eventually(lambda: len(builds) == 1)  # the first build, at start
        for n in range(5):  # a burst of saves: one build
            rebuilder.notify(f"a{n}")
        eventually(lambda: len(builds) == 2)
        assert builds[1] == [f"a{n}" for n in range(5)]
        rebuilder.notify("b")  # during the second build
        rebuilder.notify("c")
        gate.set()
        eventually(lambda: len(builds) == 3)
        assert builds[2] == ["b", "c"]
    finally:
        rebuilder.stop()


def test_broker_closes_streams() -> None:
    broker = EventBroker()
    stream = broker.subscribe()
    broker.publish("reload", {"build": "x"})
    assert stream.get_nowait() == b'event: reload\ndata: {"build": "x"}\n\n'
    broker.close()
    assert stream.get_nowait() is None
    assert broker.subscribe().get_nowait() is None
