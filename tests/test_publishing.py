"""What crawlers, feed readers and link checkers see: feeds, sitemap, robots, meta tags, links."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import feedparser
import pytest

from conftest import item
from hubgen.build import BuildOptions, build
from hubgen.check import run_check
from hubgen.cli import main
from hubgen.errors import BuildFailed

GATED_SENTENCE = "Denne lukkede setningen om prisene skal aldri ut i noen feed"


def publishing_hub(make_hub):
    return make_hub(files={
        "content/articles/apen.md": item("Åpen", "Åpent avsnitt.", personas="[cfo, ops]",
                                         date="2026-02-01", updated="2026-02-10",
                                         summary="Kort om den åpne."),
        "content/ebooks/lukket.md": item("Lukket", f"Smakebit.\n\nMer smakebit.\n\n{GATED_SENTENCE}.",
                                         phase="late", date="2026-03-01", cover="c.svg",
                                         summary="Kort om den lukkede."),
        "content/ebooks/c.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "content/articles/eldre.md": item("Eldre", personas="[ops]", date="2025-12-01"),
    })


def test_atom_feeds_are_valid_newest_first_and_link_public_pages(make_hub) -> None:
    hub = publishing_hub(make_hub)
    build(BuildOptions(root=hub.root))
    feed = feedparser.parse((hub.root / "output/feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == ["Lukket", "Åpen", "Eldre"]
    for entry in feed.entries:
        assert entry.link.startswith("https://hub.example.no/")
        assert "/unlocked/" not in entry.link
        path = entry.link.removeprefix("https://hub.example.no/")
        assert (hub.root / "output" / path / "index.html").is_file()
    lukket = feed.entries[0]
    assert lukket.summary == "Kort om den lukkede."
    ops = feedparser.parse((hub.root / "output/personas/ops/feed.xml").read_bytes())
    assert not ops.bozo
    assert [e.title for e in ops.entries] == ["Åpen", "Eldre"]
    for path in ("feed.xml", "personas/cfo/feed.xml", "personas/ops/feed.xml"):
        assert GATED_SENTENCE.encode() not in (hub.root / "output" / path).read_bytes()


def test_sitemap_lists_exactly_the_public_pages(make_hub) -> None:
    hub = publishing_hub(make_hub)
    build(BuildOptions(root=hub.root))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(hub.root / "output/sitemap.xml").getroot()
    urls = {u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
            for u in root.findall("s:url", ns)}
    out = hub.root / "output"
    public = {"https://hub.example.no/" + p.relative_to(out).as_posix().removesuffix("index.html")
              for p in out.rglob("index.html")
              if not p.relative_to(out).as_posix().startswith(("unlocked/", "thanks/", "search/"))}
    assert set(urls) == public
    assert urls["https://hub.example.no/articles/apen/"] == "2026-02-10"
    assert not any("/unlocked/" in u for u in urls)
    robots = (out / "robots.txt").read_text()
    assert "Sitemap: https://hub.example.no/sitemap.xml" in robots
    assert "Disallow: /unlocked/" in robots
    assert "X-Robots-Tag: noindex" in (out / "_headers").read_text()


def test_open_graph_and_canonical(make_hub) -> None:
    hub = publishing_hub(make_hub)
    build(BuildOptions(root=hub.root))
    page = hub.page("/ebooks/lukket/")

    def meta(prop: str) -> str:
        node = page.find("meta", attrs={"property": prop}) or page.find("meta", attrs={"name": prop})
        assert node is not None, prop
        return str(node["content"])

    assert meta("og:title") == "Lukket"
    assert meta("og:url") == "https://hub.example.no/ebooks/lukket/"
    assert meta("og:image") == "https://hub.example.no/ebooks/lukket/c.svg"
    assert meta("og:description") == "Kort om den lukkede."
    assert meta("twitter:card") == "summary_large_image"
    assert page.select_one("link[rel=canonical]")["href"] == "https://hub.example.no/ebooks/lukket/"
    assert GATED_SENTENCE not in str(page.find("head"))


def test_broken_content_link_is_reported_with_its_line(make_hub) -> None:
    hub = make_hub(files={"content/articles/a.md": item(
        "A", "Første linje.\n\nSe [guiden](/ebooks/finnes-ikke/) og [denne](/articles/a/).\n")})
    errors = [str(p) for p in run_check(hub.root) if not p.warning]
    assert errors == ["content/articles/a.md:9: broken link to /ebooks/finnes-ikke/ (no page or "
                      "file of the site has that address; check the spelling, or link to an "
                      "item as /<section>/<slug>/)"]
    with pytest.raises(BuildFailed):
        build(BuildOptions(root=hub.root, strict=True))
    build(BuildOptions(root=hub.root))  # without --strict a broken link does not stop a build


def test_broken_theme_link_is_reported_at_its_page(make_hub) -> None:
    hub = make_hub(files={
        "themes/default/templates/partials/footer.html": '<footer>\n<a href="/nowhere/">x</a>\n</footer>\n',
        "content/articles/a.md": item("A"),
    })
    errors = [str(p) for p in run_check(hub.root) if not p.warning]
    # One report for the link, at the first page holding it, not one per page.
    (error,) = errors
    assert re.fullmatch(r"404\.html:\d+: broken link to /nowhere/ \(and on \d+ more pages\)", error)


def test_check_exits_1_on_errors_and_0_when_clean(make_hub, capsys) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A", "[x](/mangler/)")})
    assert main(["check", "--root", str(hub.root)]) == 1
    assert "broken link to /mangler/" in capsys.readouterr().err
    hub.write("content/articles/a.md", item("A", "[x](/articles/a/)"))
    assert main(["check", "--root", str(hub.root)]) == 0


@pytest.mark.parametrize(("section", "folder", "schema_type"), [
    ("articles", "articles", "Article"), ("ebooks", "ebooks", "Book"),
    ("checklists", "checklists", "HowTo")])
def test_jsonld_type_per_item_type(make_hub, section: str, folder: str, schema_type: str) -> None:
    import json

    hub = make_hub(files={f"content/{folder}/x.md": item("X", "- [ ] Punkt", date="2026-01-02")})
    build(BuildOptions(root=hub.root))
    (script,) = hub.page(f"/{section}/x/").find_all("script", type="application/ld+json")
    data = json.loads(script.string)
    assert data["@type"] == schema_type
    assert data["publisher"] == {"@type": "Organization", "name": "Testhub",
                                 "url": "https://hub.example.no/"}
    assert data["datePublished"] == "2026-01-02"
    assert data["isAccessibleForFree"] is True
