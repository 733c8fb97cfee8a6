"""Markdown -> safe HTML, its headings, and its teaser: a pure function of (source, options).

Being pure is what lets the renderer run it in worker processes and cache its result by the hash of
its input (see cache.py).
"""

from __future__ import annotations

import functools
import html
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor

from .model import Heading

MORE = "<!-- more -->"
# Bump when rendering changes in a way that must invalidate cached renders.
RENDER_VERSION = "2"

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
    html: str  # the whole body
    teaser_html: str  # what a gated item shows publicly (its first blocks)
    rest_html: str  # the body after the teaser: never in a public file of a gated item
    headings: tuple[Heading, ...]

    def to_json(self) -> dict[str, object]:
        return {"html": self.html, "teaser": self.teaser_html, "rest": self.rest_html,
                "headings": [[h.level, h.text, h.anchor] for h in self.headings]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendered:
        return cls(data["html"], data["teaser"], data["rest"],
                   tuple(Heading(int(level), text, anchor)
                         for level, text, anchor in data["headings"]))


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


class _TaskListExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_TaskLists(md), "hubgen_tasks", 5)


@functools.cache
def _converter() -> markdown.Markdown:
    # One converter per process, reset between documents: building one costs more than a page.
    return markdown.Markdown(
        extensions=["extra", "sane_lists", "toc", _TaskListExtension()],
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


class _TopLevel(HTMLParser):
    """Finds where each top-level block of an HTML fragment starts and ends."""

    VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "source", "wbr", "col", "area"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.blocks: list[tuple[int, int, str]] = []  # (start line, start col, tag or "#comment")
        self._line_offsets: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.blocks.append((*self.getpos(), tag))
        if tag not in self.VOID:
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.blocks.append((*self.getpos(), tag))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.depth = max(0, self.depth - 1)

    def handle_comment(self, data: str) -> None:
        if self.depth == 0:
            self.blocks.append((*self.getpos(), "#" + data.strip()))


def split_teaser(body_html: str, paragraphs: int) -> tuple[str, str]:
    """Split rendered HTML at `<!-- more -->` or after `paragraphs` top-level paragraphs."""
    parser = _TopLevel()
    parser.feed(body_html)
    parser.close()
    line_starts = [0]
    for line in body_html.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    offsets = [(line_starts[line - 1] + col, tag) for line, col, tag in parser.blocks]
    for offset, tag in offsets:
        if tag == "#more":
            return body_html[:offset], body_html[offset:]
    if paragraphs <= 0 or not offsets:
        return "", body_html
    # Blocks up to and including the n-th paragraph, but never the whole body: a gated body no
    # longer than its teaser keeps at least its last block back.
    seen, count = 0, len(offsets)
    for index, (_offset, tag) in enumerate(offsets):
        seen += tag == "p"
        if seen >= paragraphs:
            count = index + 1
            break
    count = min(count, len(offsets) - 1)
    cut = offsets[count][0] if count > 0 else 0
    return body_html[:cut], body_html[cut:]


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
    md.reset()
    raw = md.convert(source)
    headings = tuple(_flatten(getattr(md, "toc_tokens", [])))
    teaser_raw, rest_raw = split_teaser(raw, teaser)
    clean = sanitize if safe else _strip_more
    return Rendered(clean(raw), clean(teaser_raw), clean(rest_raw), headings)


def _strip_more(fragment: str) -> str:
    return fragment.replace(MORE, "")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace folded."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return " ".join(" ".join(parser.parts).split())
