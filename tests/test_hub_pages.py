"""Home, type, persona, phase, topic and cell pages, the matrix, filters and pagination."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import HUB_TOML, item
from hubgen.build import BuildOptions, build

THEME = Path(__file__).resolve().parent.parent / "themes" / "default"


def small_hub(make_hub, toml: str = HUB_TOML):
    return make_hub(toml=toml, files={
        "content/articles/tidlig.md": item("Tidlig", personas="[cfo]", phase="early",
                                           topics="[ECDIS, Klassekrav]", date="2026-01-01"),
        "content/articles/midt.md": item("Midt", personas="[cfo, ops]", phase="mid",
                                         topics="[ecdis]", date="2026-02-01"),
        "content/ebooks/sen.md": item("Sen", personas="[cfo]", phase="late", date="2026-03-01"),
        "content/checklists/drift.md": item("Drift", personas="[ops]", phase="early",
                                            topics="[Sjøprøve]", date="2026-04-01"),
    })


def card_titles(page) -> list[str]:
    return [c.select_one(".card__title").get_text(strip=True) for c in page.select("[data-filter-card]")]


def test_listings_hold_exactly_their_items(make_hub) -> None:
    hub = small_hub(make_hub)
    build(BuildOptions(root=hub.root))
    assert card_titles(hub.page("/articles/")) == ["Midt", "Tidlig"]  # newest first
    assert card_titles(hub.page("/phases/early/")) == ["Drift", "Tidlig"]
    assert card_titles(hub.page("/topics/ecdis/")) == ["Midt", "Tidlig"]
    assert card_titles(hub.page("/topics/sjoprove/")) == ["Drift"]
    assert card_titles(hub.page("/personas/ops/early/")) == ["Drift"]
    assert set(card_titles(hub.page("/personas/cfo/"))) == {"Tidlig", "Midt", "Sen"}


def test_cards_carry_filter_data_and_gated_badge(make_hub) -> None:
    hub = small_hub(make_hub)
    build(BuildOptions(root=hub.root))
    cards = {c.select_one(".card__title").get_text(strip=True): c
             for c in hub.page("/").select("[data-filter-card]")}
    assert cards["Midt"]["data-personas"] == "cfo ops"
    assert cards["Midt"]["data-topics"] == "ecdis"
    assert cards["Sen"]["data-type"] == "ebook"
    assert "Krever registrering" in cards["Sen"].get_text(" ")
    assert "Krever registrering" not in cards["Midt"].get_text(" ")


def test_filters_are_links_to_real_pages(make_hub) -> None:
    hub = small_hub(make_hub)
    build(BuildOptions(root=hub.root))
    page = hub.page("/personas/cfo/")
    hrefs = {a["href"] for a in page.select("nav a[href]")}
    # On a persona page a phase filter leads to that persona's cell page.
    assert {"/personas/cfo/early/", "/personas/cfo/mid/", "/personas/cfo/late/"} <= hrefs
    for href in hrefs:
        if href.startswith("/") and not href.startswith("/search"):
            target = hub.root / "output" / href.lstrip("/")
            assert (target / "index.html").is_file() or target.is_file(), href


def test_persona_page_shows_the_journey_with_gaps_named(make_hub) -> None:
    hub = small_hub(make_hub)
    build(BuildOptions(root=hub.root))
    text = hub.page("/personas/ops/").get_text(" ")
    assert "Sen fase" in text
    assert "Ingenting her ennå" in text or "ennå" in text


def test_matrix_counts_open_gated_and_empty_cells(make_hub) -> None:
    hub = small_hub(make_hub)
    build(BuildOptions(root=hub.root))
    rows = {r.find("th").get_text(strip=True): r.find_all("td")
            for r in hub.page("/matrix/").select("tbody tr")}
    cfo = [c.get_text(" ", strip=True) for c in rows["Økonomidirektør"]]
    ops = [c.get_text(" ", strip=True) for c in rows["Driftssjef"]]
    assert cfo == ["1", "1", "1 (1 låst)"]
    assert rows["Økonomidirektør"][2].find("a")["href"] == "/personas/cfo/late/"
    assert ops == ["1", "1", "— Ingen ennå"]  # the gap is named in words, not only colour
    assert rows["Driftssjef"][2].find("a") is None


def test_long_listings_paginate_with_rel_prev_next(make_hub) -> None:
    toml = HUB_TOML.replace('language = "nb"', 'language = "nb"\npage_size = 2')
    files = {f"content/articles/a{n}.md": item(f"A{n}", date=f"2026-01-{n + 1:02d}")
             for n in range(5)}
    hub = make_hub(toml=toml, files=files)
    build(BuildOptions(root=hub.root))
    first, second, third = (hub.page(u) for u in ("/articles/", "/articles/page/2/",
                                                   "/articles/page/3/"))
    assert card_titles(first) == ["A4", "A3"]
    assert card_titles(third) == ["A0"]
    assert first.select_one("link[rel=next]")["href"] == "/articles/page/2/"
    assert second.select_one("link[rel=prev]")["href"] == "/articles/"
    assert third.select_one("link[rel=next]") is None


def test_next_steps_follow_the_journey_and_never_the_item(make_hub) -> None:
    hub = small_hub(make_hub)
    build(BuildOptions(root=hub.root))
    page = hub.page("/articles/tidlig/")
    links = [a["href"] for a in page.select(".next-steps a[href]")]
    assert links and links[0] == "/articles/midt/"  # same persona, next phase first
    assert "/articles/tidlig/" not in links
    assert not any("/unlocked/" in link for link in links)


def test_every_message_key_the_templates_use_exists_in_every_language() -> None:
    import tomllib

    catalogue = tomllib.loads((THEME / "messages.toml").read_text("utf-8"))
    used: set[str] = set()
    for template in (THEME / "templates").rglob("*.html"):
        used |= set(re.findall(r"\bt\(\s*['\"]([a-z0-9_]+)['\"]\s*[,)]",
                               template.read_text("utf-8")))
    used |= {"feed_persona", "cell_title", "matrix", "matrix_intro", "role_other",
             "form_withdraw", "not_found_title", "thanks_title", "form_success"}
    assert len(used) > 40
    missing = sorted(f"{key}:{lang}" for key in used for lang in ("nb", "da", "en")
                     if not isinstance(catalogue.get(key, {}).get(lang), str))
    assert missing == []
