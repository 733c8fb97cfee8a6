"""The golden build of the bundled example hub: what it builds to, kept in tests/golden/ and
compared by tests/test_golden.py. After a change that is meant to change the output, regenerate it
with one command and review the diff like any other change:

    python scripts/update_golden.py
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hubgen.build import BuildOptions, build

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "example-hub"
HASHES = REPO / "tests" / "golden" / "example-hub.sha256"
TODAY = "1793491200"  # 2026-11-01: scheduling and dates are fixed, like SOURCE_DATE_EPOCH in CI
TEXT = (".html", ".xml", ".json", ".txt", "_headers")  # kept whole; the rest as hashes


def build_example(out: Path) -> dict[str, bytes]:
    """The example hub built as the golden files record it: no cache, no search index (Pagefind
    writes some of its files differently on every run), the public development secret."""
    saved = {key: os.environ.get(key) for key in ("SOURCE_DATE_EPOCH", "HUBGEN_GATE_SECRET")}
    os.environ["SOURCE_DATE_EPOCH"] = TODAY
    os.environ.pop("HUBGEN_GATE_SECRET", None)
    try:
        build(BuildOptions(root=REPO, out=out, cache=False, search=False, jobs=1))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def split(files: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, str]]:
    """(text files kept whole, the others' SHA-256)."""
    text = {path: data for path, data in files.items() if path.endswith(TEXT)}
    hashes = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()
              if path not in text}
    return text, hashes


def read_golden() -> tuple[dict[str, bytes], dict[str, str]]:
    text = {p.relative_to(GOLDEN).as_posix(): p.read_bytes()
            for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    hashes = dict(line.split("  ", 1)[::-1] for line in HASHES.read_text("utf-8").splitlines())
    return text, hashes
