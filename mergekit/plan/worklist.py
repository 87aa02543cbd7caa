"""Today's work list: the calls, contacts and alerts that are done by a person, not a document.

``worklist.xlsx`` in the run folder has one tab per team: the hub team's first-day calls (with
phone numbers, no-contact flags respected), social workers and key workers to contact, alerts for
the Designated Safeguarding Lead, pupils to tell the CME team about, and home-education
requests to take off roll. It lists every such action of the day, including those an earlier
run of the same day recorded, so it can be printed at any time.

Before them, when there are any: a "Fix first" tab of the pupils kept out of letters and forms
until their rows are fixed (``SchoolData.fix_first``), and a "Register" tab of the N marks
left past the legal limit, to recode to the reason, or O (``SchoolData.register_tasks``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mergekit.core.actions import ACTION_TITLES, ON_LIST, team_kinds
from mergekit.core.atomic import write_atomic
from mergekit.core.config import Settings
from mergekit.core.model import Action, Contact, SchoolData
from mergekit.plan.xlsxprint import lay_out
from mergekit.plan.xlsxstyle import workbook_bytes

WORKLIST = "worklist.xlsx"

# The extra columns of one tab's row: (action, workbook, settings) -> cells.
Columns = Callable[[Action, SchoolData, Settings], list[object]]


def _calls(a: Action, data: SchoolData, settings: Settings) -> list[object]:
    contacts = [c for c in data.contacts_of(a.upn) if not c.no_contact]
    return ["\n".join(_who(c) for c in contacts), "\n".join(_phones(c) for c in contacts), "", ""]


def _social_workers(a: Action, data: SchoolData, settings: Settings) -> list[object]:
    pupil = data.pupils.get(a.upn)
    if pupil is None:
        return []
    sw, kw = pupil.social_worker, pupil.key_worker
    key = ", ".join(x for x in (kw.name, kw.phone, kw.email) if x)
    return [sw.name, sw.phone, sw.email, key, ""]


def _alert(a: Action, data: SchoolData, settings: Settings) -> list[object]:
    return [ACTION_TITLES.get(a.kind, a.kind), ""]


def _cme(a: Action, data: SchoolData, settings: Settings) -> list[object]:
    c = settings.council
    team = ", ".join(x for x in (c.cme_team, c.cme_phone, c.cme_email) if x)
    return [ACTION_TITLES.get(a.kind, a.kind), team, "", ""]


def _home_education(a: Action, data: SchoolData, settings: Settings) -> list[object]:
    received = _evidence(a.evidence, "date_received", "event_date")
    return [received, "Off Roll tab, then inform the LA", ""]


@dataclass(frozen=True)
class _Tab:
    title: str
    actions: tuple[str, ...]
    headers: tuple[str, ...]
    widths: tuple[float, ...]  # of the tab's own columns, in Excel units
    note: str
    columns: Columns


# UPN, Pupil, Year, Reg group, What, Why: narrow enough that, with each tab's own columns, a
# landscape A4 page shows the sheet at 80% or more.
_WIDTHS = (14.0, 17.0, 5.0, 7.0, 14.0, 32.0)


_TABS: tuple[_Tab, ...] = (
    _Tab(
        "Day 1 calls",
        team_kinds("Day 1 calls"),
        ("Contacts (priority order)", "Phones", "Outcome", "Contact made (Y/N)"),
        (28, 23, 16, 9),
        "Absent with no reason (N): text, call, then a home visit. Record each attempt in the "
        "contact log sheet of the tracking workbook.",
        _calls,
    ),
    _Tab(
        "Social workers",
        team_kinds("Social workers"),
        ("Social worker", "Phone", "Email", "Key worker", "Outcome"),
        (20, 13, 31, 26, 14),
        "Vulnerable pupils absent today: contact their social worker or key worker today "
        "(mergekit also drafts the email). If in doubt, consult the DSL.",
        _social_workers,
    ),
    _Tab(
        "DSL alerts",
        team_kinds("DSL alerts"),
        ("Alert", "Decision / notes"),
        (20, 36),
        "For the Designated Safeguarding Lead: severe absence, the penalty notice threshold "
        "(10 unauthorised sessions in 10 school weeks: consider a Notice to Improve), and "
        "sudden drops in attendance.",
        _alert,
    ),
    _Tab(
        "CME team",
        team_kinds("CME team"),
        ("Step", "CME team contact", "Done on", "Notes"),
        (20, 26, 10, 22),
        "Tell the council's Children Missing Education team. Referral and Remove From Roll "
        "forms are in the run folder; the checklist needs the head teacher's signature.",
        _cme,
    ),
    _Tab(
        "Home education",
        team_kinds("Home education"),
        ("Written request received", "Off roll steps", "Notes"),
        (12, 20, 30),
        "Written elective home education request: the pupil comes off roll under "
        "reg. 9(1)(f). Record it with `mergekit offroll add UPN --leaving-date D --reason ...`, "
        "then inform the local authority.",
        _home_education,
    ),
)


def write_worklist(
    path: Path,
    actions: Sequence[Action],
    data: SchoolData,
    settings: Settings,
    *,
    today: date | None = None,
) -> Path:
    """Write the work list atomically (a new file each time: it is mergekit's, not the
    school's), laid out to print: A4 landscape, one page wide, headers on every page."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    first = wb.active
    assert first is not None  # a new workbook always has one sheet
    wb.remove(first)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    day = f" for {today:%A %d/%m/%Y}" if today else ""
    title = f"{settings.school.name} - work list{day}".strip(" -")
    for name, note, headers, widths, cells in _first_tabs(data):
        ws = wb.create_sheet(name)
        ws.append([note])
        ws["A1"].font = Font(italic=True)
        ws.append(list(headers))
        for cell in ws[2]:
            cell.font = bold
            cell.fill = fill
        for row in cells:
            ws.append(row)
        ws.freeze_panes = "C3"
        lay_out(ws, widths, header_rows=2, note_rows=1, title=title)
    for tab in _TABS:
        ws = wb.create_sheet(tab.title)
        ws.append([tab.note])
        ws["A1"].font = Font(italic=True)
        headers = ("UPN", "Pupil", "Year", "Reg group", "What", "Why", *tab.headers)
        ws.append(list(headers))
        for cell in ws[2]:
            cell.font = bold
            cell.fill = fill
        rows = [a for a in actions if a.kind in tab.actions]
        for a in sorted(rows, key=lambda a: (a.kind, a.year or 0, a.reg_group, a.name)):
            ws.append(
                [
                    a.upn,
                    a.name,
                    a.year,
                    a.reg_group,
                    ACTION_TITLES.get(a.kind, a.kind),
                    a.reason,
                    *tab.columns(a, data, settings),
                ]
            )
        ws.freeze_panes = "C3"
        lay_out(ws, (*_WIDTHS, *tab.widths), header_rows=2, note_rows=1, title=title)
    write_atomic(path, workbook_bytes(wb), sync=True)
    return path


def write_day_worklist(
    folder: Path, day: Sequence[Action], data: SchoolData, settings: Settings, today: date
) -> tuple[Path | None, dict[str, int]]:
    """``folder``/worklist.xlsx with the day's approved actions that are on the list (those
    recorded earlier today included), and how many of each action; no file when there are
    none."""
    listed = [a for a in day if a.kind in ON_LIST]
    if not listed and not data.fix_first and not data.register_tasks:
        return None, {}
    path = write_worklist(folder / WORKLIST, listed, data, settings, today=today)
    return path, dict(Counter(a.kind for a in listed))


FIX_FIRST = "Fix first"
REGISTER = "Register"


def _first_tabs(
    data: SchoolData,
) -> list[tuple[str, str, tuple[str, ...], tuple[float, ...], list[list[object]]]]:
    """(title, note, headers, widths, rows) of the tabs before the teams' ones, when needed."""
    out: list[tuple[str, str, tuple[str, ...], tuple[float, ...], list[list[object]]]] = []
    if data.fix_first:
        out.append(
            (
                FIX_FIRST,
                "No letter or form is made for these pupils until the cells named here are "
                "fixed in the tracking workbook (calls and alerts still are). Fix them, then "
                "run again.",
                ("UPN", "Pupil", "Problem and fix"),
                (16.0, 22.0, 90.0),
                [[f.upn, f.name, "\n".join(f.reasons)] for f in data.fix_first],
            )
        )
    if data.register_tasks:
        out.append(
            (
                REGISTER,
                "N (reason not yet established) left past the legal limit: counted as "
                "unauthorised absence until recoded. Recode to the reason, or O.",
                ("UPN", "Pupil", "Date", "Session", "Cell", "School days ago", "Task"),
                (14.0, 20.0, 11.0, 9.0, 18.0, 8.0, 30.0),
                [
                    [
                        t.upn,
                        t.name,
                        t.day.strftime("%d/%m/%Y"),
                        t.sessions,
                        t.cell,
                        t.age,
                        "recode to the reason, or O",
                    ]
                    for t in sorted(data.register_tasks, key=lambda t: (t.day, t.name))
                ],
            )
        )
    return out


def tab_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Rows per tab of the work list, from rows per action."""
    return {t.title: sum(counts.get(a, 0) for a in t.actions) for t in _TABS}


def _who(c: Contact) -> str:
    flags = " (interpreter)" if c.interpreter_needed else ""
    return f"{c.priority}. {c.name} ({c.relationship}){flags}"


def _phones(c: Contact) -> str:
    """One number a line, numbered like its contact, so each line says whose number it is."""
    numbers = [
        f"{c.priority}. {number} {kind}"
        for number, kind in ((c.mobile, "mobile"), (c.landline, "landline"), (c.work_phone, "work"))
        if number
    ]
    return "\n".join(numbers) or f"{c.priority}. no phone"


def _evidence(evidence: Mapping[str, object], *keys: str) -> str:
    """The first of ``keys`` the evidence has; an ISO date as DD/MM/YYYY."""
    for key in keys:
        value = evidence.get(key)
        if value:
            try:
                return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
            except ValueError:
                return str(value)
    return ""
