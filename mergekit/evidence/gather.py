"""Everything recorded about one pupil over a period, in the order a court or the council reads
it: the register and its totals, every dated event with its source, and the documents made.

Pure reading: the school's model, the calendar, the ledger's records and the Off Roll rows are
passed in; the only files touched are the copies in the run folders, to check each against the
SHA-256 the ledger recorded when it was made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from mergekit.core.actions import ACTION_TITLES, LETTERS
from mergekit.core.attendance import SessionCounts, count_sessions
from mergekit.core.calendar import SchoolCalendar, academic_year_bounds, academic_year_of
from mergekit.core.config import Settings
from mergekit.core.ledger import ActionRecord, DocumentRecord, MessageRecord, StrikeRecord
from mergekit.core.model import Leaver, Pupil, SchoolData, Source
from mergekit.core.runfolder import file_sha256
from mergekit.merge.chart import ChartSpec, chart_spec


@dataclass(frozen=True, slots=True)
class LedgerRecords:
    """What the ledger holds for one pupil (empty when there is no ledger yet)."""

    actions: tuple[ActionRecord, ...] = ()
    documents: tuple[DocumentRecord, ...] = ()
    messages: tuple[MessageRecord, ...] = ()
    strikes: tuple[StrikeRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    """One dated line of the chronology."""

    when: date
    what: str
    detail: str
    source: str
    at: str = ""  # the time recorded, when there is one (orders a day's entries)


CopyState = Literal["ok", "changed", "missing"]


@dataclass(frozen=True, slots=True)
class Copy:
    """A document mergekit made for the pupil: appended to the pack when it can be."""

    made: date
    title: str
    path: Path
    recorded: str  # the path as the ledger has it
    sha256: str  # as recorded
    state: CopyState  # ok: as made; changed: saved since it was made; missing
    now_sha256: str = ""
    word: bool = False  # a Word file: appended as a PDF made with LibreOffice


@dataclass(frozen=True)
class Evidence:
    pupil: Pupil
    start: date
    end: date
    days: tuple[date, ...]  # school days start..end
    marks: Mapping[date, tuple[str, str]]
    counts: SessionCounts
    codes: Mapping[str, int]  # sessions per code recorded in the period
    entries: tuple[Entry, ...]
    copies: tuple[Copy, ...]
    chart: ChartSpec
    letters: tuple[tuple[date, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def has_history(self) -> bool:
        return bool(self.entries)


def period_start(today: date) -> date:
    """The default start: 1 September of the academic year of ``today``."""
    return academic_year_bounds(academic_year_of(today))[0]


def gather(
    settings: Settings,
    calendar: SchoolCalendar,
    data: SchoolData,
    pupil: Pupil,
    start: date,
    end: date,
    records: LedgerRecords,
    leavers: Sequence[Leaver] = (),
) -> Evidence:
    """The evidence for ``pupil`` dated start..end inclusive."""
    upn = pupil.upn
    all_marks = data.marks_of(upn)
    marks = {d: m for d, m in all_marks.items() if start <= d <= end}
    counts = count_sessions(marks, start, end)
    codes = Counter(code for pair in marks.values() for code in pair if code)
    entries: list[Entry] = []
    ledger = settings.files.ledger
    titles = {**ACTION_TITLES}

    def inside(d: date | None) -> bool:
        return d is not None and start <= d <= end

    # -- the ledger: actions carried out, documents made, emails, strikes
    for a in records.actions:
        if inside(a.day):
            title = titles.get(a.action, a.action)
            entries.append(
                Entry(
                    a.day, title, a.reason or f"stage {a.stage}", f"ledger ({ledger})", a.created_at
                )
            )
    letters: list[tuple[date, str]] = []
    copies: list[Copy] = []
    by_action = {a.id: a for a in records.actions}
    # A form's PDF, once released for email, is recorded again as "released" (replacing the
    # PDF's record): the copy appended is the current record's file, the Word file only when
    # the action has no PDF at all. Every record is in the chronology.
    current = [d for d in records.documents if d.replaced_by is None]
    pdf_for = {d.action_id for d in current if d.kind != "docx" and d.action_id is not None}
    for d in records.documents:
        made = _day(d.created_at)
        action = by_action.get(d.action_id) if d.action_id is not None else None
        if action is not None:
            made = action.day
        if not inside(made):
            continue
        kind = action.action if action is not None else ""
        title = titles.get(kind, kind or "document")
        detail = f"{d.path}, SHA-256 {d.sha256}"
        what = f"{title}: {_DOCUMENT_KINDS.get(d.kind, d.kind)}"
        entry = Entry(made, what, detail, f"ledger ({ledger})", d.created_at)
        if kind in LETTERS and d.kind == "docx":
            letters.append((made, f"letter {kind[-1]}"))
        if d.replaced_by is not None:
            entries.append(replace(entry, detail=detail + " (replaced by the record below)"))
            continue
        if d.kind == "docx" and d.action_id in pdf_for:
            entries.append(entry)
            continue  # its PDF is the copy that was sent
        path = settings.resolve(d.path)
        state: CopyState
        now = ""
        if not path.is_file():
            state = "missing"
        else:
            now = file_sha256(path)
            state = "ok" if now == d.sha256 else "changed"
        copies.append(Copy(made, title, path, d.path, d.sha256, state, now, d.kind == "docx"))
        if state == "missing":
            detail += " - MISSING: the file is no longer in the run folder; not appended"
        elif state == "changed":
            detail += f" - CHANGED since it was made (SHA-256 now {now}): appended as it is now"
        else:
            detail += " - the file matches: appended"
        entries.append(replace(entry, detail=detail))
    for m in records.messages:
        stamp = m.sent_at or m.updated_at or m.queued_at
        # An email carries out an action of a school day: it is dated by that day (the
        # clock's time is in the details), like the documents it sends.
        action = by_action.get(m.action_id) if m.action_id is not None else None
        day = action.day if action is not None else _day(stamp)
        if not inside(day):
            continue
        err = f"; {m.last_error}" if m.last_error and m.state != "sent" else ""
        attached = f"; attached {', '.join(m.attachments)}" if m.attachments else ""
        at = f"{'sent' if m.state == 'sent' else 'last tried'} {stamp}; "
        entries.append(
            Entry(
                day,
                f"Email {m.state}",
                f"{at}to {', '.join(m.recipients)}: {m.subject}; Message-ID <{m.message_id}>"
                f"{attached}{err}",
                f"ledger ({ledger})",
                stamp,
            )
        )
    for st in records.strikes:
        if inside(st.day):
            entries.append(
                Entry(
                    st.day,
                    f"Not approved: {titles.get(st.action, st.action)}",
                    f"struck (Approve = N) in {st.source or 'the plan workbook'}: {st.reason}",
                    f"ledger ({ledger})",
                    st.struck_at,
                )
            )
    # -- the tracking workbook: contact log, letters sent before mergekit, events
    for e in data.contact_log.get(upn, ()):
        if inside(e.date):
            outcome = "contact made" if e.contact_made else "no contact made"
            notes = f"; {e.notes}" if e.notes else ""
            entries.append(
                Entry(
                    e.date, _method(e.method), f"{outcome}{notes}", _where(e.source, "contact log")
                )
            )
    recorded_letters = {(d, label) for d, label in letters}
    for x in data.letters.get(upn, ()):
        if inside(x.date_sent):
            label = f"letter {x.letter[-1]}" if x.letter in LETTERS else x.letter
            entries.append(
                Entry(
                    x.date_sent,
                    f"{titles.get(x.letter, x.letter)} sent",
                    "recorded in the workbook's letters sheet",
                    _where(x.source, "letters sheet"),
                )
            )
            if (x.date_sent, label) not in recorded_letters:
                letters.append((x.date_sent, label))
    for ev in data.events.get(upn, ()):
        if inside(ev.date_received):
            what = (
                "Planned move notified" if ev.kind == "planned_move" else "Home education request"
            )
            bits = [
                f"from {ev.effective_date:%d/%m/%Y}" if ev.effective_date else "",
                ev.new_country or ev.new_address or ev.new_school,
                f"informed: {ev.informed}" if ev.informed else "",
                ev.notes,
            ]
            entries.append(
                Entry(
                    ev.date_received,
                    what,
                    "; ".join(b for b in bits if b) or "-",
                    _where(ev.source, "events sheet"),
                )
            )
    # -- the transfer list's Off Roll tab
    for lv in leavers:
        if lv.upn != upn:
            continue
        where = _where(lv.source, "Off Roll tab")
        reason = f" ({lv.reason})" if lv.reason else ""
        for when, what, detail in (
            (lv.date_of_leaving, "Off Roll: date of leaving", f"{lv.name}{reason}"),
            (
                lv.date_authorised,
                "Off Roll: Remove From Roll authorised",
                f"by {lv.authorised_by}" if lv.authorised_by else "authorised",
            ),
            (lv.data_team_emailed, "Off Roll: data team emailed", lv.name),
            (lv.transfer_list_updated, "Off Roll: transfer list updated", lv.name),
            (lv.admissions_informed, "Off Roll: council admissions informed", lv.name),
        ):
            if inside(when):
                assert when is not None
                entries.append(Entry(when, what, detail, where))
    entries.sort(key=lambda e: (e.when, e.at, e.what))
    copies.sort(key=lambda c: (c.made, c.title))
    letters = sorted(set(letters))
    threshold = settings.policy.pa_threshold_percent
    return Evidence(
        pupil=pupil,
        start=start,
        end=end,
        days=calendar.between(start, end),
        marks=marks,
        counts=counts,
        codes=dict(codes),
        entries=tuple(entries),
        copies=tuple(copies),
        chart=chart_spec(all_marks, start, end, threshold, letters),
        letters=tuple(letters),
    )


_DOCUMENT_KINDS = {
    "docx": "Word document made",
    "pdf": "PDF made",
    "released": "PDF released for email (as completed by staff)",
}


def _day(stamp: str) -> date:
    try:
        return datetime.fromisoformat(stamp).date()
    except ValueError:
        return date.fromisoformat(stamp[:10])


def _method(method: str) -> str:
    low = method.casefold()
    if "visit" in low:
        return "Home visit"
    if any(w in low for w in ("call", "phone", "rang")):
        return "Phone call"
    return method.strip().capitalize() or "Contact attempt"


def _where(source: Source | None, what: str) -> str:
    if source is None:
        return what
    return f"{source.file} {source.sheet} row {source.row}"
