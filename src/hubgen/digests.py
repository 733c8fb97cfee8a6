"""Stable hashes of several parts: the keys of the cache, of pages and of files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def digest(*parts: str | bytes) -> str:
    """A stable hash of several parts (length-prefixed, so ('ab','c') != ('a','bc'))."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def digest_stream(size: int, chunks: Iterable[bytes]) -> str | None:
    """digest(data) of data that arrives in pieces, `size` bytes in all; None if the pieces
    do not add up to `size` (the file changed while it was read)."""
    h = hashlib.sha256()
    h.update(size.to_bytes(8, "big"))
    total = 0
    for chunk in chunks:
        h.update(chunk)
        total += len(chunk)
    return h.hexdigest() if total == size else None
