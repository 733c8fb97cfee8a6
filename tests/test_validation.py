"""Editors' mistakes: every one reported in one run, as path:line: message, exit 1, nothing lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HUB_TOML, item
from hubgen.build import BuildOptions, load
from hubgen.cli import main
from hubgen.content import frontmatter as content
from hubgen.content.frontmatter import load_front_matter
from hubgen.errors import BuildFailed

SITES = Path(__file__).parent / "sites"


def problems_of(root: Path) -> list[str]:
    with pytest.raises(BuildFailed) as failed:
        load(BuildOptions(root=root))
    return [str(p) for p in failed.value.problems]


def test_invalid_site_reports_every_error_word_for_word() -> None:
    """The fixture hub has one mistake per file; all are reported, sorted, through the real CLI."""
    run = subprocess.run(
        [sys.executable, "-m", "hubgen.cli", "build", "--root", str(SITES / "invalid")],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 1
    expected = (SITES / "invalid" / "expected-errors.txt").read_text("utf-8")
    assert run.stderr == expected
    assert not (SITES / "invalid" / "output").exists()


def test_unknown_persona_suggests_the_closest_key(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": item("X", personas="[cfoo]")})
    assert problems_of(hub.root) == [
        "content/articles/x.md:3: unknown persona 'cfoo' (did you mean 'cfo'?)"]


def test_yaml_1_1_traps_do_not_change_values(make_hub) -> None:
    """NO, no, 12:30 and 0150 stay the texts the editor wrote."""
    hub = make_hub(files={"content/articles/x.md": item(
        "NO", topics="[NO, no, '0150', 12:30]", summary="12:30")})
    loaded = load(BuildOptions(root=hub.root))
    (entry,) = loaded.hub.items
    assert entry.title == "NO"
    assert entry.topics == ("NO", "0150", "12:30")  # 'no' folds into NO: the same slug
    assert entry.summary == "12:30"



FRONT_MATTERS = [
    "title: NO\ntopics: [NO, no, yes, on, '0150', 12:30]\nsummary: 12:30\n",
    "title: Økonomi\ndate: 2026-03-02\nupdated: 2026-03-02 10:00\nslug: 0150\ndraft: true\n",
    "title: >\n  Folded\n  lines\npersonas:\n  - cfo\n  - yard\nphase: [early, late]\n",
    "base: &b {phase: early}\nother: *b\ncount: 0x1F\nratio: 1.5e3\nnothing: ~\n",
    "\n# a comment\n\ntitle: 'Quoted: yes'  # trailing\nsummary: \"tab\\tand \\u00e6\"\n",
    "<<: {phase: early}\ntitle: Merged\n",  # a merge key: the round trip answers
    "extra: {1: one, 2.5: half}\ntitle: Nested\n",  # keys of nested mappings become text
    "%YAML 1.1\n---\ntitle: Old\ndraft: no\n",  # YAML 1.1 on request: 'no' is false there
    "",
]


@pytest.mark.parametrize("text", FRONT_MATTERS)
def test_the_fast_front_matter_reader_agrees_with_the_round_trip(text: str) -> None:
    # libyaml's parser reads front matter several times faster; the round-trip loader is the
    # reference for values, types and the line of each key.
    fast = load_front_matter(text)
    reference = content._yaml().load(text)
    if reference is None:
        assert fast == (None, {})
        return
    lines = reference.lc.data  # a key merged in (<<) has no line of its own
    assert fast == ({str(k): content._plain(v) for k, v in reference.items()},
                    {str(k): lines[k][0] + 1 for k in reference if k in lines})


def test_front_matter_is_read_with_libyaml_where_it_is_installed() -> None:
    # pyproject.toml requires ruamel.yaml.clib on CPython; without it the reader still works.
    assert content._fast_yaml().Parser.__name__ == "CParser"


def test_invalid_front_matter_is_described_in_the_round_trip_words(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": "---\ntitle: a: b\n---\n\nTekst.\n",
                          "content/articles/y.md": "---\ntitle: A\ntitle: B\n---\n\nTekst.\n"})
    assert problems_of(hub.root) == [
        "content/articles/x.md:2: invalid front matter: mapping values are not allowed here "
        "(check the indentation, and put quotes around values containing ': ')",
        "content/articles/y.md:3: invalid front matter: found duplicate key \"title\" with value "
        "\"B\" (original value: \"A\") (check the indentation, and put quotes around values "
        "containing ': ')"]

def test_octal_looking_number_is_a_type_error_not_a_silent_change(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": item("X", slug="0150")})
    assert problems_of(hub.root) == [
        "content/articles/x.md:3: 'slug' must be text, not int 150 "
        "(put the value in quotes: slug: \"150\")"]


def test_title_that_yaml_reads_as_boolean_is_rejected_with_a_hint(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": item("true")})
    (message,) = problems_of(hub.root)
    assert message.startswith("content/articles/x.md:2: 'title' must be text, not bool True")


def test_errors_from_config_and_content_are_reported_together(make_hub) -> None:
    toml = HUB_TOML.replace('language = "nb"', 'language = "nb"\ncolour = "blue"')
    hub = make_hub(toml=toml, files={"content/articles/x.md": item("X", phase="erly")})
    with pytest.raises(BuildFailed) as failed:
        load(BuildOptions(root=hub.root))
    messages = [str(p) for p in failed.value.problems]
    assert messages == ["hub.toml:5: unknown key 'colour' in [site] (known: title, base_url, "
                        "description, language, theme, timezone, publisher, page_size, featured)"]


def test_config_errors_name_key_and_expectation(make_hub) -> None:
    toml = (HUB_TOML.replace('language = "nb"', 'language = "sv"')
            .replace('default = "open"', 'default = "closed"')
            .replace('title = "Testhub"\n', ""))
    hub = make_hub(toml=toml)
    messages = problems_of(hub.root)
    assert "hub.toml:1: missing required key 'title' in [site] (add title = …: the hub's name, " \
        "in <title> and the header)" in messages
    assert "hub.toml:3: [site] language = 'sv' is not one of: nb, da, en" in messages
    assert "hub.toml:20: [gating] default = 'closed' is not one of: open, gated" in messages


def test_invalid_toml_names_the_line(make_hub) -> None:
    hub = make_hub(toml=HUB_TOML.replace('label = "Driftssjef"', 'label = Driftssjef'))
    (message,) = problems_of(hub.root)
    assert message.startswith("hub.toml:11: invalid TOML")


def test_wrong_type_in_front_matter(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": item("X", personas="{cfo: yes}")})
    (message,) = problems_of(hub.root)
    assert message.startswith("content/articles/x.md:3: 'personas' must be a list of texts")


def test_draft_and_future_items_are_held_back_unless_drafts(make_hub) -> None:
    hub = make_hub(files={
        "content/articles/now.md": item("Now", date="2020-01-01"),
        "content/articles/draft.md": item("Draft", draft="true"),
        "content/articles/later.md": item("Later", date="2999-01-01"),
    })
    published = load(BuildOptions(root=hub.root)).hub
    assert [i.slug for i in published.items] == ["now"]
    assert {i.slug for i in published.held_back} == {"draft", "later"}
    preview = load(BuildOptions(root=hub.root, drafts=True)).hub
    assert {i.slug for i in preview.items} == {"now", "draft", "later"}


def test_slugs_transliterate_nordic_letters(make_hub) -> None:
    hub = make_hub(files={
        "content/articles/Kjøpsguide for Æres-broen på Ålesund.md": item("X"),
        "content/checklists/sjekk/index.md": item("Y"),
    })
    items = load(BuildOptions(root=hub.root)).hub.items
    assert sorted(i.url for i in items) == [
        "/articles/kjopsguide-for-aeres-broen-pa-alesund/", "/checklists/sjekk/"]


def test_gate_resolution_order(make_hub) -> None:
    toml = HUB_TOML.replace('by_phase = { late = "gated" }',
                            'by_phase = { late = "gated" }\nby_type = { checklist = "open" }')
    hub = make_hub(toml=toml, files={
        "content/articles/early.md": item("Early"),
        "content/articles/late.md": item("Late", phase="late"),
        "content/articles/late-open.md": item("Late open", phase="late", access="open"),
        "content/articles/early-gated.md": item("Early gated", access="gated"),
        "content/checklists/late-list.md": item("Late list", phase="late"),
        "content/articles/mixed.md": item("Mixed", phase="[mid, late]"),
    })
    access = {i.slug: i.access for i in load(BuildOptions(root=hub.root)).hub.items}
    assert access == {"early": "open", "late": "gated", "late-open": "open",
                      "early-gated": "gated", "late-list": "open", "mixed": "gated"}


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--root", "/nonexistent/hub"]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2
