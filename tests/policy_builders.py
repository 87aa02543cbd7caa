"""Small builders for policy and plan tests: a school calendar, pupils, marks, and the same data
written as a real tracking workbook with a mergekit.toml beside it. All data is invented."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from stdnum.gb import upn as _upn

from mergekit.core.calendar import SchoolCalendar, academic_year_bounds, academic_year_of
from mergekit.core.config import PolicySettings, Term
from mergekit.core.model import (
    Action,
    Contact,
    ContactLogEntry,
    DayMarks,
    Event,
    EventKind,
    LetterRecord,
    Pupil,
    SchoolData,
)
from mergekit.plan.policy import History, Plan, evaluate

# The example school's calendar: 2026-05-04 (Early May bank holiday) falls inside a term,
# INSET days open two terms, and 2026-10-09 was a closure.
TERMS = [
    Term(date(2025, 9, 1), date(2025, 10, 24)),
    Term(date(2025, 11, 3), date(2025, 12, 19)),
    Term(date(2026, 1, 5), date(2026, 2, 13)),
    Term(date(2026, 2, 23), date(2026, 3, 27)),
    Term(date(2026, 4, 13), date(2026, 5, 22)),
    Term(date(2026, 6, 1), date(2026, 7, 22)),
    Term(date(2026, 9, 1), date(2026, 10, 23)),
    Term(date(2026, 11, 2), date(2026, 12, 18)),
    Term(date(2027, 1, 4), date(2027, 2, 12)),
    Term(date(2027, 2, 22), date(2027, 3, 26)),
    Term(date(2027, 4, 12), date(2027, 5, 28)),
    Term(date(2027, 6, 7), date(2027, 7, 21)),
]
INSET = [
    date(2025, 9, 1),
    date(2025, 9, 2),
    date(2026, 1, 5),
    date(2026, 6, 1),
    date(2026, 7, 22),
    date(2026, 9, 1),
    date(2026, 9, 2),
    date(2026, 11, 2),
    date(2027, 1, 4),
    date(2027, 6, 7),
]
CLOSURES = [date(2026, 10, 9)]
TODAY = date(2026, 11, 27)  # a Friday, the example school's day


@functools.cache
def calendar() -> SchoolCalendar:
    """One shared calendar: working out its bank holidays and school days takes a moment."""
    return SchoolCalendar(TERMS, INSET, CLOSURES, bank_holidays=True)


def school_days(start: date, end: date) -> tuple[date, ...]:
    return calendar().between(start, end)


def back(day: date, n: int) -> date:
    """The school day n school days before ``day``."""
    d = calendar().back(day, n)
    assert d is not None
    return d


def make_upn(n: int) -> str:
    body = f"331{2612:04d}{n:05d}"
    return _upn.calc_check_digit(body) + body


def pupil(n: int = 1, **over: Any) -> Pupil:
    base = Pupil(
        upn=make_upn(n),
        surname=f"Testperson{n:03d}",
        forename=f"Pupil{n:03d}",
        dob=date(2013, 1, 1),
        year=9,
        reg_group="9KM",
    )
    return replace(base, **over)


def contact(upn: str, name: str = "Mrs Ada Parent", **over: Any) -> Contact:
    base = Contact(
        upn=upn,
        name=name,
        priority=1,
        relationship="Mother",
        parental_responsibility=True,
        lives_with_pupil=True,
        mobile="07700 900001",
    )
    return replace(base, **over)


def present_days(start: date, end: date) -> dict[date, DayMarks]:
    return dict.fromkeys(school_days(start, end), ("/", "\\"))


def coded(days: Iterable[date], am: str, pm: str | None = None) -> dict[date, DayMarks]:
    return dict.fromkeys(days, (am, am if pm is None else pm))


def ytd(today: date, possible: int, present: int, absent: str = "I") -> dict[date, DayMarks]:
    """Marks on the last ceil(possible/2) school days up to ``today`` with exactly these
    session counts: the absences come first, then presence (odd possible: last PM unmarked)."""
    start, _ = academic_year_bounds(academic_year_of(today))
    days = calendar().between(start, today)[-((possible + 1) // 2) :]
    assert len(days) * 2 >= possible, "not enough school days this year for that many sessions"
    codes = [absent] * (possible - present) + ["/"] * present + [""] * (len(days) * 2 - possible)
    return {d: (codes[2 * i], codes[2 * i + 1]) for i, d in enumerate(days)}


@dataclass
class School:
    """Collects pupils and their records, then builds SchoolData (or a workbook)."""

    pupils: dict[str, Pupil] = field(default_factory=dict)
    marks: dict[str, dict[date, DayMarks]] = field(default_factory=dict)
    contacts: dict[str, list[Contact]] = field(default_factory=dict)
    log: dict[str, list[ContactLogEntry]] = field(default_factory=dict)
    letters: dict[str, list[LetterRecord]] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    has_marks: bool = True

    def add(
        self, p: Pupil, marks: Mapping[date, DayMarks] | None = None, *contacts: Contact
    ) -> str:
        self.pupils[p.upn] = p
        self.marks[p.upn] = dict(sorted((marks or {}).items()))
        self.contacts[p.upn] = list(contacts) or [contact(p.upn)]
        return p.upn

    def contact_log(self, upn: str, day: date, made: bool, method: str = "Phone") -> None:
        self.log.setdefault(upn, []).append(ContactLogEntry(upn, day, method, made, "test"))

    def letter(self, upn: str, number: int, sent: date) -> None:
        self.letters.setdefault(upn, []).append(LetterRecord(upn, f"pa_letter_{number}", sent))

    def event(self, upn: str, kind: EventKind, received: date, **over: Any) -> None:
        self.events.setdefault(upn, []).append(Event(upn, kind, received, **over))

    def data(self) -> SchoolData:
        return SchoolData(
            pupils=dict(self.pupils),
            contacts={
                u: tuple(sorted(cs, key=lambda c: c.priority)) for u, cs in self.contacts.items()
            },
            marks={u: m for u, m in self.marks.items() if m} if self.has_marks else {},
            contact_log={u: tuple(sorted(es, key=lambda e: e.date)) for u, es in self.log.items()},
            letters={u: tuple(ls) for u, ls in self.letters.items()},
            events={u: tuple(es) for u, es in self.events.items()},
            has_marks=self.has_marks,
        )


def policy(**over: Any) -> PolicySettings:
    return replace(PolicySettings(), **over)


def plan(
    data: SchoolData,
    today: date = TODAY,
    *,
    history: History | None = None,
    settings: PolicySettings | None = None,
    cal: SchoolCalendar | None = None,
) -> Plan:
    return evaluate(data, cal or calendar(), settings or policy(), history or History(), today)


def actions(p: Plan, action: str | None = None, upn: str | None = None) -> list[Action]:
    return [
        a
        for a in p.actions
        if (action is None or a.kind == action) and (upn is None or a.upn == upn)
    ]


def names(p: Plan, upn: str | None = None) -> list[str]:
    return [a.kind for a in actions(p, upn=upn)]


def done(*actions_: Action) -> History:
    return History(done=frozenset(a.key() for a in actions_))


# ---------------------------------------------------------------------------------------------
# The same data as a real workbook plus config, for the command-line tests


def write_workbook(
    path: Path, data: SchoolData, proficiency_header: str = "English Proficiency"
) -> Path:
    """The tracking workbook an MIS export would give (write-only: fast for big schools). An
    English-proficiency column, under ``proficiency_header``, when any pupil has one."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Pupils")
    summaries = any(p.summary is not None for p in data.pupils.values())
    proficiency = any(p.english_proficiency for p in data.pupils.values())
    flag_cols = ("Looked After", "Child Protection Plan", "Early Help")
    flag_names = ("looked_after", "child_protection_plan", "early_help")
    ws.append(
        [
            "UPN",
            "Legal Surname",
            "Legal Forename",
            "DOB",
            "Year",
            "Reg Group",
            "Address Line 1",
            "Postcode",
            *flag_cols,
            "Social Worker Name",
            "Social Worker Phone",
            *(("Possible Sessions", "Present Sessions", "Attendance %") if summaries else ()),
            *((proficiency_header,) if proficiency else ()),
        ]
    )
    for p in data.pupils.values():
        ws.append(
            [
                p.upn,
                p.surname,
                p.forename,
                p.dob,
                p.year,
                p.reg_group,
                "1 Test Street",
                "ZZ1 1ZZ",
                *("Y" if f in p.flags else "N" for f in flag_names),
                p.social_worker.name,
                p.social_worker.phone,
                *(_summary_cells(p) if summaries else ()),
                *((p.english_proficiency,) if proficiency else ()),
            ]
        )
    cs = wb.create_sheet("Contacts")
    cs.append(
        [
            "UPN",
            "Priority",
            "Contact Name",
            "Relationship",
            "Parental Responsibility",
            "Lives With Pupil",
            "Address Line 1",
            "Postcode",
            "Mobile",
            "No Contact",
        ]
    )
    for upn, contacts in data.contacts.items():
        for c in contacts:
            cs.append(
                [
                    upn,
                    c.priority,
                    c.name,
                    c.relationship,
                    "Y" if c.parental_responsibility else "N",
                    "Y" if c.lives_with_pupil else "N",
                    "1 Test Street",
                    "ZZ1 1ZZ",
                    c.mobile,
                    "Y" if c.no_contact else "N",
                ]
            )
    if data.has_marks:
        ms = wb.create_sheet("Marks")
        ms.append(["UPN", "Date", "AM", "PM"])
        for upn, marks in data.marks.items():
            for d, (am, pm) in marks.items():
                ms.append([upn, d, am or None, pm or None])
    log = wb.create_sheet("Contact log")
    log.append(["UPN", "Date", "Method", "Contact Made", "Notes"])
    for upn, entries in data.contact_log.items():
        for e in entries:
            log.append([upn, e.date, e.method, "Y" if e.contact_made else "N", e.notes])
    letters = wb.create_sheet("Letters")
    letters.append(["UPN", "Letter", "Date Sent"])
    for upn, records in data.letters.items():
        for r in records:
            letters.append([upn, f"Letter {r.letter[-1]}", r.date_sent])
    events = wb.create_sheet("Events")
    events.append(["UPN", "Event", "Date Received", "Effective Date"])
    for upn, evs in data.events.items():
        for e in evs:
            kind = "Planned move" if e.kind is EventKind.PLANNED_MOVE else "Home education"
            events.append([upn, kind, e.date_received, e.effective_date])
    wb.save(path)
    return path


def _summary_cells(p: Pupil) -> tuple[object, object, object]:
    s = p.summary
    return (s.possible, s.present, s.percent) if s else (None, None, None)


# Every [school] and [council] setting the bundled templates print, filled in (documents are
# not made while one is blank or a placeholder).
FILLED_IN_SETTINGS = """
[school]
name = "Testbridge School"
address = ["1 School Lane", "Exampleton", "ZZ9 9ZZ"]
phone = "01632 960 000"
email = "office@testbridge.example.org"
head_teacher = "Mrs Hana Head"
attendance_officer = "Mr Aled Officer"
attendance_officer_phone = "01632 960 001"
attendance_officer_email = "attendance@testbridge.example.org"
dsl = "Ms Dee Lead"
[council]
name = "Exampleshire Council"
cme_email = "cme@example.gov.uk"
cme_phone = "01632 960 700"
admissions_email = "admissions@example.gov.uk"
address = ["Civic Centre", "Exampleton", "ZZ1 1CC"]
"""


def write_config(folder: Path, today: date = TODAY, extra: str = "") -> Path:
    terms = ",\n  ".join(f"{{ start = {t.start}, end = {t.end} }}" for t in TERMS)
    cfg = folder / "mergekit.toml"
    cfg.write_text(
        f"""
[school]
name = "Testbridge School"
[files]
tracking = "tracking.xlsx"
transfer_list = "transfer_list.xlsx"
[calendar]
terms = [
  {terms}
]
inset_days = [{", ".join(str(d) for d in INSET)}]
closures = [{", ".join(str(d) for d in CLOSURES)}]
[run]
today = {today}
{extra}
""",
        encoding="utf-8",
    )
    return cfg


def school_folder(folder: Path, data: SchoolData, today: date = TODAY, extra: str = "") -> Path:
    """tracking.xlsx + mergekit.toml in ``folder``; returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_workbook(folder / "tracking.xlsx", data)
    return write_config(folder, today, extra)


def single(xs: Sequence[Action]) -> Action:
    assert len(xs) == 1, [a.kind for a in xs]
    return xs[0]
