"""The command line through its real entry point: exit codes, output, files it writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import item
from hubgen.build import BuildOptions, load
from hubgen.cli import main


def test_new_writes_an_item_that_builds(make_hub, capsys) -> None:
    hub = make_hub()
    code = main(["new", "article", "Kjøpsguide: før kontrakt", "--persona", "cfo",
                 "--persona", "ops", "--phase", "late", "--gated", "--root", str(hub.root)])
    assert code == 0
    path = hub.root / "content/articles/kjopsguide-for-kontrakt.md"
    assert f"created {path.relative_to(hub.root)}" in capsys.readouterr().out
    preview = load(BuildOptions(root=hub.root, drafts=True)).hub
    (made,) = preview.items
    assert (made.title, made.personas, made.phases, made.access, made.draft) == (
        "Kjøpsguide: før kontrakt", ("cfo", "ops"), ("late",), "gated", True)
    assert load(BuildOptions(root=hub.root)).hub.items == ()  # a draft until the editor says so
    assert main(["new", "article", "Kjøpsguide: før kontrakt", "--root", str(hub.root)]) == 2


def test_new_rejects_unknown_keys_with_a_suggestion(make_hub, capsys) -> None:
    hub = make_hub()
    assert main(["new", "checklist", "X", "--persona", "cfoo", "--root", str(hub.root)]) == 2
    assert "unknown persona 'cfoo' (did you mean 'cfo'?)" in capsys.readouterr().err
    assert main(["new", "podcast", "X", "--root", str(hub.root)]) == 2


def test_report_table_and_json(make_hub, capsys) -> None:
    hub = make_hub(files={
        "content/articles/a.md": item("A", phase="early"),
        "content/ebooks/b.md": item("B", personas="[cfo, ops]", phase="late"),
    })
    assert main(["report", "--root", str(hub.root)]) == 0
    table = capsys.readouterr().out
    assert "Økonomidirektør" in table and "1 (0 open, 1 gated)" in table
    assert "2 items; 3 empty cell(s): cfo x mid, ops x early, ops x mid" in table
    assert main(["report", "--format", "json", "--root", str(hub.root)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cells"]["cfo"]["late"] == {"open": 0, "gated": 1}
    assert data["empty"] == [{"persona": "cfo", "phase": "mid"}, {"persona": "ops", "phase": "early"},
                             {"persona": "ops", "phase": "mid"}]


def test_build_prints_a_summary_and_stage_timings(make_hub, capsys) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A"),
                          "content/ebooks/b.md": item("B", phase="late")})
    assert main(["build", "-v", "--root", str(hub.root)]) == 0
    out = capsys.readouterr().out
    assert "2 items (1 article, 1 ebook, 0 checklists; 1 open, 1 gated)" in out
    for stage in ("load", "validate", "markdown", "templates", "write"):
        assert f"  {stage}" in out


@pytest.mark.parametrize("command", ["build", "check", "report", "new", "serve", "collect",
                                     "leads"])
def test_every_command_has_help(command: str) -> None:
    run = subprocess.run([sys.executable, "-m", "hubgen.cli", command, "--help"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0
    assert "usage: hubgen " + command in run.stdout
    assert len(run.stdout.splitlines()) > 4


def test_errors_go_to_stderr_one_per_line(make_hub) -> None:
    hub = make_hub(files={"content/articles/a.md": item("A", phase="erly"),
                          "content/articles/b.md": item("B", personas="[x]")})
    run = subprocess.run([sys.executable, "-m", "hubgen.cli", "build", "--root", str(hub.root)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.splitlines()[:2] == [
        "content/articles/a.md:3: unknown phase 'erly' (did you mean 'early'?)",
        "content/articles/b.md:3: unknown persona 'x' (known: cfo, ops)"]


def test_new_writes_placeholders_in_the_hub_language(make_hub) -> None:
    from conftest import HUB_TOML

    hub = make_hub(toml=HUB_TOML.replace('language = "nb"', 'language = "da"'))
    assert main(["new", "checklist", "Tjekliste", "--root", str(hub.root)]) == 0
    text = (hub.root / "content/checklists/tjekliste.md").read_text("utf-8")
    assert "## Før du går i gang" in text and "- [ ] Andet punkt" in text
    (made,) = load(BuildOptions(root=hub.root, drafts=True)).hub.items
    assert made.type == "checklist"
