"""The commit is all or nothing (issue 12, finding 3): real build processes are killed at random
moments of their commit, and the output is each time exactly the old site or exactly the new one
once the next build has recovered it; Ctrl-C lets the commit finish; builds of one output folder
run one after the other; staging folders no build owns are removed."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import HubFactory, comparable, item, read_tree
from hubgen.build import BuildOptions, build
from hubgen.output.commit import JOURNAL, claim, recover

KILLS = 20  # kills that landed inside a commit


def many_items(make_hub) -> HubFactory:
    files = {f"content/articles/a{n}.md": item(f"Artikkel {n}", f"Tekst {n}.\n\nMer {n}.\n")
             for n in range(150)}
    return make_hub(files=files)


def start_build(hub: HubFactory) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hubgen.cli", "build", "--no-cache",
                             "--no-search", "--jobs", "1", "--root", str(hub.root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_journal(hub: HubFactory, process: subprocess.Popen[bytes]) -> bool:
    """Until the build has decided its commit (True), or ended before it did (False)."""
    while process.poll() is None:
        if any(hub.root.glob(f".output.new-*/{JOURNAL}")):
            return True
        time.sleep(0.0005)
    return False


def new_site(hub: HubFactory, tmp_path: Path) -> dict[str, bytes]:
    clean = tmp_path / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    build(BuildOptions(root=hub.root, out=clean, cache=False, search=False))
    return comparable(read_tree(clean))


@pytest.mark.slow
def test_a_build_killed_anywhere_in_its_commit_leaves_one_whole_site(make_hub,
                                                                     tmp_path: Path) -> None:
    hub = many_items(make_hub)
    out = hub.root / "output"
    build(BuildOptions(root=hub.root, cache=False, search=False))
    old = comparable(read_tree(out))
    snapshot = tmp_path / "old"
    shutil.copytree(out, snapshot)
    hub.write("hub.toml", (hub.root / "hub.toml").read_text("utf-8").replace(
        'title = "Testhub"', 'title = "Testhub med nytt navn"'))  # every page changes
    new = new_site(hub, tmp_path)
    assert new != old
    # How long a commit takes here, from its decision to the end of the process.
    timing = start_build(hub)
    assert wait_for_journal(hub, timing)
    decided = time.monotonic()
    assert timing.wait(60) == 0
    span = time.monotonic() - decided
    shutil.rmtree(out)
    shutil.copytree(snapshot, out)
    rng = random.Random(12)
    landed, mixed, seen = 0, 0, set()
    for _attempt in range(100):
        if landed >= KILLS:
            break
        process = start_build(hub)
        if not wait_for_journal(hub, process):
            process.wait(60)
            continue
        time.sleep(rng.uniform(0, span))
        process.send_signal(signal.SIGKILL)
        process.wait(60)
        if not any(hub.root.glob(".output.new-*")):
            assert comparable(read_tree(out)) == new  # it finished before the kill
        else:
            landed += 1
            if comparable(read_tree(out)) not in (old, new):
                mixed += 1  # killed halfway through the moves
            recover(out)  # what the next build does before anything else
            assert not any(hub.root.glob(".output.new-*"))
        after = comparable(read_tree(out))
        assert after in (old, new)
        seen.add("new" if after == new else "old")
        shutil.rmtree(out)
        shutil.copytree(snapshot, out)
    assert landed >= KILLS
    assert mixed > 0  # the kills did land in the middle of moving files in
    assert seen == {"new"}  # every kill came after the decision: recovery rolls forward


def test_ctrl_c_during_the_commit_lets_it_finish(make_hub, tmp_path: Path) -> None:
    hub = many_items(make_hub)
    build(BuildOptions(root=hub.root, cache=False, search=False))
    hub.write("hub.toml", (hub.root / "hub.toml").read_text("utf-8").replace(
        'title = "Testhub"', 'title = "Nytt navn"'))
    new = new_site(hub, tmp_path)
    process = start_build(hub)
    assert wait_for_journal(hub, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(60) in (0, 130)
    assert comparable(read_tree(hub.root / "output")) == new
    assert not any(hub.root.glob(".output.new-*"))


def test_a_build_killed_while_staging_leaves_the_old_site_and_no_folder(make_hub) -> None:
    hub = many_items(make_hub)
    out = hub.root / "output"
    build(BuildOptions(root=hub.root, cache=False, search=False))
    old = read_tree(out)
    # What a build killed before its commit leaves: a staging folder with some new pages.
    orphan = hub.root / ".output.new-99999-dead"
    (orphan / "articles/a1").mkdir(parents=True)
    (orphan / "articles/a1/index.html").write_bytes(b"half a build")
    build(BuildOptions(root=hub.root, cache=False, search=False))
    assert not orphan.exists()
    assert read_tree(out) == old


def test_a_decided_commit_left_behind_is_finished_by_the_next_build(make_hub,
                                                                   tmp_path: Path) -> None:
    hub = many_items(make_hub)
    out = hub.root / "output"
    build(BuildOptions(root=hub.root, cache=False, search=False))
    hub.write("content/articles/a1.md", item("Artikkel 1", "Endret tekst.\n"))
    process = start_build(hub)
    assert wait_for_journal(hub, process)
    process.send_signal(signal.SIGKILL)  # at once: most files are still to move
    process.wait(60)
    with claim(out):  # the next build's first step
        pass
    assert b"Endret tekst." in (out / "articles/a1/index.html").read_bytes()
    assert comparable(read_tree(out)) == new_site(hub, tmp_path)


def test_builds_of_one_output_folder_wait_for_each_other(make_hub) -> None:
    hub = many_items(make_hub)
    out = hub.root / "output"
    with claim(out):  # another build holds the folder
        process = start_build(hub)
        time.sleep(2.0)
        assert process.poll() is None  # it waits
        assert not out.exists()
    assert process.wait(120) == 0
    assert (out / "index.html").is_file()


def test_a_nested_link_loop_of_staging_names_is_not_followed(make_hub, tmp_path: Path) -> None:
    # A staging-like name that is a link to a folder outside: recovery removes the link only.
    hub = many_items(make_hub)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep", "utf-8")
    build(BuildOptions(root=hub.root, cache=False, search=False))
    os.symlink(outside, hub.root / ".output.new-1-link")
    build(BuildOptions(root=hub.root, cache=False, search=False))
    assert (outside / "keep.txt").read_text("utf-8") == "keep"
    assert not (hub.root / ".output.new-1-link").exists()
