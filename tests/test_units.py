"""The pure pieces on their own, without a build: Markdown, the hub, the views, the gate, the
limits. Each takes values and gives values, so each is tested with values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hubgen.config import Config, Consent
from hubgen.content.limits import body_problem, control_character
from hubgen.errors import Problems
from hubgen.gating.gate import Gate, resolve_access
from hubgen.hub import build_hub, newest_first, publication
from hubgen.model import Item, Persona, Phase
from hubgen.render.markdown import render_markdown
from hubgen.render.views import Views


def config(**gating: object) -> Config:
    return Config(
        root=Path("/hub"), title="Hub", base_url="https://hub.example.no/", description="",
        language="nb", theme="default", timezone="Europe/Oslo", publisher="Hub", page_size=12,
        featured=(), personas=(Persona("cfo", "Økonomidirektør"), Persona("ops", "Driftssjef")),
        phases=(Phase("early", "Tidlig"), Phase("mid", "Midt"), Phase("late", "Sen")),
        gating={"default": "open", "by_phase": {}, "by_type": {}, "mode": "soft",
                "secret_env": "X", "teaser_paragraphs": 2, **gating},
        forms={"privacy_url": "/personvern/"}, consents=(Consent("nyhetsbrev", "Ja takk"),),
        sanitize=True)


def make_item(slug: str, **fields: object) -> Item:
    values: dict[str, object] = {
        "source": Path(f"content/articles/{slug}.md"), "type": "article", "slug": slug,
        "title": slug.title(), "summary": "", "personas": ("cfo",), "phases": ("early",),
        "access": "open", "body": "Tekst.", "body_line": 5}
    values.update(fields)
    return Item(**values)  # type: ignore[arg-type]


# -- Markdown ------------------------------------------------------------------------------------

def test_the_teaser_keeps_its_paragraphs_and_the_rest_stays_in_the_whole() -> None:
    done = render_markdown("En.\n\nTo.\n\nTre.\n\n## Fire\n\nFem.\n", teaser=2)
    assert done.teaser_html == "<p>En.</p>\n<p>To.</p>\n"
    assert done.html.startswith(done.teaser_html) and "Fem." in done.html
    assert [(h.level, h.text, h.anchor) for h in done.headings] == [(2, "Fire", "fire")]
    assert done.words == 5


def test_a_body_no_longer_than_its_teaser_keeps_its_end_back() -> None:
    assert render_markdown("En.\n\nTo.\n", teaser=2).teaser_html == "<p>En.</p>\n"


def test_more_marks_the_cut_and_never_shows() -> None:
    done = render_markdown("En.\n\n<!-- more -->\n\nTo.\n", teaser=5)
    assert done.teaser_html == "<p>En.</p>\n" and "more" not in done.html


def test_task_lists_become_labelled_checkboxes_and_script_is_cleaned_away() -> None:
    done = render_markdown("- [ ] Én\n- [x] To\n\n<script>alert(1)</script>\n", teaser=0)
    assert done.html.count('type="checkbox"') == 2 and "checked" in done.html
    assert "<script" not in done.html
    assert 'class="task-list"' in done.html


def test_norwegian_letters_stay_in_anchors() -> None:
    assert render_markdown("## Økonomi og drift\n", 0).headings[0].anchor == "økonomi-og-drift"


# -- the hub ---------------------------------------------------------------------------------------

def test_drafts_and_future_items_are_held_back_unless_the_preview_asks() -> None:
    today = dt.date(2026, 5, 1)
    later = make_item("senere", date=dt.date(2026, 6, 1))
    draft = make_item("utkast", draft=True)
    assert publication(later, today, include_drafts=False).scheduled == dt.date(2026, 6, 1)
    assert not publication(draft, today, include_drafts=False).published
    assert publication(draft, today, include_drafts=True).published
    hub = build_hub(config(), [later, draft, make_item("nå")], [], today, False,
                    Problems(Path("/hub")))
    assert [i.slug for i in hub.items] == ["nå"]
    assert {i.slug for i in hub.held_back} == {"senere", "utkast"}


def test_newest_first_breaks_ties_by_title_then_id() -> None:
    same = dt.date(2026, 1, 1)
    items = [make_item("b", title="Beta", date=same), make_item("a", title="Alfa", date=same),
             make_item("c", title="Ceta", date=dt.date(2026, 2, 1))]
    assert [i.slug for i in newest_first(items)] == ["c", "a", "b"]


def test_featured_ids_that_do_not_exist_are_errors_with_a_suggestion() -> None:
    problems = Problems(Path("/hub"))
    cfg = config()
    cfg = Config(**{**cfg.__dict__, "featured": ("articles/alfaa",)})
    build_hub(cfg, [make_item("alfa")], [], dt.date(2026, 1, 1), False, problems)
    assert [p.hint for p in problems.errors] == ["did you mean 'articles/alfa'?"]


# -- the views ---------------------------------------------------------------------------------

def test_next_steps_go_to_the_next_phase_for_the_same_persona_first() -> None:
    early = make_item("tidlig", topics=("radar",), date=dt.date(2026, 1, 1))
    mid = make_item("midt", phases=("mid",), date=dt.date(2026, 1, 2))
    other = make_item("annen", personas=("ops",), phases=("mid",), topics=("radar",))
    hub = build_hub(config(), [early, mid, other], [], dt.date(2026, 6, 1), False,
                    Problems(Path("/hub")))
    views = Views(config(), hub, lambda key, **kw: key)
    assert [c.id for c in views.next_steps(early)] == ["articles/midt", "articles/annen"]
    matrix = {(row.persona.key, cell.phase.key): cell.count
              for row in views.matrix() for cell in row.cells}
    assert matrix[("cfo", "early")] == 1 and matrix[("ops", "late")] == 0


# -- the gate ------------------------------------------------------------------------------------

def test_access_the_item_says_wins_then_type_then_phase_then_default() -> None:
    cfg = config(by_type={"ebook": "gated"}, by_phase={"late": "gated", "early": "open"})
    assert resolve_access("open", ("late",), "ebook", cfg) == "open"
    assert resolve_access(None, ("early",), "ebook", cfg) == "gated"
    assert resolve_access(None, ("early", "late"), "article", cfg) == "gated"
    assert resolve_access(None, ("mid",), "article", cfg) == "open"


def test_the_unlock_token_depends_on_the_secret_and_the_item() -> None:
    item = make_item("guide")
    one, two = Gate("strict", "x" * 32, False), Gate("strict", "y" * 32, False)
    assert one.token(item) == one.token(make_item("guide"))
    assert one.token(item) != two.token(item) != one.token(make_item("annen"))
    assert one.unlocked_url(item) == f"/unlocked/{one.token(item)}/guide/"


# -- limits --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "line"), [
    ("Tekst.\n\n```\n" + "[" * 500 + "\n```\n", None),  # code may hold anything
    ("Innledning.\n\n" + "[x]" * 300 + "\n", 2),
    ("\n".join(" " * 4 * n + "- x" for n in range(40)), 32),  # the 33rd level
    (">" * 40 + " sitat\n", 0),
], ids=["code", "brackets", "list", "quote"])
def test_body_limits(body: str, line: int | None) -> None:
    found = body_problem(body)
    assert (found[0] if found else None) == line


def test_control_characters_are_named() -> None:
    assert control_character("Pris\x0bliste") == "U+000B"
    assert control_character("Prisliste\t med tab\n") is None
