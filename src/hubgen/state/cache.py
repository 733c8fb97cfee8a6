"""The persistent build cache under the hub's .hubgen/ folder (safe to delete at any time): a
small key-value store in SQLite, entries grouped by kind. Only state/ uses it.

Entries keyed by a hash of everything that goes into them, so a stale one is never found rather
than having to be invalidated (stores.py, inputs.py):

- `source`: a content file's parsed front matter and body, keyed by the file's bytes;
- `markdown`: a rendered body, keyed by its Markdown, teaser, options and hubgen's version;
- `filehash`: a content file's hash, keyed by its path, size, time and inode.

Records of the last build into one output folder (records.py, buildstate.py), one kind per
folder, replaced by each build:

- `build:<folder>`: what the last build read, its files with their stamps, its hub;
- `page:<folder>`: each page's key and the stamp of the file it left;
- `search:<folder>`: the key of the search index and its files' stamps.

The cache is an optimisation only: with `--no-cache`, or after deleting .hubgen/, the build gives
byte-identical output.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hubgen import __version__

SCHEMA = 2  # bump when an entry's shape changes: an older cache is then started afresh
LOCK_SECONDS = 10.0  # how long to wait for another build that holds the cache


_PUT = "INSERT OR REPLACE INTO entries (kind, key, value) VALUES (?, ?, ?)"


class Cache:
    """A small key-value store in SQLite; `Cache(None)` is a cache that never hits."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self.trouble: str | None = None  # why the cache was given up during this run, if it was
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=LOCK_SECONDS)
            self._db.execute("PRAGMA journal_mode=WAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA:
                self._db.execute("DROP TABLE IF EXISTS entries")
                self._db.execute(f"PRAGMA user_version={SCHEMA}")
            self._db.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT, key TEXT, "
                             "value TEXT, PRIMARY KEY (kind, key)) WITHOUT ROWID")
            self._db.commit()
        except sqlite3.OperationalError as exc:  # locked by another build, read-only, disk full
            self._give_up(exc)
        except sqlite3.DatabaseError:
            # A corrupt cache must never fail a build: start afresh.
            self._reset(path)

    def _give_up(self, exc: Exception) -> None:
        """Go on without the cache: the output is the same, only slower."""
        self.trouble = f"{self.path}: {exc}"
        if self._db is not None:
            self._db.close()
        self._db = None

    def _reset(self, path: Path) -> None:
        if self._db is not None:
            self._db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(f"PRAGMA user_version={SCHEMA}")
        self._db.execute("CREATE TABLE entries (kind TEXT, key TEXT, value TEXT, "
                         "PRIMARY KEY (kind, key)) WITHOUT ROWID")
        self._db.commit()

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        if self._db is None:
            return {}
        try:
            rows = self._select(kind, keys, "key, value")
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}
        return {key: json.loads(value) for key, value in rows}

    def get_kind(self, kind: str) -> dict[str, Any]:
        """Every entry of `kind` (records of one output folder)."""
        if self._db is None:
            return {}
        try:
            rows = list(self._db.execute("SELECT key, value FROM entries WHERE kind = ?", (kind,)))
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}
        return {key: json.loads(value) for key, value in rows}

    def present(self, kind: str, keys: Iterable[str]) -> set[str]:
        """Which of these keys have an entry (without reading the entries)."""
        if self._db is None:
            return set()
        try:
            rows = self._select(kind, keys, "key")
        except sqlite3.Error as exc:
            self._give_up(exc)
            return set()
        return {key for (key,) in rows}

    def _select(self, kind: str, keys: Iterable[str], columns: str) -> list[Any]:
        assert self._db is not None
        wanted = list(dict.fromkeys(keys))
        rows: list[Any] = []
        for start in range(0, len(wanted), 500):  # SQLite limits a query's parameters
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(self._db.execute(
                f"SELECT {columns} FROM entries WHERE kind = ? AND key IN ({marks})",
                [kind, *chunk]))
        return rows

    def reader(self) -> CacheReader | None:
        return CacheReader(self.path) if self._db is not None and self.path else None

    def put_many(self, kind: str, entries: dict[str, Any]) -> None:
        if self._db is None or not entries:
            return
        try:
            try:
                rows = [(kind, key, json.dumps(value, ensure_ascii=False))
                        for key, value in entries.items()]
                with self._db:
                    self._db.executemany(_PUT, rows)
            except UnicodeEncodeError:  # a lone surrogate (validation reports it): as \\udXXXX
                with self._db:
                    self._db.executemany(_PUT, [(kind, key, json.dumps(value))
                                                for key, value in entries.items()])
        except sqlite3.Error as exc:
            self._give_up(exc)

    def replace_kind(self, kind: str, entries: dict[str, Any]) -> None:
        """Make `kind` hold exactly these entries (for state that mirrors the last build)."""
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute("DELETE FROM entries WHERE kind = ?", (kind,))
        except sqlite3.Error as exc:
            self._give_up(exc)
        self.put_many(kind, entries)

    def prune(self, kind: str, keep: Iterable[str]) -> None:
        """Drop entries of `kind` not used by this build, so the cache does not grow forever."""
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
                self._db.execute("DELETE FROM keep")
                self._db.executemany("INSERT OR IGNORE INTO keep VALUES (?)",
                                     [(k,) for k in keep])
                self._db.execute("DELETE FROM entries WHERE kind = ? AND key NOT IN "
                                 "(SELECT key FROM keep)", (kind,))
        except sqlite3.Error as exc:
            self._give_up(exc)

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class CacheReader:
    """Reads single entries: the build reads each rendered body back as it makes the page's
    context. A process forked after the reader was made (parallel.py's fork fallback) opens a
    connection of its own: a SQLite connection must not cross a fork. A read that fails finds
    nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        # A connection inherited through fork is kept, never used nor closed: closing it in the
        # child could drop the locks of the child's own connection to the same file.
        self._inherited: list[sqlite3.Connection] = []

    def get(self, kind: str, key: str) -> str | None:
        try:
            if self._pid != os.getpid() or self._db is None:
                if self._db is not None:
                    self._inherited.append(self._db)
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                           timeout=LOCK_SECONDS, check_same_thread=False)
                self._pid = os.getpid()
            row = self._db.execute("SELECT value FROM entries WHERE kind = ? AND key = ?",
                                   (kind, key)).fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None


def work_folder(root: Path) -> Path:
    """The hub's .hubgen/ folder (cache, preview, local leads), made with a .gitignore of its
    own, so none of it, least of all the leads' personal data, reaches the hub's git."""
    folder = root / ".hubgen"
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    try:
        intact = ignore.read_text("utf-8").splitlines().count("*") > 0
    except (OSError, UnicodeDecodeError):
        intact = False
    if not intact:  # missing, or left empty by a full disk: the leads must never be offered
        temporary = folder / ".gitignore.new"
        temporary.write_text(GITIGNORE, encoding="utf-8")
        os.replace(temporary, ignore)  # whole or not at all
    return folder


GITIGNORE = "# hubgen's cache, preview build and local leads: never commit them\n*\n"


def open_cache(root: Path, enabled: bool) -> Cache:
    return Cache(work_folder(root) / "cache.sqlite" if enabled else None)


VERSION_SALT = __version__
