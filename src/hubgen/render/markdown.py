"""Markdown -> safe HTML, its headings, and its teaser: a pure function of (source, options).

Being pure is what lets the renderer run it in worker processes and keep its result in the cache
by the hash of its input (state/stores.py). The dialect itself is render/dialect.py.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from hubgen.model import Heading
from hubgen.render.dialect import CUT, MORE, Dialect, dialect, sanitize

# Bump when rendering changes in a way that must invalidate cached renders.
RENDER_VERSION = "6"

@dataclass(frozen=True)
class Rendered:
    teaser_html: str  # what a gated item shows publicly: its first blocks, as if alone
    html: str  # the whole body: never in a public file of a gated item
    headings: tuple[Heading, ...]
    words: int = 0  # of the whole body, for the reading time

    def to_json(self) -> dict[str, object]:
        return {"teaser": self.teaser_html, "html": self.html, "words": self.words,
                "headings": [[h.level, h.text, h.anchor] for h in self.headings]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendered:
        return cls(data["teaser"], data["html"],
                   tuple(Heading(int(level), text, anchor)
                         for level, text, anchor in data["headings"]), int(data["words"]))


def _flatten(tokens: list[dict[str, object]]) -> list[Heading]:
    out: list[Heading] = []
    for token in tokens:
        name = html.unescape(str(token["name"]))
        out.append(Heading(int(str(token["level"])), name, str(token["id"])))
        children = token.get("children")
        if isinstance(children, list):
            out.extend(_flatten(children))
    return out


def render_markdown(source: str, teaser: int, safe: bool = True) -> Rendered:
    """Render an item's body; `teaser` is how many paragraphs its public teaser keeps."""
    converter = dialect()
    raw = converter.convert(source, teaser)
    cutter = converter.cutter
    headings = tuple(_flatten(getattr(converter.md, "toc_tokens", [])))
    teaser_raw, _, rest_raw = raw.partition(CUT)
    clean = sanitize if safe else _strip_more
    html = clean(teaser_raw) + clean(rest_raw)
    if _REACHES_BACK.search(source) and cutter.cut < cutter.blocks:
        # A link reference, an abbreviation, a footnote or [TOC] would bring what lies after
        # the cut into the teaser: the teaser is the Markdown before the cut, rendered alone.
        teaser_raw = _teaser_alone(converter, source, cutter.cut, cutter.more)
    teaser_html = clean(teaser_raw)
    return Rendered(teaser_html, html, headings, len(html_to_text(html).split()))


# Markdown that reaches back across the cut: definitions ([id]: url, [^1]: text, *[ABBR]: text),
# which apply to the whole document wherever they stand, and [TOC], which lists every heading.
_REACHES_BACK = re.compile(r"^ {0,3}(?:\[[^\]\n]+\]:|\*\[[^\]\n]*\] ?:)|\[TOC\]", re.M)
_FENCE = re.compile(r"^\s*(```|~~~)")


def _teaser_alone(converter: Dialect, source: str, cut: int, more: bool) -> str:
    """The teaser rendered from the Markdown before the cut alone: the lines before `<!-- more
    -->`, or the shortest run of whole blocks (up to a blank line outside code) that renders to
    the `cut` blocks the teaser holds."""
    lines = source.split("\n")
    fenced, ends = False, []
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and more and line.strip() == MORE:
            ends = [number]
            break
        elif not fenced and not line.strip():
            ends.append(number)
    for end in ends:
        prefix = "\n".join(lines[:end])
        if not more:
            converter.convert(prefix, 0, counting=True)
        if more or converter.cutter.blocks >= cut:
            return converter.convert(prefix, 0, counting=True)
    return ""


def _strip_more(fragment: str) -> str:
    return fragment.replace(MORE, "")


_TAGS = re.compile(r"<[^>]*>")


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment (sanitized, so tags are well-formed), folded."""
    return " ".join(html.unescape(_TAGS.sub(" ", fragment)).split())
