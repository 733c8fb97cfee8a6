"""Gated items: tokens, what the public page holds, and the no-leak audit catching real leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import HUB_TOML, item, read_tree
from hubgen.build import BuildOptions, build, load
from hubgen.check import run_check
from hubgen.errors import BuildFailed
from hubgen.gating.gate import DEV_SECRET, Gate

SENTINEL = "Sentinelsetningen om hemmelige marginer skal aldri vises offentlig"
TEASER = "Denne innledningen er offentlig og forteller hva e-boken handler om"
BODY = f"""\
{TEASER}.

<!-- more -->

## Hva du lærer

{SENTINEL}.

En annen lukket setning med nok ord til at revisjonen ser etter den.
"""


def gated_hub(make_hub, toml: str = HUB_TOML, extra: dict[str, str | bytes] | None = None):
    files: dict[str, str | bytes] = {
        "content/ebooks/guide.md": item("Guiden", BODY, phase="late", download="guide.pdf",
                                        summary="Kort om guiden."),
        "content/ebooks/guide.pdf": b"%PDF-1.4 secret bytes of the download\n",
        "content/articles/open.md": item("Åpen artikkel", "Et åpent avsnitt med mange nok ord i."),
    }
    files.update(extra or {})
    return make_hub(toml=toml, files=files)


def public_files(out: Path) -> dict[str, bytes]:
    return {path: data for path, data in read_tree(out).items()
            if not path.startswith("unlocked/")}


def test_token_is_stable_secret_dependent_and_per_item(make_hub) -> None:
    hub = gated_hub(make_hub)
    loaded = load(BuildOptions(root=hub.root))
    (guide,) = [i for i in loaded.hub.items if i.gated]
    a, b = Gate("soft", "s1", False), Gate("soft", "s2", False)
    assert a.token(guide) == Gate("soft", "s1", False).token(guide)
    assert a.token(guide) != b.token(guide)
    assert len(a.token(guide)) == 32
    assert a.unlocked_url(guide) == f"/unlocked/{a.token(guide)}/guide/"


def test_public_page_holds_teaser_and_headings_not_body_or_download(make_hub) -> None:
    hub = gated_hub(make_hub)
    result = build(BuildOptions(root=hub.root))
    page = hub.page("/ebooks/guide/")
    text = page.get_text(" ")
    assert TEASER in text
    assert "Hva du lærer" in text  # an e-book's headings are public: "what you will learn"
    assert SENTINEL not in text
    for name, data in public_files(hub.root / "output").items():
        assert SENTINEL.encode() not in data, name
        assert b"guide.pdf" not in data, name
        assert b"secret bytes of the download" not in data, name
    unlocked = result.gate.unlocked_url(next(i for i in result.hub.items if i.gated))
    full = (hub.root / "output" / unlocked.strip("/") / "index.html").read_text("utf-8")
    assert SENTINEL in full
    assert 'content="noindex' in full
    assert (hub.root / "output" / unlocked.strip("/") / "guide.pdf").read_bytes().startswith(b"%PDF")


def test_check_passes_on_a_clean_hub(make_hub) -> None:
    hub = gated_hub(make_hub)
    problems = run_check(hub.root)
    assert [p for p in problems if not p.warning] == []


def test_check_names_a_page_that_copies_gated_text(make_hub) -> None:
    hub = gated_hub(make_hub, extra={
        "content/pages/kopi.md": f"---\ntitle: Kopi\n---\n\nSitat: {SENTINEL}.\n"})
    errors = [str(p) for p in run_check(hub.root) if not p.warning]
    leak = f"holds gated text of content/ebooks/guide.md: \"{SENTINEL.casefold()}.\""
    assert errors[0] == f"kopi/index.html: {leak}"
    # The copied sentence is in the search index too, and the audit reads its compressed fragments.
    assert [e.split(":", 1)[0].split("/")[:2] for e in errors[1:]] == [["pagefind", "fragment"]]
    assert errors[1].endswith(leak)


def test_check_names_a_public_link_to_the_gated_download(make_hub) -> None:
    hub = gated_hub(make_hub, extra={
        "content/articles/lenke.md": item("Lenke", "Last ned [her](/ebooks/guide/guide.pdf).")})
    errors = [str(p) for p in run_check(hub.root) if not p.warning]
    assert errors == [
        "articles/lenke/index.html: names the gated download 'guide.pdf' of "
        "content/ebooks/guide.md",
        # and the link leads nowhere, since the file is published only under /unlocked/
        "content/articles/lenke.md:7: broken link to /ebooks/guide/guide.pdf (no page or file of "
        "the site has that address; check the spelling, or link to an item as /<section>/<slug>/)"]


def test_strict_mode_keeps_the_token_out_and_check_finds_a_planted_one(make_hub, monkeypatch) -> None:
    toml = HUB_TOML.replace('by_phase = { late = "gated" }',
                            'by_phase = { late = "gated" }\nmode = "strict"')
    monkeypatch.setenv("HUBGEN_GATE_SECRET", "a-long-test-secret-of-at-least-32-bytes")
    hub = gated_hub(make_hub, toml=toml)
    result = build(BuildOptions(root=hub.root))
    token = result.gate.token(next(i for i in result.hub.items if i.gated))
    for name, data in public_files(hub.root / "output").items():
        assert token.encode() not in data, name
    assert [p for p in run_check(hub.root) if not p.warning] == []
    hub.write("content/pages/lekk.md", f"---\ntitle: Lekk\n---\n\nSe /unlocked/{token}/guide/\n")
    errors = [str(p) for p in run_check(hub.root) if not p.warning]
    assert errors[0] == ("lekk/index.html: holds the unlock token of content/ebooks/guide.md "
                         "(strict mode)")
    # The search index carries the planted page too (its words, its address): also reported.
    assert errors[1:] and all(e.startswith("pagefind/") for e in errors[1:]), errors


def test_strict_mode_without_secret_fails_unless_dev(make_hub, monkeypatch) -> None:
    monkeypatch.delenv("HUBGEN_GATE_SECRET", raising=False)
    toml = HUB_TOML.replace('by_phase = { late = "gated" }',
                            'by_phase = { late = "gated" }\nmode = "strict"')
    hub = gated_hub(make_hub, toml=toml)
    with pytest.raises(BuildFailed) as failed:
        build(BuildOptions(root=hub.root))
    assert [str(p) for p in failed.value.problems] == [
        "hub.toml: gating mode is strict but $HUBGEN_GATE_SECRET is not set (export "
        "HUBGEN_GATE_SECRET=<a long random text> (keep it in CI's secrets), or pass --dev for a "
        "local build with a public development secret)"]
    result = build(BuildOptions(root=hub.root, dev=True))
    assert result.gate.secret == DEV_SECRET


def test_required_consent_warns_with_the_gdpr_rule(make_hub) -> None:
    hub = gated_hub(make_hub, toml=HUB_TOML.replace('text = "Send meg nyhetsbrevet."',
                                                    'text = "Send meg nyhetsbrevet."\nrequired = true'))
    warnings = [str(p) for p in run_check(hub.root) if p.warning]
    assert any("GDPR art. 7(4)" in w and "newsletter" in w for w in warnings)


def test_missing_privacy_page_is_an_error(make_hub) -> None:
    hub = gated_hub(make_hub)
    (hub.root / "content/pages/personvern.md").unlink()
    errors = [str(p) for p in run_check(hub.root) if not p.warning]
    assert "hub.toml: privacy_url /personvern/ is not a page of this site (add " \
        "content/pages/personvern.md or fix [forms] privacy_url)" in errors
    # The form's link to it is broken too, and reported once, at the first page holding it.
    (broken,) = [e for e in errors if "broken link" in e]
    assert re.fullmatch(r"ebooks/guide/index\.html:\d+: broken link to /personvern/", broken)


def test_markdown_can_place_a_plain_sign_up_form(make_hub) -> None:
    hub = make_hub(files={"content/pages/nyhetsbrev.md":
                          "---\ntitle: Nyhetsbrev\n---\n\nMeld deg på.\n\n[[consent-form]]\n"})
    build(BuildOptions(root=hub.root))
    page = hub.page("/nyhetsbrev/")
    form = page.select_one("form[data-hubgen-form]")
    assert form is not None and form["action"] == "/_hubgen/submit"
    assert form.select_one("input[name=item_id]")["value"] == ""  # a sign-up, not an unlock
    assert form.select_one("input[name=consent_newsletter]").has_attr("checked") is False
    assert page.select_one("script[src*='form.']") is not None
    assert "[[consent-form]]" not in page.get_text()


def test_netlify_form_carries_what_netlify_needs(make_hub) -> None:
    toml = HUB_TOML.replace('backend = "local"', 'backend = "netlify"')
    hub = gated_hub(make_hub, toml=toml)
    build(BuildOptions(root=hub.root))
    form = hub.page("/ebooks/guide/").select_one("form[data-hubgen-form]")
    assert form["data-netlify"] == "true"
    assert form["name"] == "hub-consent-ebooks-guide"
    assert form["netlify-honeypot"] == "website"
    assert form.select_one("input[name=form-name]")["value"] == "hub-consent-ebooks-guide"
    assert form["action"] == "/thanks/"
    assert (hub.root / "output/thanks/index.html").is_file()  # the static result page
