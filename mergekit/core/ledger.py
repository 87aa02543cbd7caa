"""The ledger: an SQLite file recording everything mergekit did, so nothing is done twice.

What is kept:

* ``runs``: each command that changed something (when, for which school day, which folder);
* ``actions``: an action carried out for a pupil, unique per (UPN, action, stage) where the
  stage says which occurrence it is (a date for day-1 contact, the academic year for a letter,
  the first day of an absence run for the CME steps, the start of an alert's episode);
* ``documents``: files made for an action, with their SHA-256; a file made again (``letters
  --again``) gets a new row, and the row it replaces keeps its place with ``replaced_by``;
* ``strikes``: actions staff struck (Approve = N in the plan workbook), per (UPN, action,
  stage), held until a person lifts them (Y again) or the condition changes;
* ``messages``: every email with its fixed Message-ID and state
  (queued, sending, sent, failed, unknown);
* ``writes``: cells written into the transfer list.

Every change is one transaction, so a crash leaves the ledger as it was before or after the
change, never half-way. A ledger written by a newer mergekit is refused rather than misread;
an older one is brought up to date when it is next opened for writing (read-only, it is read
as it is).

One module (about 640 lines) because the schema, its migrations and every query that relies on
them must change together; nothing else opens the SQLite file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mergekit.core.atomic import FILE_MODE, clean_once, make_dirs, own_file
from mergekit.core.errors import LedgerError
from mergekit.core.lock import Holder, held_by_us, ledger_lock_path, school_lock

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    today TEXT NOT NULL,
    command TEXT NOT NULL,
    folder TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    upn TEXT NOT NULL,
    action TEXT NOT NULL,
    stage TEXT NOT NULL,
    academic_year TEXT NOT NULL,
    day TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (upn, action, stage)
);
CREATE INDEX IF NOT EXISTS actions_upn ON actions(upn);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    action_id INTEGER REFERENCES actions(id),
    run_id INTEGER NOT NULL REFERENCES runs(id),
    upn TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    replaced_by INTEGER REFERENCES documents(id)
);
CREATE INDEX IF NOT EXISTS documents_upn ON documents(upn);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    action_id INTEGER REFERENCES actions(id),
    upn TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]',
    eml_path TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    queued_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS messages_upn ON messages(upn);
CREATE TABLE IF NOT EXISTS writes (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    upn TEXT NOT NULL,
    file TEXT NOT NULL,
    sheet TEXT NOT NULL,
    cell TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT NOT NULL DEFAULT '',
    new_value TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS writes_upn ON writes(upn);
CREATE TABLE IF NOT EXISTS strikes (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    upn TEXT NOT NULL,
    action TEXT NOT NULL,
    stage TEXT NOT NULL,
    academic_year TEXT NOT NULL,
    day TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    struck_at TEXT NOT NULL,
    lifted_day TEXT,
    lifted_at TEXT,
    lifted_why TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS strikes_held ON strikes(upn, action, stage)
    WHERE lifted_at IS NULL;
"""

# What a ledger of each older schema needs to reach the next (the new tables come from the
# CREATE ... IF NOT EXISTS statements above).
_UPGRADES = {1: ("ALTER TABLE documents ADD COLUMN replaced_by INTEGER REFERENCES documents(id)",)}


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


# (run_id, upn, action, stage, academic_year, day, reason, evidence) for record_actions.
ActionRow = tuple[int, str, str, str, str, date, str, Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: int
    run_id: int
    upn: str
    action: str
    stage: str
    academic_year: str
    day: date
    reason: str
    evidence: dict[str, Any]
    created_at: str


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: int
    action_id: int | None
    upn: str
    kind: str  # docx or pdf
    path: str
    sha256: str
    created_at: str
    replaced_by: int | None = None  # the record of the file made again in its place


@dataclass(frozen=True, slots=True)
class StrikeRecord:
    """An action staff struck. Held while ``lifted_at`` is None."""

    id: int
    upn: str
    action: str
    stage: str
    academic_year: str
    day: date  # the school day it was struck
    reason: str  # the plan's reason on that day
    source: str  # the plan workbook the N was read from
    struck_at: str
    lifted_day: date | None = None
    lifted_at: str | None = None
    lifted_why: str = ""

    def key(self) -> tuple[str, str, str]:
        return (self.upn, self.action, self.stage)


# (run_id, upn, action, stage, academic_year, day, reason, source) for record_strikes.
StrikeRow = tuple[int | None, str, str, str, str, date, str, str]


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One email of a pupil, as the outbox recorded it."""

    id: int
    action_id: int | None
    upn: str
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    attachments: tuple[str, ...]
    state: str  # queued, sending, sent, failed, unknown
    last_error: str
    queued_at: str
    updated_at: str
    sent_at: str | None


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One line of ``mergekit history``: something that happened for a pupil."""

    when: str  # ISO timestamp or date
    what: str  # action / document / message / write
    detail: str


class Ledger:
    """Open with :meth:`open`; use as a context manager so the connection is closed."""

    def __init__(self, conn: sqlite3.Connection, path: Path, version: int = SCHEMA_VERSION):
        self.conn = conn
        self.path = path
        self.version = version  # an older ledger opened read-only keeps its own schema
        self._lock = ExitStack()

    @classmethod
    def open(cls, path: Path, what: str = "") -> Ledger:
        """Open for writing, holding the school's lock (:func:`mergekit.core.lock.school_lock`;
        shared with a command that already holds it) until closed."""
        make_dirs(path.parent)
        lock = ExitStack()
        lock.enter_context(school_lock(path, what))
        try:
            _private(path)  # owner-only, made under the lock
            conn, version = _connect(
                path,
                str(path),
                "PRAGMA foreign_keys = ON",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = FULL",
            )
            ledger = cls._writable(conn, path, version)
        except BaseException:
            lock.close()
            raise
        ledger._lock = lock
        return ledger

    @classmethod
    def _writable(cls, conn: sqlite3.Connection, path: Path, version: int) -> Ledger:
        if version < SCHEMA_VERSION:
            with _tx(conn):
                for old in range(max(version, 1), SCHEMA_VERSION) if version else ():
                    for statement in _UPGRADES.get(old, ()):
                        conn.execute(statement)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return cls(conn, path)

    @classmethod
    def open_readonly(cls, path: Path) -> Ledger | None:
        """Open an existing ledger only to read it (``mergekit plan`` must not change it).
        None when the file holds no mergekit tables yet."""
        conn, version = _connect(path, f"{path.resolve().as_uri()}?mode=ro", uri=True)
        if version < 1:
            conn.close()
            return None
        return cls(conn, path, version)

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self._lock.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside happen together or not at all."""
        with _tx(self.conn):
            yield self.conn

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, command: str, today: date, folder: Path | str = "") -> int:
        from mergekit import __version__

        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO runs (started_at, today, command, folder, version) "
                "VALUES (?, ?, ?, ?, ?)",
                (_now(), today.isoformat(), command, str(folder), __version__),
            )
            return int(cur.lastrowid or 0)

    # -- actions ---------------------------------------------------------------------------

    def record_action(
        self,
        run_id: int,
        upn: str,
        action: str,
        stage: str,
        academic_year: str,
        day: date,
        reason: str = "",
        evidence: dict[str, Any] | None = None,
    ) -> int:
        """Record an action as done; returns its id (the existing id if already recorded)."""
        row = (run_id, upn, action, stage, academic_year, day, reason, evidence)
        return self.record_actions([row])[0]

    def record_actions(
        self,
        rows: Sequence[ActionRow],
    ) -> list[int]:
        """Record many actions in ONE transaction (all or none); each row is
        (run_id, upn, action, stage, academic_year, day, reason, evidence). Returns the ids in
        order; an action already recorded keeps its first record and id."""
        ids: list[int] = []
        with self.transaction() as c:
            for run_id, upn, action, stage, academic_year, day, reason, evidence in rows:
                found = c.execute(
                    "SELECT id FROM actions WHERE upn=? AND action=? AND stage=?",
                    (upn, action, stage),
                ).fetchone()
                if found:
                    ids.append(int(found["id"]))
                    continue
                cur = c.execute(
                    "INSERT INTO actions (run_id, upn, action, stage, academic_year, day, "
                    "reason, evidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        upn,
                        action,
                        stage,
                        academic_year,
                        day.isoformat(),
                        reason,
                        json.dumps(dict(evidence or {}), default=str),
                        _now(),
                    ),
                )
                ids.append(int(cur.lastrowid or 0))
        return ids

    def actions(
        self, upn: str | None = None, action: str | None = None, day: date | None = None
    ) -> list[ActionRecord]:
        sql, args = _select("actions", upn=upn, action=action, day=day.isoformat() if day else None)
        sql += " ORDER BY day, id"
        return [
            ActionRecord(
                r["id"],
                r["run_id"],
                r["upn"],
                r["action"],
                r["stage"],
                r["academic_year"],
                date.fromisoformat(r["day"]),
                r["reason"],
                json.loads(r["evidence"] or "{}"),
                r["created_at"],
            )
            for r in self.conn.execute(sql, args)
        ]

    def letters_sent(self, academic_year: str) -> list[tuple[str, str, date]]:
        """(UPN, pa_letter_N, school day) of the warning letters recorded for a year (without
        loading every action's evidence)."""
        rows = self.conn.execute(
            "SELECT upn, action, day FROM actions WHERE academic_year = ? "
            "AND action LIKE 'pa\\_letter\\_%' ESCAPE '\\' ORDER BY day, id",
            (academic_year,),
        )
        return [(r[0], r[1], date.fromisoformat(r[2])) for r in rows]

    def done_keys(self) -> set[tuple[str, str, str]]:
        """(upn, action, stage) of every action already carried out."""
        return {
            (r[0], r[1], r[2]) for r in self.conn.execute("SELECT upn, action, stage FROM actions")
        }

    # -- strikes ---------------------------------------------------------------------------

    def record_strikes(self, rows: Sequence[StrikeRow]) -> int:
        """Record struck actions in one transaction; one already held is left as it is.
        Returns how many were new."""
        new = 0
        now = _now()
        with self.transaction() as c:
            for run_id, upn, action, stage, year, day, reason, source in rows:
                cur = c.execute(
                    "INSERT OR IGNORE INTO strikes (run_id, upn, action, stage, academic_year, "
                    "day, reason, source, struck_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, upn, action, stage, year, day.isoformat(), reason, source, now),
                )
                new += cur.rowcount
        return new

    def lift_strikes(self, keys: Sequence[tuple[str, str, str]], day: date, why: str) -> int:
        """Lift the held strikes of these (UPN, action, stage) keys; returns how many."""
        lifted = 0
        now = _now()
        with self.transaction() as c:
            for upn, action, stage in keys:
                cur = c.execute(
                    "UPDATE strikes SET lifted_day = ?, lifted_at = ?, lifted_why = ? "
                    "WHERE upn = ? AND action = ? AND stage = ? AND lifted_at IS NULL",
                    (day.isoformat(), now, why, upn, action, stage),
                )
                lifted += cur.rowcount
        return lifted

    def strikes(self, upn: str | None = None, *, held_only: bool = False) -> list[StrikeRecord]:
        """Strikes, oldest first (``held_only``: those not lifted). An older ledger has none."""
        if self.version < 2:
            return []
        sql, args = _select("strikes", upn=upn)
        if held_only:
            sql += " AND lifted_at IS NULL"
        return [
            StrikeRecord(
                r["id"],
                r["upn"],
                r["action"],
                r["stage"],
                r["academic_year"],
                date.fromisoformat(r["day"]),
                r["reason"],
                r["source"],
                r["struck_at"],
                date.fromisoformat(r["lifted_day"]) if r["lifted_day"] else None,
                r["lifted_at"],
                r["lifted_why"],
            )
            for r in self.conn.execute(sql + " ORDER BY id", args)
        ]

    # -- documents -------------------------------------------------------------------------

    def record_document(
        self,
        run_id: int,
        upn: str,
        kind: str,
        path: Path | str,
        sha256: str,
        action_id: int | None = None,
    ) -> int:
        """Record a file made. An earlier record of the same file, or of the same kind of file
        for the same action (made again, perhaps under a new name), is kept, marked as
        replaced by this one."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO documents (action_id, run_id, upn, kind, path, sha256, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (action_id, run_id, upn, kind, str(path), sha256, _now()),
            )
            new = int(cur.lastrowid or 0)
            c.execute(
                "UPDATE documents SET replaced_by = ? WHERE id != ? AND replaced_by IS NULL "
                "AND (path = ? OR (action_id IS NOT NULL AND action_id = ? AND kind = ?))",
                (new, new, str(path), action_id, kind),
            )
            return new

    def documents(self, upn: str | None = None) -> list[DocumentRecord]:
        """Files recorded, oldest first, with what replaced them."""
        sql = "SELECT * FROM documents" + (" WHERE upn = ?" if upn else "") + " ORDER BY id"
        rows = self.conn.execute(sql, (upn,) if upn else ())
        return [
            DocumentRecord(
                r["id"],
                r["action_id"],
                r["upn"],
                r["kind"],
                r["path"],
                r["sha256"],
                r["created_at"],
                r["replaced_by"] if self.version >= 2 else None,
            )
            for r in rows
        ]

    def messages(self, upn: str) -> list[MessageRecord]:
        """A pupil's emails, oldest first."""
        rows = self.conn.execute("SELECT * FROM messages WHERE upn = ? ORDER BY id", (upn,))
        return [
            MessageRecord(
                r["id"],
                r["action_id"],
                r["upn"],
                r["message_id"],
                tuple(json.loads(r["recipients"] or "[]")),
                r["subject"],
                tuple(
                    str(a.get("file", "")) if isinstance(a, dict) else str(a)
                    for a in json.loads(r["attachments"] or "[]")
                ),
                r["state"],
                r["last_error"],
                r["queued_at"],
                r["updated_at"],
                r["sent_at"],
            )
            for r in rows
        ]

    def sent_messages(self, action_id: int) -> list[tuple[str, str]]:
        """(sent at, recipients) of the emails already sent for an action."""
        rows = self.conn.execute(
            "SELECT sent_at, recipients FROM messages WHERE action_id = ? AND state = 'sent' "
            "ORDER BY id",
            (action_id,),
        )
        return [(str(r[0]), ", ".join(json.loads(r[1]))) for r in rows]

    # -- transfer-list writes --------------------------------------------------------------

    def record_writes(
        self,
        run_id: int | None,
        upn: str,
        file: str,
        sheet: str,
        cells: Sequence[tuple[str, str, str, str]],
    ) -> None:
        """cells: (cell, field, old value, new value), recorded together."""
        now = _now()
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO writes (run_id, upn, file, sheet, cell, field, old_value, "
                "new_value, written_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, upn, file, sheet, cell, fld, old, new, now)
                    for cell, fld, old, new in cells
                ],
            )

    # -- history ---------------------------------------------------------------------------

    def history(self, upn: str) -> list[HistoryLine]:
        """Everything recorded for one pupil, oldest first."""
        lines: list[HistoryLine] = []
        for a in self.actions(upn):
            lines.append(
                HistoryLine(
                    a.created_at,
                    a.action,
                    f"{a.reason} (school day {a.day:%d/%m/%Y}, stage {a.stage})",
                )
            )
        for d in self.documents(upn):
            replaced = " (replaced: made again later)" if d.replaced_by else ""
            lines.append(
                HistoryLine(
                    d.created_at,
                    f"document ({d.kind})",
                    f"{d.path} sha256 {d.sha256[:12]}{replaced}",
                )
            )
        for st in self.strikes(upn):
            lines.append(
                HistoryLine(
                    st.struck_at,
                    f"struck {st.action}",
                    f"N in {st.source or 'the plan workbook'} on school day {st.day:%d/%m/%Y} "
                    f"(stage {st.stage}): {st.reason}",
                )
            )
            if st.lifted_at:
                day = f" on school day {st.lifted_day:%d/%m/%Y}" if st.lifted_day else ""
                lines.append(
                    HistoryLine(st.lifted_at, f"strike lifted {st.action}", f"{st.lifted_why}{day}")
                )
        for r in self.conn.execute("SELECT * FROM messages WHERE upn=? ORDER BY id", (upn,)):
            to = ", ".join(json.loads(r["recipients"]))
            when = r["sent_at"] or r["updated_at"]
            err = f" ({r['last_error']})" if r["last_error"] and r["state"] != "sent" else ""
            lines.append(
                HistoryLine(
                    when, f"email {r['state']}", f"to {to}: {r['subject']} <{r['message_id']}>{err}"
                )
            )
        for r in self.conn.execute("SELECT * FROM writes WHERE upn=? ORDER BY id", (upn,)):
            old = f" (was {r['old_value']!r})" if r["old_value"] else ""
            lines.append(
                HistoryLine(
                    r["written_at"],
                    "transfer list",
                    f"{r['file']} {r['sheet']}!{r['cell']} {r['field']} = {r['new_value']!r}{old}",
                )
            )
        return sorted(lines, key=lambda h: h.when)

    def history_counts(self) -> list[tuple[str, int, int, int, str]]:
        """(UPN, actions, documents, emails, last activity) for every pupil with history."""
        strikes = (
            "UNION ALL SELECT upn, 0, 0, 0, struck_at FROM strikes" if self.version >= 2 else ""
        )
        rows = self.conn.execute(
            f"""
            SELECT upn, SUM(a), SUM(d), SUM(m), MAX(at) FROM (
                SELECT upn, 1 AS a, 0 AS d, 0 AS m, created_at AS at FROM actions
                UNION ALL SELECT upn, 0, 1, 0, created_at FROM documents
                UNION ALL SELECT upn, 0, 0, 1, updated_at FROM messages
                UNION ALL SELECT upn, 0, 0, 0, written_at FROM writes
                {strikes}
            ) GROUP BY upn ORDER BY upn
            """
        )
        return [(r[0], int(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows]

    def emails_sent(self) -> list[tuple[str, str, date]]:
        """(UPN, action, day sent) of every email sent for a recorded action."""
        rows = self.conn.execute(
            "SELECT m.upn, a.action, m.sent_at FROM messages m JOIN actions a "
            "ON a.id = m.action_id WHERE m.state = 'sent' AND m.sent_at IS NOT NULL "
            "ORDER BY m.id"
        )
        return [(r[0], r[1], date.fromisoformat(str(r[2])[:10])) for r in rows]

    def pupils_with_history(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT upn FROM actions UNION SELECT upn FROM messages UNION SELECT upn FROM writes "
            "ORDER BY upn"
        )
        return [r[0] for r in rows]


def _select(table: str, **equal: str | None) -> tuple[str, list[Any]]:
    """SELECT * FROM table with ``column = ?`` for each value given (None: any)."""
    sql = f"SELECT * FROM {table} WHERE 1=1"
    args: list[Any] = []
    for column, value in equal.items():
        if value:
            sql += f" AND {column} = ?"
            args.append(value)
    return sql, args


def _private(path: Path) -> None:
    """The ledger and SQLite's files beside it (-wal, -shm, -journal) owner-only, whatever the
    umask: a new ledger is made empty with mode 0600 (SQLite gives its side files the
    database's mode), an older one is tightened. Its folder, when mergekit makes it, is 0700."""
    make_dirs(path.parent)
    clean_once(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    except OSError:
        return  # sqlite3 says why it cannot open it
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if p.exists():
            own_file(p)


def _connect(
    path: Path, database: str, *pragmas: str, uri: bool = False
) -> tuple[sqlite3.Connection, int]:
    """A connection to ``database`` (the path, or with ``uri`` a ``file:`` URI) with
    ``pragmas`` run, and its schema version; LedgerError for a file that is not a ledger or
    one a newer mergekit wrote."""
    try:
        conn = sqlite3.connect(database, uri=uri, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in pragmas:
            conn.execute(pragma)
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise _unreadable(path, e) from e
    if version > SCHEMA_VERSION:
        conn.close()
        raise LedgerError(
            f"{path}: this ledger was written by a newer mergekit (schema {version}, this "
            f"version knows {SCHEMA_VERSION}) - upgrade mergekit (pip install -U mergekit)"
        )
    return conn, version


_SQLITE_HEADER = b"SQLite format 3\x00"


def _unreadable(path: Path, e: sqlite3.DatabaseError) -> LedgerError:
    """Why the ledger could not be opened, told truthfully: restoring a backup is advised only
    for a file that really is not an SQLite database, and never while another mergekit holds
    the ledger (restoring then would lose what it records, and send letters twice)."""
    holder = Holder.read(ledger_lock_path(path))
    if holder is not None and not held_by_us(ledger_lock_path(path)):
        return LedgerError(
            f"{path}: the ledger is being written by {holder.describe()} ({e}) - wait for "
            "it to finish and run this again; do not replace or restore the ledger"
        )
    busy = isinstance(e, sqlite3.OperationalError) and any(
        w in str(e).lower() for w in ("locked", "busy")
    )
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError:
        head = _SQLITE_HEADER
    if busy or head == _SQLITE_HEADER or len(head) < len(_SQLITE_HEADER):
        return LedgerError(
            f"{path}: the ledger could not be read just now ({e}) - another program may be "
            "using it (a second mergekit, a backup or sync tool): wait a moment and run this "
            "again; do not replace or restore the ledger"
        )
    return LedgerError(
        f"{path}: not a mergekit ledger ({e}) - point [files] ledger at "
        "another file, or restore the ledger from a backup"
    )


@contextmanager
def _tx(conn: sqlite3.Connection) -> Iterator[None]:
    if conn.in_transaction:  # inside a larger transaction: all of it happens together
        yield
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        raise LedgerError(
            f"the ledger is busy or read-only ({e}) - is another mergekit "
            "running? Try again in a moment"
        ) from e
    try:
        yield
    except sqlite3.OperationalError as e:
        conn.execute("ROLLBACK")
        raise LedgerError(
            f"could not save to the ledger ({e}) - check the disk has space and the ledger "
            "file and its folder can be written to"
        ) from e
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise LedgerError(f"could not save to the ledger ({e})") from e
