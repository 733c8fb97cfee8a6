"""What a visitor does with the consent form, in headless Chromium against real servers on
127.0.0.1: the built site with the local collector, a HubSpot stand-in and a webhook recorder."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from browser import launch_chromium
from conftest import HUB_TOML, item, stored_submissions
from hubgen.build import BuildOptions, build
from hubgen.collect import make_app
from hubgen.collector.app import make_collector_server
from hubgen.gating.gate import Gate
from hubgen.model import Item

pytestmark = pytest.mark.browser

SCHEMA = Path(__file__).resolve().parent.parent / "src/hubgen/collector/schemas/submission.schema.json"
HIDDEN = "Denne lukkede setningen kommer bare fram etter skjemaet er sendt inn"
SECRET = "browser-test-secret-of-at-least-32-bytes"


def hub_toml(backend: str = "local", mode: str = "soft", extra: str = "") -> str:
    toml = HUB_TOML.replace('by_phase = { late = "gated" }',
                            f'by_phase = {{ late = "gated" }}\nmode = "{mode}"')
    return toml.replace('backend = "local"', f'backend = "{backend}"\nmin_seconds = 0\n{extra}')


def files() -> dict[str, str | bytes]:
    body = f"Smakebit som alle ser.\n\n<!-- more -->\n\n## Resten\n\n{HIDDEN}.\n"
    return {
        "content/ebooks/guide.md": item("Guiden", body, phase="late"),
        "content/ebooks/andre.md": item("Den andre", body.replace("Smakebit", "Innledning"),
                                        phase="late"),
        "content/articles/apen.md": item("Åpen", "Et åpent avsnitt."),
    }


class StaticSite:
    """The built folder over HTTP, with the collector under /_hubgen/ (as a small deploy has it)."""

    def __init__(self, out: Path, collector: Any) -> None:
        self.out, self.collector = out, collector

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/_hubgen/"):
            return self.collector(environ, start_response)  # type: ignore[no-any-return]
        target = (self.out / path.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self.out.resolve()) or not target.is_file():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        kinds = {".html": "text/html; charset=utf-8", ".js": "text/javascript",
                 ".css": "text/css", ".svg": "image/svg+xml"}
        start_response("200 OK", [("Content-Type", kinds.get(target.suffix, "application/octet-stream"))])
        return [target.read_bytes()]


@dataclass
class Recorder:
    """A stand-in for HubSpot or a webhook: records each JSON POST, answers with `reply`."""

    reply: dict[str, Any] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    port: int = 0


def start_recorder(recorder: Recorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", ""))
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Allow-Methods", "POST")
            self.send_header("Vary", "Origin")

        def do_OPTIONS(self) -> None:
            recorder.paths.append("OPTIONS " + self.path)
            self.send_response(204)
            self._cors()
            self.end_headers()

        def do_POST(self) -> None:
            recorder.paths.append("POST " + self.path)
            length = int(self.headers.get("Content-Length", 0))
            recorder.received.append(json.loads(self.rfile.read(length)))
            body = json.dumps(recorder.reply).encode()
            self.send_response(200)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", recorder.port), Handler)
    recorder.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Site:
    root: Path
    url: str
    db: Path
    gate: Gate
    items: tuple[Item, ...]

    def rows(self) -> list[dict[str, Any]]:
        return stored_submissions(self.db)


@pytest.fixture
def serve_site(make_hub, monkeypatch) -> Iterator[Any]:
    servers: list[Any] = []

    def start(toml: str) -> Site:
        monkeypatch.setenv("HUBGEN_GATE_SECRET", SECRET)
        hub = make_hub(toml=toml, files=files())
        result = build(BuildOptions(root=hub.root, search=False))
        db = hub.root / ".hubgen" / "leads.sqlite"
        collector = make_app(hub.root, db, allowed_origins=("http://127.0.0.1:*",))
        server = make_collector_server(StaticSite(hub.root / "output", collector), "127.0.0.1", 0)
        servers.append(server)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return Site(hub.root, f"http://127.0.0.1:{server.server_address[1]}", db, result.gate,
                    result.hub.items)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def unlocked(site: Site, slug: str) -> str:
    (entry,) = [i for i in site.items if i.slug == slug]
    return site.gate.unlocked_url(entry)


def test_local_backend_soft_mode_inline_errors_unlock_and_no_second_ask(serve_site) -> None:
    site = serve_site(hub_toml())
    with launch_chromium() as browser:
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(site.url + "/ebooks/guide/")
        assert HIDDEN not in page.content()
        # Empty submit: errors beside the fields, focus on the first one.
        page.click("form[data-hubgen-form] button[type=submit]")
        assert page.inner_text("#email-error") != ""
        assert page.get_attribute("#email", "aria-invalid") == "true"
        assert page.evaluate("document.activeElement.id") == "email"
        page.fill("#email", "ikke-en-adresse")
        page.click("form[data-hubgen-form] button[type=submit]")
        assert page.inner_text("#email-error") != ""
        assert site.rows() == []
        # The consent boxes start unticked; the visitor ticks one of two.
        assert not page.is_checked("#consent_newsletter")
        assert all(r.startswith(site.url) for r in requests)  # nothing third-party so far
        page.fill("#email", "kari@verft.no")
        page.select_option("#role", "ops")
        page.check("#consent_newsletter")
        with page.expect_navigation():
            page.click("form[data-hubgen-form] button[type=submit]")
        assert page.url == site.url + unlocked(site, "guide")
        assert HIDDEN in page.inner_text("main")
        (row,) = site.rows()
        assert (row["email"], row["role"], row["item_id"]) == ("kari@verft.no", "ops", "ebooks/guide")
        assert json.loads(row["consents"]) == {"newsletter": True}
        assert json.loads(row["consent_texts"]) == [{"id": "newsletter",
                                                     "text": "Send meg nyhetsbrevet."}]
        assert row["texts_match"] == 1
        # Another gated item: the browser is not asked again.
        page.goto(site.url + "/ebooks/andre/")
        assert page.is_hidden("form[data-hubgen-form]")
        with page.expect_navigation():
            page.click("[data-known-visitor] a")
        assert page.url == site.url + unlocked(site, "andre")
        assert len(site.rows()) == 1


def test_strict_mode_returning_browser_asks_the_collector(serve_site) -> None:
    site = serve_site(hub_toml(mode="strict"))
    public = (site.root / "output/ebooks/andre/index.html").read_text("utf-8")
    assert "/unlocked/" not in public
    with launch_chromium() as browser:
        page = browser.new_page()
        page.goto(site.url + "/ebooks/guide/")
        page.fill("#email", "ola@rederi.no")
        page.select_option("#role", "cfo")
        with page.expect_navigation():
            page.click("form[data-hubgen-form] button[type=submit]")
        assert page.url == site.url + unlocked(site, "guide")
        page.goto(site.url + "/ebooks/andre/")
        assert page.is_hidden("form[data-hubgen-form]")
        with page.expect_navigation():
            page.click("[data-known-visitor] a")
        assert page.url == site.url + unlocked(site, "andre")
        assert HIDDEN in page.inner_text("main")
        assert len(site.rows()) == 1
        # A browser that has never submitted gets the form.
        fresh = browser.new_context().new_page()
        fresh.goto(site.url + "/ebooks/andre/")
        assert fresh.is_visible("form[data-hubgen-form]")


def test_without_javascript_the_form_still_works(serve_site) -> None:
    site = serve_site(hub_toml())
    with launch_chromium() as browser:
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(site.url + "/ebooks/guide/")
        page.fill("#email", "nojs@firma.no")
        page.select_option("#role", "other")
        with page.expect_navigation():
            page.click("form[data-hubgen-form] button[type=submit]")
        assert page.url == site.url + unlocked(site, "guide")
        assert HIDDEN in page.inner_text("main")
        (row,) = site.rows()
        assert (row["email"], row["role"], json.loads(row["consents"])) == (
            "nojs@firma.no", "other", {"newsletter": False})


def test_hubspot_receives_fields_context_and_consents(serve_site) -> None:
    recorder = Recorder(reply={"inlineMessage": "Takk"})
    hubspot = start_recorder(recorder)
    extra = (f'portal_id = "123456"\nform_guid = "abc-def"\n'
             f'api_base = "http://127.0.0.1:{recorder.port}"\nrole_property = "hub_role"')
    toml = hub_toml("hubspot", extra=extra).replace(
        'text = "Send meg nyhetsbrevet."', 'text = "Send meg nyhetsbrevet."\nsubscription_type_id = 42')
    site = serve_site(toml)
    try:
        with launch_chromium() as browser:
            page = browser.new_page()
            page.goto(site.url + "/ebooks/guide/")
            assert recorder.paths == []  # no request to HubSpot before submit
            page.fill("#email", "per@verft.no")
            page.select_option("#role", "cfo")
            with page.expect_navigation():
                page.click("form[data-hubgen-form] button[type=submit]")
            assert page.url == site.url + unlocked(site, "guide")
    finally:
        hubspot.shutdown()
    assert recorder.paths[-1] == "POST /submissions/v3/integration/submit/123456/abc-def"
    (sent,) = recorder.received
    assert sent.pop("submittedAt").isdigit()
    shown = (site.root / "output/ebooks/guide/index.html").read_text("utf-8")
    process_text = shown.split('data-processing-text="', 1)[1].split('"', 1)[0]
    assert sent == {
        "fields": [{"objectTypeId": "0-1", "name": "email", "value": "per@verft.no"},
                   {"objectTypeId": "0-1", "name": "hub_role", "value": "cfo"}],
        "context": {"pageUri": "https://hub.example.no/ebooks/guide/",
                    "pageName": "Guiden – Testhub"},
        "legalConsentOptions": {"consent": {
            "consentToProcess": True,
            "text": process_text,
            "communications": [{"value": False, "subscriptionTypeId": 42,
                                "text": "Send meg nyhetsbrevet."}]}},
    }
    assert site.rows() == []  # HubSpot got it; nothing stored locally


def test_webhook_gets_the_documented_json_and_its_unlock_url_is_followed(serve_site) -> None:
    recorder = Recorder()
    hook = start_recorder(recorder)
    toml = hub_toml("webhook", mode="strict",
                    extra=f'endpoint = "http://127.0.0.1:{recorder.port}/hook"')
    site = serve_site(toml)
    recorder.reply = {"unlock_url": unlocked(site, "guide")}
    try:
        with launch_chromium() as browser:
            page = browser.new_page()
            page.goto(site.url + "/ebooks/guide/")
            page.fill("#email", "lise@rederi.no")
            page.select_option("#role", "ops")
            page.check("#consent_newsletter")
            with page.expect_navigation():
                page.click("form[data-hubgen-form] button[type=submit]")
            assert page.url == site.url + unlocked(site, "guide")
    finally:
        hook.shutdown()
    (sent,) = recorder.received
    jsonschema.validate(sent, json.loads(SCHEMA.read_text("utf-8")))
    assert (sent["email"], sent["role"], sent["item_id"], sent["consents"]) == (
        "lise@rederi.no", "ops", "ebooks/guide", {"newsletter": True})
    assert sent["consent_texts"] == [{"id": "newsletter", "text": "Send meg nyhetsbrevet."}]
