"""A rebuild with the cache equals a clean full build, byte for byte, after every kind of change;
and a rebuild with no change writes nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import HubFactory, comparable, item, read_tree
from hubgen.build import BuildOptions, build
from hubgen.errors import BuildFailed
from hubgen.sources import MAX_TEXT_BYTES, HubFiles
from hubgen.state.resident import Resident


def hub_with_items(make_hub) -> HubFactory:
    files = {
        "content/articles/en.md": item("Første", "Avsnitt en.\n\nAvsnitt to.\n", topics="[radar]",
                                       date="2026-01-01"),
        "content/articles/to.md": item("Andre", personas="[cfo, ops]", phase="mid",
                                       topics="[radar, drift]", date="2026-02-01"),
        "content/ebooks/bok.md": item("Boka", "Smakebit.\n\nMer.\n\n## Kapittel\n\nLukket.\n",
                                      phase="late", date="2026-03-01", download="bok.pdf"),
        "content/ebooks/bok.pdf": b"%PDF-1.4 bok\n",
        "content/checklists/liste.md": item("Lista", "- [ ] Punkt\n", personas="[ops]",
                                            date="2026-04-01"),
    }
    # Enough items that rendering goes through the process pool as well.
    files.update({f"content/articles/fyll{n}.md": item(f"Fyll {n}", f"Tekst {n}.",
                                                       date=f"2025-05-{n % 28 + 1:02d}")
                  for n in range(40)})
    return make_hub(files=files)


def assert_equals_clean_build(hub: HubFactory, tmp_path: Path) -> None:
    """The hub's output, built incrementally, is byte for byte a clean build's."""
    clean = tmp_path / "clean"
    build(BuildOptions(root=hub.root, out=clean, cache=False))
    assert comparable(read_tree(hub.root / "output")) == comparable(read_tree(clean))


@contextmanager
def cache_held(hub: HubFactory, monkeypatch: pytest.MonkeyPatch,
               mode: str = "EXCLUSIVE") -> Iterator[None]:
    """Another build holds the hub's cache: EXCLUSIVE, it cannot be used at all; IMMEDIATE, it
    can be read but not written."""
    from hubgen.state import cache

    monkeypatch.setattr(cache, "LOCK_SECONDS", 0.1)
    holder = sqlite3.connect(hub.root / ".hubgen/cache.sqlite")
    holder.execute(f"BEGIN {mode}")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


THEME = Path(__file__).resolve().parent.parent / "themes" / "default"

CHANGES: dict[str, Callable[[HubFactory], None]] = {
    "body": lambda h: edit(h.root / "content/articles/en.md", "Avsnitt to.", "Avsnitt to, endret."),
    "title": lambda h: edit(h.root / "content/articles/to.md", "title: Andre", "title: Andre nye"),
    "persona": lambda h: edit(h.root / "content/articles/en.md", "personas: [cfo]",
                              "personas: [ops]"),
    "phase": lambda h: edit(h.root / "content/articles/en.md", "phase: early", "phase: late"),
    "access open->gated": lambda h: edit(h.root / "content/articles/to.md", "phase: mid",
                                         "phase: mid\naccess: gated"),
    "access gated->open": lambda h: edit(h.root / "content/ebooks/bok.md", "phase: late",
                                         "phase: late\naccess: open"),
    "draft": lambda h: edit(h.root / "content/articles/to.md", "phase: mid", "phase: mid\ndraft: true"),
    "date": lambda h: edit(h.root / "content/articles/en.md", "2026-01-01", "2026-05-01"),
    "topic": lambda h: edit(h.root / "content/articles/to.md", "[radar, drift]", "[sonar]"),
    "new item": lambda h: h.write("content/articles/ny.md", item("Ny", phase="mid",
                                                                 topics="[radar]")),
    "deleted item": lambda h: (h.root / "content/articles/to.md").unlink(),
    "renamed file": lambda h: (h.root / "content/articles/en.md").rename(
        h.root / "content/articles/omdopt.md"),
    "template": lambda h: h.write("themes/default/templates/partials/footer.html",
                                  "<footer>ny bunntekst</footer>\n"),
    "static asset": lambda h: h.write("themes/default/static/hub.css",
                                      (THEME / "static/hub.css").read_text("utf-8") + "\n/* ny */\n"),
    "download file": lambda h: h.write("content/ebooks/bok.pdf", b"%PDF-1.4 ny bok\n"),
    "hub.toml": lambda h: edit(h.root / "hub.toml", 'label = "Driftssjef"', 'label = "Driftsleder"'),
    "message override": lambda h: edit(h.root / "hub.toml", "[forms]",
                                       '[strings]\nsection_articles = "Fagstoff"\n\n[forms]'),
    "gated body": lambda h: edit(h.root / "content/ebooks/bok.md", "Lukket.", "Lukket, endret."),
    "two bodies": lambda h: (CHANGES["body"](h), edit(h.root / "content/checklists/liste.md",
                                                      "- [ ] Punkt", "- [x] Punkt\n- [ ] Nytt")),
    "body and title": lambda h: (CHANGES["body"](h), edit(h.root / "content/articles/en.md",
                                                          "title: Første", "title: Først")),
}
# Changes that reach only the edited items' own pages (incremental.py, road 2).
BODY_ONLY = {"body", "gated body", "two bodies"}


@pytest.mark.parametrize("change", list(CHANGES))
def test_incremental_rebuild_equals_clean_build(make_hub, tmp_path: Path, change: str) -> None:
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    CHANGES[change](hub)
    result = build(BuildOptions(root=hub.root))
    assert result.road == ("bodies" if change in BODY_ONLY else "full")
    clean = tmp_path / "clean"
    build(BuildOptions(root=hub.root, out=clean, cache=False))
    incremental, full = comparable(read_tree(hub.root / "output")), comparable(read_tree(clean))
    assert incremental.keys() == full.keys()
    assert [p for p in full if incremental[p] != full[p]] == []


@pytest.mark.parametrize("then", ["nothing else", "another title", "hub.toml", "template"])
def test_an_edit_undone_later_leaves_no_stale_page(make_hub, tmp_path: Path, then: str) -> None:
    """Road 2 records the pages it made: when the body comes back to what it was, together with a
    change that sends the build down the full road, the page is not taken for unchanged."""
    hub = hub_with_items(make_hub)
    page = hub.root / "content/articles/en.md"
    original = page.read_text("utf-8")
    build(BuildOptions(root=hub.root))
    edit(page, "Avsnitt to.", "Avsnitt TO.")  # same size: only the recorded key can tell
    assert build(BuildOptions(root=hub.root)).road == "bodies"
    page.write_text(original, "utf-8")
    if then == "another title":  # the full road, and the page's own inputs are as they were
        edit(hub.root / "content/articles/fyll7.md", "title: Fyll 7", "title: Fyll sju")
    elif then != "nothing else":
        CHANGES[then](hub)
    build(BuildOptions(root=hub.root))
    assert_equals_clean_build(hub, tmp_path)
    assert b"Avsnitt TO." not in (hub.root / "output/articles/en/index.html").read_bytes()


def test_a_held_back_item_edit_takes_the_full_road(make_hub) -> None:
    hub = hub_with_items(make_hub)
    hub.write("content/articles/utkast.md", item("Utkast", "Tekst.", draft="true"))
    build(BuildOptions(root=hub.root))
    edit(hub.root / "content/articles/utkast.md", "Tekst.", "Mer tekst.")
    result = build(BuildOptions(root=hub.root))
    assert result.road == "full"
    assert not (hub.root / "output/articles/utkast").exists()


def test_strict_checks_the_links_of_an_edited_body(make_hub) -> None:
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root, strict=True))
    edit(hub.root / "content/articles/en.md", "Avsnitt to.", "Se [her](/articles/finnes-ikke/).")
    with pytest.raises(BuildFailed) as failed:
        build(BuildOptions(root=hub.root, strict=True))
    assert any("finnes-ikke" in p.message and p.path == "content/articles/en.md"
               for p in failed.value.problems)


def test_a_missing_output_file_sends_a_body_edit_down_the_full_road(make_hub, tmp_path: Path) -> None:
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    (hub.root / "output/articles/to/index.html").unlink()
    CHANGES["body"](hub)
    assert build(BuildOptions(root=hub.root)).road == "full"
    assert (hub.root / "output/articles/to/index.html").is_file()


def test_a_change_is_really_seen(make_hub) -> None:
    """Guards the test above: the edits do change the output."""
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    before = read_tree(hub.root / "output")
    CHANGES["body"](hub)
    build(BuildOptions(root=hub.root))
    after = read_tree(hub.root / "output")
    assert before["articles/en/index.html"] != after["articles/en/index.html"]
    assert b"Avsnitt to, endret." in after["articles/en/index.html"]


def test_rebuild_with_no_change_writes_nothing(make_hub) -> None:
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    out = hub.root / "output"
    stamps = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    result = build(BuildOptions(root=hub.root))
    assert result.written == 0
    now = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert now == stamps


def test_deleting_the_cache_changes_nothing(make_hub, tmp_path: Path) -> None:
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    first = read_tree(hub.root / "output")
    (hub.root / ".hubgen" / "cache.sqlite").unlink()
    build(BuildOptions(root=hub.root))
    assert comparable(read_tree(hub.root / "output")) == comparable(first)


def test_a_corrupt_cache_is_rebuilt_not_fatal(make_hub) -> None:
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    for suffix in ("", "-wal", "-shm"):
        Path(str(hub.root / ".hubgen/cache.sqlite") + suffix).unlink(missing_ok=True)
    (hub.root / ".hubgen/cache.sqlite").write_bytes(b"this is not a database" * 100)
    result = build(BuildOptions(root=hub.root))
    assert len(result.hub.items) == 44



def test_a_scheduled_item_appears_when_its_day_comes(make_hub, tmp_path: Path, monkeypatch) -> None:
    hub = hub_with_items(make_hub)
    hub.write("content/articles/senere.md", item("Senere", date="2026-06-01"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    build(BuildOptions(root=hub.root))
    assert not (hub.root / "output/articles/senere").exists()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1781136000")  # 2026-06-11: nothing else changed
    build(BuildOptions(root=hub.root))
    assert_equals_clean_build(hub, tmp_path)
    assert (hub.root / "output/articles/senere/index.html").is_file()


def test_touching_a_file_without_changing_it_rebuilds_nothing(make_hub) -> None:
    import os

    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    os.utime(hub.root / "content/articles/en.md")
    assert build(BuildOptions(root=hub.root)).written == 0


def test_an_edit_rewrites_only_the_files_it_changes(make_hub) -> None:
    hub = hub_with_items(make_hub)
    # Without the search index, which Pagefind rewrites whole whenever a page changes.
    build(BuildOptions(root=hub.root, search=False))
    out = hub.root / "output"
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    CHANGES["body"](hub)
    result = build(BuildOptions(root=hub.root, search=False))
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    changed = sorted(p.relative_to(out).as_posix() for p in after if after[p] != before.get(p))
    assert changed == ["articles/en/index.html"]  # its body is on its own page only
    assert result.written == 1


def test_preview_and_published_builds_into_one_folder_do_not_mix(make_hub, tmp_path: Path) -> None:
    hub = hub_with_items(make_hub)
    hub.write("content/articles/utkast.md", item("Utkast", draft="true"))
    # A theme may show anything in preview; a published build must never keep it.
    hub.write("themes/default/templates/partials/footer.html",
              "<footer>{% if preview %}FORHANDSVISNING{% endif %}</footer>\n")
    build(BuildOptions(root=hub.root, drafts=True, preview=True))
    assert b"FORHANDSVISNING" in (hub.root / "output/articles/en/index.html").read_bytes()
    build(BuildOptions(root=hub.root))
    assert_equals_clean_build(hub, tmp_path)


def test_a_new_unlock_secret_reaches_every_gated_page(make_hub, tmp_path: Path, monkeypatch) -> None:
    hub = hub_with_items(make_hub)
    monkeypatch.setenv("HUBGEN_GATE_SECRET", "first-secret")
    build(BuildOptions(root=hub.root))
    monkeypatch.setenv("HUBGEN_GATE_SECRET", "second-secret")
    build(BuildOptions(root=hub.root))
    assert_equals_clean_build(hub, tmp_path)
    assert b"/unlocked/" in (hub.root / "output/ebooks/bok/index.html").read_bytes()  # soft mode


def test_a_locked_cache_is_skipped_with_a_warning(make_hub, tmp_path: Path, monkeypatch) -> None:


    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    with cache_held(hub, monkeypatch):
        CHANGES["title"](hub)
        result = build(BuildOptions(root=hub.root))
    assert any("build cache not used" in w.message for w in result.warnings)
    assert_equals_clean_build(hub, tmp_path)


def test_an_edit_that_keeps_size_and_time_is_seen(make_hub) -> None:
    """A second save within the file system's clock tick can keep both (git's "racy clean")."""
    import os

    hub = hub_with_items(make_hub)
    page = hub.root / "content/articles/en.md"
    build(BuildOptions(root=hub.root))
    before = page.stat()
    edit(page, "Avsnitt to.", "Avsnitt TO.")
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    build(BuildOptions(root=hub.root))
    assert b"Avsnitt TO." in (hub.root / "output/articles/en/index.html").read_bytes()


def test_an_output_file_edited_by_hand_is_made_again(make_hub, tmp_path: Path) -> None:
    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    page = hub.root / "output/articles/to/index.html"
    page.write_bytes(page.read_bytes().replace(b"Andre", b"Andr\xc3\xa9"))  # same size or not
    result = build(BuildOptions(root=hub.root))
    assert result.road == "full"
    assert_equals_clean_build(hub, tmp_path)


def test_a_build_that_could_not_record_leaves_no_stale_page(make_hub, tmp_path: Path,
                                                           monkeypatch) -> None:
    """A build whose cache was locked rewrites pages without recording them; when the edit is
    then undone, the records of the build before must not be taken for the output."""


    hub = hub_with_items(make_hub)
    page = hub.root / "content/articles/en.md"
    original = page.read_text("utf-8")
    build(BuildOptions(root=hub.root))
    edit(page, "Avsnitt to.", "Avsnitt TO.")  # same size
    with cache_held(hub, monkeypatch):
        result = build(BuildOptions(root=hub.root))
    assert any("build cache not used" in w.message for w in result.warnings)
    assert b"Avsnitt TO." in (hub.root / "output/articles/en/index.html").read_bytes()
    page.write_text(original, "utf-8")
    build(BuildOptions(root=hub.root))
    assert_equals_clean_build(hub, tmp_path)


def test_a_cache_from_an_older_hubgen_is_started_afresh(make_hub, tmp_path: Path) -> None:
    from hubgen.state.cache import SCHEMA

    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    db = sqlite3.connect(hub.root / ".hubgen/cache.sqlite")
    with db:  # records in a shape this hubgen does not read
        db.execute("UPDATE entries SET value = '[1, 2]'")
        db.execute(f"PRAGMA user_version={SCHEMA - 1}")
    db.close()
    CHANGES["body"](hub)
    assert build(BuildOptions(root=hub.root)).road == "full"
    assert_equals_clean_build(hub, tmp_path)


def test_a_resident_build_keeps_the_hub_of_an_output_that_stands(make_hub, tmp_path: Path,
                                                                 monkeypatch) -> None:
    """`hubgen serve` starts on an output that stands: its first edit still takes road 2 from
    memory, and gives the clean build's bytes."""
    from hubgen.state import buildstate

    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    resident = Resident()  # a new process
    assert build(BuildOptions(root=hub.root), resident).road == "unchanged"

    def read_back(data: object) -> None:
        raise AssertionError("the recorded hub was read back from the cache")

    monkeypatch.setattr(buildstate, "hub_from_json", read_back)
    CHANGES["body"](hub)
    assert build(BuildOptions(root=hub.root), resident).road == "bodies"
    assert_equals_clean_build(hub, tmp_path)


def test_a_cache_warning_is_not_replayed_once_the_cache_works(make_hub, monkeypatch) -> None:


    hub = hub_with_items(make_hub)
    build(BuildOptions(root=hub.root))
    page = hub.root / "output/articles/to/index.html"
    page.write_bytes(page.read_bytes() + b"<!-- by hand -->")
    with cache_held(hub, monkeypatch, "IMMEDIATE"):
        troubled = build(BuildOptions(root=hub.root))
    assert any("build cache not used" in w.message for w in troubled.warnings)
    for change in ("nothing", "body"):
        if change == "body":
            CHANGES["body"](hub)
        result = build(BuildOptions(root=hub.root))
        assert not any("build cache not used" in w.message for w in result.warnings), change


def test_a_rebuild_reads_only_the_content_files_that_changed(make_hub, monkeypatch) -> None:
    # The "unchanged?" check has hashed every file; loading takes those hashes as the keys of
    # the parsed files in the cache instead of reading every file a second time.
    files = {f"content/articles/a{n}.md": item(f"Artikkel {n}") for n in range(12)}
    hub = make_hub(files=files)
    options = BuildOptions(root=hub.root, jobs=1)
    build(options)
    content = hub.root / "content"
    read: list[str] = []
    original = HubFiles.read

    def counted(self: HubFiles, path: Path, limit: int | None = MAX_TEXT_BYTES) -> bytes:
        if content in path.parents:
            read.append(path.name)
        return original(self, path, limit)

    monkeypatch.setattr(HubFiles, "read", counted)  # every read of the hub goes through it
    hub.write("content/articles/a3.md", item("Artikkel 3 med ny tittel"))
    result = build(options)
    assert result.road == "full"  # a title: every page is signed again
    assert set(read) == {"a3.md"}  # the body check reads it too, then the parser
    assert "Artikkel 3 med ny tittel" in hub.page("/articles/a3/").get_text()
