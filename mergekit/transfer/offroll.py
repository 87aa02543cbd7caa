"""The transfer list's Off Roll tab: the Remove From Roll checklist (policy Appendix B).

``add`` puts a leaver's row on the tab, ``set`` fills the checklist dates as each step is done,
``status`` lists what is still open. The rules are pure functions taking ``today``; the
operations read the workbooks, write through :mod:`mergekit.transfer.xlsx` (which changes
nothing but the cells written) and record every cell in the ledger, so ``mergekit history UPN``
shows it.

The rules, as checked:

* Every date (leaving, authorised, each step) must not be after today and not before the
  pupil's admission date (when the tracking workbook knows it).
* The head teacher's authorisation (name *and* date) must be recorded before the data team is
  emailed, the transfer list updated or admissions informed: those three are refused until
  then (recording the authorisation in the same command is fine).
* No retrospective deletion: the date of leaving must not be before the date authorised. This
  is checked when either is written, against the other as it will be after the write.
* A step cannot be dated before the authorisation it carries out: the data-team, transfer-list
  and admissions dates must each be on or after the date authorised (checked when the step or
  the authorisation is written). Admissions are told of a child *taken* off roll, so their date
  must also be on or after the date of leaving.
* The leaving date is final once the authorisation is recorded: ``set --leaving-date`` is then
  refused. Before that it may be corrected (also in the same command as the authorisation).
* A cell that already holds a different value is not overwritten unless asked (``replace``),
  except the leaving date, whose correction is what ``--leaving-date`` is for; writing the
  value a cell already holds changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path

from mergekit.core.calendar import SchoolCalendar
from mergekit.core.crashpoint import crash_point
from mergekit.core.errors import LedgerError, MergekitError, Severity, WriteBackError
from mergekit.core.ledger import Ledger
from mergekit.core.lock import school_lock, workbook_lock
from mergekit.core.model import Leaver, Pupil
from mergekit.core.workspace import Workspace
from mergekit.read import values as v
from mergekit.read.columns import SHEETS
from mergekit.read.sheets import column_letter
from mergekit.read.tracking import read_tracking
from mergekit.read.transferlist import TransferList, read_transfer_list
from mergekit.transfer.pending import PendingWrite, pending_path, reconcile_pending
from mergekit.transfer.xlsx.workbook import XlsxWorkbook, file_stamp, refuse_if_locked
from mergekit.transfer.xlsx.xmlbytes import CellValue

# The checklist steps after the leaver's row is added, in the order they are done.
STEPS: tuple[str, ...] = (
    "authorisation",
    "data_team_emailed",
    "transfer_list_updated",
    "admissions_informed",
)
STEP_LABELS: Mapping[str, str] = {
    "authorisation": "head teacher's authorisation",
    "data_team_emailed": "data team emailed",
    "transfer_list_updated": "transfer list updated",
    "admissions_informed": "admissions informed",
}
_AFTER_AUTHORISATION = ("data_team_emailed", "transfer_list_updated", "admissions_informed")
_DATE_FIELDS = ("date_of_leaving", "date_authorised", *_AFTER_AUTHORISATION)


def _label(field: str) -> str:
    return SHEETS["off_roll"].field(field).label


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True, slots=True)
class StepDates:
    """What ``offroll set`` asks to record; None leaves a cell as it is."""

    authorised_by: str | None = None
    date_authorised: date | None = None
    data_team_emailed: date | None = None
    transfer_list_updated: date | None = None
    admissions_informed: date | None = None
    date_of_leaving: date | None = None

    def wanted(self) -> dict[str, CellValue]:
        out: dict[str, CellValue] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class CellChange:
    field: str
    cell: str  # A1 reference
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class OffRollWrite:
    """What ``add`` / ``set`` did."""

    file: Path
    sheet: str
    row: int
    name: str
    changes: tuple[CellChange, ...]
    unchanged: tuple[str, ...] = ()  # fields that already held the value asked for
    backup: Path | None = None


@dataclass(frozen=True, slots=True)
class LeaverStatus:
    leaver: Leaver
    open_steps: tuple[str, ...]
    school_days: int | None  # since the date of leaving; None without one
    overdue: bool


@dataclass(frozen=True, slots=True)
class StatusReport:
    file: Path
    sheet: str
    today: date
    overdue_after: int
    open: tuple[LeaverStatus, ...]
    leavers: int
    estimated_days: bool = False  # the calendar does not cover the dates: weekdays counted

    @property
    def overdue(self) -> tuple[LeaverStatus, ...]:
        return tuple(s for s in self.open if s.overdue)


# ---------------------------------------------------------------------------------------------
# Pure rules


def year_group_text(pupil: Pupil) -> str:
    """'Y9 / 9KM' (year and tutor group), 'YR / RB' for Reception."""
    year = ""
    if pupil.year is not None:
        year = (
            "YR" if pupil.year == 0 else f"N{-pupil.year}" if pupil.year < 0 else f"Y{pupil.year}"
        )
    return " / ".join(p for p in (year, pupil.reg_group) if p)


def leaver_row(pupil: Pupil, leaving_date: date, reason: str) -> dict[str, CellValue]:
    """The cells of a new Off Roll row, by field."""
    row: dict[str, CellValue] = {
        "name": pupil.legal_name or pupil.full_name,
        "upn": pupil.upn,
        "year_group": year_group_text(pupil),
        "date_of_leaving": leaving_date,
        "reason": " ".join(reason.split()),
    }
    if pupil.dob is not None:
        row["dob"] = pupil.dob
    return {k: val for k, val in row.items() if val != ""}


def _norm_name(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s'-]", " ", name.casefold()).split())


def same_pupil(leaver: Leaver, pupil: Pupil) -> bool:
    """The row names this pupil (legal, preferred or 'Surname, Forename' order) and its DOB, when
    it has one, is theirs."""
    forms = {
        pupil.legal_name,
        pupil.full_name,
        f"{pupil.forename} {pupil.surname}",
        f"{pupil.surname} {pupil.forename}",
        f"{pupil.surname} {pupil.known_as}",
    }
    if _norm_name(leaver.name) not in {_norm_name(f) for f in forms}:
        return False
    return leaver.dob is None or pupil.dob is None or leaver.dob == pupil.dob


def find_rows(
    leavers: list[Leaver], upn: str, pupil: Pupil | None, has_upn_column: bool
) -> list[Leaver]:
    """The pupil's rows: by UPN where the tab has a UPN column (rows with a blank UPN by name
    and DOB), else by name and DOB."""
    found = []
    for leaver in leavers:
        if has_upn_column and leaver.upn:
            if v.upn_key(leaver.upn) == upn:
                found.append(leaver)
        elif pupil is not None and same_pupil(leaver, pupil):
            found.append(leaver)
    return found


def check_date(what: str, day: date, today: date, admission: date | None) -> None:
    if day > today:
        raise WriteBackError(
            f"{what} {day:%d/%m/%Y} is in the future (today is {today:%d/%m/%Y}) - record "
            "each date on or after the day it happens"
        )
    if admission is not None and day < admission:
        raise WriteBackError(
            f"{what} {day:%d/%m/%Y} is before the pupil's admission on {admission:%d/%m/%Y} - "
            "check the date"
        )


def check_new_leaver(
    pupil: Pupil,
    leaving_date: date,
    reason: str,
    today: date,
    existing: list[Leaver],
) -> None:
    """Refuse a new Off Roll row that breaks a rule (existing: the pupil's rows already there)."""
    who = f"{pupil.full_name} (UPN {pupil.upn})"
    if existing:
        rows = ", ".join(str(x.row) for x in existing)
        raise WriteBackError(
            f"{who} is already on the Off Roll tab (row {rows}) - use `mergekit offroll set` "
            "to record the checklist dates"
        )
    if not reason.strip():
        raise WriteBackError(f"{who}: the reason for leaving is blank - give it with --reason")
    check_date(f"{who}: the date of leaving", leaving_date, today, pupil.admission_date)


def plan_set(
    leaver: Leaver,
    request: StepDates,
    today: date,
    admission: date | None = None,
    replace: bool = False,
) -> tuple[dict[str, CellValue], tuple[str, ...]]:
    """The cells ``set`` writes and the fields that already hold the value asked for; raises
    WriteBackError naming the rule a request breaks (see the module docstring)."""
    who = f"{leaver.name} (Off Roll row {leaver.row})"
    current: dict[str, object] = {f: getattr(leaver, f) for f in ("authorised_by", *_DATE_FIELDS)}
    authorised = bool(leaver.authorised_by) and leaver.date_authorised is not None
    changes: dict[str, CellValue] = {}
    unchanged: list[str] = []
    for field, asked in request.wanted().items():
        old = current[field]
        value = " ".join(asked.split()) if isinstance(asked, str) else asked
        if isinstance(value, str) and not value:
            raise WriteBackError(f"{who}: {_label(field)} is blank - give a name")
        same = (
            _norm_name(old) == _norm_name(value)
            if isinstance(old, str) and isinstance(value, str)
            else old == value
        )
        if same:
            unchanged.append(field)
            continue
        if field == "date_of_leaving" and authorised:
            raise WriteBackError(
                f"{who}: the date of leaving is final once the head teacher's authorisation is "
                f"recorded ({leaver.authorised_by}, {leaver.date_authorised:%d/%m/%Y}) - "
                "correct it in the workbook with the head teacher's agreement"
            )
        # --leaving-date exists to correct the date (until authorised), so it needs no replace.
        if old not in (None, "") and not replace and field != "date_of_leaving":
            raise WriteBackError(
                f"{who}: {_label(field)} is already recorded as {v.text(old)} - to change "
                f"it to {v.text(value)}, run again with --replace"
            )
        changes[field] = value
    after = {**current, **changes}
    for field in _DATE_FIELDS:
        day = changes.get(field)
        if isinstance(day, date):
            check_date(f"{who}: {_label(field)}", day, today, admission)
    by, on = after["authorised_by"], after["date_authorised"]
    if ("authorised_by" in changes or "date_authorised" in changes) and not (by and on):
        missing = "--authorised-by NAME" if not by else "--authorised-date DD/MM/YYYY"
        raise WriteBackError(
            f"{who}: the authorisation needs both the head teacher's name and the date - "
            f"add {missing}"
        )
    steps = [f for f in _AFTER_AUTHORISATION if f in changes]
    if steps and not (by and on):
        raise WriteBackError(
            f"{who}: {', '.join(STEP_LABELS[f] for f in steps)} cannot be recorded before the "
            "head teacher's authorisation - record it first (or in the same command) with "
            "--authorised-by NAME --authorised-date DD/MM/YYYY"
        )
    leaving = after["date_of_leaving"]
    if isinstance(on, date):
        touched = "date_authorised" in changes or "date_of_leaving" in changes
        if touched and isinstance(leaving, date) and leaving < on:
            raise WriteBackError(
                f"{who}: the date of leaving {leaving:%d/%m/%Y} is before the date authorised "
                f"{on:%d/%m/%Y}; a pupil cannot be taken off roll before the head teacher "
                "authorises it (no retrospective deletion) - check both dates; while the "
                "authorisation is not yet recorded the leaving date can be corrected in the "
                "same command with --leaving-date DD/MM/YYYY"
            )
        for field in _AFTER_AUTHORISATION:
            step_day = after[field]
            if not isinstance(step_day, date):
                continue
            if (field in changes or "date_authorised" in changes) and step_day < on:
                raise WriteBackError(
                    f"{who}: {STEP_LABELS[field]} on {step_day:%d/%m/%Y} would be before the "
                    f"head teacher's authorisation on {on:%d/%m/%Y} - a step of the deletion "
                    "cannot be dated before its authorisation; check the dates"
                )
    informed = after["admissions_informed"]
    touched = "admissions_informed" in changes or "date_of_leaving" in changes
    if touched and isinstance(informed, date) and isinstance(leaving, date) and informed < leaving:
        raise WriteBackError(
            f"{who}: admissions informed on {informed:%d/%m/%Y} would be before the date of "
            f"leaving {leaving:%d/%m/%Y} - admissions are told once the child is off roll; "
            "check the dates"
        )
    return changes, tuple(unchanged)


def open_steps(leaver: Leaver) -> tuple[str, ...]:
    out = []
    if not (leaver.authorised_by and leaver.date_authorised):
        out.append("authorisation")
    out.extend(f for f in _AFTER_AUTHORISATION if getattr(leaver, f) is None)
    return tuple(out)


def school_days_since(calendar: SchoolCalendar, start: date, today: date) -> tuple[int, bool]:
    """School days after ``start`` up to today, and whether they were estimated as weekdays
    (when mergekit.toml's terms do not cover the dates)."""
    if today <= start:
        return 0, False
    if calendar.terms and calendar.covers(start) and calendar.covers(today):
        return calendar.school_days_after(start, today), False
    days = sum(
        1 for i in range(1, (today - start).days + 1) if (start + timedelta(i)).weekday() < 5
    )
    return days, True


def leaver_statuses(
    leavers: list[Leaver], calendar: SchoolCalendar, today: date, overdue_after: int
) -> tuple[list[LeaverStatus], bool]:
    """Leavers with steps still open, oldest leaving date first (rows without one last)."""
    out: list[LeaverStatus] = []
    estimated = False
    for leaver in leavers:
        steps = open_steps(leaver)
        if leaver.date_of_leaving is None:
            out.append(LeaverStatus(leaver, ("date_of_leaving", *steps), None, False))
            continue
        if not steps:
            continue
        days, guess = school_days_since(calendar, leaver.date_of_leaving, today)
        estimated = estimated or guess
        out.append(LeaverStatus(leaver, steps, days, days >= overdue_after))
    out.sort(key=lambda s: (s.leaver.date_of_leaving or date.max, s.leaver.row))
    return out, estimated


# ---------------------------------------------------------------------------------------------
# Operations (read, check, write, record)


def add_leaver(
    ws: Workspace,
    upn: str,
    leaving_date: date,
    reason: str,
    *,
    clock: Callable[[], date] = date.today,
) -> OffRollWrite:
    """Add a pupil from the tracking workbook to the Off Roll tab, after the last leaver.
    Holds the school's lock and the workbook's from reading the tab to recording the row."""
    path = ws.settings.require_file("transfer_list")
    with _locked(ws, path, "offroll add"):
        return _add_leaver(ws, upn, leaving_date, reason, clock, path)


def _add_leaver(
    ws: Workspace,
    upn: str,
    leaving_date: date,
    reason: str,
    clock: Callable[[], date],
    path: Path,
) -> OffRollWrite:
    settings = ws.settings
    upn = v.upn_key(upn)
    refuse_if_locked(path)
    pupil = _require_pupil(ws, upn)
    stamp = file_stamp(path)
    tl = read_transfer_list(settings, path)
    _require_no_errors(tl)
    _require_columns(tl, ("name", "date_of_leaving", "reason"))
    existing = find_rows(tl.leavers, upn, pupil, "upn" in tl.columns)
    check_new_leaver(pupil, leaving_date, reason, ws.requested, existing)
    row = max((x.row for x in tl.leavers), default=tl.header_row) + 1
    values = {
        k: val for k, val in leaver_row(pupil, leaving_date, reason).items() if k in tl.columns
    }
    return _write(
        ws, tl, stamp, row, values, {}, upn, pupil.legal_name, "offroll add", clock, new_row=True
    )


def set_steps(
    ws: Workspace,
    upn: str,
    request: StepDates,
    *,
    replace: bool = False,
    clock: Callable[[], date] = date.today,
) -> OffRollWrite:
    """Record checklist dates on the pupil's Off Roll row (holding the locks, as ``add``)."""
    path = ws.settings.require_file("transfer_list")
    with _locked(ws, path, "offroll set"):
        return _set_steps(ws, upn, request, replace, clock, path)


def _set_steps(
    ws: Workspace,
    upn: str,
    request: StepDates,
    replace: bool,
    clock: Callable[[], date],
    path: Path,
) -> OffRollWrite:
    settings = ws.settings
    upn = v.upn_key(upn)
    refuse_if_locked(path)
    if not request.wanted():
        raise WriteBackError(
            "nothing to record - give at least one of --authorised-by, --authorised-date, "
            "--data-team-emailed, --transfer-list-updated, --admissions-informed"
        )
    stamp = file_stamp(path)
    tl = read_transfer_list(settings, path)
    _require_no_errors(tl)
    has_upn = "upn" in tl.columns
    pupil = _find_pupil(ws, upn) if has_upn else _require_pupil(ws, upn)
    rows = find_rows(tl.leavers, upn, pupil, has_upn)
    if not rows:
        who = pupil.full_name if pupil else f"UPN {upn}"
        raise WriteBackError(
            f"{path.name}: {who} is not on the {tl.sheet} tab - add them first with "
            f"`mergekit offroll add {upn} --leaving-date DD/MM/YYYY --reason ...`"
        )
    if len(rows) > 1:
        raise WriteBackError(
            f"{path.name}: {tl.sheet} rows {', '.join(str(x.row) for x in rows)} all look like "
            f"UPN {upn} - remove the duplicate row, or add a UPN column to tell them apart"
        )
    leaver = rows[0]
    admission = pupil.admission_date if pupil else None
    changes, unchanged = plan_set(leaver, request, ws.requested, admission, replace)
    _require_columns(tl, tuple(changes))
    old = {f: getattr(leaver, f) for f in changes}
    if not changes:
        return OffRollWrite(tl.path, tl.sheet, leaver.row, leaver.name, (), unchanged)
    result = _write(ws, tl, stamp, leaver.row, changes, old, upn, leaver.name, "offroll set", clock)
    return OffRollWrite(
        result.file, result.sheet, result.row, result.name, result.changes, unchanged, result.backup
    )


def offroll_status(ws: Workspace) -> StatusReport:
    """Leavers whose checklist is not finished, oldest first."""
    settings = ws.settings
    tl = read_transfer_list(settings, settings.require_file("transfer_list"))
    overdue_after = settings.policy.offroll_overdue_school_days
    statuses, estimated = leaver_statuses(tl.leavers, ws.calendar, ws.today, overdue_after)
    return StatusReport(
        tl.path, tl.sheet, ws.today, overdue_after, tuple(statuses), len(tl.leavers), estimated
    )


def _find_pupil(ws: Workspace, upn: str) -> Pupil | None:
    return read_tracking(ws.settings).data.pupils.get(upn)


def _require_pupil(ws: Workspace, upn: str) -> Pupil:
    result = read_tracking(ws.settings)
    pupil = result.data.pupils.get(upn)
    if pupil is None:
        tracking = ws.settings.files.tracking
        first = f" ({result.errors[0]})" if not result.data.pupils and result.errors else ""
        raise WriteBackError(
            f"{tracking}: no pupil with UPN {upn}{first} - check the UPN (13 characters, as in "
            "the MIS)"
        )
    return pupil


def _require_no_errors(tl: TransferList) -> None:
    """Transfer-list errors in the tab's layout (a missing checklist column) block `offroll`
    writes, and only them (`mergekit check`); a bad cell in another leaver's row does not."""
    errors = [p for p in tl.problems if p.severity is Severity.ERROR and not p.cell]
    if errors:
        n = len(errors)
        raise WriteBackError(
            f"{tl.path.name}: nothing written - the transfer list has {n} error"
            f"{'s' * (n != 1)} (first: {errors[0]}); fix {'them' if n != 1 else 'it'} "
            "(`mergekit check` lists them), then run again. Only `mergekit offroll` writes "
            "wait for this; letters, forms and the rest go on"
        )


def _require_columns(tl: TransferList, wanted: tuple[str, ...]) -> None:
    missing = [f for f in wanted if f not in tl.columns]
    if missing:
        names = ", ".join(repr(_label(f)) for f in missing)
        raise WriteBackError(
            f"{tl.path.name}: the {tl.sheet} tab has no {names} column (header row "
            f"{tl.header_row}) - add the column, or name yours in mergekit.toml under "
            "[columns.off_roll]"
        )


@contextlib.contextmanager
def _locked(ws: Workspace, workbook: Path, what: str) -> Iterator[None]:
    """The school's lock, then the workbook's (always in that order), with any write a crash
    left unrecorded finished first."""
    with school_lock(ws.settings.ledger_path, what), workbook_lock(workbook, what):
        reconcile_pending(ws.settings)
        yield


def _write(
    ws: Workspace,
    tl: TransferList,
    stamp: tuple[int, int],
    row: int,
    values: dict[str, CellValue],
    old: dict[str, object],
    upn: str,
    name: str,
    command: str,
    clock: Callable[[], date],
    new_row: bool = False,
) -> OffRollWrite:
    settings = ws.settings
    # Open the ledger first: if it cannot record, the workbook is not touched.
    with Ledger.open(settings.ledger_path) as ledger:
        book = XlsxWorkbook.open(tl.path)
        if book.stamp != stamp:
            raise WriteBackError(
                f"{tl.path.name}: the workbook changed while mergekit was reading it - run again"
            )
        sheet = book.worksheet(tl.sheet, first_data_row=tl.header_row + 1)
        if new_row and sheet.row_has_values(row):
            raise WriteBackError(
                f"{tl.path.name}: {tl.sheet} row {row}, under the last leaver, is not empty - "
                "move what is there, or add the pupil's name to that row, and run again"
            )
        changes = []
        for field, value in values.items():
            ref = f"{column_letter(tl.columns[field])}{row}"
            sheet.set(ref, value)
            changes.append(CellChange(field, ref, v.text(old.get(field)), v.text(value)))
        intent = PendingWrite(
            str(tl.path),
            tl.sheet,
            row,
            upn,
            command,
            ws.today.isoformat(),
            list(stamp),
            [[c.cell, c.field, c.old, c.new] for c in changes],
        )
        # Said before the workbook is replaced, so a crash between the two is finished next
        # time (reconcile_pending): the row is never in the workbook but unknown to history.
        intent.save(pending_path(settings.ledger_path))
        crash_point("offroll:before-workbook-write")
        saved = book.save(backups=settings.resolve(settings.files.backups), day=clock())
        crash_point("offroll:after-workbook-write")
        try:
            intent.record(ledger)
            pending_path(settings.ledger_path).unlink(missing_ok=True)
        except MergekitError as e:
            raise LedgerError(
                f"{tl.path.name} was written, but the ledger could not record it ({e}) - "
                "the workbook is correct; tell whoever looks after mergekit"
            ) from e
    return OffRollWrite(tl.path, tl.sheet, row, name, tuple(changes), (), saved.backup)
