"""Internal links: every link to this site must lead to a file the build writes.

Links written in content are reported at their Markdown file and line, so the editor can fix them;
links the theme makes are reported at the page that holds them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from hubgen.errors import Problem
from hubgen.gating.gate import Gate
from hubgen.model import Item, PlainPage

# [text](target "title"), ![alt](target), <a href="target">, <img src="target">, reference links.
_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")
# A reference definition ([id]: target); a footnote's ([^1]: text) has no target.
_REF_DEF = re.compile(r"^\s{0,3}\[(?!\^)[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def content_links(body: str, first_line: int) -> Iterator[tuple[str, int]]:
    """(target, line) of every link in a Markdown body, fenced code left out."""
    fenced = False
    for offset, line in enumerate(body.splitlines()):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        line_no = first_line + offset
        for pattern in (_MD_LINK, _HTML_LINK, _REF_DEF):
            for match in pattern.finditer(line):
                yield match.group(1), line_no


def is_internal(target: str) -> bool:
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not target.startswith(("#", "mailto:"))


def resolve(target: str, page_url: str) -> str:
    """A link as a site path, from the page it is on ('cover.svg' on /a/x/ -> /a/x/cover.svg)."""
    path = unquote(urlsplit(target).path)
    if not path:
        return page_url
    joined = path if path.startswith("/") else posixpath.join(page_url, path)
    normal = posixpath.normpath(joined)
    return normal + "/" if path.endswith("/") and normal != "/" else normal


def exists(site_path: str, files: set[str]) -> bool:
    rel = site_path.lstrip("/")
    if rel in files:
        return True
    index = (rel.rstrip("/") + "/index.html").lstrip("/")
    return index in files


Also = Callable[[Item | PlainPage], list[str]]


def unlocked_also(gate: Gate) -> Also:
    """A gated item's page is published at its unlocked address too, with the files that the
    part after the cut shows."""
    def also(entry: Item | PlainPage) -> list[str]:
        return [gate.unlocked_url(entry)] if isinstance(entry, Item) and entry.gated else []
    return also


def check_content_links(entries: Iterable[Item | PlainPage], files: set[str],
                        also: Also = lambda entry: []) -> list[Problem]:
    """`also`: the other addresses an entry's page is published at (a gated item's unlocked
    page shows the images after its cut); a relative link must lead somewhere from one of them."""
    problems = []
    for entry in entries:
        for target, line in content_links(entry.body, entry.body_line):
            if not is_internal(target):
                continue
            if not any(exists(resolve(target, url), files) for url in [entry.url, *also(entry)]):
                problems.append(Problem(
                    entry.source.as_posix(), f"broken link to {target}", line,
                    "no page or file of the site has that address; check the spelling, or link "
                    "to an item as /<section>/<slug>/"))
    return problems


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "link", "img", "script", "source", "form"):
            return_attr = {"a": "href", "link": "href", "form": "action"}.get(tag, "src")
            for name, value in attrs:
                if name == return_attr and value:
                    self.found.append((value, self.getpos()[0]))


def check_page_links(pages: dict[str, bytes], files: set[str], base_path: str,
                     ignore: Iterable[str] = ()) -> list[Problem]:
    """Links in built HTML pages (theme links); content links are reported at their source."""
    skipped = tuple(ignore)
    problems: dict[str, Problem] = {}
    pages_with: dict[str, int] = {}
    for path, data in sorted(pages.items()):
        if not path.endswith(".html"):
            continue
        parser = _Links()
        parser.feed(data.decode("utf-8", errors="replace"))
        page_url = "/" + path.removesuffix("index.html")
        for target, line in parser.found:
            if not is_internal(target) or target.startswith(skipped):
                continue
            site_path = resolve(target, page_url)
            if base_path and site_path.startswith(base_path + "/"):
                site_path = site_path[len(base_path):]
            if not exists(site_path, files):
                problems.setdefault(target, Problem(path, f"broken link to {target}", line))
                pages_with[target] = pages_with.get(target, 0) + 1
    # A theme link is on many pages: report it once, at the first, with how many more.
    return [Problem(p.path, p.message, p.line,
                    f"and on {pages_with[t] - 1} more pages" if pages_with[t] > 1 else None)
            for t, p in problems.items()]


def check_links(entries: Iterable[Item | PlainPage], outputs: Iterable[tuple[str, bytes | None]],
                base_path: str = "", also: Also = lambda entry: []) -> list[Problem]:
    """Content links at their source line, then theme links at their page; each once."""
    listed = list(outputs)
    files = {path for path, _ in listed}
    entries = list(entries)
    problems = check_content_links(entries, files, also)
    from_content = {p.message for p in problems}
    pages = {path: data for path, data in listed if data is not None and path.endswith(".html")}
    for problem in check_page_links(pages, files, base_path, ignore=("/_hubgen/",)):
        if problem.message not in from_content:
            problems.append(problem)
    return problems
