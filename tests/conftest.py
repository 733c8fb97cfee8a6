"""Shared fixtures: small hubs written into tmp_path, built through the real pipeline."""

from __future__ import annotations

import re
import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

HUB_TOML = """\
[site]
title = "Testhub"
base_url = "https://hub.example.no/"
language = "nb"

[personas.cfo]
label = "Økonomidirektør"
description = "Eier budsjettet."

[personas.ops]
label = "Driftssjef"

[phases.early]
label = "Tidlig fase"
[phases.mid]
label = "Midtveis"
[phases.late]
label = "Sen fase"

[gating]
default = "open"
by_phase = { late = "gated" }

[forms]
backend = "local"
privacy_url = "/personvern/"

[[forms.consents]]
id = "newsletter"
text = "Send meg nyhetsbrevet."
"""


def item(title: str, body: str = "Første avsnitt.\n\nAndre avsnitt.\n", **meta: object) -> str:
    """A content file: front matter from keyword arguments (YAML flow values), then the body."""
    lines = ["---", f"title: {title}"]
    meta.setdefault("personas", "[cfo]")
    meta.setdefault("phase", "early")
    for key, value in meta.items():
        lines.append(f"{key}: {value}")
    lines += ["---", "", textwrap.dedent(body).strip("\n"), ""]
    return "\n".join(lines)


class HubFactory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def page(self, url: str) -> BeautifulSoup:
        path = self.root / "output" / url.strip("/") / "index.html"
        return BeautifulSoup(path.read_text("utf-8"), "html.parser")

    def output_files(self) -> dict[str, bytes]:
        return read_tree(self.root / "output")


@pytest.fixture
def make_hub(tmp_path: Path) -> Callable[..., HubFactory]:
    """make_hub(toml=..., files={rel: text}) -> a hub folder in tmp_path."""

    def make(toml: str = HUB_TOML, files: dict[str, str | bytes] | None = None) -> HubFactory:
        hub = HubFactory(tmp_path / "hub")
        hub.write("hub.toml", toml)
        hub.write("content/pages/personvern.md", "---\ntitle: Personvern\n---\n\nVi lagrer lite.\n")
        for rel, text in (files or {}).items():
            hub.write(rel, text)
        return hub

    return make


# Pagefind writes its filter and metadata files differently on each run even for the same pages
# (upstream: Pagefind/pagefind#638; its fragments have been stable since 1.3). Comparisons of whole
# output trees leave just those out; everything else, search fragments included, must be equal.
UNSTABLE = re.compile(r"^pagefind/(filter/|pagefind-entry\.json$|[^/]*\.pf_meta$)")


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its posix path relative to it: what a build wrote."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def comparable(tree: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in tree.items() if not UNSTABLE.match(path)}


def stored_submissions(db: Path) -> list[dict[str, Any]]:
    """Every row the local collector stored, read straight from its SQLite file."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM submissions ORDER BY id")]
    finally:
        conn.close()
