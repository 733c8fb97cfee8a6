"""Leads of the local collector: a submission checked into a :class:`Record`, the SQLite file that
keeps them, its export and erasure.

The collector (collector.py) checks with :func:`validate` and writes through :func:`connect`,
:func:`ensure_schema` and :func:`insert`; `hubgen leads export` and `hubgen leads forget` use
:func:`export` and :func:`forget`. A record holds only what the form asks for (docs/submission.md):
no IP address, no user agent, no cookie.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hubgen.config import LANGUAGES, Config
from hubgen.errors import HubgenError, UsageError
from hubgen.gating.forms import OTHER_ROLE, consent_texts

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
    consent_texts   TEXT NOT NULL,    -- JSON list of {id, text}
    visitor         TEXT NOT NULL DEFAULT ''  -- SHA-256 of the browser's returning-visitor key
);
CREATE INDEX submissions_email ON submissions (email COLLATE NOCASE);
CREATE INDEX submissions_visitor ON submissions (visitor);
"""

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection");
# item_url and e-mail come from the visitor, so CSV cells that start so get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MAX_TEXT = 2048  # item_url and consent_version: longer is no real page's value
FORM_ERROR = "form"  # the errors key of a problem that belongs to no one field
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$")


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


def validate(raw: Mapping[str, Any], *, config: Config, item_ids: Collection[str], version: str,
             from_form: bool, now: float) -> tuple[Record | None, dict[str, str]]:
    """The record to store, or None and {field: message key} of everything wrong.

    `raw` is the request's fields (JSON values, or the first value of each form field), `version`
    the hub's current consent version, `now` the server's clock (seconds since the epoch).
    """
    errors: dict[str, str] = {}
    email = raw.get("email")
    email = email.strip() if isinstance(email, str) else email
    if email is None or email == "":
        errors["email"] = "error_email_required"
    elif not isinstance(email, str) or not plausible_email(email):
        errors["email"] = "error_email_invalid"
    role = raw.get("role")
    if not isinstance(role, str) or role not in (*config.persona_keys, OTHER_ROLE):
        errors["role"] = "error_role_required"
    item_id = _text(raw, "item_id", errors)
    if item_id and item_id not in item_ids:
        errors["item_id"] = "error_generic"
    item_url = _text(raw, "item_url", errors)
    sent_version = _text(raw, "consent_version", errors)
    language = _text(raw, "language", errors) or config.language
    if language not in LANGUAGES:
        errors["language"] = "error_generic"
    consents = _consents(config, raw, from_form, errors)
    _check_timing(raw.get("started"), config.forms["min_seconds"], now, errors)
    if errors:
        return None, errors
    # A record keeps the texts of the version the page showed. When the page was built from other
    # texts than the hub's current ones, the submission is kept anyway, flagged texts_match=0:
    # the consent manifest of that build holds the words of the version sent.
    return Record(
        received_at=dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        item_id=item_id, item_url=item_url, language=language, email=str(email), role=str(role),
        consent_version=sent_version, texts_match=sent_version == version, consents=consents,
        consent_texts=consent_texts(config),
    ), {}


def plausible_email(email: str) -> bool:
    """One @, a dot inside the domain, no spaces or control characters, at most 254 characters."""
    return len(email) <= 254 and not _CONTROL.search(email) and bool(_EMAIL.match(email))


def _text(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT or _CONTROL.search(value):
        errors[key] = "error_generic"
        return ""
    return value.strip()


def _consents(config: Config, raw: Mapping[str, Any], from_form: bool,
              errors: dict[str, str]) -> dict[str, bool]:
    """Purpose id -> ticked, for every configured purpose (others are ignored).

    A form sends a ticked box only; JSON may say `consent_<id>: true` or `consents: {id: true}`.
    """
    given = {} if from_form else raw.get("consents", {})
    if not isinstance(given, dict):
        errors["consents"] = "error_generic"
        given = {}
    out: dict[str, bool] = {}
    for consent in config.consents:
        field = f"consent_{consent.id}"
        if from_form:
            out[consent.id] = field in raw
            continue
        said = {_as_bool(v) for v in (given.get(consent.id), raw.get(field)) if v is not None}
        if None in said or len(said) > 1:  # not a yes/no, or two different answers
            errors[field] = "error_generic"
        out[consent.id] = said == {True}
    return out


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "on", "1", "false", "0", ""):
        return value.lower() in ("true", "on", "1")
    return None


def _check_timing(started: Any, min_seconds: int, now: float, errors: dict[str, str]) -> None:
    """A script sets `started` (ms since the epoch) at page load; without it there is no check."""
    if started is None or started == "":
        return
    if isinstance(started, str) and started.strip().isdigit():
        started = int(started.strip())
    if isinstance(started, bool) or not isinstance(started, (int, float)):
        errors[FORM_ERROR] = "error_generic"
        return
    elapsed = now * 1000 - started
    # A negative time means the visitor's clock is ahead of ours: it proves nothing either way.
    if 0 <= elapsed < min_seconds * 1000:
        errors[FORM_ERROR] = "error_too_fast"


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


def insert(conn: sqlite3.Connection, record: Record, visitor: str = "") -> int:
    """Store one submission in its own short transaction; returns its id.

    `visitor` is the key handed to the browser so that it can open other gated items later
    without submitting again; only its hash is stored, and erasure removes it with the row."""
    cursor = conn.execute(
        "INSERT INTO submissions (received_at, item_id, item_url, language, email, role,"
        " consent_version, texts_match, consents, consent_texts, visitor)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record.received_at, record.item_id, record.item_url, record.language, record.email,
         record.role, record.consent_version, int(record.texts_match),
         _json(dict(record.consents)), _json([dict(t) for t in record.consent_texts]),
         visitor_hash(visitor) if visitor else ""))
    return int(cursor.lastrowid or 0)


def visitor_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def known_visitor(conn: sqlite3.Connection, key: str) -> bool:
    """True when a stored submission was made by the browser holding this key."""
    if not key or len(key) > 200:
        return False
    row = conn.execute("SELECT 1 FROM submissions WHERE visitor = ? LIMIT 1", (visitor_hash(key),))
    return row.fetchone() is not None


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
