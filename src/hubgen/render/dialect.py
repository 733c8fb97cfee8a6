"""hubgen's Markdown dialect: Python-Markdown with `extra`, `sane_lists` and `toc`, task lists and
the teaser cut; and the allowlist that cleans its HTML.

Python-Markdown tries every inline pattern on every piece of text and every block processor on
every block. Most bodies use few of them: a body without a '*' or '_' can never hold emphasis,
one without '|' no table. So for each body the converter runs only the parts whose trigger
occurs in it; a part left out could not have matched, and the output is the same byte for byte
(checked on the benchmark's bodies and the test suite). One converter per process, reset between
bodies; its subsets are made once per combination of parts.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as etree
from collections.abc import Iterable, Mapping
from typing import Any

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension, TocTreeprocessor, slugify_unicode
from markdown.treeprocessors import Treeprocessor
from markdown.util import Registry

MORE = "<!-- more -->"
CUT = "<hubgen-teaser-cut></hubgen-teaser-cut>"
_PLACEHOLDER = re.compile("^\x02wzxhzdk:(\\d+)\x03$")

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


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(tags=set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS, attributes=_ATTRIBUTES,
                       url_schemes={"http", "https", "mailto", "tel"}, link_rel=None,
                       strip_comments=True)


def sanitize(fragment: str) -> str:
    """Allowlist-clean HTML: no script, no on*= handlers, no javascript: URLs."""
    return str(_cleaner().clean(fragment))


class _TaskLists(Treeprocessor):
    """`- [ ] text` / `- [x] text` list items -> labelled checkboxes."""

    def run(self, root: etree.Element) -> None:
        parents = {child: parent for parent in root.iter() for child in parent}
        for li in root.iter("li"):
            holder = li
            if (li.text is None or not li.text.strip()) and len(li) and li[0].tag == "p":
                holder = li[0]  # loose list: the text sits in a <p>
            text = holder.text or ""
            if not (text.startswith(("[ ] ", "[x] ", "[X] "))):
                continue
            label = etree.Element("label", {"class": "task"})
            box = etree.SubElement(label, "input", {"type": "checkbox", "class": "task-box"})
            if text[1] in "xX":
                box.set("checked", "checked")
            box.tail = text[4:]
            for child in list(holder):
                holder.remove(child)
                label.append(child)
            holder.text = None
            holder.insert(0, label)
            li.set("class", "task-item")
            parent_list = parents.get(li)
            if parent_list is not None:
                parent_list.set("class", "task-list")


class TeaserCut(Treeprocessor):
    """Marks where a gated item's public teaser ends, among the top-level blocks.

    At `<!-- more -->` if the body has one; else after `paragraphs` paragraphs; never after the
    last block, so a gated body no longer than its teaser still keeps its end back. With
    `counting` set it only counts the top-level blocks (markdown._teaser_alone).
    """

    paragraphs = 2  # set per document
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


class _Toc(TocTreeprocessor):
    """toc as the extension has it, without the TOC block when the body has no [TOC] marker:
    only the headings' ids and the tokens are used then (and nothing is searched for the
    marker)."""

    wanted = True

    def want(self, wanted: bool) -> None:
        self.wanted = wanted
        self.marker = "[TOC]" if wanted else ""

    def build_toc_div(self, toc_list: list[Any]) -> etree.Element:
        return super().build_toc_div(toc_list) if self.wanted else etree.Element("div")


class _TocExtension(TocExtension):
    TreeProcessorClass = _Toc


class _HubgenExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_TaskLists(md), "hubgen_tasks", 5)
        md.treeprocessors.register(TeaserCut(md), "hubgen_teaser", 4)


# Each part of the dialect that can be left out, with what a body must hold for it to match.
_LINE_START = r"(?:^|\n) {0,3}"
_INLINE = {
    "backtick": ("`",), "escape": ("\\",), "footnote": ("[^",), "reference": ("[",),
    "link": ("[",), "short_reference": ("[",), "image_link": ("![",),
    "image_reference": ("![",), "short_image_ref": ("![",), "autolink": ("<",),
    "automail": ("<",), "html": ("<",), "linebreak": (" \n", "\t\n"), "entity": ("&",),
    "em_strong": ("*", "_"),
}
_BLOCK = {"table": ("|",), "footnote": ("[^",), "abbr": ("*[",), "reference": ("]:",),
          "quote": (">",), "markdown_block": ("markdown",)}
_TREE = {"footnote": ("[^",), "footnote-duplicate": ("[^",), "attr_list": ("{",),
         "abbr": ("*[",), "hubgen_tasks": ("[",)}
_DEFLIST = re.compile(_LINE_START + ":")
_HEADING = re.compile(r"(?:^|\n)(?: {0,3}#|[ \t]*[=-]+[ \t]*(?:\n|$))|<h[1-6]", re.I)


def _absent(parts: Mapping[str, tuple[str, ...]], source: str) -> frozenset[str]:
    return frozenset(name for name, triggers in parts.items()
                     if not any(t in source for t in triggers))


class Dialect:
    """One Markdown converter and, for each body, the parts of it that the body can use."""

    def __init__(self) -> None:
        self.md = markdown.Markdown(
            # Keep æ, ø and å readable in anchors (#økonomi, not #konomi).
            extensions=["extra", "sane_lists", _TocExtension(slugify=slugify_unicode,
                                                             permalink=False),
                        _HubgenExtension()],
            extension_configs={"tables": {"use_align_attribute": True}},
            output_format="html",
        )
        md = self.md
        self._inline = md.treeprocessors["inline"]
        self._full: tuple[Registry[Any], ...] = (md.inlinePatterns, md.parser.blockprocessors,
                                                 md.treeprocessors)
        self._subsets: dict[tuple[frozenset[str], ...], tuple[Registry[Any], ...]] = {}
        cutter = md.treeprocessors["hubgen_teaser"]
        toc = md.treeprocessors["toc"]
        assert isinstance(cutter, TeaserCut) and isinstance(toc, _Toc)
        self.cutter, self._toc = cutter, toc

    def convert(self, source: str, teaser: int, counting: bool = False) -> str:
        """The body's HTML (with CUT where the teaser ends, unless `counting`), converted by
        the parts of the dialect it can use."""
        md = self.md
        md.reset()
        inline, block, tree = self._parts(source)
        self._inline.inlinePatterns = inline  # type: ignore[attr-defined]
        md.parser.blockprocessors = block
        md.treeprocessors = tree
        self._toc.want("[TOC]" in source)
        self.cutter.paragraphs, self.cutter.counting = teaser, counting
        return md.convert(source)

    def _parts(self, source: str) -> tuple[Registry[Any], ...]:
        absent_block = _absent(_BLOCK, source)
        if not _DEFLIST.search(source):
            absent_block |= {"deflist", "defindent"}
        absent_tree = _absent(_TREE, source)
        if not _HEADING.search(source) and "[TOC]" not in source:
            absent_tree |= {"toc"}
        key = (_absent(_INLINE, source), absent_block, absent_tree)
        found = self._subsets.get(key)
        if found is None:
            found = self._subsets[key] = tuple(
                _without(full, absent) for full, absent in zip(self._full, key, strict=True))
        return found


def _without(full: Registry[Any], names: Iterable[str]) -> Registry[Any]:
    """A copy of a registry without `names`, in the same order and priorities."""
    left_out = set(names)
    subset: Registry[Any] = Registry()
    for entry in full._priority:  # type: ignore[attr-defined]  # its (name, priority) list
        if entry.name not in left_out:
            subset.register(full[entry.name], entry.name, entry.priority)
    return subset


@functools.cache
def dialect() -> Dialect:
    """The process's converter: building one costs more than converting a page."""
    return Dialect()
