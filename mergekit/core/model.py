"""The clean model every other part of mergekit reads: pupils, contacts, marks and history.

The reader (:mod:`mergekit.read.tracking`) turns a school's workbook, whatever its header spellings,
into these frozen values; the policy, templates, PDFs and mail only ever see this model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

# Vulnerability / context flags a pupil row can carry (canonical names, used in config
# `vulnerable_flags` and in templates as `pupil.flags.<name>`).
FLAG_NAMES: tuple[str, ...] = (
    "looked_after",
    "child_protection_plan",
    "child_in_need_plan",
    "domestic_abuse_notification",
    "early_help",
    "gypsy_roma_traveller",
    "refugee_asylum_seeker",
    "temporary_accommodation",
    "open_social_care_case",
    "fsm",
    "ehcp",
    "young_carer",
)


class EventKind(StrEnum):
    PLANNED_MOVE = "planned_move"
    HOME_EDUCATION = "home_education"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a row came from, so any later message can point at it."""

    file: str
    sheet: str
    row: int  # 1-based Excel row number

    def cell(self, column_letter: str) -> str:
        return f"{column_letter}{self.row}"


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...] = ()
    postcode: str = ""

    @property
    def is_postable(self) -> bool:
        """A letter can be posted: at least one street line and a postcode."""
        return bool(self.lines) and bool(self.postcode)

    def block(self) -> tuple[str, ...]:
        return (*self.lines, self.postcode) if self.postcode else self.lines

    def one_line(self) -> str:
        return ", ".join(self.block())


@dataclass(frozen=True, slots=True)
class Person:
    """A professional linked to a pupil (social worker, key worker)."""

    name: str = ""
    email: str = ""
    phone: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.email or self.phone)


@dataclass(frozen=True, slots=True)
class AttendanceSummary:
    """Year-to-date figures from summary columns, for schools without session marks."""

    possible: int | None = None
    present: int | None = None
    percent: float | None = None  # as written in the workbook, 0-100


@dataclass(frozen=True, slots=True)
class Pupil:
    upn: str
    surname: str
    forename: str
    middle_names: str = ""
    preferred_forename: str = ""
    preferred_surname: str = ""
    aliases: str = ""
    former_upn: str = ""
    admission_no: str = ""
    admission_date: date | None = None
    dob: date | None = None
    gender: str = ""
    year: int | None = None  # National Curriculum year; Reception = 0
    reg_group: str = ""
    ethnicity: str = ""
    first_language: str = ""
    english_proficiency: str = ""  # as recorded: a DfE code (A-E, N) or its words
    address: Address = Address()
    previous_addresses: str = ""
    sen: str = ""
    flags: frozenset[str] = frozenset()
    social_worker: Person = Person()
    key_worker: Person = Person()
    summary: AttendanceSummary | None = None
    source: Source | None = None

    @property
    def known_as(self) -> str:
        return self.preferred_forename or self.forename

    @property
    def full_name(self) -> str:
        """Name as used in letters: preferred forename (else legal) and surname."""
        surname = self.preferred_surname or self.surname
        return f"{self.known_as} {surname}".strip()

    @property
    def legal_name(self) -> str:
        parts = (self.forename, self.middle_names, self.surname)
        return " ".join(p for p in parts if p)

    def has(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def sort_key(self) -> tuple[int, str, str, str, str]:
        """The order staff hand letters out (:func:`handout_key`)."""
        return handout_key(self.year, self.reg_group, self.surname, self.forename, self.upn)


def handout_key(
    year: int | None, reg_group: str, surname: str, forename: str, upn: str
) -> tuple[int, str, str, str, str]:
    """The order staff hand letters out: year (none last), reg group, surname, forename, UPN;
    letters compared without regard to case."""
    return (
        year if year is not None else 99,
        reg_group.casefold(),
        surname.casefold(),
        forename.casefold(),
        upn,
    )


@dataclass(frozen=True, slots=True)
class Contact:
    """A parent, carer or other contact of one pupil (one row of the contacts sheet)."""

    upn: str
    name: str
    priority: int = 99
    title: str = ""
    forename: str = ""
    surname: str = ""
    relationship: str = ""
    parental_responsibility: bool = False
    lives_with_pupil: bool = False
    address: Address = Address()
    landline: str = ""
    mobile: str = ""
    work_phone: str = ""
    email: str = ""
    home_language: str = ""
    interpreter_needed: bool | None = None  # None: the workbook does not say
    no_contact: bool = False
    source: Source | None = None

    @property
    def salutation_name(self) -> str:
        """'Mrs Khan' when a title and surname are known, else the full name."""
        if self.title and self.surname:
            return f"{self.title} {self.surname}"
        return self.name

    @property
    def receives_letters(self) -> bool:
        """Letters go to contacts with parental responsibility who live with the pupil."""
        return self.parental_responsibility and self.lives_with_pupil and not self.no_contact


# Session marks: per pupil, date -> (AM code, PM code); "" means no mark recorded.
DayMarks = tuple[str, str]
PupilMarks = Mapping[date, DayMarks]


@dataclass(frozen=True, slots=True)
class ContactLogEntry:
    upn: str
    date: date
    method: str = ""
    contact_made: bool = False
    notes: str = ""
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class LetterRecord:
    """A letter already sent, from the workbook's letters sheet (history before mergekit)."""

    upn: str
    letter: str  # canonical action name, e.g. "pa_letter_1"
    date_sent: date
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A planned move or a written elective-home-education request."""

    upn: str
    kind: EventKind
    date_received: date
    effective_date: date | None = None
    new_address: str = ""
    new_country: str = ""
    new_school: str = ""
    informed: str = ""
    notes: str = ""
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Leaver:
    """One row of the transfer list's Off Roll tab."""

    name: str
    row: int
    upn: str = ""
    dob: date | None = None
    year_group: str = ""
    date_of_leaving: date | None = None
    reason: str = ""
    authorised_by: str = ""
    date_authorised: date | None = None
    data_team_emailed: date | None = None
    transfer_list_updated: date | None = None
    admissions_informed: date | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class FixFirst:
    """A pupil kept out of letters and forms until a problem in their own rows is fixed
    (`mergekit check` found it): listed first by `run`, `plan` and the work list."""

    upn: str  # as written in the workbook (may be blank or malformed: that can be the problem)
    name: str
    reasons: tuple[str, ...]  # each problem's line, naming file, sheet, cell and the fix


@dataclass(frozen=True, slots=True)
class RegisterTask:
    """An N mark older than the legal limit: the register must be recoded to the reason
    found, or O when none was (a task for the register, listed on the work list)."""

    upn: str
    name: str
    day: date
    sessions: str  # "AM", "PM" or "AM and PM"
    age: int  # school days since the mark
    cell: str = ""  # where in the marks sheet, e.g. "Marks!C57"


@dataclass(frozen=True, slots=True)
class SchoolData:
    """Everything read from the tracking workbook, keyed by UPN."""

    pupils: Mapping[str, Pupil]
    contacts: Mapping[str, tuple[Contact, ...]] = field(default_factory=dict)
    marks: Mapping[str, PupilMarks] = field(default_factory=dict)
    contact_log: Mapping[str, tuple[ContactLogEntry, ...]] = field(default_factory=dict)
    letters: Mapping[str, tuple[LetterRecord, ...]] = field(default_factory=dict)
    events: Mapping[str, tuple[Event, ...]] = field(default_factory=dict)
    has_marks: bool = False  # a marks sheet was found (else only summary columns)
    # Set by `mergekit check` (mergekit.day.check): pupils whose own rows have errors (no
    # letters or forms for them until fixed) and N marks left past the limit.
    fix_first: tuple[FixFirst, ...] = ()
    register_tasks: tuple[RegisterTask, ...] = ()

    @property
    def held_upns(self) -> frozenset[str]:
        """UPNs kept out of letters and forms (see ``fix_first``)."""
        return frozenset(f.upn for f in self.fix_first)

    def contacts_of(self, upn: str) -> tuple[Contact, ...]:
        """Contacts in priority order."""
        return self.contacts.get(upn, ())

    def marks_of(self, upn: str) -> PupilMarks:
        return self.marks.get(upn, {})

    def siblings_of(self, upn: str) -> tuple[Pupil, ...]:
        """Pupils on roll who share a parental-responsibility contact (same name and a phone,
        email or address in common) with this pupil, in hand-out order."""
        mine = {_contact_key(c) for c in self.contacts_of(upn) if c.parental_responsibility}
        mine.discard(None)
        if not mine:
            return ()
        found = [
            p
            for other, cs in self.contacts.items()
            if other != upn and other in self.pupils
            for p in [self.pupils[other]]
            if any(_contact_key(c) in mine for c in cs if c.parental_responsibility)
        ]
        return tuple(sorted(found, key=lambda p: p.sort_key))


def _contact_key(c: Contact) -> tuple[str, str] | None:
    """Identity of a contact across pupils: name plus the first strong identifier."""
    ident = c.email.casefold() or c.mobile.replace(" ", "") or c.address.postcode.replace(" ", "")
    if not c.name or not ident:
        return None
    return (" ".join(c.name.casefold().split()), ident.upper())


@dataclass(frozen=True, slots=True)
class Action:
    """One thing the policy says staff must do for one pupil today.

    ``stage`` identifies the occurrence (so the ledger can tell "already done"): the date for
    day-1 contact, the academic year for a warning letter, the first day of the absence run
    for the CME steps, the start of the episode for an alert, the event date for moves.
    """

    upn: str
    name: str
    kind: str  # an ActionKind value (mergekit.core.actions)
    reason: str
    stage: str
    academic_year: str
    year: int | None = None
    reg_group: str = ""
    evidence: Mapping[str, object] = field(default_factory=dict)
    approved: bool = True

    @classmethod
    def for_pupil(
        cls,
        pupil: Pupil,
        kind: str,
        *,
        reason: str,
        stage: str,
        academic_year: str,
        evidence: Mapping[str, object] | None = None,
    ) -> Action:
        """An action for ``pupil``, carrying the pupil's name, year and reg group."""
        return cls(
            upn=pupil.upn,
            name=pupil.full_name,
            kind=kind,
            reason=reason,
            stage=stage,
            academic_year=academic_year,
            year=pupil.year,
            reg_group=pupil.reg_group,
            evidence={} if evidence is None else evidence,
        )

    def key(self) -> tuple[str, str, str]:
        return (self.upn, self.kind, self.stage)
