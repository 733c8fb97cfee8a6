"""The no-leak audit: proves that nothing of a gated item escapes into a public file.

It reads the built site as a visitor or a crawler could (every file outside /unlocked/, whatever its
type: HTML, XML, JSON, JS, TXT, compressed search-index fragments) and looks for

- any sentence of a gated body beyond its public teaser,
- the name or the bytes of a gated download,
- in strict mode, the item's unlock token;

and checks that no sitemap, feed or search file lists an /unlocked/ address at all.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hubgen.config import Config
from hubgen.errors import Problem
from hubgen.gating.gate import Gate
from hubgen.model import Item
from hubgen.render.markdown import Rendered, html_to_text
from hubgen.sources import HubFiles

MIN_WORDS = 6  # shorter sentences ("Les mer.") can appear anywhere by chance
_TAG = re.compile(r"<[^>]*>")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
_BLOCK = re.compile(r"</(?:p|li|h[1-6]|td|th|dd|dt|blockquote|pre|figcaption)>", re.I)
UNLOCKED_ADDRESS = re.compile(rb"/unlocked/[0-9a-f]{8,}")
LISTING_FILES = re.compile(r"(^|/)(sitemap\.xml|robots\.txt|feed\.xml|[^/]*\.json)$|^pagefind/")


def fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def sentences(fragment: str) -> set[str]:
    """The sentences of an HTML fragment worth looking for, folded."""
    found: set[str] = set()
    for block in _BLOCK.split(fragment):
        text = html_to_text(block)
        for sentence in _SENTENCE_END.split(text):
            if len(sentence.split()) >= MIN_WORDS:
                found.add(fold(sentence))
    return found


@dataclass(frozen=True)
class Secret:
    """What must stay out of public files for one gated item."""

    item: Item
    sentences: frozenset[str]
    download_name: str | None
    download_hash: str | None
    token: str | None


def secrets_of(config: Config, gate: Gate, items: Iterable[Item],
               rendered: Mapping[str, Rendered]) -> list[Secret]:
    files = HubFiles(config.root)
    out = []
    for item in items:
        if not item.gated:
            continue
        body = rendered[item.id]
        public = sentences(body.teaser_html) | {fold(h.text) for h in body.headings}
        public |= {fold(item.title), fold(item.summary)}
        hidden = frozenset(s for s in sentences(body.rest_html) if s not in public)
        digest = None
        if item.download:
            path = config.root / item.source.parent / item.download
            digest = _file_hash(files.vet(path))
        token = gate.token(item) if gate.mode == "strict" else None
        out.append(Secret(item, hidden, item.download, digest, token))
    return out


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
        text = readable(data)
        raw = _maybe_gunzip(data).decode("utf-8", errors="replace")
        for secret in secrets:
            where = secret.item.source.as_posix()
            leaked = sorted(s for s in secret.sentences if s in text)
            if leaked:
                problems.append(Problem(path, f"holds gated text of {where}: \"{leaked[0][:80]}\""
                                        + (f" (+{len(leaked) - 1} more)" if len(leaked) > 1 else "")))
            if secret.download_name and secret.download_name in raw:
                problems.append(Problem(path, f"names the gated download '{secret.download_name}'"
                                        f" of {where}"))
            if secret.token and secret.token in raw:
                problems.append(Problem(path, f"holds the unlock token of {where} (strict mode)"))
    return problems


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


