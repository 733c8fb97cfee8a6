"""Which file of the built site a request may read, and how it is labelled.

Safety, after other dev servers' advisories (MkDocs CVE-2021-40978, CPython CVE-2021-28861): each
URL segment is decoded on its own and checked, then the resolved path must stay inside the built
folder; a redirect is built from the checked segments, so it never leaves the server.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote_to_bytes

HTML = "text/html; charset=utf-8"

# Fixed here rather than left to the OS's table (Windows' registry may say text/plain for .js).
_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
          ".mjs": "text/javascript", ".json": "application/json",
          ".webmanifest": "application/manifest+json", ".xml": "application/xml",
          ".atom": "application/atom+xml", ".svg": "image/svg+xml", ".txt": "text/plain",
          ".pdf": "application/pdf", ".woff2": "font/woff2", ".ico": "image/x-icon"}
_TEXT_TYPES = ("application/json", "application/manifest+json", "application/xml",
               "application/atom+xml", "image/svg+xml")


def content_type(name: str) -> str:
    """The Content-Type of a site file; UTF-8 for every text type (the build writes UTF-8)."""
    ext = os.path.splitext(name)[1].lower()
    kind = ("text/plain" if name in ("_headers", "_redirects") else
            _TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream")
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind in _TEXT_TYPES else kind


@dataclass(frozen=True)
class Target:
    """A request's file, or where a folder asked for without its slash redirects."""

    file: Path | None = None
    redirect: str | None = None


def locate(site: Path, url_path: str, prefix: str = "") -> Target | None:
    """The file under `site` that a raw (still percent-encoded) URL path names, or None.

    Each segment is decoded on its own; one that decodes to '.', '..' or holds a slash, a backslash
    or a NUL is refused, as is any path whose resolved form (symlinks followed) leaves `site`.
    Empty segments are dropped, so leading slashes collapse: a redirect is always a local path.
    """
    parts: list[str] = []
    for raw in url_path.split("/"):
        if not raw:
            continue
        try:
            part = unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return None
        if part in (".", "..") or any(c in part for c in "/\\\0"):
            return None
        parts.append(part)
    served = parts
    if prefix:
        base = [p for p in prefix.split("/") if p]
        if parts[:len(base)] != base:
            return None
        served = parts[len(base):]
    root = site.resolve()
    try:
        path = root.joinpath(*served).resolve()
        if not path.is_relative_to(root):
            return None
        if path.is_dir():
            if not url_path.endswith("/"):
                return Target(redirect="/" + "".join(quote(p) + "/" for p in parts))
            path = (path / "index.html").resolve()
            if not path.is_relative_to(root):
                return None
        return Target(file=path) if path.is_file() else None
    except (OSError, ValueError):  # a name too long, a symlink loop...
        return None


def open_file(path: Path) -> BinaryIO | None:
    """The file opened for reading, or None if it went away (a rebuild removed it)."""
    try:
        return path.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
