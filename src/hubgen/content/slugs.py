"""Slugs: the lower-case ASCII names in URLs, made from titles and file names."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from slugify import slugify

from hubgen.model import SECTIONS

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Pages may not take a slug the hub itself uses for its own pages.
RESERVED_SLUGS = frozenset({*SECTIONS.values(), "personas", "phases", "topics", "matrix",
                            "unlocked", "static", "search", "feeds", "pagefind", "_hubgen",
                            "thanks", "preview"})

@functools.lru_cache(maxsize=65536)
def make_slug(text: str) -> str:
    """Lower-case ASCII slug; Norwegian and Danish letters transliterated (æ→ae, ø→o, å→a)."""
    return str(slugify(text, replacements=[["æ", "ae"], ["Æ", "ae"], ["ø", "o"], ["Ø", "o"],
                                           ["å", "a"], ["Å", "a"]]))


def default_slug(path: Path) -> str:
    """The slug of a content file by its name (or its folder's, for an index.md)."""
    stem = path.parent.name if path.name == "index.md" else path.stem
    return make_slug(stem)
