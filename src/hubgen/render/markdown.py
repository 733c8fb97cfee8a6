"""Markdown -> safe HTML, its headings, and its teaser: a pure function of (source, options).

Being pure is what lets the renderer run it in worker processes and cache its result by the hash of
its input (see cache.py).
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from typing import Any

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor

from hubgen.model import Heading

MORE = "<!-- more -->"
# Bump when rendering changes in a way that must invalidate cached renders.
RENDER_VERSION = "6"

_EXTRA_TAGS = {"input", "label", "figure", "figcaption", "details", "summary", "mark", "kbd",
               "sup", "sub", "abbr", "dl", "dt", "dd", "del", "ins", "s", "section"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang"},
    "a": {"href", "id", "class"},
    "img": {"src", "alt", "width", "height", "loading"},
    "code": {"class"},
    "pre": {"class"},
    "div": {"class"},
    "span": {"class"},
    "li": {"class", "id"},
    "ul": {"class"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "input": {"type", "checked", "class", "disabled"},
    "label": {"class"},
    "sup": {"id"},
    "abbr": {"title"},
    **{h: {"id"} for h in _HEADINGS},
}


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


class _TaskLists(Treeprocessor):
    """`- [ ] text` / `- [x] text` list items -> labelled checkboxes."""

    def run(self, root: etree.Element) -> None:
        for li in root.iter("li"):
            holder = li
            if (li.text is None or not li.text.strip()) and len(li) and li[0].tag == "p":
                holder = li[0]  # loose list: the text sits in a <p>
            text = holder.text or ""
            if not (text.startswith(("[ ] ", "[x] ", "[X] "))):
                continue
            checked = text[1] in "xX"
            label = etree.Element("label", {"class": "task"})
            box = etree.SubElement(label, "input", {"type": "checkbox", "class": "task-box"})
            if checked:
                box.set("checked", "checked")
            box.tail = text[4:]
            for child in list(holder):
                holder.remove(child)
                label.append(child)
            holder.text = None
            holder.insert(0, label)
            li.set("class", "task-item")
            parent_list = next((p for p in root.iter() if li in list(p)), None)
            if parent_list is not None:
                parent_list.set("class", "task-list")


CUT = "<hubgen-teaser-cut></hubgen-teaser-cut>"
_PLACEHOLDER = re.compile("^\x02wzxhzdk:(\\d+)\x03$")


class _TeaserCut(Treeprocessor):
    """Marks where a gated item's public teaser ends, among the top-level blocks.

    At `<!-- more -->` if the body has one; else after `paragraphs` paragraphs; never after the
    last block, so a gated body no longer than its teaser still keeps its end back. With
    `counting` set it only counts the top-level blocks (see _teaser_alone).
    """

    paragraphs = 2  # set per document by render_markdown
    counting = False
    cut = 0  # where the last document was cut, among its top-level blocks
    blocks = 0  # how many top-level blocks it had (the footnotes left out)
    more = False  # it was cut at <!-- more -->

    def run(self, root: etree.Element) -> None:
        blocks = [b for b in root if b.get("class") != "footnote"]
        self.blocks = len(blocks)
        if self.counting:
            return
        stash = self.md.htmlStash.rawHtmlBlocks
        more = by_count = None
        seen = 0
        for index, block in enumerate(blocks):
            match = _PLACEHOLDER.match(block.text or "") if block.tag == "p" else None
            if match and str(stash[int(match.group(1))]).strip() == MORE:
                more = index
                break
            if block.tag == "p" and not match:
                seen += 1
                if seen == self.paragraphs and by_count is None:
                    by_count = index + 1
        if more is not None:
            cut = more
        elif self.paragraphs <= 0:
            cut = 0
        else:
            cut = len(blocks) if by_count is None else by_count
        self.more, self.cut = more is not None, min(cut, max(len(root) - 1, 0))
        root.insert(self.cut, etree.Element("hubgen-teaser-cut"))


class _HubgenExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_TaskLists(md), "hubgen_tasks", 5)
        md.treeprocessors.register(_TeaserCut(md), "hubgen_teaser", 4)


@functools.cache
def _converter() -> markdown.Markdown:
    # One converter per process, reset between documents: building one costs more than a page.
    return markdown.Markdown(
        extensions=["extra", "sane_lists", "toc", _HubgenExtension()],
        extension_configs={
            # Keep æ, ø and å readable in anchors (#økonomi, not #konomi).
            "toc": {"slugify": slugify_unicode, "permalink": False},
            "tables": {"use_align_attribute": True},
        },
        output_format="html",
    )


def sanitize(fragment: str) -> str:
    """Allowlist-clean HTML: no script, no on*= handlers, no javascript: URLs."""
    return str(nh3.clean(
        fragment,
        tags=set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel=None,
        strip_comments=True,
    ))


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
    md = _converter()
    cutter = _cutter(md, teaser, counting=False)
    raw = md.convert(source)
    headings = tuple(_flatten(getattr(md, "toc_tokens", [])))
    teaser_raw, _, rest_raw = raw.partition(CUT)
    clean = sanitize if safe else _strip_more
    html = clean(teaser_raw) + clean(rest_raw)
    if _REACHES_BACK.search(source) and cutter.cut < cutter.blocks:
        # A link reference, an abbreviation, a footnote or [TOC] would bring what lies after
        # the cut into the teaser: the teaser is the Markdown before the cut, rendered alone.
        teaser_raw = _teaser_alone(md, source, cutter.cut, cutter.more)
    teaser_html = clean(teaser_raw)
    return Rendered(teaser_html, html, headings, len(html_to_text(html).split()))


# Markdown that reaches back across the cut: definitions ([id]: url, [^1]: text, *[ABBR]: text),
# which apply to the whole document wherever they stand, and [TOC], which lists every heading.
_REACHES_BACK = re.compile(r"^ {0,3}(?:\[[^\]\n]+\]:|\*\[[^\]\n]*\] ?:)|\[TOC\]", re.M)
_FENCE = re.compile(r"^\s*(```|~~~)")


def _cutter(md: markdown.Markdown, teaser: int, counting: bool) -> _TeaserCut:
    md.reset()
    cutter = md.treeprocessors["hubgen_teaser"]
    assert isinstance(cutter, _TeaserCut)
    cutter.paragraphs, cutter.counting = teaser, counting
    return cutter


def _teaser_alone(md: markdown.Markdown, source: str, cut: int, more: bool) -> str:
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
        counter = _cutter(md, 0, counting=True)
        md.convert(prefix)
        if more or counter.blocks >= cut:
            _cutter(md, 0, counting=True)
            return md.convert(prefix)
    return ""


def _strip_more(fragment: str) -> str:
    return fragment.replace(MORE, "")


_TAGS = re.compile(r"<[^>]*>")


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment (sanitized, so tags are well-formed), folded."""
    return " ".join(html.unescape(_TAGS.sub(" ", fragment)).split())
