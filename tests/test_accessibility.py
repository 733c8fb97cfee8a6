"""Structural accessibility checks (WCAG 2.1 AA basics) over every page of the example hub."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from hubgen.build import BuildOptions, build

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BeautifulSoup]:
    out = tmp_path_factory.mktemp("a11y") / "site"
    build(BuildOptions(root=REPO, out=out, search=False, cache=False))
    found = {p.relative_to(out).as_posix(): BeautifulSoup(p.read_text("utf-8"), "html.parser")
             for p in out.rglob("*.html")}
    assert len(found) > 60
    return found


def test_language_landmarks_and_skip_link(pages: dict[str, BeautifulSoup]) -> None:
    for path, page in pages.items():
        assert page.find("html")["lang"] == "nb", path
        mains = page.find_all("main")
        assert len(mains) == 1 and mains[0].get("id") == "main", path
        first_link = page.find("a")
        assert first_link is not None and first_link["href"] == "#main", path
        assert page.find("header") is not None and page.find("footer") is not None, path
        assert page.find("title").get_text(strip=True), path


def test_one_h1_and_no_skipped_heading_levels(pages: dict[str, BeautifulSoup]) -> None:
    for path, page in pages.items():
        levels = [int(h.name[1]) for h in page.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])]
        assert levels.count(1) == 1, path
        for before, after in itertools.pairwise(levels):
            assert after <= before + 1, f"{path}: h{before} then h{after}"


def test_every_control_has_a_label_and_every_reference_resolves(
        pages: dict[str, BeautifulSoup]) -> None:
    for path, page in pages.items():
        ids = [node["id"] for node in page.find_all(id=True)]
        assert len(ids) == len(set(ids)), f"{path}: duplicate ids"
        for control in page.find_all(["input", "select", "textarea"]):
            if control.get("type") == "hidden":
                continue
            labelled = (control.get("aria-label") or control.find_parent("label")
                        or (control.get("id") and page.find("label", attrs={"for": control["id"]})))
            assert labelled, f"{path}: unlabelled {control}"
        for node in page.find_all(attrs={"aria-describedby": True}):
            for ref in node["aria-describedby"].split():
                assert page.find(id=ref) is not None, f"{path}: aria-describedby={ref}"
        for node in page.find_all(attrs={"aria-labelledby": True}):
            for ref in node["aria-labelledby"].split():
                assert page.find(id=ref) is not None, f"{path}: aria-labelledby={ref}"


def test_images_have_alt_and_links_have_names(pages: dict[str, BeautifulSoup]) -> None:
    for path, page in pages.items():
        for image in page.find_all("img"):
            assert image.has_attr("alt"), f"{path}: {image}"
        for link in page.find_all("a", href=True):
            name = link.get_text(strip=True) or link.get("aria-label") or (
                link.find("img") and link.find("img").get("alt"))
            assert name, f"{path}: a link without a name: {link}"


def test_consent_boxes_are_unticked_and_the_form_says_how_to_withdraw(
        pages: dict[str, BeautifulSoup]) -> None:
    forms = [(path, form) for path, page in pages.items()
             for form in page.select("form[data-hubgen-form]")]
    assert len(forms) == 8  # the example hub's eight gated items
    for path, form in forms:
        boxes = form.select("input[type=checkbox][name^=consent_]")
        assert [b["name"] for b in boxes] == ["consent_newsletter", "consent_contact"], path
        assert not any(b.has_attr("checked") for b in boxes), path
        assert "trekke tilbake samtykket" in form.get_text(" "), path
        assert form.select_one("a[href='/personvern/']") is not None, path
        assert form.select_one("input#email[type=email][required][autocomplete=email]"), path
