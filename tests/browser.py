"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright.

Never a browser download. The tests skip only when the browser is absent AND the environment
variable HUBGEN_REQUIRE_BROWSER is unset; in CI it is set, so a missing browser fails loudly.

    from browser import launch_chromium

    @pytest.mark.browser
    def test_something() -> None:
        with launch_chromium() as browser:
            page = browser.new_page()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_ENV = "HUBGEN_REQUIRE_BROWSER"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def browser_required() -> bool:
    return bool(os.environ.get(REQUIRE_ENV))


def skip_unless_browser() -> None:
    """Skips the calling test when there is no browser and none is required."""
    if not CHROMIUM.exists() and not browser_required():
        pytest.skip(f"{CHROMIUM} not installed (set {REQUIRE_ENV}=1 to make this a failure)")


@contextmanager
def launch_chromium(**launch: Any) -> Iterator[Any]:
    """A launched playwright Browser, closed afterwards; skips or fails as the rule says."""
    skip_unless_browser()
    if not CHROMIUM.exists():
        pytest.fail(f"{REQUIRE_ENV} is set but {CHROMIUM} is missing: install Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if browser_required():
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             **launch)
        try:
            yield browser
        finally:
            browser.close()
