"""The local collector's store: one SQLite file of consent-form submissions, its export and erasure.

The collector (collector.py) writes through :func:`connect`, :func:`ensure_schema` and
:func:`insert`; `hubgen leads export` and `hubgen leads forget` read and erase through
:func:`export` and :func:`forget`. A record holds only what the form asks for (docs/submission.md):
no IP address, no user agent, no cookie.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import HubgenError, UsageError

SCHEMA_VERSION = 1  # kept in `PRAGMA user_version`; 0 means a new, empty file
BUSY_MS = 5000  # how long a writer waits for another one before giving up

# Columns in the order of the table, the CSV header and the JSON objects.
COLUMNS = ("id", "received_at", "item_id", "item_url", "language", "email", "role",
           "consent_version", "texts_match", "consents", "consent_texts")

_CREATE = """
CREATE TABLE submissions (
    id              INTEGER PRIMARY KEY,
    received_at     TEXT NOT NULL,    -- UTC, ISO 8601 with seconds, from the server's clock
    item_id         TEXT NOT NULL,    -- '<section>/<slug>', or '' for a plain sign-up form
    item_url        TEXT NOT NULL,    -- the page's URL as the form sent it
    language        TEXT NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,    -- a persona key or 'other'
    consent_version TEXT NOT NULL,    -- the version the visitor's page showed
    texts_match     INTEGER NOT NULL, -- 1: consent_texts are that version's words
    consents        TEXT NOT NULL,    -- JSON object: purpose id -> true/false
    consent_texts   TEXT NOT NULL     -- JSON list of {id, text}
);
CREATE INDEX submissions_email ON submissions (email COLLATE NOCASE);
"""

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection");
# item_url and e-mail come from the visitor, so CSV cells that start so get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Record:
    """One submission as stored."""

    received_at: str
    item_id: str
    item_url: str
    language: str
    email: str
    role: str
    consent_version: str
    texts_match: bool
    consents: Mapping[str, bool]
    consent_texts: Sequence[Mapping[str, str]]


def default_db(root: Path) -> Path:
    """Where `hubgen collect`, `hubgen serve` and `hubgen leads` keep the hub's submissions."""
    return root / ".hubgen" / "leads.sqlite"


def connect(db_path: Path, *, create: bool = False) -> sqlite3.Connection:
    """An autocommit connection that waits for other writers; a missing file is a UsageError
    unless `create` (the collector creates it, export and erasure never do)."""
    if create:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    elif not db_path.is_file():
        raise UsageError(f"{db_path}: no lead database here (the local collector creates it on its"
                         " first submission; pass --db PATH if it lives elsewhere)")
    try:
        conn = sqlite3.connect(db_path, timeout=BUSY_MS / 1000, isolation_level=None,
                               check_same_thread=True)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    except sqlite3.Error as exc:
        raise UsageError(f"{db_path}: cannot open the lead database: {exc}") from None
    return conn


def ensure_schema(conn: sqlite3.Connection, db_path: Path) -> None:
    """Create the table on first use (WAL mode, schema version 1); refuse a foreign or newer file."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent; cannot run in a transaction
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:  # no other process created it meanwhile
                    if _has_table(conn):
                        raise UsageError(f"{db_path}: a 'submissions' table without a hubgen "
                                         "schema version; not a hubgen lead database")
                    for statement in _CREATE.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    version = SCHEMA_VERSION
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{db_path}: not a lead database ({exc})") from None
    if version != SCHEMA_VERSION:
        raise HubgenError(f"{db_path}: lead database schema version {version}; this hubgen knows "
                          f"version {SCHEMA_VERSION} (upgrade hubgen)")


def _has_table(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'submissions'")
    return row.fetchone() is not None


def insert(conn: sqlite3.Connection, record: Record) -> int:
    """Store one submission in its own short transaction; returns its id."""
    cursor = conn.execute(
        "INSERT INTO submissions (received_at, item_id, item_url, language, email, role,"
        " consent_version, texts_match, consents, consent_texts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record.received_at, record.item_id, record.item_url, record.language, record.email,
         record.role, record.consent_version, int(record.texts_match),
         _json(dict(record.consents)), _json([dict(t) for t in record.consent_texts])))
    return int(cursor.lastrowid or 0)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _open_existing(db_path: Path) -> sqlite3.Connection:
    conn = connect(db_path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION or not _has_table(conn):
            raise UsageError(f"{db_path}: not a hubgen lead database (schema version {version})")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise UsageError(f"{db_path}: not a lead database ({exc})") from None
    except UsageError:
        conn.close()
        raise
    return conn


def rows(db_path: Path) -> list[dict[str, Any]]:
    """Every stored submission, oldest first, with consents and texts decoded."""
    conn = _open_existing(db_path)
    try:
        cursor = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM submissions ORDER BY id")
        out = []
        for values in cursor:
            row = dict(zip(COLUMNS, values, strict=True))
            row["texts_match"] = bool(row["texts_match"])
            row["consents"] = json.loads(row["consents"])
            row["consent_texts"] = json.loads(row["consent_texts"])
            out.append(row)
        return out
    finally:
        conn.close()


def export(db_path: Path, fmt: Literal["csv", "json"] = "csv") -> str:
    """The submissions as CSV (a header row; consents and texts as JSON text) or a JSON list."""
    records = rows(db_path)
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    if fmt != "csv":
        raise UsageError(f"unknown export format {fmt!r} (csv or json)")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([_csv_cell(record[c]) for c in COLUMNS])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str | int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (dict, list)):
        return _json(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _fold(value: object) -> str:
    return str(value).casefold()


def forget(db_path: Path, email: str) -> int:
    """Erase every submission of `email` (case-insensitive); returns how many went.

    The freed pages are overwritten (secure_delete), the file rebuilt (VACUUM) and the write-ahead
    log truncated, so the data is gone from the files, not just unlisted.
    """
    if not email.strip():
        raise UsageError("give the e-mail address whose records to erase")
    conn = _open_existing(db_path)
    try:
        conn.create_function("hubgen_fold", 1, _fold, deterministic=True)
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            count = conn.execute("DELETE FROM submissions WHERE hubgen_fold(email) = ?",
                                 (_fold(email.strip()),)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("VACUUM")
        # A collector reading at this moment may hold the log open; its next checkpoint then
        # finishes the job (docs/submission.md).
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(count)
    finally:
        conn.close()
