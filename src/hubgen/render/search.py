"""The full-text search index of the public pages, made with Pagefind (the `search` extra).

Only public pages go into a scratch folder that Pagefind's binary indexes (its Python API sends
each page through a pipe and is a hundred times slower); its files come back as outputs like any
other. Nothing under /unlocked/ is ever given to it, so nothing gated can be found. Only pages
marked `data-pagefind-body` (items and plain pages) are indexed; hub listings would only repeat the
items. Filters (persona, phase, type, topic) come from `data-pagefind-filter` markup in the item
template.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from hubgen.errors import BuildFailed, Problem
from hubgen.output.writer import Output
from hubgen.render.pages import UNLISTED

FOLDER = "pagefind/"  # where the index lives in the site

# Pagefind's stemming languages for the hub languages (checked: each gets its own wasm.<lang>).
LANGUAGES = {"nb": "nb", "da": "da", "en": "en"}


def executable() -> str | None:
    try:
        from pagefind_bin import get_executable
    except ImportError:
        return None
    return str(get_executable())


def available() -> bool:
    return executable() is not None


def indexable(output: Output) -> bool:
    return output.public and output.path.endswith(".html") and output.path not in UNLISTED


def search_index(language: str, pages: Sequence[tuple[str, Callable[[], bytes]]]) -> list[Output]:
    """Index (output path, HTML) pairs; return Pagefind's files under pagefind/."""
    binary = executable()
    assert binary is not None, "check search.available() first"
    with tempfile.TemporaryDirectory(prefix="hubgen-search-") as scratch:
        site = Path(scratch) / "site"
        for path, read in pages:
            data = read()
            if b"data-pagefind-body" not in data:
                continue
            target = site / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        site.mkdir(exist_ok=True)
        bundle = Path(scratch) / "bundle"
        run = subprocess.run(
            [binary, "--site", str(site), "--output-path", str(bundle),
             "--force-language", LANGUAGES.get(language, language)],
            capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise BuildFailed([Problem("pagefind", f"search indexing failed: "
                                       f"{(run.stderr or run.stdout).strip()[-500:]}")])
        return [Output("pagefind/" + p.relative_to(bundle).as_posix(), p.read_bytes())
                for p in sorted(bundle.rglob("*")) if p.is_file()]
