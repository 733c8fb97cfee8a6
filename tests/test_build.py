"""End-to-end builds of small hubs and of the bundled example, asserted on the parsed output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import HUB_TOML, comparable, item, read_tree
from hubgen import parallel
from hubgen.build import BuildOptions, build, load
from hubgen.cli import main
from hubgen.errors import BuildFailed
from hubgen.render.bodies import render_bodies
from hubgen.state.cache import open_cache
from hubgen.state.stores import CachedBodies

REPO = Path(__file__).resolve().parent.parent


def test_bundled_example_hub_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    assert main(["build", "--root", str(REPO), "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert re.search(r"19 items \(10 articles, 4 ebooks, 5 checklists; 11 open, 8 gated\)", summary)
    matrix = BeautifulSoup((out / "matrix/index.html").read_text("utf-8"), "html.parser")
    table = matrix.find("table")
    assert table is not None
    assert len(table.find_all("tr")) == 6  # a header row and one row per persona
    for slug in ("kjopsguide-for-bro", "ecdis-handbok-for-flaten"):
        assert (out / "ebooks" / slug / "index.html").is_file()
    assert (out / "articles/solid-state-radar/cover.svg").is_file()


def test_same_input_gives_identical_bytes_whatever_the_jobs(make_hub, tmp_path: Path) -> None:
    files = {f"content/articles/a{n}.md": item(f"Artikkel {n}", f"Tekst {n}.\n\n## Del {n}\n")
             for n in range(40)}
    hub = make_hub(files=files)
    first, second = tmp_path / "one", tmp_path / "two"
    build(BuildOptions(root=hub.root, out=first, jobs=1, cache=False))
    build(BuildOptions(root=hub.root, out=second, jobs=2, cache=False))
    tree, again = read_tree(first), read_tree(second)
    assert comparable(tree) == comparable(again)
    assert len(tree) > 40



def test_one_job_means_no_worker_process_in_any_stage(make_hub, monkeypatch) -> None:
    # --jobs 1 is the low-memory way to build: reading, Markdown and pages all stay in this process.
    def no_pool(*args: object) -> None:
        raise AssertionError("a worker pool was started")

    monkeypatch.setattr(parallel, "_pooled", no_pool)
    files = {f"content/articles/a{n}.md": item(f"Artikkel {n}") for n in range(40)}
    hub = make_hub(files=files)
    assert len(build(BuildOptions(root=hub.root, jobs=1)).hub.items) == 40

def test_failed_build_leaves_previous_output_untouched(make_hub) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A")})
    build(BuildOptions(root=hub.root))
    before = {path: (data, (hub.root / "output" / path).stat().st_mtime_ns)
              for path, data in hub.output_files().items()}
    hub.write("content/articles/b.md", item("B", phase="nope"))
    hub.write("content/articles/a.md", item("A endret", "Ny tekst."))
    with pytest.raises(BuildFailed):
        build(BuildOptions(root=hub.root))
    after = {path: (data, (hub.root / "output" / path).stat().st_mtime_ns)
             for path, data in hub.output_files().items()}
    assert after == before
    assert not [p for p in hub.root.iterdir() if p.name.startswith(".output")]


def test_checklist_task_lists_become_labelled_checkboxes(make_hub) -> None:
    body = "Intro.\n\n## Før start\n\n- [ ] Mål opp broen\n- [x] Bestill tegninger\n- Vanlig punkt\n"
    hub = make_hub(files={"content/checklists/liste.md": item("Liste", body)})
    build(BuildOptions(root=hub.root))
    page = hub.page("/checklists/liste/")
    boxes = page.select("li.task-item label.task input[type=checkbox]")
    assert [b.has_attr("checked") for b in boxes] == [False, True]
    assert boxes[0].parent.get_text(strip=True) == "Mål opp broen"
    assert page.find("progress") is not None
    css = next((hub.root / "output/static").glob("hub.*.css")).read_text("utf-8")
    assert "@media print" in css


def test_ebook_landing_has_cover_headings_and_open_download(make_hub) -> None:
    body = "Innledning.\n\n## Økonomi først\n\nTekst.\n\n## Drift\n\nMer tekst.\n"
    hub = make_hub(files={
        "content/ebooks/bok.md": item("Boka", body, cover="bok.svg", download="bok.pdf"),
        "content/ebooks/bok.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "content/ebooks/bok.pdf": b"%PDF-1.4 open\n",
    })
    build(BuildOptions(root=hub.root))
    page = hub.page("/ebooks/bok/")
    text = page.get_text(" ")
    assert "Økonomi først" in text and "Drift" in text
    assert page.select_one("img[src$='bok.svg']") is not None
    assert page.select_one("a[href$='/ebooks/bok/bok.pdf']") is not None
    assert (hub.root / "output/ebooks/bok/bok.pdf").read_bytes() == b"%PDF-1.4 open\n"
    # Heading anchors keep Norwegian letters readable.
    assert page.find(id="økonomi-først") is not None


def test_raw_html_is_sanitized_unless_the_hub_opts_out(make_hub) -> None:
    body = ('Trygg <b>tekst</b>.\n\n<script>alert(1)</script>\n\n'
            '<img src="x.png" onerror="alert(2)">\n\n[lenke](javascript:alert(3))\n')
    hub = make_hub(files={"content/articles/x.md": item("X", body)})
    build(BuildOptions(root=hub.root))
    main_html = str(hub.page("/articles/x/").find("main"))
    assert "<b>tekst</b>" in main_html
    for bad in ("alert(1)", "onerror", "javascript:"):
        assert bad not in main_html
    hub.write("hub.toml", HUB_TOML + "\n[markdown]\nsanitize = false\n")
    build(BuildOptions(root=hub.root))
    assert "<script>alert(1)</script>" in str(hub.page("/articles/x/").find("main"))


def test_front_matter_is_escaped(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": item(
        "'<script>alert(1)</script>'", summary="'\"><img src=x onerror=alert(2)>'")})
    build(BuildOptions(root=hub.root))
    html = (hub.root / "output/articles/x/index.html").read_text("utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_third_party_requests_from_the_default_theme(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": item("X", phase="late")})
    build(BuildOptions(root=hub.root))
    for path, data in hub.output_files().items():
        if not path.endswith(".html"):
            continue
        soup = BeautifulSoup(data, "html.parser")
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
                          ("source", "src")):
            for node in soup.find_all(tag):
                if not node.has_attr(attr) or (tag == "link" and node.get("rel") in (
                        ["canonical"], ["alternate"], ["prev"], ["next"])):
                    continue
                assert node[attr].startswith("/"), f"{path}: {tag} {node[attr]}"
        # The form posts to the local collector; nothing is fetched before submit.
        for form in soup.find_all("form"):
            assert form["action"].startswith("/")


def test_static_files_are_fingerprinted(make_hub) -> None:
    hub = make_hub()
    build(BuildOptions(root=hub.root))
    names = sorted(p.name for p in (hub.root / "output/static").iterdir())
    assert any(re.fullmatch(r"hub\.[0-9a-f]{10}\.css", n) for n in names)
    home = hub.page("/")
    css = home.select_one("link[rel=stylesheet]")["href"]
    assert (hub.root / "output" / css.lstrip("/")).is_file()


def test_theme_overrides_one_template(make_hub) -> None:
    hub = make_hub(files={
        "themes/default/templates/partials/footer.html": "<footer>EGEN BUNNTEKST</footer>\n",
        "content/articles/x.md": item("X"),
    })
    build(BuildOptions(root=hub.root))
    page = hub.page("/articles/x/")
    assert page.find("footer").get_text() == "EGEN BUNNTEKST"
    assert page.find("header") is not None  # everything else still comes from the default theme


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_card_of_its_own_sees_the_globals_at_each_heading_level(make_hub, jobs: int) -> None:
    # card_html() renders partials/card.html once per card and heading level, whatever the
    # number of listings showing it; the card still sees the globals every template sees.
    card = ('<article data-filter-card class="card">{{ card.title }} | {{ site.title }} | '
            '{{ personas|length }} | {{ topics|length }} | h{{ card_level }}</article>\n')
    files = {f"content/articles/a{n:02}.md": item(f"Artikkel {n}") for n in range(40)}
    hub = make_hub(files={"themes/default/templates/partials/card.html": card, **files})
    build(BuildOptions(root=hub.root, jobs=jobs, cache=False))
    for url, level in [("/personas/cfo/", 4), ("/articles/", 3)]:  # journey; section list
        cards = [a.get_text() for a in hub.page(url).select("article.card")]
        assert cards and all(text.endswith(f"| Testhub | 2 | 0 | h{level}") for text in cards)
        assert len(set(cards)) == len(cards)  # one card per item, none taken for another


def test_a_card_a_theme_makes_as_a_dict_is_still_rendered(make_hub) -> None:
    # Cards are remembered by value; a theme's own card (a dict) cannot be, and is just rendered.
    hub = make_hub(files={
        "themes/default/templates/partials/footer.html":
            '<footer>{% with cards = [{"title": "Egen"}] %}{% include "partials/cards.html" %}'
            '{% endwith %}</footer>\n',
        "themes/default/templates/partials/card.html": "<i>{{ card.title }}</i>\n",
        "content/articles/x.md": item("X"),
    })
    build(BuildOptions(root=hub.root))
    assert hub.page("/articles/x/").find("footer").find("i").get_text() == "Egen"

def test_template_error_names_template_and_line(make_hub) -> None:
    hub = make_hub(files={
        "themes/default/templates/partials/footer.html": "<footer>\n{{ nosuchthing.x }}\n</footer>\n",
        "content/articles/x.md": item("X"),
    })
    with pytest.raises(BuildFailed) as failed:
        build(BuildOptions(root=hub.root, jobs=1))
    (problem,) = failed.value.problems
    assert problem.path == "themes/default/templates/partials/footer.html"
    assert problem.line == 2
    assert "nosuchthing" in problem.message


@pytest.mark.parametrize(("language", "html_lang", "word"),
                         [("nb", "nb", "Artikler"), ("da", "da", "Artikler"), ("en", "en", "Articles")])
def test_language_sets_lang_strings_and_dates(make_hub, language: str, html_lang: str,
                                              word: str) -> None:
    toml = HUB_TOML.replace('language = "nb"', f'language = "{language}"')
    hub = make_hub(toml=toml, files={"content/articles/x.md": item("X", date="2026-03-02")})
    build(BuildOptions(root=hub.root))
    page = hub.page("/articles/x/")
    assert page.find("html")["lang"] == html_lang
    assert word in hub.page("/").get_text(" ")
    dates = {"nb": "2. mars 2026", "da": "2. marts 2026", "en": "March 2, 2026"}
    assert dates[language] in page.get_text(" ")


def test_hub_toml_can_override_a_string(make_hub) -> None:
    hub = make_hub(toml=HUB_TOML + '\n[strings]\nsection_articles = "Fagartikler"\n')
    build(BuildOptions(root=hub.root))
    assert "Fagartikler" in hub.page("/").get_text(" ")


def test_base_url_with_a_path_prefixes_every_link(make_hub) -> None:
    hub = make_hub(files={"content/articles/x.md": item("X")})
    build(BuildOptions(root=hub.root, base_url="https://example.github.io/hub/"))
    page = hub.page("/articles/x/")
    for node in page.select("a[href^='/'], link[href^='/'], script[src^='/']"):
        target = node.get("href") or node.get("src")
        assert target.startswith("/hub/"), target
    assert page.select_one("link[rel=canonical]")["href"] == \
        "https://example.github.io/hub/articles/x/"


def test_build_refuses_to_replace_the_hub_itself(make_hub, capsys) -> None:
    hub = make_hub()
    assert main(["build", "--root", str(hub.root), "--out", str(hub.root)]) == 2
    assert "refusing to build into this folder" in capsys.readouterr().err
    assert (hub.root / "hub.toml").is_file()


def test_jsonld_describes_the_public_page(make_hub) -> None:
    hub = make_hub(files={"content/ebooks/bok.md": item("Boka", "Smakebit her.\n\nLukket tekst.\n",
                                                        phase="late", summary="Om boka.")})
    build(BuildOptions(root=hub.root))
    scripts = hub.page("/ebooks/bok/").find_all("script", type="application/ld+json")
    (data,) = [json.loads(s.string) for s in scripts]
    assert data["@type"] == "Book"
    assert data["isAccessibleForFree"] is False
    assert data["url"] == "https://hub.example.no/ebooks/bok/"
    assert "Lukket tekst" not in json.dumps(data, ensure_ascii=False)


def test_source_date_epoch_fixes_today(make_hub, monkeypatch) -> None:
    hub = make_hub(files={"content/articles/x.md": item("X", date="2026-06-01")})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    assert [i.slug for i in build(BuildOptions(root=hub.root)).hub.items] == []
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1781136000")  # 2026-06-11
    assert [i.slug for i in build(BuildOptions(root=hub.root)).hub.items] == ["x"]


def test_preview_build_marks_drafts_and_scheduled_items(make_hub) -> None:
    hub = make_hub(files={
        "content/articles/utkast.md": item("Utkast", draft="true"),
        "content/articles/senere.md": item("Senere", date="2999-01-01"),
    })
    build(BuildOptions(root=hub.root, drafts=True, preview=True))
    assert hub.page("/articles/utkast/").select_one(".banner") is not None
    assert "2999" in hub.page("/articles/senere/").select_one(".banner").get_text()


def test_build_in_a_folder_with_only_hub_toml_and_content(tmp_path: Path) -> None:
    root = tmp_path / "minimal"
    shutil.copytree(REPO / "tests/sites/minimal", root)
    assert not (root / "themes").exists()
    result = build(BuildOptions(root=root))
    assert len(result.hub.items) == 1
    assert os.path.isfile(root / "output/index.html")


def test_the_work_folder_keeps_itself_out_of_git(make_hub) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A")})
    build(BuildOptions(root=hub.root))
    assert (hub.root / ".hubgen/.gitignore").read_text("utf-8").splitlines()[-1] == "*"


def test_a_body_pruned_from_the_cache_meanwhile_is_made_again_from_its_file(make_hub) -> None:
    # The build lets go of the Markdown once it is rendered and reads the HTML back from the
    # cache; another build on the same hub may prune that entry in between.
    hub = make_hub(files={"content/articles/a.md": item("A", "Første.\n\nAndre **uthevet**.\n"),
                          "content/articles/b.md": item("B", "Bare én.\n")})
    cache = open_cache(hub.root, True)
    loaded = load(BuildOptions(root=hub.root), cache=cache)
    rendered = render_bodies(loaded.config, loaded.hub.items, loaded.hub.pages,
                             CachedBodies(cache), jobs=1).items
    first = {name: rendered[name] for name in rendered}
    cache.replace_kind("markdown", {})  # what a build with other bodies would leave
    assert {name: rendered[name] for name in rendered} == first
    assert "<strong>uthevet</strong>" in rendered[loaded.hub.items[0].id].html + \
        rendered[loaded.hub.items[1].id].html
    # A file that no longer holds the body this build read: the build fails and says why.
    cache.replace_kind("markdown", {})
    hub.write("content/articles/b.md", item("B", "Endret mens bygget pågikk.\n"))
    b = next(i for i in loaded.hub.items if i.slug == "b")
    with pytest.raises(BuildFailed) as failed:
        rendered[b.id]
    (problem,) = failed.value.problems
    assert problem.path == "content/articles/b.md"
    assert "changed or went away while the site was being built" in problem.message
    assert problem.hint == "build again"
    # Removed or renamed meanwhile: the same, not a crash.
    (hub.root / "content/articles/b.md").unlink()
    with pytest.raises(BuildFailed) as failed:
        rendered[b.id]
    assert failed.value.problems[0].path == "content/articles/b.md"
    cache.close()


def test_a_script_without_a_main_guard_gets_a_clear_error(make_hub, tmp_path: Path) -> None:
    # Workers import the program's main module again (forkserver); an unguarded script that
    # builds would build in each worker too. The build says what to do instead of a traceback
    # about a broken pool.
    hub = make_hub(files={f"content/articles/a{n}.md": item(f"A{n}") for n in range(40)})
    script = tmp_path / "bygg.py"
    script.write_text("from pathlib import Path\nfrom hubgen.build import BuildOptions, build\n"
                      f"build(BuildOptions(root=Path({str(hub.root)!r}), cache=False, jobs=2))\n")
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode != 0
    assert 'guard its work with `if __name__ == "__main__":`' in ran.stderr
    guarded = script.read_text().replace("build(", 'if __name__ == "__main__":\n    build(')
    script.write_text(guarded)
    assert subprocess.run([sys.executable, str(script)], timeout=120).returncode == 0
