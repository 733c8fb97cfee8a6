"""`hubgen serve` in headless Chromium: an open page follows the editor's saves by itself."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from browser import launch_chromium
from conftest import HUB_TOML, item
from hubgen.serve.server import PreviewServer

FIRST = "content/articles/first.md"
SECONDS = 15_000  # Playwright timeouts are in milliseconds


def long_item(ending: str) -> str:
    body = "\n\n".join(f"Avsnitt {n}: tekst som gjør siden lang nok til å rulle." for n in range(80))
    return item("Lang artikkel", f"{body}\n\nSlutten: {ending}.\n")


@pytest.mark.browser
def test_the_open_page_follows_edits_and_shows_build_errors(
        make_hub: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    hub = make_hub(HUB_TOML, files={FIRST: long_item("versjon én")})
    with PreviewServer(hub.root, port=0, out=io.StringIO(), err=io.StringIO()) as preview, \
            launch_chromium() as browser:
        assert not preview.wait_for_build(1, timeout=60).failed
        page = browser.new_page()
        page.goto(preview.url + "articles/first/")
        expect(page.get_by_text("Slutten: versjon én.")).to_be_visible()
        deadline = time.monotonic() + 10
        while preview.broker.listeners < 1 and time.monotonic() < deadline:
            time.sleep(0.02)  # the page's event stream is connected
        page.evaluate("window.scrollTo(0, 1500)")

        hub.write(FIRST, long_item("versjon to"))
        expect(page.get_by_text("Slutten: versjon to.")).to_be_attached(timeout=SECONDS)
        page.wait_for_function("Math.abs(window.scrollY - 1500) < 5", timeout=SECONDS)

        hub.write(FIRST, "---\ntitle: [oops\npersonas: [cfo]\nphase: early\n---\n\nKaputt.\n")
        overlay = page.locator("#hubgen-overlay[role=alert]")
        expect(overlay).to_be_visible(timeout=SECONDS)
        expect(overlay).to_contain_text(f"{FIRST}:")
        expect(page.get_by_text("Slutten: versjon to.")).to_be_attached()  # the last good page
        page.reload()  # a page opened while the build is broken shows the errors at once
        expect(overlay).to_be_visible(timeout=SECONDS)

        hub.write(FIRST, long_item("versjon tre"))
        expect(page.get_by_text("Slutten: versjon tre.")).to_be_attached(timeout=SECONDS)
        expect(overlay).to_have_count(0)

        expect(page.locator("#hubgen-tools")).to_have_attribute("href", "/_hubgen/")
        page.goto(preview.url + "_hubgen/")
        page.get_by_role("button", name="View as a known visitor").click()
        assert json.loads(page.evaluate("localStorage.getItem('hubgen:unlocked')")) == {"*": True}
        expect(page.locator("#hubgen-visitor-state")).to_contain_text("known visitor")
        page.get_by_role("button", name="View as a new visitor").click()
        assert page.evaluate("localStorage.getItem('hubgen:unlocked')") is None
        expect(page.locator("#hubgen-visitor-state")).to_contain_text("new visitor")
