"""The search index: built from public pages only, in the hub's language, queried in Chromium."""

from __future__ import annotations

import functools
import gzip
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser import launch_chromium
from conftest import comparable, item, read_tree
from hubgen.build import BuildOptions, build
from hubgen.render import search

GATED = "Gyrokompassets deviasjon halveres etter programvareoppdateringen"
OPEN = "Ekkoloddets kalibrering skjer hver vinter ved kai"


@pytest.fixture(autouse=True)
def needs_pagefind() -> None:
    if not search.available():
        if os.environ.get("HUBGEN_REQUIRE_SEARCH"):
            pytest.fail("HUBGEN_REQUIRE_SEARCH is set but Pagefind is not installed")
        pytest.skip("Pagefind is not installed (pip install -e '.[search]')")


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def search_hub(make_hub):
    return make_hub(files={
        "content/articles/apen.md": item("Ekkolodd", f"{OPEN}.\n\nMer om ekkoloddet.",
                                         personas="[ops]", topics="[sonar]"),
        "content/ebooks/lukket.md": item("Vedlikehold", f"Smakebit om akslinger.\n\n<!-- more -->\n\n"
                                         f"{GATED}.\n", phase="late"),
    })


def test_index_holds_public_pages_only_in_the_hub_language(make_hub) -> None:
    hub = search_hub(make_hub)
    build(BuildOptions(root=hub.root))
    out = hub.root / "output"
    assert (out / "pagefind/pagefind.js").is_file()
    assert (out / "pagefind/wasm.nb.pagefind").is_file()  # Norwegian stemming
    fragments = [gzip.decompress(p.read_bytes()) for p in (out / "pagefind/fragment").iterdir()]
    assert len(fragments) == 3  # two items and the privacy page; no unlocked page
    assert any(OPEN.encode() in f for f in fragments)
    assert not any(GATED.encode() in f for f in fragments)
    assert hub.page("/search/").select_one("[data-hubgen-search]") is not None


def test_gated_sentence_is_not_found_and_open_one_is(make_hub) -> None:
    hub = search_hub(make_hub)
    build(BuildOptions(root=hub.root))
    with serve_folder(hub.root / "output") as site, launch_chromium() as browser:
        page = browser.new_page()
        page.goto(site + "/search/")
        query = """async (words) => {
            const pagefind = await import('/pagefind/pagefind.js');
            const found = await pagefind.search(words);
            const data = await Promise.all(found.results.map((r) => r.data()));
            return data.map((d) => [d.url, d.filters]);
        }"""
        hits = page.evaluate(query, OPEN)
        assert [url for url, _ in hits] == ["/articles/apen/"]
        assert hits[0][1]["Rolle"] == ["Driftssjef"]
        assert page.evaluate(query, GATED) == []
        # The teaser is public, and so is the gated item's page: it can be found by it.
        assert [url for url, _ in page.evaluate(query, "Smakebit om akslinger")] == [
            "/ebooks/lukket/"]


def test_search_ui_runs_and_finds(make_hub) -> None:
    hub = search_hub(make_hub)
    build(BuildOptions(root=hub.root))
    with serve_folder(hub.root / "output") as site, launch_chromium() as browser:
        page = browser.new_page()
        page.goto(site + "/search/")
        box = page.locator("[data-hubgen-search] input.pagefind-ui__search-input")
        assert box.get_attribute("aria-label") == "Søkeord"
        box.fill("ekkoloddets kalibrering")
        page.wait_for_selector(".pagefind-ui__result-link")
        links = page.eval_on_selector_all(".pagefind-ui__result-link",
                                          "els => els.map(e => e.getAttribute('href'))")
        assert links == ["/articles/apen/"]


def test_a_search_index_after_a_failed_build_is_the_clean_one(make_hub, tmp_path: Path,
                                                              monkeypatch) -> None:
    """A build that fails in the search stage has recorded pages it never put in the output;
    a later body-only rebuild must not index them by those records."""
    from hubgen.errors import BuildFailed, Problem
    from test_incremental import edit, hub_with_items

    hub = hub_with_items(make_hub)
    first, second = hub.root / "content/articles/to.md", hub.root / "content/articles/en.md"
    original = first.read_text("utf-8")
    build(BuildOptions(root=hub.root))
    edit(first, "Andre avsnitt.", "Sjøfuglene avsnitt.")
    real = search.search_index

    def fails(*args: object) -> list[object]:
        raise BuildFailed([Problem("pagefind", "search indexing failed (simulated)")])

    monkeypatch.setattr(search, "search_index", fails)
    with pytest.raises(BuildFailed):
        build(BuildOptions(root=hub.root))
    monkeypatch.setattr(search, "search_index", real)
    first.write_text(original, "utf-8")
    edit(second, "Avsnitt to.", "Avsnitt to, endret.")
    assert build(BuildOptions(root=hub.root)).road == "bodies"
    edit(first, "Andre avsnitt.", "Sjøfuglene avsnitt.")
    assert build(BuildOptions(root=hub.root)).road == "bodies"
    clean = tmp_path / "clean"
    build(BuildOptions(root=hub.root, out=clean, cache=False))
    incremental, full = comparable(read_tree(hub.root / "output")), comparable(read_tree(clean))
    assert incremental.keys() == full.keys()
    assert [p for p in full if incremental[p] != full[p]] == []
