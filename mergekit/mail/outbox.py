"""Sending the run's emails exactly once: the ledger-backed outbox.

Every message gets a row in the ledger's ``messages`` table when it is first built (state
``queued``) with a Message-ID fixed there and then, keyed by what it is (day, pupil, action,
document, recipients) so building it again finds the same row. Sending one message is:

1. commit ``sending`` (attempts + 1);
2. the SMTP conversation;
3. commit ``sent`` with the time, or ``failed`` with the reason, or ``queued`` again after a
   temporary (4xx) refusal, to be retried after a back-off.

Forms that need a person (:mod:`mergekit.mail.release`) get no row while they are held: only once a
person has released the PDF as it is saved is the message built with that version attached
(its SHA-256 recorded with the message) and queued like any other.

If the process dies between 1 and 3, the row stays ``sending``. Nobody can tell from here
whether the server took the message, so the next start turns it into ``unknown``: it is
reported and sent again only when asked (``--resend-unknown``), or settled as sent by a person
who found it in the Sent Items (``--mark-sent``). A message whose connection drops after the
text was handed over (an SMTP DATA, a Graph request) is ``unknown`` for the same reason. A rerun
sends only what is not sent.

The conversation with the server is the transport's (:mod:`mergekit.mail.transports`): this
module only moves each message through its states. It stays one module (about 700 lines)
because queueing, recovery, the per-message state machine and the files of the run folder
share the ledger rows and the one exclusive lock they are read and written under.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any

from mergekit.core.actions import ACTION_TITLES, ACTIONS, NOTICES
from mergekit.core.atomic import make_dirs, write_or_explain
from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.core.ledger import Ledger
from mergekit.core.model import Action, SchoolData
from mergekit.core.runfolder import (
    FAILURES,
    OUTBOX_DIR,
    PRINT_LIST,
    RELEASE_XLSX,
    file_sha256,
    run_dir,
)
from mergekit.core.textcells import csv_row, csv_text
from mergekit.core.workspace import Workspace
from mergekit.mail.compose import (
    PRINT_LIST_COLUMNS,
    Batch,
    Encryptor,
    HeldForm,
    OutgoingMessage,
    PrintItem,
    address_domain,
    build_batch,
    pdf_encryptor,
    render_email,
    split_addresses,
)
from mergekit.mail.release import (
    Releases,
    SheetRow,
    apply_releases,
    status_text,
    write_sheet,
)
from mergekit.mail.sendreport import Entry, FailureRow, Progress, SendReport
from mergekit.mail.transports import Connector, Fatal, Outcome, Session, Unreachable
from mergekit.mail.transports.connect import connector_for, security_problem

FAILURE_COLUMNS = ("upn", "action", "recipients", "message_id", "reason")
MARKED_SENT = "marked sent by a person who found it in the Sent Items (--mark-sent)"
LONGEST_WAIT = 900.0  # a Retry-After longer than this (seconds) is cut to it
UNKNOWN_REASON = (
    "interrupted while sending: the server may or may not have it - look in the Sent Items "
    "(or the sent-log mailbox): there, record it with --mark-sent MESSAGE-ID; not there, "
    "send it again with --resend-unknown"
)


# ---------------------------------------------------------------------------------------------
# The ledger side


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def recover_interrupted(ledger: Ledger) -> list[str]:
    """Rows left in ``sending`` by a process that died become ``unknown``; returns what they
    were, for the report."""
    with ledger.transaction() as c:
        rows = c.execute("SELECT * FROM messages WHERE state = 'sending' ORDER BY id").fetchall()
        c.execute(
            "UPDATE messages SET state = 'unknown', last_error = ?, updated_at = ? "
            "WHERE state = 'sending'",
            (UNKNOWN_REASON, _now()),
        )
    return [
        f"{r['upn']} {r['subject']!r} to {', '.join(json.loads(r['recipients']))} "
        f"<{r['message_id']}>"
        for r in rows
    ]


def _action_id(ledger: Ledger, m: OutgoingMessage, day: date) -> int | None:
    """The ledger's record of the action this message belongs to, if one was recorded."""
    stage = m.for_action.stage
    row = ledger.conn.execute(
        "SELECT id FROM actions WHERE upn = ? AND action = ? "
        "ORDER BY (stage = ?) DESC, (day = ?) DESC, id DESC",
        (m.upn, m.action, stage, day.isoformat()),
    ).fetchone()
    return int(row["id"]) if row else None


def queue_messages(
    ledger: Ledger, run_id: int, batch: Batch, domain: str, outbox: Path
) -> list[Entry]:
    """A ledger row for every message (the existing one when it was built before). Rows not
    yet sent are refreshed with what was built now; their Message-ID never changes."""
    entries: list[Entry] = []
    now = _now()
    seen: set[str] = set()
    with ledger.transaction() as c:
        for m in batch.messages:
            key = m.dedupe_key(batch.day)
            if key in seen:
                continue  # the same message built twice is still one message
            seen.add(key)
            # Drafts of the same document for other recipients (an address corrected since
            # the last dry run) were never tried: drop them so they cannot linger as "queued".
            prefix = key.rsplit("|", 1)[0] + "|"
            c.execute(
                "DELETE FROM messages WHERE substr(dedupe_key, 1, ?) = ? AND dedupe_key != ? "
                "AND state = 'queued' AND attempts = 0",
                (len(prefix), prefix, key),
            )
            recipients = json.dumps([str(r) for r in m.to])
            attachments = json.dumps(
                [
                    {"file": a.path.relative_to(batch.run_dir).as_posix()}
                    | ({"sha256": a.sha256} if a.sha256 else {})
                    for a in m.attachments
                ]
            )
            eml = (outbox / m.eml_name).relative_to(batch.run_dir).as_posix()
            row = c.execute("SELECT * FROM messages WHERE dedupe_key = ?", (key,)).fetchone()
            if row is None:
                message_id = make_msgid(domain=domain).strip("<>")
                cur = c.execute(
                    "INSERT INTO messages (run_id, action_id, upn, message_id, dedupe_key, "
                    "recipients, subject, attachments, eml_path, state, queued_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                    (
                        run_id,
                        _action_id(ledger, m, batch.day),
                        m.upn,
                        message_id,
                        key,
                        recipients,
                        m.subject,
                        attachments,
                        eml,
                        now,
                        now,
                    ),
                )
                entries.append(Entry(m, int(cur.lastrowid or 0), message_id, "queued"))
                continue
            if row["state"] in ("queued", "failed"):
                c.execute(
                    "UPDATE messages SET recipients = ?, subject = ?, attachments = ?, "
                    "eml_path = ?, updated_at = ? WHERE id = ?",
                    (recipients, m.subject, attachments, eml, now, row["id"]),
                )
            stored = batch.run_dir / row["eml_path"] if row["eml_path"] else None
            entries.append(
                Entry(
                    m,
                    int(row["id"]),
                    row["message_id"],
                    row["state"],
                    int(row["attempts"]),
                    row["last_error"],
                    stored if stored and stored.is_file() else None,
                    stored.stat().st_size if stored and stored.is_file() else 0,
                    tuple(json.loads(row["recipients"])),
                )
            )
    return entries


def _update(ledger: Ledger, e: Entry, **values: Any) -> None:
    values["updated_at"] = _now()
    columns = ", ".join(f"{k} = ?" for k in values)
    with ledger.transaction() as c:
        c.execute(f"UPDATE messages SET {columns} WHERE id = ?", (*values.values(), e.row_id))


# ---------------------------------------------------------------------------------------------
# Files in the run folder


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target, flush to disk, then replace: never a half-written file."""
    write_or_explain(path, data, MailError, "cannot write", "is it open in another program?")


def _write_rows(
    path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, str]], only: Sequence[str]
) -> None:
    """Write a CSV of the run's state. With --only, the rows of the other kinds of message are
    kept from the file as it was, so a partial run never hides the rest."""
    kept: list[Mapping[str, str]] = []
    if only and path.is_file():
        with path.open(encoding="utf-8-sig", newline="") as f:
            kept = [
                {k: csv_text(v or "") for k, v in r.items() if k is not None}
                for r in csv.DictReader(f)
                if r.get("action") not in only
            ]
    _write_atomic(path, _csv_bytes(columns, [*kept, *rows]))


def _csv_bytes(columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, list(columns), extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    w.writerows(csv_row(r) for r in rows)  # text, never a formula
    # A BOM so Excel opens the names with accents correctly.
    return buf.getvalue().encode("utf-8-sig")


def lock_held(e: OSError) -> bool:
    """Whether a failed non-blocking flock means another process holds the lock, rather than
    a file system that cannot lock."""
    return e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


@contextlib.contextmanager
def _exclusive(ledger_path: Path) -> Iterator[None]:
    """One `mergekit send` at a time per ledger: another one would take our `sending` rows
    for crashed ones. The OS drops the lock when the process dies, even on SIGKILL."""
    lock_path = ledger_path.with_name(ledger_path.name + ".send-lock")
    make_dirs(lock_path.parent)
    # Owner-only, whatever the umask, like every file mergekit writes.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a+b") as f:
        if not _try_lock(f.fileno()):
            raise MailError(
                f"{lock_path}: another `mergekit send` is using this ledger right now - wait "
                "for it to finish, then run this again"
            )
        yield


def _try_lock(fd: int) -> bool:
    """Take the lock without waiting: False when another process holds it. True also on a
    file system that cannot lock (NFS without its lock service): the school's lock file,
    which every sending command holds, still guards it there."""
    try:
        if sys.platform == "win32":  # pragma: no cover - Windows
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        return sys.platform != "win32" and not lock_held(e)
    return True


# ---------------------------------------------------------------------------------------------
# The whole command


def run_folder(ws: Workspace, chosen: Path | None) -> tuple[Path, date]:
    """The run folder and its school day: --run, else <[files] output>/<today>."""
    if chosen is None:
        folder = run_dir(ws.settings, ws.today)
        day = ws.today
    else:
        folder = chosen
        try:
            day = date.fromisoformat(chosen.name)
        except ValueError:
            day = ws.today
    if not folder.is_dir():
        raise MailError(
            f"{folder}: no such run folder - make the day's documents first (mergekit run), "
            "or pass --run with the folder to send"
        )
    return folder, day


def deliver(
    ws: Workspace,
    *,
    data: SchoolData,
    plan: Sequence[Action],
    run_dir: Path | None = None,
    only: Sequence[str] = (),
    limit: int | None = None,
    send: bool = False,
    resend_unknown: bool = False,
    progress: Progress | None = None,
    env: Mapping[str, str] | None = None,
    release: Sequence[str] = (),
    mark_sent: Sequence[str] = (),
) -> SendReport:
    """Build the run's messages, queue them in the ledger, write them to <run>/outbox/ and,
    with ``send``, send what is not sent yet (at most ``limit``; None = no limit).

    A dry run (``send=False``) contacts no server. ``data`` is the school and ``plan`` the
    day's approved actions (plus those the ledger records for it), both from
    :mod:`mergekit.day` (the outbox never reads the workbook itself). ``mark_sent``: Message-IDs
    of ``unknown`` messages a person found in the Sent Items, recorded as sent (nothing is
    sent or written then). ``release``:
    UPNs or files of forms a person has completed (``--release``); with the Ys of release.xlsx
    they are recorded as released, in a dry run too. A form nobody released is held: it has no
    message in the ledger and is never sent.
    """
    settings = ws.settings
    env = os.environ if env is None else env
    folder, day = run_folder(ws, run_dir)
    if mark_sent and send:
        raise MailError("--mark-sent only records what a person checked: run it without --send")
    transport = connector_for(settings, env) if send else None
    encrypt = pdf_encryptor(settings, env)
    sender = settings.mail.from_
    domain = address_domain(sender)
    bcc, bad_bcc = split_addresses(settings.mail.bcc)
    _, bad_reply = split_addresses(settings.mail.reply_to)
    for key, bad in (("bcc", bad_bcc), ("reply_to", bad_reply)):
        if bad:
            raise MailError(
                f"{settings.where('mail.' + key)}: [mail] {key} = "
                f"{getattr(settings.mail, key)!r} is not an email address - correct it or "
                "leave it empty"
            )
    school = data
    actions = list(plan)
    outbox = folder / OUTBOX_DIR
    with _exclusive(settings.ledger_path), Ledger.open(settings.ledger_path) as ledger:
        recovered = recover_interrupted(ledger)
        releases = apply_releases(ledger, run=folder, day=day, base=settings.base, requests=release)
        batch = build_batch(
            settings,
            school,
            folder,
            day,
            plan=actions,
            only=frozenset(only) or None,
            released=releases.by_document,
        )
        batch = _settle_held(ledger, batch, outbox)
        run_id = ledger.start_run("send" if send else "send (dry run)", day, folder)
        entries = queue_messages(ledger, run_id, batch, domain, outbox)
        todo_states = {"queued", "failed"} | ({"unknown"} if resend_unknown else set())
        todo = [e for e in entries if e.state in todo_states]
        chosen = todo[:limit] if limit is not None else todo
        stopped = ""
        marked: list[Entry] = []
        if mark_sent:
            chosen = []
            job = _Job(ledger, None, settings, parseaddr(sender)[1], bcc, folder, run_id, day)
            marked = [
                job.sent(
                    e,
                    Outcome("sent", accepted=tuple(r.address for r in e.message.to)),
                    e.attempts,
                    note=MARKED_SENT,
                )
                for e in _to_mark(entries, mark_sent)
            ]
        written = [_write_eml(e, outbox, settings, encrypt) for e in chosen]
        done = written
        if transport is not None:
            job = _Job(ledger, transport, settings, parseaddr(sender)[1], bcc, folder, run_id, day)
            done, stopped = job.send_all(written, progress)
        final = {e.row_id: e for e in [*done, *marked]}
        entries = [final.get(e.row_id, e) for e in entries]
    sheet, sheet_note = _release_sheet(school, batch, entries, releases)
    report = _report(
        batch,
        entries,
        done,
        send,
        resend_unknown,
        sender,
        tuple(bcc),
        recovered,
        stopped,
        "" if send else security_problem(settings),
        only,
        failures_file=send or bool(mark_sent),
    )
    notes = (*releases.notes, *report.notes, *((sheet_note,) if sheet_note else ()))
    return replace(
        report,
        notes=notes,
        held=batch.held,
        released_now=releases.now,
        release_sheet=sheet,
        marked=tuple(marked),
    )


def _to_mark(entries: Sequence[Entry], ids: Sequence[str]) -> list[Entry]:
    """The unknown messages with these Message-IDs (with or without <>); MailError, before
    anything is recorded, for an ID that is not an unknown message of this run."""
    by_id = {e.message_id: e for e in entries}
    chosen: list[Entry] = []
    problems: list[str] = []
    for raw in ids:
        mid = raw.strip().strip("<>")
        e = by_id.get(mid)
        if e is None:
            problems.append(f"<{mid}> is not a message of this run")
        elif e.state == "sent":
            problems.append(f"<{mid}> is recorded as sent already")
        elif e.state != "unknown":
            problems.append(
                f"<{mid}> is {e.state}, not unknown: it was never handed over, so it cannot "
                "be in the Sent Items - send it with --send"
            )
        elif e not in chosen:
            chosen.append(e)
    if problems:
        raise MailError(
            "--mark-sent: " + "; ".join(problems) + " - nothing was marked (the Message-IDs "
            "of unknown messages are listed by mergekit send and in failures.csv)"
        )
    return chosen


def _settle_held(ledger: Ledger, batch: Batch, outbox: Path) -> Batch:
    """A held form whose message was sent already (before forms were held) is reported like
    any sent message. The rest stay held: a draft of theirs never tried (a queued ledger row,
    an .eml in the outbox) is removed, so only a released version can ever be sent. One whose
    send was interrupted keeps its row: released again, it needs --resend-unknown."""
    gone: list[OutgoingMessage] = []
    held: list[HeldForm] = []
    with ledger.transaction() as c:
        for h in batch.held:
            m = h.message
            if m is None:
                held.append(h)
                continue
            row = c.execute(
                "SELECT id, state, attempts FROM messages WHERE dedupe_key = ?",
                (m.dedupe_key(batch.day),),
            ).fetchone()
            if row is not None and row["state"] == "sent":
                gone.append(m)
                continue
            held.append(h)
            if row is not None and row["state"] == "queued" and row["attempts"] == 0:
                c.execute("DELETE FROM messages WHERE id = ?", (row["id"],))
            with contextlib.suppress(OSError):
                (outbox / m.eml_name).unlink(missing_ok=True)
    order = {a: i for i, a in enumerate(ACTIONS)}
    messages = sorted(
        [*batch.messages, *gone], key=lambda m: (m.pupil.sort_key, order.get(m.action, 99))
    )
    return replace(batch, messages=tuple(messages), held=tuple(held))


def _release_sheet(
    data: SchoolData, batch: Batch, entries: Sequence[Entry], releases: Releases
) -> tuple[Path | None, str]:
    """Write release.xlsx: every form of the run that needs a person, what became of it, and
    the names staff wrote. A Release Y acted on is cleared; one that could not count stays
    for staff to correct. Not written when it could not be read, or there is nothing in it."""
    path = batch.run_dir / RELEASE_XLSX
    if releases.sheet is None or not (releases.documents or path.is_file()):
        return (path if path.is_file() else None), ""
    state = {e.message.document: e.state for e in entries if e.message.document}
    rows: list[SheetRow] = []
    for doc in releases.documents:
        pupil = data.pupils.get(doc.upn)
        release = releases.by_document.get(doc.document)
        try:
            current = release is not None and release.sha256 == file_sha256(doc.path)
        except OSError:
            current = False
        kept = releases.sheet.get(doc.document)
        rows.append(
            SheetRow(
                doc.upn,
                pupil.full_name if pupil else "",
                "" if pupil is None or pupil.year is None else str(pupil.year),
                pupil.reg_group if pupil else "",
                ACTION_TITLES.get(doc.action, doc.action),
                doc.document,
                status_text(release, release is not None and not current, state.get(doc.document)),
                kept.checked_by if kept else "",
                "" if current or kept is None else kept.release,
            )
        )
    return path, write_sheet(path, rows)


def _write_eml(e: Entry, outbox: Path, settings: Settings, encrypt: Encryptor | None) -> Entry:
    data = render_email(
        e.message,
        message_id=e.message_id,
        sender=settings.mail.from_,
        reply_to=settings.mail.reply_to,
        encrypt=encrypt,
    )
    path = outbox / e.message.eml_name
    _write_atomic(path, data)
    return replace(e, eml=path, size=len(data))


@dataclass
class _Job:
    """One real send: the ledger, the server and the settings every message needs."""

    ledger: Ledger
    transport: Connector | None  # None: only recording (--mark-sent)
    settings: Settings
    sender: str  # envelope sender (bare address)
    bcc: Sequence[str]
    folder: Path
    run_id: int
    day: date

    def send_all(
        self, entries: Sequence[Entry], progress: Progress | None
    ) -> tuple[list[Entry], str]:
        m = self.settings.mail
        interval = 60.0 / m.rate_per_minute if m.rate_per_minute > 0 else 0.0
        next_slot = 0.0
        done: list[Entry] = []
        stopped = ""
        assert self.transport is not None
        with self.transport.open() as session:
            for i, e in enumerate(entries, start=1):
                wait = next_slot - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                next_slot = time.monotonic() + interval
                try:
                    result = self.send_one(session, e)
                except Fatal as err:
                    stopped = f"{err}. Nothing more was sent."
                    break
                except Unreachable as err:
                    stopped = (
                        f"{err} - nothing more was sent; the rest are still queued: run the "
                        "same command again when the server is back"
                    )
                    break
                done.append(result)
                if progress is not None:
                    progress(result, i, len(entries))
        return done, stopped

    def send_one(self, session: Session, e: Entry) -> Entry:
        """One message through the state machine. Raises Fatal/Unreachable to stop the
        batch, with the message back in ``queued``."""
        m = self.settings.mail
        if e.eml is None:
            raise MailError(f"{e.message.eml_name}: the message was not written - send again")
        data = e.eml.read_bytes()
        to = [r.address for r in e.message.to]
        attempts = e.attempts
        reason = ""
        for attempt in range(m.retries + 1):
            attempts += 1
            _update(self.ledger, e, state="sending", attempts=attempts)
            try:
                outcome = session.transmit(self.sender, to, self.bcc, data)
            except Fatal as err:
                _update(self.ledger, e, state="queued", last_error=f"not sent: {err}")
                raise
            except Unreachable as err:
                outcome = Outcome("temporary", str(err))
                if attempt == m.retries:
                    _update(self.ledger, e, state="queued", last_error=f"not sent: {err}")
                    raise
            except BaseException:
                # Interrupted (Ctrl-C) or a bug mid-conversation: nobody can say whether the
                # server has it, so it must not be sent again blindly.
                _update(self.ledger, e, state="unknown", last_error=UNKNOWN_REASON)
                raise
            if outcome.kind == "sent":
                return self.sent(e, outcome, attempts)
            if outcome.kind == "unknown":
                why = f"{outcome.reason}: {UNKNOWN_REASON}"
                _update(self.ledger, e, state="unknown", last_error=why)
                return replace(e, state="unknown", attempts=attempts, last_error=why)
            if outcome.kind == "permanent":
                reason = f"permanent failure: {outcome.reason}"
                _update(self.ledger, e, state="failed", last_error=reason)
                return replace(e, state="failed", attempts=attempts, last_error=reason)
            reason = outcome.reason
            _update(self.ledger, e, state="queued", last_error=f"temporary failure: {reason}")
            if attempt < m.retries:
                # The server's Retry-After (Graph's throttling) when it asks for longer.
                wait = max(m.retry_wait_seconds * 2**attempt, outcome.retry_after)
                time.sleep(min(wait, LONGEST_WAIT))
        reason = f"temporary failure, gave up after {attempts - e.attempts} tries: {reason}"
        _update(self.ledger, e, state="failed", last_error=reason)
        return replace(e, state="failed", attempts=attempts, last_error=reason)

    def sent(self, e: Entry, outcome: Outcome, attempts: int, note: str = "") -> Entry:
        to = {r.address: str(r) for r in e.message.to}
        accepted = [to[a] for a in outcome.accepted if a in to]
        refused = "\n".join(
            [
                *(f"refused {a}: {why}" for a, why in outcome.refused),
                *outcome.warnings,
                *((note,) if note else ()),
            ]
        )
        # Record first, then the rest: the ledger is what prevents a second send.
        _update(
            self.ledger,
            e,
            state="sent",
            sent_at=_now(),
            last_error=refused,
            recipients=json.dumps(accepted),
            attempts=attempts,
        )
        a = e.message.for_action
        if a.kind in NOTICES:
            # The email is the day-1 contact itself: record it as done.
            action_id = self.ledger.record_action(
                self.run_id,
                a.upn,
                a.kind,
                a.stage,
                a.academic_year,
                self.day,
                a.reason,
                dict(a.evidence),
            )
            _update(self.ledger, e, action_id=action_id)
        eml = e.eml
        if eml is not None:
            target = eml.parent / "sent" / eml.name
            try:
                make_dirs(target.parent)
                os.replace(eml, target)
                eml = target
                _update(self.ledger, e, eml_path=target.relative_to(self.folder).as_posix())
            except OSError:
                pass  # the file stays in outbox/; the ledger already says it was sent
        return replace(
            e,
            state="sent",
            attempts=attempts,
            last_error=refused,
            eml=eml,
            sent_to=tuple(accepted),
        )


def _report(
    batch: Batch,
    entries: Sequence[Entry],
    listed: Sequence[Entry],
    send: bool,
    resend_unknown: bool,
    sender: str,
    bcc: tuple[str, ...],
    recovered: Sequence[str],
    stopped: str,
    security_warning: str,
    only: Sequence[str] = (),
    *,
    failures_file: bool = False,
) -> SendReport:
    listed_ids = {e.row_id for e in listed}
    todo_states = {"queued", "failed"} | ({"unknown"} if resend_unknown else set())
    attempted = listed_ids if send else set()
    waiting = tuple(e for e in entries if e.state in todo_states and e.row_id not in attempted)
    failures: list[FailureRow] = []
    prints = list(batch.print_items)
    for e in entries:
        m = e.message
        rcpts = "; ".join(str(r) for r in m.to)
        if e.state in ("failed", "unknown"):
            failures.append(FailureRow(m.upn, m.action, rcpts, e.message_id, e.last_error))
            if e.last_error.startswith("permanent failure"):
                who = " and ".join(r.name for r in m.to)
                prints.append(PrintItem(m.pupil, m.action, m.document, who, e.last_error))
        for addr, why in e.refused:
            failures.append(FailureRow(m.upn, m.action, addr, e.message_id, f"refused: {why}"))
            names = [r.name for r in m.to if r.address == addr]
            prints.append(
                PrintItem(m.pupil, m.action, m.document, names[0] if names else addr, why)
            )
    order = {a: i for i, a in enumerate(ACTIONS)}
    prints.sort(key=lambda p: (p.pupil.sort_key, order.get(p.action, 99)))
    print_list = batch.run_dir / PRINT_LIST
    _write_rows(print_list, PRINT_LIST_COLUMNS, [p.row() for p in prints], only)
    failures_path: Path | None = None
    if failures_file:
        failures_path = batch.run_dir / FAILURES
        rows = [
            {
                "upn": f.upn,
                "action": f.action,
                "recipients": f.recipients,
                "message_id": f.message_id,
                "reason": f.reason,
            }
            for f in failures
        ]
        _write_rows(failures_path, FAILURE_COLUMNS, rows, only)
    return SendReport(
        run_dir=batch.run_dir,
        day=batch.day,
        dry_run=not send,
        sender=sender,
        bcc=bcc,
        listed=tuple(listed),
        waiting=waiting,
        already_sent=tuple(e for e in entries if e.state == "sent" and e.row_id not in listed_ids),
        unknown=tuple(e for e in entries if e.state == "unknown" and e.row_id not in listed_ids),
        recovered=tuple(recovered),
        print_items=tuple(prints),
        print_list=print_list,
        failures=tuple(failures),
        failures_path=failures_path,
        notes=(
            *batch.notes,
            *(f"{e.message.upn} {e.message.action}: {w}" for e in listed for w in e.warnings),
        ),
        stopped=stopped,
        security_warning=security_warning,
    )
