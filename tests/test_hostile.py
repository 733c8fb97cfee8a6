"""Hostile input (issue 12): what lies outside the hub is never read or published, and no input
hangs a build. Each case writes its hub into tmp_path and asserts the clear error and the absence
of the bytes that must not leak."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HubFactory, item, read_tree
from hubgen.build import BuildOptions, build
from hubgen.cli import main
from hubgen.errors import BuildFailed

SECRET = "s3cr3t-value-that-must-never-be-published"


def failed_build(hub: HubFactory, **options: object) -> list[str]:
    with pytest.raises(BuildFailed) as failed:
        build(BuildOptions(root=hub.root, **options))  # type: ignore[arg-type]
    return [str(p) for p in failed.value.problems]


def published_bytes(folder: Path) -> bytes:
    if not folder.exists():
        return b""
    return b"".join(read_tree(folder).values())


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the hub, with a file in it that must never be published."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    return folder


@pytest.mark.parametrize("key", ["cover", "download"])
def test_a_cover_or_download_linking_out_of_content_is_refused(make_hub, outside, key) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A", **{key: "fil.txt"})})
    os.symlink(outside / "secret.txt", hub.root / "content/articles/fil.txt")
    problems = failed_build(hub)
    assert problems == ["content/articles/a.md:3: '" + key + "' file 'fil.txt' is a link to a file "
                        "outside content/ (hubgen never publishes files from outside the hub: "
                        "put the file itself here instead of a link)",
                        "content/articles/fil.txt: is a link to a file outside content/ (hubgen "
                        "never publishes files from outside the hub: put the file itself here "
                        "instead of a link)"]
    assert SECRET.encode() not in published_bytes(hub.root / "output")


def test_the_build_environment_is_never_published(make_hub, monkeypatch) -> None:
    monkeypatch.setenv("HUBGEN_GATE_SECRET", SECRET)
    hub = make_hub(files={"content/articles/a/index.md": item("A", cover="cover.png")})
    os.symlink("/proc/self/environ", hub.root / "content/articles/a/cover.png")
    problems = failed_build(hub)
    assert any("content/articles/a/cover.png: is a link to a file outside content/" in p
               for p in problems)
    assert SECRET.encode() not in published_bytes(hub.root / "output")


def test_a_link_to_the_hubs_own_settings_is_refused(make_hub) -> None:
    # Inside the hub, but not content: hub.toml, .git and .hubgen (the leads) are never published.
    hub = make_hub(files={"content/articles/a/index.md": item("A", download="hub.pdf")})
    os.symlink("../../../hub.toml", hub.root / "content/articles/a/hub.pdf")
    problems = failed_build(hub)
    assert any(p.startswith("content/articles/a/hub.pdf: is a link to a file outside content/")
               for p in problems)
    assert not (hub.root / "output").exists()


def test_a_linked_file_beside_an_item_or_a_page_is_refused(make_hub, outside) -> None:
    hub = make_hub(files={
        "content/articles/a/index.md": item("A", body="![Bilde](bilde.png)\n"),
        "content/pages/om/index.md": "---\ntitle: Om\n---\n\n![Kart](kart.png)\n",
    })
    os.symlink(outside / "secret.txt", hub.root / "content/articles/a/bilde.png")
    os.symlink(outside / "secret.txt", hub.root / "content/pages/om/kart.png")
    problems = failed_build(hub)
    assert [p.split(":")[0] for p in problems] == ["content/articles/a/bilde.png",
                                                   "content/pages/om/kart.png"]


def test_a_markdown_file_or_a_section_folder_linking_out_is_refused(make_hub, outside) -> None:
    (outside / "x.md").write_text(item("Fra utsiden", body=SECRET), encoding="utf-8")
    (outside / "section").mkdir()
    (outside / "section" / "y.md").write_text(item("Også utenfra", body=SECRET), encoding="utf-8")
    hub = make_hub(files={"content/articles/a.md": item("A")})
    os.symlink(outside / "x.md", hub.root / "content/articles/x.md")
    os.symlink(outside / "section", hub.root / "content/checklists")
    problems = failed_build(hub)
    assert problems == [
        "content/articles/x.md: is a link to a file outside content/ (hubgen never publishes "
        "files from outside the hub: put the file itself here instead of a link)",
        "content/checklists: is a link to a folder outside content/ (hubgen never publishes files"
        " from outside the hub: put the folder itself here instead of a link)"]


def test_links_that_stay_inside_content_are_followed(make_hub) -> None:
    hub = make_hub(files={
        "content/articles/a/index.md": item("A", cover="cover.svg"),
        "content/articles/shared/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "content/articles/shared/index.md": item("Felles"),
    })
    os.symlink("../shared/logo.svg", hub.root / "content/articles/a/cover.svg")
    build(BuildOptions(root=hub.root))
    assert (hub.root / "output/articles/a/cover.svg").read_bytes().startswith(b"<svg")
    assert not (hub.root / "output/articles/a/cover.svg").is_symlink()


def test_a_pipe_in_content_is_an_error_not_a_hang(make_hub) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A")})
    os.mkfifo(hub.root / "content/articles/pipe.md")
    os.mkfifo(hub.root / "content/articles/cover.png")
    run = subprocess.run([sys.executable, "-m", "hubgen.cli", "build", "--root", str(hub.root)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert "content/articles/pipe.md: is a pipe, device or socket, not a regular file" in run.stderr
    assert "content/articles/cover.png: is a pipe, device or socket" in run.stderr


def test_a_theme_file_linking_out_of_the_hub_is_refused(make_hub, outside) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A"),
                          "hub.toml": HUB_WITH_THEME})
    static = hub.root / "themes/egen/static"
    static.mkdir(parents=True)
    os.symlink(outside / "secret.txt", static / "extra.css")
    templates = hub.root / "themes/egen/templates/partials"
    templates.mkdir(parents=True)
    os.symlink(outside / "secret.txt", templates / "footer.html")
    problems = failed_build(hub)
    assert any(p.startswith("themes/egen/static/extra.css: is a link to a file outside themes/")
               for p in problems)
    assert any("footer.html" in p and "outside themes/" in p for p in problems)
    assert SECRET.encode() not in published_bytes(hub.root / "output")


def test_a_hub_toml_linking_out_of_the_hub_is_refused(make_hub, outside) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A")})
    (outside / "hub.toml").write_text((hub.root / "hub.toml").read_text("utf-8"), "utf-8")
    (hub.root / "hub.toml").unlink()
    os.symlink(outside / "hub.toml", hub.root / "hub.toml")
    assert failed_build(hub)[0].startswith("hub.toml: is a link to a file outside the hub folder")


def test_check_fails_on_a_linked_file(make_hub, outside, capsys) -> None:
    hub = make_hub(files={"content/ebooks/e.md": item("E", phase="late", download="e.pdf")})
    os.symlink("/etc/passwd", hub.root / "content/ebooks/e.pdf")
    assert main(["check", "--strict", "--root", str(hub.root)]) == 1
    assert "content/ebooks/e.pdf: is a link to a file outside content/" in capsys.readouterr().err


def test_a_link_added_after_a_good_build_is_reported_by_the_next(make_hub, outside) -> None:
    hub = make_hub(files={"content/articles/a/index.md": item("A")})
    build(BuildOptions(root=hub.root))
    os.symlink(outside / "secret.txt", hub.root / "content/articles/a/bilde.png")
    assert failed_build(hub) == [
        "content/articles/a/bilde.png: is a link to a file outside content/ (hubgen never "
        "publishes files from outside the hub: put the file itself here instead of a link)"]


def test_a_link_inside_the_output_never_leads_the_build_outside_it(make_hub, outside) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A"), "content/articles/b.md": item("B")})
    build(BuildOptions(root=hub.root))
    out = hub.root / "output"
    before = sorted(p.name for p in outside.iterdir())
    # Someone (or another tool) left links in the output: to a folder outside, and to a file.
    import shutil
    shutil.rmtree(out / "articles")
    os.symlink(outside, out / "articles")
    (out / "index.html").unlink()
    os.symlink(outside / "secret.txt", out / "index.html")
    hub.write("content/articles/a.md", item("A endret"))
    build(BuildOptions(root=hub.root))
    assert sorted(p.name for p in outside.iterdir()) == before  # nothing written out there
    assert (outside / "secret.txt").read_text("utf-8") == SECRET
    assert not (out / "articles").is_symlink() and (out / "articles/a/index.html").is_file()
    assert not (out / "index.html").is_symlink()
    assert SECRET.encode() not in published_bytes(out)


HUB_WITH_THEME = """\
[site]
title = "Testhub"
base_url = "https://hub.example.no/"
theme = "egen"

[personas.cfo]
label = "Økonomidirektør"

[phases.early]
label = "Tidlig fase"

[forms]
privacy_url = "/personvern/"
"""


# -- input that would hang a build or crash a writer (findings 2, 9, 11) ----------------------

def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        name, before = chr(97 + n), chr(96 + n)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{before}"] * 9) + "]")
    return "\n".join(lines)


def run_build(hub: HubFactory, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hubgen.cli", "build", "--root", str(hub.root),
                           *args], capture_output=True, text=True, timeout=120, check=False)


def test_a_yaml_alias_bomb_is_refused_before_it_expands(make_hub) -> None:
    text = "---\ntitle: Bombe\npersonas: [cfo]\nphase: early\n" + billion_laughs() + "\n---\nX\n"
    hub = make_hub(files={"content/articles/bombe.md": text,
                          "content/articles/ok.md": item("Ok")})
    run = run_build(hub)
    assert run.returncode == 1
    assert run.stderr.splitlines()[0] == (
        "content/articles/bombe.md:9: front matter refused: the front matter grows to more than "
        "10,000 values once its aliases (*name) are expanded (write the values out plainly; front"
        " matter needs no deep nesting or repeated aliases)")
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("front", "line", "message"), [
    ("x: " + "[" * 3000 + "]" * 3000, 5, "lists or mappings nested more than 20 levels deep"),
    ("x: &r [*r]", 5, "an alias (*name) refers to the list or mapping it is in"),
])
def test_front_matter_nested_without_end_is_refused(make_hub, front, line, message) -> None:
    hub = make_hub(files={"content/articles/dyp.md": "---\ntitle: Dyp\npersonas: [cfo]\n"
                          f"phase: early\n{front}\n---\nX\n"})
    assert failed_build(hub)[0].startswith(f"content/articles/dyp.md:{line}: front matter refused:"
                                           f" {message}")


def test_the_preview_shows_an_alias_bomb_and_recovers_when_it_is_removed(make_hub) -> None:
    import io

    from hubgen.serve.server import PreviewServer

    hub = make_hub(files={"content/articles/ok.md": item("Ok")})
    with PreviewServer(hub.root, port=0, out=io.StringIO(), err=io.StringIO()) as server:
        assert not server.wait_for_build(1, timeout=60).failed
        bomb = hub.write("content/articles/bombe.md", "---\ntitle: B\npersonas: [cfo]\n"
                         "phase: early\n" + billion_laughs() + "\n---\nX\n")
        status = server.wait_for_build(2, timeout=60)
        assert status.failed and "front matter refused" in status.problems[0].message
        bomb.unlink()
        assert not server.wait_for_build(3, timeout=60).failed


@pytest.mark.parametrize(("value", "code"), [('"Pris\\vliste"', "U+000B"),
                                             ('"Pris\\x01liste"', "U+0001"),
                                             ('"Pris\\ud800liste"', "U+D800")])
def test_control_characters_and_lone_surrogates_are_errors_at_their_line(make_hub, value,
                                                                         code) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A"),
                          "content/articles/b.md": item(value, topics=f"[{value}]")})
    problems = failed_build(hub)
    assert problems == [
        f"content/articles/b.md:2: 'title' holds the invisible control character {code} (retype "
        "the text, or remove the escape (a backslash code) from it)",
        f"content/articles/b.md:3: 'topics' holds the invisible control character {code} (retype"
        " the text, or remove the escape (a backslash code) from it)"]


@pytest.mark.parametrize(("body", "message"), [
    ("\n".join(" " * (4 * n) + "- punkt" for n in range(1000)),
     "lists or quotes nested more than 32 levels deep"),
    ("Innledning.\n\n" + "[" * 20000 + "x" + "](y)" * 20000,
     "a paragraph with more than 256 '[' characters"),
], ids=["deep-list", "brackets"])
def test_markdown_that_would_hang_the_renderer_is_an_error(make_hub, body, message) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A", body)})
    run = run_build(hub)
    assert run.returncode == 1
    assert run.stderr.startswith("content/articles/a.md:")
    assert message in run.stderr.splitlines()[0] and "Traceback" not in run.stderr


def test_thousands_of_topics_on_one_item_are_an_error(make_hub) -> None:
    topics = ", ".join(f"emne{n}" for n in range(2000))
    hub = make_hub(files={"content/articles/a.md": item("A", topics=f"[{topics}]")})
    assert failed_build(hub) == [
        "content/articles/a.md:3: 2000 topics; an item may have at most 20 (keep the few that say "
        "what the item is about: each topic is a page, and every listing shows them)"]


def test_a_bom_with_old_mac_line_endings_is_read(make_hub) -> None:
    text = "\ufeff---\rtitle: Gammel Mac\rpersonas: [cfo]\rphase: early\r---\r\rTekst.\r"
    hub = make_hub(files={"content/articles/mac.md": text.encode("utf-8")})
    build(BuildOptions(root=hub.root))
    assert "Gammel Mac" in hub.page("/articles/mac/").get_text()


def test_a_weak_strict_secret_is_refused(make_hub, monkeypatch) -> None:
    from conftest import HUB_TOML

    monkeypatch.setenv("HUBGEN_GATE_SECRET", "abc")
    hub = make_hub(HUB_TOML.replace('[gating]\n', '[gating]\nmode = "strict"\n'),
                   files={"content/articles/a.md": item("A", phase="late")})
    assert failed_build(hub) == [
        "hub.toml: $HUBGEN_GATE_SECRET is 3 bytes; strict gating needs a secret of at least 32 "
        "bytes (make one with: python -c \"import secrets; print(secrets.token_urlsafe(32))\" and"
        " store it as HUBGEN_GATE_SECRET)"]


def test_an_emptied_gitignore_of_the_work_folder_is_repaired(make_hub) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A")})
    hub.write(".hubgen/.gitignore", "")  # what a full disk left
    build(BuildOptions(root=hub.root))
    assert "*" in (hub.root / ".hubgen/.gitignore").read_text("utf-8").splitlines()


def test_a_full_disk_is_a_clear_error_and_the_last_output_stands(make_hub, tmp_path) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A")})
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (f"mount -t tmpfs -o size=400k tmpfs {disk} && "
              f"{sys.executable} -m hubgen.cli build --no-search --root {hub.root} --out {disk}/site"
              f" && cp -r {disk}/site {tmp_path}/before && "
              f"head -c 600000 /dev/urandom > {hub.root}/content/articles/stor.bin && "
              f"printf -- '---\\ntitle: Stor\\npersonas: [cfo]\\nphase: early\\ndownload: stor.bin"
              f"\\n---\\nX\\n' > {hub.root}/content/articles/stor.md; "
              f"{sys.executable} -m hubgen.cli build --no-search --root {hub.root} --out {disk}/site;"
              f" echo exit=$?; diff -r {tmp_path}/before {disk}/site && echo unchanged")
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                         timeout=180, check=False)
    assert "exit=1" in run.stdout and "unchanged" in run.stdout, run.stdout + run.stderr
    assert "the disk is full" in run.stderr and "Traceback" not in run.stderr


# -- the no-leak audit: short texts found, nothing after the cut in the teaser, no false alarms
# (findings 7 and 8) ---------------------------------------------------------------------------

CHECKLIST = """\
Gå gjennom punktene før verftet kommer om bord.

- [ ] Bestill kranbil
- [ ] Sjekk radarkabelen
- [ ] Avtal sjøprøve med rederiet
"""


def errors_of(hub: HubFactory) -> list[str]:
    from hubgen.check import run_check

    return [str(p) for p in run_check(hub.root) if not p.warning]


def test_the_audit_finds_short_checklist_items_that_leak(make_hub) -> None:
    hub = make_hub(files={
        "content/checklists/verft.md": item("Verftsliste", CHECKLIST, phase="late", teaser="1"),
        "content/pages/kopi.md": "---\ntitle: Kopi\n---\n\nHusk: Sjekk radarkabelen i dag.\n"})
    errors = errors_of(hub)
    assert errors[0] == ("kopi/index.html: holds gated text of content/checklists/verft.md: "
                         "\"sjekk radarkabelen\"")


def test_a_clean_gated_checklist_passes_the_audit(make_hub) -> None:
    hub = make_hub(files={
        "content/checklists/verft.md": item("Verftsliste", CHECKLIST, phase="late", teaser="1")})
    assert errors_of(hub) == []


def test_the_teaser_holds_nothing_defined_after_the_cut(make_hub) -> None:
    body = """\
[TOC]

Første avsnitt viser [rapporten][r] om ECDIS, og en fotnote[^1].

<!-- more -->

## Hemmelig kapittel om marginer

Her står det lukkede.

[r]: https://hemmelig.example/rapport.pdf
*[ECDIS]: Elektronisk kartsystem med hemmelig forklaring
[^1]: Fotnoten med den lukkede kilden.
"""
    hub = make_hub(files={"content/articles/lukket.md": item("Lukket", body, phase="late")})
    build(BuildOptions(root=hub.root))
    public = (hub.root / "output/articles/lukket/index.html").read_text("utf-8")
    for hidden in ("hemmelig.example", "hemmelig forklaring", "Hemmelig kapittel",
                   "lukkede kilden"):
        assert hidden not in public, hidden
    assert "Første avsnitt viser" in public
    unlocked = next((hub.root / "output/unlocked").glob("*/lukket/index.html")).read_text("utf-8")
    assert "https://hemmelig.example/rapport.pdf" in unlocked and "hemmelig forklaring" in unlocked
    assert errors_of(hub) == []


def test_no_false_alarms_for_shared_sentences_footnotes_or_images_after_the_cut(make_hub) -> None:
    shared = "Denne setningen står både i en åpen og i en lukket artikkel."
    gated = f"""\
Første avsnitt er offentlig.

<!-- more -->

{shared}

![Kart over broen](kart.png)

Se kilden[^1].

[^1]: Se årsrapporten for 2025.
"""
    hub = make_hub(files={
        "content/articles/lukket/index.md": item("Lukket", gated, phase="late"),
        "content/articles/lukket/kart.png": b"\x89PNG fake image bytes",
        "content/articles/apen.md": item("Åpen", f"Innledning.\n\n{shared}\n"),
    })
    assert errors_of(hub) == []
    assert not (hub.root / "output/articles/lukket/kart.png").exists()  # not public
    build(BuildOptions(root=hub.root, strict=True))  # --strict sees no broken link either
