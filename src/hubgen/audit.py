"""The no-leak audit: proves that nothing of a gated item escapes into a public file.

It reads the built site as a visitor or a crawler could (every file outside /unlocked/, whatever its
type: HTML, XML, JSON, JS, TXT, compressed search-index fragments) and looks for

- every text of a gated body beyond its public teaser: each sentence, and each list item, table
  cell, heading and checklist item however short (from MIN_CHARS), unless the site publishes the
  same words legitimately (an open item, a teaser, a title or summary, the theme's own words);
- the name or the bytes of a gated download;
- in strict mode, the item's unlock token;

and checks that no sitemap, feed or search file lists an /unlocked/ address at all. All texts are
found in one pass over each file (Aho-Corasick), so the audit stays linear in the site's size.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from hubgen.config import Config
from hubgen.errors import Problem
from hubgen.gating.gate import Gate
from hubgen.model import Item
from hubgen.render.markdown import Rendered, html_to_text
from hubgen.sources import HubFiles

MIN_CHARS = 12  # and two words: shorter texts ("Ja", "Les mer") say nothing of the body
_TAG = re.compile(r"<[^>]*>")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
_BLOCK = re.compile(r"</?(?:p|li|h[1-6]|td|th|dd|dt|blockquote|pre|figcaption|label|div|"
                    r"section|ul|ol|table|tr|details|summary)\b[^>]*>", re.I)
UNLOCKED_ADDRESS = re.compile(rb"/unlocked/[0-9a-f]{8,}")
LISTING_FILES = re.compile(r"(^|/)(sitemap\.xml|robots\.txt|feed\.xml|[^/]*\.json)$|^pagefind/")


def fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _worth_finding(text: str) -> bool:
    return len(text) >= MIN_CHARS and " " in text


def texts(fragment: str) -> set[str]:
    """The texts of an HTML fragment worth looking for, folded: each block's text (a paragraph,
    a list or checklist item, a cell, a heading) and each sentence in it."""
    found: set[str] = set()
    for block in _BLOCK.split(fragment):
        text = fold(html_to_text(block))
        if _worth_finding(text):
            found.add(text)
        found.update(s for s in _SENTENCE_END.split(text) if _worth_finding(s))
    return found


@dataclass(frozen=True)
class Secret:
    """What must stay out of public files for one gated item."""

    item: Item
    texts: frozenset[str]
    download_name: str | None
    download_hash: str | None
    token: str | None


def public_words(item: Item, body: Rendered) -> str:
    """What the site publishes of an item on purpose, folded: title, summary, and the whole
    body of an open item or the teaser (and an e-book's chapter headings) of a gated one."""
    shown = [item.title, item.summary]
    if not item.gated:
        shown.append(html_to_text(body.html))
    else:
        shown.append(html_to_text(body.teaser_html))
        if item.type == "ebook":  # "what you will learn": its level-2 headings are public
            shown.extend(h.text for h in body.headings if h.level == 2)
    return fold(" \n ".join(shown))


def secrets_of(config: Config, gate: Gate, items: Iterable[Item],
               rendered: Mapping[str, Rendered], published: Iterable[str] = ()) -> list[Secret]:
    """The secrets of every gated item. `published`: other words the site shows on purpose (the
    theme's messages, labels); a hidden text that the site publishes anyway is no leak."""
    files = HubFiles(config.root)
    items = list(items)
    corpus = [public_words(item, rendered[item.id]) for item in items]
    corpus.extend(fold(text) for text in published)
    hidden: dict[str, set[str]] = {}
    for item in items:
        if item.gated:
            body = rendered[item.id]
            hidden[item.id] = texts(body.html) - texts(body.teaser_html)
    everyone = _Finder({text for found in hidden.values() for text in found})
    shown = {text for words in corpus for text in everyone.find(words)}
    out = []
    for item in items:
        if not item.gated:
            continue
        digest = _file_hash(files.vet(config.root / item.source.parent / item.download)) \
            if item.download else None
        token = gate.token(item) if gate.mode == "strict" else None
        out.append(Secret(item, frozenset(hidden[item.id] - shown), item.download, digest, token))
    return out


class _Finder:
    """Every text of a set that occurs, on word boundaries, in a text: one pass (Aho-Corasick)."""

    def __init__(self, wanted: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for text in wanted:
            self._automaton.add_word(text, text)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str) -> set[str]:
        if self._empty:
            return set()
        found = set()
        for end, word in self._automaton.iter(text):
            start = end - len(word) + 1
            if (start == 0 or not text[start - 1].isalnum()) and \
                    (end + 1 == len(text) or not text[end + 1].isalnum()):
                found.add(word)
        return found


def _file_hash(path: Path) -> str:
    """SHA-256 of a file read in pieces: a download may be larger than memory allows."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def readable(data: bytes) -> str:
    """A public file as text a reader could search: un-gzipped, un-escaped, tags dropped."""
    text = _maybe_gunzip(data).decode("utf-8", errors="replace")
    # Attribute values (meta descriptions, data-*) count as public text too.
    attributes = " ".join(re.findall(r'=\s*"([^"]*)"', text))
    for _ in range(2):  # feeds carry escaped HTML: unescape, then drop the tags
        text = html.unescape(text)
        text = _TAG.sub(" ", text)
    text = text.replace('\\"', '"').replace("\\n", " ")
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return fold(text + " " + html.unescape(attributes))


def audit_files(files: Mapping[str, bytes], secrets: list[Secret]) -> list[Problem]:
    """Every leak found in the public files, naming the file and the item."""
    problems: list[Problem] = []
    hashes = {s.download_hash: s for s in secrets if s.download_hash}
    owners: dict[str, list[Secret]] = {}
    for secret in secrets:
        for text in secret.texts:
            owners.setdefault(text, []).append(secret)
    words = _Finder(owners)
    marks = {mark: (secret, what) for secret in secrets for mark, what in (
        (secret.download_name, "names the gated download"), (secret.token, "holds the token"))
        if mark}
    raw_marks = _Raw(marks)
    for path, data in sorted(files.items()):
        if path.startswith("unlocked/"):
            continue
        if LISTING_FILES.search(path) and UNLOCKED_ADDRESS.search(_maybe_gunzip(data)):
            problems.append(Problem(path, "lists an /unlocked/ address; unlocked pages must stay "
                                    "out of sitemaps, feeds, search and JSON"))
        digest = hashlib.sha256(data).hexdigest()
        if digest in hashes:
            item = hashes[digest].item
            problems.append(Problem(path, f"is the gated download of {item.source.as_posix()}"))
        leaked: dict[str, list[str]] = {}
        for text in words.find(readable(data)):
            for secret in owners[text]:
                leaked.setdefault(secret.item.source.as_posix(), []).append(text)
        for where, found in sorted(leaked.items()):
            found.sort()
            problems.append(Problem(path, f"holds gated text of {where}: \"{found[0][:80]}\""
                                    + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")))
        raw = _maybe_gunzip(data).decode("utf-8", errors="replace")
        for mark in sorted(raw_marks.find(raw)):
            secret, what = marks[mark]
            where = secret.item.source.as_posix()
            problems.append(Problem(path, f"names the gated download '{mark}' of {where}"
                                    if what.startswith("names") else
                                    f"holds the unlock token of {where} (strict mode)"))
    return problems


class _Raw:
    """Every mark (a file name, a token) that occurs anywhere in a text, in one pass."""

    def __init__(self, marks: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for mark in marks:
            self._automaton.add_word(mark, mark)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str) -> set[str]:
        return set() if self._empty else {mark for _, mark in self._automaton.iter(text)}


def _maybe_gunzip(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except OSError:
            return data
    return data


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def lint_form(config: Config, files: Mapping[str, bytes]) -> list[Problem]:
    """Consent-form rules a data-protection officer would ask for."""
    problems = []
    for consent in config.consents:
        if consent.required:
            problems.append(Problem(
                "hub.toml", f"consent '{consent.id}' is required = true: making consent the price "
                "of the content is not freely given consent (GDPR art. 7(4), EDPB guidelines "
                "05/2020 on consent); set required = false", warning=True))
    privacy = config.forms["privacy_url"]
    if privacy.startswith("/"):
        page = privacy.strip("/") + "/index.html" if privacy.strip("/") else "index.html"
        if page not in files:
            problems.append(Problem("hub.toml", f"privacy_url {privacy} is not a page of this "
                                    "site", hint="add content/pages/personvern.md or fix "
                                    "[forms] privacy_url"))
    elif not privacy.startswith(("https://", "http://")):
        problems.append(Problem("hub.toml", f"privacy_url {privacy!r} must be a site path or URL"))
    gated = any(b"data-hubgen-form" in data for data in files.values())
    if gated and not config.consents:
        problems.append(Problem("hub.toml", "no [[forms.consents]] purposes: the form collects "
                                "e-mail and role without any consent option", warning=True))
    return problems


