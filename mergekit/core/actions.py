"""The action catalogue: every kind of action the policy can plan, and what goes with it.

One row per kind says how staff see it (its label), which work-list tab lists it (its team),
which document it makes (a letter to hand out or a form), whether a fillable PDF ships for it,
whom its email goes to, whether a person completes it before it is emailed, and whether it
needs today's register. Every other part of mergekit asks this table instead of keeping its
own list of action names. The names themselves (``ActionKind`` values) are public: config keys,
``plan --json`` and the ledger use them, so they never change.

The groupings below are tuples of the plain names, in catalogue order, so they can go straight
into click choices, JSON and SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class ActionKind(StrEnum):
    FIRST_DAY_CONTACT = "first_day_contact"
    VULNERABLE_DAY1_CONTACT = "vulnerable_day1_contact"
    PA_LETTER_1 = "pa_letter_1"
    PA_LETTER_2 = "pa_letter_2"
    PA_LETTER_3 = "pa_letter_3"
    SEVERE_ABSENCE = "severe_absence"
    PENALTY_NOTICE_THRESHOLD = "penalty_notice_threshold"
    ATTENDANCE_DROP = "attendance_drop"
    CME_INFORM = "cme_inform"
    CME_REFERRAL = "cme_referral"
    REMOVE_FROM_ROLL = "remove_from_roll"
    PLANNED_MOVE = "planned_move"
    HOME_EDUCATION = "home_education"


class Audience(StrEnum):
    """Whom an action's email goes to."""

    PARENTS = "parents"
    COUNCIL = "council"
    PROFESSIONALS = "professionals"


Group = Literal["contact", "letter", "alert", "cme_step", "event"]
Team = Literal["Day 1 calls", "Social workers", "DSL alerts", "CME team", "Home education"]


@dataclass(frozen=True)
class KindInfo:
    label: str  # what staff read: plan.xlsx, the work list, the print pack, emails
    group: Group  # the family of rules that plans it
    team: Team | None = None  # the work-list tab that lists it (None: not on the list)
    listed: bool = False  # done by staff from the work list: recorded as done when it is made
    document: Literal["letter", "form"] | None = None  # the Word document it makes
    pdf_form: bool = False  # a fillable PDF form ships for it (templates/pdf)
    emailed_to: Audience | None = None  # whom its document (or notice) is emailed to
    notice: bool = False  # no document: the email itself is the contact
    before_release: str = ""  # what a person does before it is emailed ("": sent as made)
    day_by_day: bool = False  # its rule needs a mark for every session, not a summary
    needs_todays_marks: bool = True  # its rule reads the marks up to today


CATALOGUE: Mapping[ActionKind, KindInfo] = {
    ActionKind.FIRST_DAY_CONTACT: KindInfo(
        "First day absence contact", "contact", "Day 1 calls", listed=True, day_by_day=True
    ),
    ActionKind.VULNERABLE_DAY1_CONTACT: KindInfo(
        "Day 1 contact with social worker / key worker",
        "contact",
        "Social workers",
        emailed_to=Audience.PROFESSIONALS,
        notice=True,
        day_by_day=True,
    ),
    ActionKind.PA_LETTER_1: KindInfo(
        "Attendance warning letter 1", "letter", document="letter", emailed_to=Audience.PARENTS
    ),
    ActionKind.PA_LETTER_2: KindInfo(
        "Attendance warning letter 2", "letter", document="letter", emailed_to=Audience.PARENTS
    ),
    ActionKind.PA_LETTER_3: KindInfo(
        "Attendance warning letter 3", "letter", document="letter", emailed_to=Audience.PARENTS
    ),
    ActionKind.SEVERE_ABSENCE: KindInfo(
        "Severe absence alert (DSL)", "alert", "DSL alerts", listed=True
    ),
    ActionKind.PENALTY_NOTICE_THRESHOLD: KindInfo(
        "Penalty notice threshold reached", "alert", "DSL alerts", listed=True, day_by_day=True
    ),
    ActionKind.ATTENDANCE_DROP: KindInfo(
        "Significant drop in attendance", "alert", "DSL alerts", listed=True, day_by_day=True
    ),
    ActionKind.CME_INFORM: KindInfo(
        "Inform the Children Missing Education team",
        "cme_step",
        "CME team",
        listed=True,
        day_by_day=True,
    ),
    ActionKind.CME_REFERRAL: KindInfo(
        "Children Missing Education referral form",
        "cme_step",
        "CME team",
        document="form",
        pdf_form=True,
        emailed_to=Audience.COUNCIL,
        before_release="complete what is marked to complete and check every section",
        day_by_day=True,
    ),
    ActionKind.REMOVE_FROM_ROLL: KindInfo(
        "Remove From Roll checklist",
        "cme_step",
        "CME team",
        document="form",
        pdf_form=True,
        emailed_to=Audience.COUNCIL,
        before_release="the head teacher checks the grounds and signs it",
        day_by_day=True,
    ),
    ActionKind.PLANNED_MOVE: KindInfo(
        "Planned move form",
        "event",
        "CME team",
        document="form",
        emailed_to=Audience.PARENTS,
        before_release="check the details and complete the school's part",
        needs_todays_marks=False,
    ),
    ActionKind.HOME_EDUCATION: KindInfo(
        "Elective home education request",
        "event",
        "Home education",
        listed=True,
        needs_todays_marks=False,
    ),
}


def kinds(where: Callable[[KindInfo], object] = lambda _: True) -> tuple[str, ...]:
    """The names of the kinds whose catalogue row passes ``where``, in catalogue order."""
    return tuple(k.value for k, info in CATALOGUE.items() if where(info))


ACTIONS = kinds()
ACTION_TITLES: Mapping[str, str] = {k.value: info.label for k, info in CATALOGUE.items()}
LETTERS = kinds(lambda i: i.document == "letter")
FORMS = kinds(lambda i: i.document == "form")
DOCUMENT_ACTIONS = (*LETTERS, *FORMS)
PDF_FORMS = kinds(lambda i: i.pdf_form)
EMAILED: Mapping[str, Audience] = {
    k.value: i.emailed_to for k, i in CATALOGUE.items() if i.emailed_to is not None
}
NOTICES = frozenset(kinds(lambda i: i.notice))
HELD_ACTIONS = kinds(lambda i: bool(i.before_release))
TO_DO: Mapping[str, str] = {
    k.value: i.before_release for k, i in CATALOGUE.items() if i.before_release
}
ALERTS = kinds(lambda i: i.group == "alert")
CME_STEPS = kinds(lambda i: i.group == "cme_step")
DAY_BY_DAY = kinds(lambda i: i.day_by_day)
NEEDS_TODAYS_MARKS = kinds(lambda i: i.needs_todays_marks)
LISTED = kinds(lambda i: i.listed)
ON_LIST = kinds(lambda i: i.team is not None)


def team_kinds(team: Team) -> tuple[str, ...]:
    """The kinds one work-list tab lists."""
    return kinds(lambda i: i.team == team)
