"""The sample school ``mergekit templates check`` and ``mergekit fields`` use: one invented
pupil with every field filled and every list non-empty (contacts, siblings, absences, the
contact log, letters, events), so a template's fields can be checked and previewed without
the school's own data.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from mergekit.core.config import Settings
from mergekit.core.model import (
    Action,
    Address,
    AttendanceSummary,
    Contact,
    ContactLogEntry,
    Event,
    EventKind,
    Person,
    Pupil,
    SchoolData,
)
from mergekit.merge.fields import LetterHistory, build_context
from mergekit.merge.formfields import StepsTaken


def sample_data(today: date) -> tuple[SchoolData, Pupil]:
    """An invented pupil with every field, two parents, a sibling, marks, a contact log and a
    planned move, so that every merge field and every loop row has a value."""
    home = Address(("14 Orchard Way", "Exampleton"), "ZZ1 7QA")
    pupil = Pupil(
        upn="A999000000001",
        surname="Okafor",
        forename="Amara",
        middle_names="Grace",
        preferred_forename="Amara",
        aliases="Amara Smith",
        former_upn="A999000000000",
        admission_no="004512",
        admission_date=date(2022, 9, 1),
        dob=date(2012, 3, 14),
        gender="F",
        year=9,
        reg_group="9KM",
        ethnicity="Black African",
        first_language="English",
        english_proficiency="E",
        address=home,
        previous_addresses="3 Mill Lane, Exampleton, ZZ1 2AB",
        sen="K",
        flags=frozenset({"fsm", "early_help"}),
        social_worker=Person("Jo Rivers", "jo.rivers@example.gov.uk", "01632 960 555"),
        key_worker=Person("Sam Patel", "sam.patel@example.gov.uk", "01632 960 556"),
        summary=AttendanceSummary(),
    )
    sibling = Pupil(
        upn="A999000000002",
        surname="Okafor",
        forename="Kofi",
        dob=date(2014, 6, 2),
        year=7,
        reg_group="7RB",
        address=home,
    )
    mum = Contact(
        upn=pupil.upn,
        name="Mrs Ngozi Okafor",
        priority=1,
        title="Mrs",
        forename="Ngozi",
        surname="Okafor",
        relationship="Mother",
        parental_responsibility=True,
        lives_with_pupil=True,
        address=home,
        landline="01632 960 101",
        mobile="07700 900 101",
        work_phone="01632 960 102",
        email="ngozi.okafor@example.org",
        home_language="English",
    )
    dad = Contact(
        upn=pupil.upn,
        name="Mr David Okafor",
        priority=2,
        title="Mr",
        forename="David",
        surname="Okafor",
        relationship="Father",
        parental_responsibility=True,
        lives_with_pupil=True,
        address=home,
        mobile="07700 900 102",
        email="david.okafor@example.org",
        home_language="Yoruba",
        interpreter_needed=False,
    )
    aunt = Contact(
        upn=pupil.upn,
        name="Ms Ada Eze",
        priority=3,
        relationship="Aunt",
        address=Address(("2 Elm Court", "Exampleton"), "ZZ1 9EC"),
        mobile="07700 900 103",
    )
    marks: dict[date, tuple[str, str]] = {}
    day = today - timedelta(days=30)
    codes = ("/", "/", "N", "/", "I", "/", "O", "/", "/", "M")
    i = 0
    while day <= today:
        if day.weekday() < 5:
            code = codes[i % len(codes)]
            marks[day] = (code, code if code != "M" else "/")
            i += 1
        day += timedelta(days=1)
    data = SchoolData(
        pupils={pupil.upn: pupil, sibling.upn: sibling},
        contacts={
            pupil.upn: (mum, dad, aunt),
            sibling.upn: (
                Contact(**{**_fields(mum), "upn": sibling.upn}),
                Contact(**{**_fields(dad), "upn": sibling.upn}),
            ),
        },
        marks={pupil.upn: marks},
        contact_log={
            pupil.upn: (
                ContactLogEntry(
                    pupil.upn,
                    today - timedelta(days=3),
                    "Phone call",
                    False,
                    "No answer; voicemail left",
                ),
                ContactLogEntry(
                    pupil.upn,
                    today - timedelta(days=2),
                    "Home visit",
                    False,
                    "Nobody home; card left",
                ),
            )
        },
        events={
            pupil.upn: (
                Event(
                    pupil.upn,
                    EventKind.PLANNED_MOVE,
                    today - timedelta(days=7),
                    effective_date=today + timedelta(days=21),
                    new_address="Rua das Flores 10, Lisbon",
                    new_country="Portugal",
                    new_school="Escola Exemplo, Lisbon",
                    informed="Mrs Okafor told the office; CME team emailed",
                    notes="Family moving for work",
                ),
            )
        },
        has_marks=True,
    )
    return data, pupil


def _fields(c: Contact) -> dict[str, Any]:
    return {name: getattr(c, name) for name in c.__slots__}


def sample_action(pupil: Pupil, today: date, action: str = "pa_letter_2") -> Action:
    return Action.for_pupil(
        pupil,
        action,
        reason="attendance 86.4% (146/169 sessions), below 90%; letter 1 sent 02/10/2026",
        stage="2026-27",
        academic_year="2026-27",
        evidence={"run_start": (today - timedelta(days=14)).isoformat(), "run_days": 10},
    )


def sample_context(settings: Settings, today: date) -> dict[str, Any]:
    """The merge fields of the invented sample pupil: what templates are checked against."""
    data, pupil = sample_data(today)
    history = LetterHistory({1: today - timedelta(days=50), 2: today - timedelta(days=25)})
    sibling = next(upn for upn in data.pupils if upn != pupil.upn)
    # The brother has his own CME referral today, the CME team was told last week.
    steps = StepsTaken(
        {(sibling, "cme_referral"): (today,), (pupil.upn, "cme_inform"): (today - timedelta(7),)},
        {(pupil.upn, "cme_inform"): (today - timedelta(7),)},
    )
    return build_context(
        settings,
        data,
        pupil,
        today,
        action=sample_action(pupil, today),
        letters=history,
        steps=steps,
    )
