"""The local form backend over real HTTP on 127.0.0.1: submissions, storage, export, erasure, CLI."""

from __future__ import annotations

import csv
import hashlib
import hmac
import http.client
import io
import json
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
from bs4 import BeautifulSoup

from conftest import HUB_TOML, HubFactory, item, stored_submissions
from hubgen.build import BuildOptions, build
from hubgen.cli import main
from hubgen.collect import make_app
from hubgen.collector import leads
from hubgen.collector.app import CollectorApp, make_collector_server

SECRET = "collector-test-secret"
FILES = {
    "content/articles/guide.md": item("Guide", phase="late"),  # gated by by_phase
    "content/articles/intro.md": item("Intro"),  # open
}
EXPECTED_COLUMNS = ["id", "received_at", "item_id", "item_url", "language", "email", "role",
                    "consent_version", "texts_match", "consents", "consent_texts", "visitor"]
# The returning-visitor key's hash is for the collector only; exports leave it out.
EXPORTED_COLUMNS = EXPECTED_COLUMNS[:-1]


def token(item_id: str) -> str:
    """The unlock token by README's formula, computed without hubgen's code."""
    return hmac.new(SECRET.encode(), item_id.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass
class Collector:
    app: CollectorApp | None  # None: a collector in another process
    hub: HubFactory
    db: Path
    port: int

    def request(self, method: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                path: str = "/_hubgen/submit") -> tuple[int, http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response, response.read()
        finally:
            conn.close()

    def post_json(self, payload: Any, headers: dict[str, str] | None = None
                  ) -> tuple[int, http.client.HTTPResponse, Any]:
        status, response, body = self.request(
            "POST", json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})
        return status, response, json.loads(body)

    def post_form(self, fields: dict[str, str]) -> tuple[int, http.client.HTTPResponse, bytes]:
        return self.request("POST", urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def rows(self) -> list[dict[str, Any]]:
        return stored_submissions(self.db)


def start(hub: HubFactory, db: Path, allowed: tuple[str, ...] | None = ("http://127.0.0.1:*",)
          ) -> tuple[Collector, Callable[[], None]]:
    app = make_app(hub.root, db, allowed_origins=allowed)
    server = make_collector_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)
        app.close()

    return Collector(app, hub, db, server.server_port), stop


@pytest.fixture
def collector(make_hub: Callable[..., HubFactory], tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    monkeypatch.setenv("HUBGEN_GATE_SECRET", SECRET)
    running, stop = start(make_hub(files=FILES), tmp_path / "data" / "leads.sqlite")
    yield running
    stop()


OLD_VERSION = "0000000000000000"  # a consent version the hub does not have


def payload(**changes: Any) -> dict[str, Any]:
    """A valid JSON submission (as the page's script sends it); None removes a field."""
    data: dict[str, Any] = {
        "item_id": "articles/guide", "item_url": "https://hub.example.no/articles/guide/",
        "language": "nb", "email": "ola@firma.no", "role": "cfo",
        "consents": {"newsletter": True}, "consent_version": OLD_VERSION,
        "started": int(time.time() * 1000) - 10_000,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def built_version(hub: HubFactory) -> str:
    """The consent version as the real build writes it into /consent-manifest.json."""
    build(BuildOptions(root=hub.root))
    manifest = json.loads((hub.root / "output" / "consent-manifest.json").read_text("utf-8"))
    (version,) = manifest["versions"]
    return str(version)


def test_json_submission_unlocks_and_stores_exactly_the_form_fields(collector: Collector) -> None:
    version = built_version(collector.hub)
    before = time.time()
    status, response, body = collector.post_json(payload(consent_version=version))
    assert status == 200, body
    expected_url = f"/unlocked/{token('articles/guide')}/guide/"
    visitor = body.pop("visitor")
    assert body == {"ok": True, "unlock_url": expected_url}
    assert isinstance(visitor, str) and len(visitor) >= 32
    # The address the collector hands out is where the real build put the unlocked page.
    assert (collector.hub.root / "output" / expected_url.strip("/") / "index.html").is_file()
    assert response.getheader("Access-Control-Allow-Origin") is None  # no Origin, no CORS

    conn = sqlite3.connect(collector.db)
    assert [c[1] for c in conn.execute("PRAGMA table_info(submissions)")] == EXPECTED_COLUMNS
    assert conn.execute("PRAGMA user_version").fetchone()[0] == leads.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    (row,) = collector.rows()
    assert row.pop("visitor") == hashlib.sha256(visitor.encode()).hexdigest()  # never the key itself
    received = row.pop("received_at")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", received)
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before - 1)) <= received
    assert row == {
        "id": 1, "item_id": "articles/guide", "item_url": "https://hub.example.no/articles/guide/",
        "language": "nb", "email": "ola@firma.no", "role": "cfo",
        "consent_version": version, "texts_match": 1,
        "consents": '{"newsletter":true}',
        "consent_texts": '[{"id":"newsletter","text":"Send meg nyhetsbrevet."}]',
    }


def test_other_consent_version_is_kept_and_flagged(collector: Collector) -> None:
    status, _, _ = collector.post_json(payload(consents=None, consent_newsletter=False))
    assert status == 200
    (row,) = collector.rows()
    assert (row["consent_version"], row["texts_match"]) == (OLD_VERSION, 0)
    assert json.loads(row["consents"]) == {"newsletter": False}
    assert json.loads(row["consent_texts"]) == [{"id": "newsletter", "text": "Send meg nyhetsbrevet."}]


def test_form_post_without_javascript_redirects_to_the_unlocked_page(collector: Collector) -> None:
    fields = {k: str(v) for k, v in payload(consents=None, started=None).items()}
    status, response, _ = collector.post_form({**fields, "consent_newsletter": "true", "website": ""})
    assert status == 303
    assert response.getheader("Location") == f"/unlocked/{token('articles/guide')}/guide/"
    status, response, _ = collector.post_form({**fields, "email": "kari@firma.no"})
    assert status == 303
    rows = collector.rows()
    assert [json.loads(r["consents"]) for r in rows] == [{"newsletter": True}, {"newsletter": False}]


def test_form_post_for_an_open_item_goes_back_to_its_page_and_never_off_site(
        collector: Collector) -> None:
    base = {"email": "ola@firma.no", "role": "other", "item_id": "articles/intro"}
    status, response, _ = collector.post_form(
        {**base, "item_url": "https://hub.example.no/articles/intro/"})
    assert (status, response.getheader("Location")) == (303, "/articles/intro/?subscribed=1")
    status, response, _ = collector.post_form({**base, "item_url": "https://evil.example/x/"})
    assert (status, response.getheader("Location")) == (303, "/articles/intro/?subscribed=1")
    status, response, body = collector.post_json(payload(item_id="", email="kari@firma.no"))
    assert body.pop("visitor")
    assert (status, body) == (200, {"ok": True, "unlock_url": None})  # a plain sign-up
    assert len(collector.rows()) == 3


def test_form_post_with_errors_gets_a_page_in_words(collector: Collector) -> None:
    status, response, body = collector.post_form(
        {"email": "", "role": "ceo", "item_id": "articles/guide",
         "item_url": "https://hub.example.no/articles/guide/"})
    assert status == 422
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    page = BeautifulSoup(body, "html.parser")
    assert page.html is not None and page.html["lang"] == "nb"
    assert page.h1 is not None and page.h1.get_text() == "Skjemaet ble ikke sendt"
    assert [li.get_text() for li in page.find_all("li")] == [
        "E-postadresse: Skriv inn e-postadressen din.", "Din rolle: Velg rollen din."]
    link = page.find("a")
    assert link is not None and link["href"] == "/articles/guide/"
    assert collector.rows() == []


BAD_INPUTS: list[tuple[str, dict[str, str], bytes, int, dict[str, str] | None]] = [
    ("oversized", {"Content-Type": "application/json"},
     json.dumps({"email": "a@b.no", "pad": "x" * 17_000}).encode(), 413, None),
    ("bad JSON", {"Content-Type": "application/json"}, b'{"email": ', 400, None),
    ("JSON not an object", {"Content-Type": "application/json"}, b'["a@b.no"]', 400, None),
    ("deep JSON", {"Content-Type": "application/json"}, b"[" * 16_000, 400, None),
    ("not UTF-8", {"Content-Type": "application/json"}, b'{"email": "\xff"}', 400, None),
    ("wrong type", {"Content-Type": "text/plain"}, b"email=a@b.no", 415, None),
    ("no type", {}, b"{}", 415, None),
    ("unknown item", {"Content-Type": "application/json"},
     json.dumps(payload(item_id="articles/nope")).encode(), 422, {"item_id": "error_generic"}),
    ("missing e-mail", {"Content-Type": "application/json"},
     json.dumps(payload(email=None)).encode(), 422, {"email": "error_email_required"}),
    ("invalid e-mail", {"Content-Type": "application/json"},
     json.dumps(payload(email="ola @firma.no")).encode(), 422, {"email": "error_email_invalid"}),
    ("e-mail without a dot", {"Content-Type": "application/json"},
     json.dumps(payload(email="ola@firma")).encode(), 422, {"email": "error_email_invalid"}),
    ("e-mail not text", {"Content-Type": "application/json"},
     json.dumps(payload(email=["ola@firma.no"])).encode(), 422, {"email": "error_email_invalid"}),
    ("invalid role", {"Content-Type": "application/json"},
     json.dumps(payload(role="ceo")).encode(), 422, {"role": "error_role_required"}),
    ("too fast", {"Content-Type": "application/json"}, b"(made when sent)", 422,
     {"form": "error_too_fast"}),
    ("consent not yes/no", {"Content-Type": "application/json"},
     json.dumps(payload(consents={"newsletter": "maybe"})).encode(), 422,
     {"consent_newsletter": "error_generic"}),
    ("conflicting consent", {"Content-Type": "application/json"},
     json.dumps(payload(consent_newsletter=False)).encode(), 422,
     {"consent_newsletter": "error_generic"}),
    ("item_id not text", {"Content-Type": "application/json"},
     json.dumps(payload(item_id={"a": 1})).encode(), 422, {"item_id": "error_generic"}),
    ("bad length", {"Content-Type": "application/json", "Content-Length": "abc"}, b"", 400, None),
]


@pytest.mark.parametrize(("name", "headers", "body", "status", "errors"), BAD_INPUTS,
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_gets_its_4xx_and_stores_nothing(
        collector: Collector, name: str, headers: dict[str, str], body: bytes, status: int,
        errors: dict[str, str] | None) -> None:
    if name == "too fast":  # `started` must be "now" when the request is sent
        body = json.dumps(payload(started=int(time.time() * 1000))).encode()
    got, _, reply = collector.request("POST", body, headers)
    assert got == status, reply
    data = json.loads(reply)
    assert data["ok"] is False
    if errors is not None:
        assert data["errors"] == errors
    assert collector.rows() == []


def test_methods_paths_and_origins(collector: Collector) -> None:
    status, response, _ = collector.request("GET")
    assert (status, response.getheader("Allow")) == (405, "POST, OPTIONS")
    status, response, _ = collector.request("POST", b"{}", {"Content-Type": "application/json"},
                                            path="/elsewhere")
    assert (status, response.getheader("Vary"), response.getheader("Cache-Control")) == (
        404, "Origin", "no-store")
    foreign = {"Origin": "https://evil.example"}
    status, response, _ = collector.post_json(payload(), foreign)
    assert status == 403 and response.getheader("Access-Control-Allow-Origin") is None
    assert collector.request("OPTIONS", headers=foreign)[0] == 403
    not_passed = {"Origin": "http://localhost:9000"}  # a local origin nobody allowed
    assert collector.post_json(payload(), not_passed)[0] == 403
    assert collector.rows() == []

    local = f"http://127.0.0.1:{collector.port}"
    status, response, _ = collector.request(
        "OPTIONS", headers={"Origin": local, "Access-Control-Request-Method": "POST",
                            "Access-Control-Request-Headers": "content-type"})
    assert status == 204
    assert response.getheader("Access-Control-Allow-Origin") == local
    assert response.getheader("Access-Control-Allow-Headers") == "Content-Type"
    assert response.getheader("Access-Control-Allow-Methods") == "POST"
    assert response.getheader("Vary") == "Origin"
    for origin in (local, "https://hub.example.no"):  # the passed one, and base_url's own
        status, response, _ = collector.post_json(payload(), {"Origin": origin})
        assert status == 200
        assert response.getheader("Access-Control-Allow-Origin") == origin
    assert len(collector.rows()) == 2


def test_no_input_gets_a_500(collector: Collector) -> None:
    json_type = {"Content-Type": "application/json"}
    bodies = [b"null", b'"x"', b"1e999999", b'{"consents": [1]}', b'{"started": "soon"}',
              b'{"email": {}, "role": [], "language": 7, "item_url": null}',
              json.dumps(payload(language="xx")).encode(),
              json.dumps(payload(item_url="x" * 3000)).encode()]
    for body in bodies:
        status, _, reply = collector.request("POST", body, json_type)
        assert 400 <= status < 500, (body, status, reply)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"%ff%fe=%00", b"email=a%40b.no&email=c%40d.no&role=cfo&started=x", b"&&&=",
                 b"a=" + b"&a=".join([b"1"] * 200)):
        status, _, reply = collector.request("POST", body, form)
        assert 400 <= status < 500, (body, status, reply)
    assert collector.rows() == []


def test_honeypot_answers_ok_and_stores_nothing(collector: Collector) -> None:
    status, _, body = collector.post_json(payload(website="http://spam.example"))
    assert (status, body) == (200, {"ok": True, "unlock_url": None})
    status, response, _ = collector.post_form(
        {"email": "bot@spam.example", "role": "cfo", "website": "x", "item_id": "articles/guide",
         "item_url": "https://hub.example.no/articles/guide/"})
    assert (status, response.getheader("Location")) == (303, "/articles/guide/?subscribed=1")
    assert collector.rows() == []
    assert collector.app is not None and collector.app.honeypot_hits == 2


def test_fifty_concurrent_submissions_are_all_stored(collector: Collector) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(n: int) -> None:
        status, _, _ = collector.post_json(payload(email=f"person{n}@firma.no"))
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 50
    assert sorted(r["email"] for r in collector.rows()) == sorted(
        f"person{n}@firma.no" for n in range(50))


def test_reload_sees_a_new_item(collector: Collector) -> None:
    assert collector.post_json(payload(item_id="articles/new"))[0] == 422
    collector.hub.write("content/articles/new.md", item("New", phase="late"))
    assert collector.app is not None
    collector.app.reload()
    status, _, body = collector.post_json(payload(item_id="articles/new"))
    assert (status, body["unlock_url"]) == (200, f"/unlocked/{token('articles/new')}/new/")


def test_export_csv_and_json(collector: Collector) -> None:
    collector.post_json(payload())
    collector.post_json(payload(email="=HYPERLINK(1)@x.no", role="other", consents={}))
    records = list(csv.DictReader(io.StringIO(leads.export(collector.db, "csv"))))
    assert list(records[0]) == EXPORTED_COLUMNS
    assert [(r["email"], r["role"], r["item_id"], r["texts_match"]) for r in records] == [
        ("ola@firma.no", "cfo", "articles/guide", "0"),
        ("'=HYPERLINK(1)@x.no", "other", "articles/guide", "0")]  # defused for spreadsheets
    assert json.loads(records[0]["consents"]) == {"newsletter": True}
    as_json = json.loads(leads.export(collector.db, "json"))
    assert [r["email"] for r in as_json] == ["ola@firma.no", "=HYPERLINK(1)@x.no"]
    assert as_json[1]["consents"] == {"newsletter": False}
    assert as_json[0]["consent_texts"] == [{"id": "newsletter", "text": "Send meg nyhetsbrevet."}]


def test_forget_erases_every_record_of_an_address_from_the_file(collector: Collector) -> None:
    for email in ("Ola.Nordmann@Firma.no", "ola.nordmann@firma.no", "kari@firma.no",
                  "OLA.NORDMANN@FIRMA.NO"):
        assert collector.post_json(payload(email=email))[0] == 200
    # Many more rows of the same person, so that erasing them frees whole pages.
    conn = leads.connect(collector.db)
    record = leads.Record("2026-03-02T10:00:00Z", "articles/guide", "https://hub.example.no/",
                          "nb", "ola.nordmann@firma.no", "cfo", OLD_VERSION, False,
                          {"newsletter": True}, [{"id": "newsletter", "text": "x" * 500}])
    for _ in range(200):
        leads.insert(conn, record)
    conn.close()
    assert leads.forget(collector.db, "ola.nordmann@FIRMA.no") == 203
    assert [r["email"] for r in collector.rows()] == ["kari@firma.no"]
    conn = sqlite3.connect(collector.db)
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0  # rebuilt: VACUUM ran
    conn.close()
    assert leads.forget(collector.db, "ola.nordmann@firma.no") == 0
    for path in collector.db.parent.iterdir():  # the file itself, the -wal and -shm files
        assert b"ola.nordmann" not in path.read_bytes().lower(), path.name


def test_schema_describes_what_the_collector_accepts(collector: Collector) -> None:
    schema_path = Path(leads.__file__).parent / "schemas" / "submission.schema.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    full = payload(consent_version="0123456789abcdef", submitted_at="2026-03-02T10:15:00+01:00",
                   consent_texts=[{"id": "newsletter", "text": "Send meg nyhetsbrevet."}])
    jsonschema.validate(full, schema)
    jsonschema.validate({**full, "started": None, "website": ""}, schema)  # as form.js sends it
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**full, "email": "ola @firma.no"}, schema)
    assert collector.post_json(full)[0] == 200
    assert collector.post_json({**full, "started": None, "website": ""})[0] == 200
    assert len(collector.rows()) == 2


def test_base_url_with_a_path_prefixes_the_unlock_address(
        make_hub: Callable[..., HubFactory], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBGEN_GATE_SECRET", SECRET)
    hub = make_hub(HUB_TOML.replace("https://hub.example.no/", "https://firma.no/hub/"), FILES)
    running, stop = start(hub, tmp_path / "leads.sqlite", allowed=None)
    try:
        status, _, body = running.post_json(payload(), {"Origin": "https://firma.no"})
        assert (status, body["unlock_url"]) == (200, f"/hub/unlocked/{token('articles/guide')}/guide/")
    finally:
        stop()


def test_cli_export_and_forget(collector: Collector, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    collector.post_json(payload(email="Ola@Firma.no"))
    collector.post_json(payload(email="kari@firma.no"))
    db = str(collector.db)
    assert main(["leads", "export", "--db", db, "--format", "json"]) == 0
    assert [r["email"] for r in json.loads(capsys.readouterr().out)] == ["Ola@Firma.no",
                                                                         "kari@firma.no"]
    out = tmp_path / "leads.csv"
    assert main(["leads", "export", "--db", db, "--out", str(out)]) == 0
    assert len(list(csv.DictReader(out.open(encoding="utf-8", newline="")))) == 2
    capsys.readouterr()
    assert main(["leads", "forget", "ola@firma.no", "--db", db]) == 0
    assert capsys.readouterr().out == "erased 1 record(s) for ola@firma.no\n"
    assert [r["email"] for r in collector.rows()] == ["kari@firma.no"]


def test_cli_default_database_and_usage_errors(
        make_hub: Callable[..., HubFactory], capsys: pytest.CaptureFixture[str]) -> None:
    hub = make_hub(files=FILES)
    root = str(hub.root)
    assert main(["leads", "export", "--root", root]) == 2
    assert "no lead database here" in capsys.readouterr().err
    assert main(["leads", "forget", "a@b.no", "--root", root]) == 2
    assert not (hub.root / ".hubgen").exists()  # export and forget never create a database
    make_app(hub.root, leads.default_db(hub.root)).close()
    assert main(["leads", "export", "--root", root]) == 0
    assert capsys.readouterr().out.splitlines() == [",".join(EXPORTED_COLUMNS)]
    assert main(["leads"]) == 2  # an action is required
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert main(["collect", "--root", root, "--port", port]) == 2
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_collect_runs_the_collector(make_hub: Callable[..., HubFactory]) -> None:
    hub = make_hub(files=FILES)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubgen.cli", "collect", "--root", str(hub.root), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"collecting at http://127\.0\.0\.1:(\d+)/_hubgen/submit into (.+) \(", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        assert Path(match.group(2)) == hub.root / ".hubgen" / "leads.sqlite"
        running = Collector(None, hub, Path(match.group(2)), int(match.group(1)))
        status, _, body = running.post_json(payload())
        assert (status, body["unlock_url"] is not None) == (200, True)
        assert len(running.rows()) == 1
        assert (hub.root / ".hubgen" / ".gitignore").read_text().endswith("*\n")
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_returning_browser_opens_another_gated_item_without_a_new_record(
        collector: Collector) -> None:
    collector.hub.write("content/articles/second.md", item("Second", phase="late"))
    build(BuildOptions(root=collector.hub.root))
    assert collector.app is not None
    collector.app.reload()
    status, _, body = collector.post_json(payload(consent_version=built_version(collector.hub)))
    assert status == 200
    key = body["visitor"]
    status, _, body = collector.post_json({"item_id": "articles/second", "visitor": key})
    assert (status, body) == (200, {"ok": True,
                                    "unlock_url": f"/unlocked/{token('articles/second')}/second/"})
    assert len(collector.rows()) == 1  # asking again stores nothing
    status, _, _ = collector.post_json({"item_id": "articles/second", "visitor": "made-up"})
    assert status == 403
    assert leads.forget(collector.db, "ola@firma.no") == 1
    status, _, _ = collector.post_json({"item_id": "articles/second", "visitor": key})
    assert status == 403  # erasure forgets the browser too
