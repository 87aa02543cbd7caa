"""Today's work list: the calls, contacts and alerts that are done by a person, not a document.

``worklist.xlsx`` in the run folder has one tab per team: the hub team's first-day calls (with
phone numbers, no-contact flags respected), social workers and key workers to contact, alerts for
the Designated Safeguarding Lead, pupils to tell the CME team about, and home-education
requests to take off roll. It lists every such action of the day, including those an earlier
run of the same day recorded, so it can be printed at any time.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mergekit.atomic import write_atomic
from mergekit.config import Settings
from mergekit.fields import ACTION_TITLES
from mergekit.model import Action, Contact, SchoolData

WORKLIST = "worklist.xlsx"

# Actions done by staff from the work list: recorded as done when the list is made.
LISTED: tuple[str, ...] = (
    "first_day_contact",
    "severe_absence",
    "penalty_notice_threshold",
    "attendance_drop",
    "cme_inform",
    "home_education",
)


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
    return [ACTION_TITLES.get(a.action, a.action), ""]


def _cme(a: Action, data: SchoolData, settings: Settings) -> list[object]:
    c = settings.council
    team = ", ".join(x for x in (c.cme_team, c.cme_phone, c.cme_email) if x)
    return [ACTION_TITLES.get(a.action, a.action), team, "", ""]


def _home_education(a: Action, data: SchoolData, settings: Settings) -> list[object]:
    received = _evidence(a.evidence, "date_received", "event_date")
    return [received, "Off Roll tab, then inform the LA", ""]


@dataclass(frozen=True)
class _Tab:
    title: str
    actions: tuple[str, ...]
    headers: tuple[str, ...]
    note: str
    columns: Columns


_TABS: tuple[_Tab, ...] = (
    _Tab(
        "Day 1 calls",
        ("first_day_contact",),
        ("Contacts (priority order)", "Phones", "Outcome", "Contact made (Y/N)"),
        "Absent with no reason (N): text, call, then a home visit. Record each attempt in the "
        "contact log sheet of the tracking workbook.",
        _calls,
    ),
    _Tab(
        "Social workers",
        ("vulnerable_day1_contact",),
        ("Social worker", "Phone", "Email", "Key worker", "Outcome"),
        "Vulnerable pupils absent today: contact their social worker or key worker today "
        "(mergekit also drafts the email). If in doubt, consult the DSL.",
        _social_workers,
    ),
    _Tab(
        "DSL alerts",
        ("severe_absence", "penalty_notice_threshold", "attendance_drop"),
        ("Alert", "Decision / notes"),
        "For the Designated Safeguarding Lead: severe absence, the penalty notice threshold "
        "(10 unauthorised sessions in 10 school weeks: consider a Notice to Improve), and "
        "sudden drops in attendance.",
        _alert,
    ),
    _Tab(
        "CME team",
        ("cme_inform", "cme_referral", "remove_from_roll", "planned_move"),
        ("Step", "CME team contact", "Done on", "Notes"),
        "Tell the council's Children Missing Education team. Referral and Remove From Roll "
        "forms are in the run folder; the checklist needs the head teacher's signature.",
        _cme,
    ),
    _Tab(
        "Home education",
        ("home_education",),
        ("Written request received", "Off roll steps", "Notes"),
        "Written elective home education request: the pupil comes off roll under "
        "reg. 9(1)(f). Record it with `mergekit offroll add UPN --leaving-date D --reason ...`, "
        "then inform the local authority.",
        _home_education,
    ),
)


def write_worklist(
    path: Path, actions: Sequence[Action], data: SchoolData, settings: Settings
) -> Path:
    """Write the work list atomically (a new file each time: it is mergekit's, not the
    school's)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    first = wb.active
    assert first is not None  # a new workbook always has one sheet
    wb.remove(first)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for tab in _TABS:
        ws = wb.create_sheet(tab.title)
        ws.append([tab.note])
        ws["A1"].font = Font(italic=True)
        headers = ("UPN", "Pupil", "Year", "Reg group", "What", "Why", *tab.headers)
        ws.append(list(headers))
        for cell in ws[2]:
            cell.font = bold
            cell.fill = fill
        rows = [a for a in actions if a.action in tab.actions]
        for a in sorted(rows, key=lambda a: (a.action, a.year or 0, a.reg_group, a.name)):
            ws.append(
                [
                    a.upn,
                    a.name,
                    a.year,
                    a.reg_group,
                    ACTION_TITLES.get(a.action, a.action),
                    a.reason,
                    *tab.columns(a, data, settings),
                ]
            )
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                cell.alignment = wrap
        ws.freeze_panes = "C3"
        for col, width in zip("ABCDEFGHIJ", (15, 24, 6, 10, 30, 60, 36, 28, 24, 20), strict=True):
            ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    write_atomic(path, buf.getvalue(), sync=True)
    return path


def _who(c: Contact) -> str:
    flags = " (interpreter)" if c.interpreter_needed else ""
    return f"{c.priority}. {c.name} ({c.relationship}){flags}"


def _phones(c: Contact) -> str:
    return " / ".join(p for p in (c.mobile, c.landline, c.work_phone) if p) or "no phone"


def _evidence(evidence: Mapping[str, object], *keys: str) -> str:
    for key in keys:
        if evidence.get(key):
            return str(evidence[key])
    return ""
