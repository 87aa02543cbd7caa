"""The merge fields: everything a Word template, PDF form or email can print about a pupil.

One function, :func:`build_context`, turns the model (plus the action being done and the
school's settings) into a nested dictionary of *text*, already in UK formats: dates like
``27 November 2026``, percentages to one decimal place, YES/NO answers. Templates use dotted
names (``{{ pupil.forename }}``); PDF form mappings use the same names flattened
(``pupil.forename``, ``parent1.mobile``). ``mergekit fields`` lists them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import date
from typing import TYPE_CHECKING, Any

from mergekit.core.actions import ACTION_TITLES
from mergekit.core.attendance import CODE_MEANINGS, PRESENT, SessionCounts, count_sessions
from mergekit.core.calendar import academic_year_bounds, academic_year_of
from mergekit.core.config import Settings
from mergekit.core.model import FLAG_NAMES, Action, Contact, Person, Pupil, SchoolData
from mergekit.merge.addressing import addressees

if TYPE_CHECKING:
    from mergekit.merge.formfields import StepsTaken


RECENT_ABSENCES = 10
# What a form shows where staff must still write or tick something.
TO_COMPLETE = "TO COMPLETE"


def uk_date(d: date | None) -> str:
    """27 November 2026 (no leading zero), or '' for no date."""
    return f"{d.day} {d:%B %Y}" if d else ""


def short_date(d: date | None) -> str:
    return f"{d:%d/%m/%Y}" if d else ""


def yes_no(value: bool | None) -> str:
    return "" if value is None else ("YES" if value else "NO")


def tick(value: object) -> str:
    """☒ for yes, ☐ for no: how tick boxes are drawn in the Word forms."""
    if isinstance(value, str):
        value = value.strip().upper() in ("YES", "Y", "TRUE", "1")
    return "☒" if value else "☐"


@dataclass(frozen=True)
class LetterHistory:
    """Warning letters already sent this academic year: number -> date."""

    sent: Mapping[int, date]


def _person(p: Person) -> dict[str, str]:
    return {"name": p.name, "email": p.email, "phone": p.phone}


def _contact(c: Contact | None) -> dict[str, Any]:
    if c is None:
        return dict.fromkeys(
            (
                "name",
                "title",
                "forename",
                "surname",
                "salutation",
                "relationship",
                "parental_responsibility",
                "lives_with_pupil",
                "address",
                "landline",
                "mobile",
                "work_phone",
                "email",
                "home_language",
                "interpreter",
                "interpreter_note",
                "phone",
            ),
            "",
        ) | {"address_lines": []}
    phones = [x for x in (c.mobile, c.landline, c.work_phone) if x]
    return {
        "name": c.name,
        "title": c.title,
        "forename": c.forename,
        "surname": c.surname,
        "salutation": c.salutation_name,
        "relationship": c.relationship,
        "parental_responsibility": yes_no(c.parental_responsibility),
        "lives_with_pupil": yes_no(c.lives_with_pupil),
        "address_lines": list(c.address.block()),
        "address": c.address.one_line(),
        "landline": c.landline,
        "mobile": c.mobile,
        "work_phone": c.work_phone,
        "phone": phones[0] if phones else "",
        "email": c.email,
        "home_language": c.home_language,
        "interpreter": yes_no(c.interpreter_needed),
        "interpreter_note": "" if c.interpreter_needed is not None else TO_COMPLETE,
    }


def _other_agencies(p: Pupil) -> str:
    """The professionals the school knows of, one a line (the CME form's "other agency")."""
    lines = [
        f"{role}: " + ", ".join(x for x in (who.name, who.phone, who.email) if x)
        for role, who in (("Social worker", p.social_worker), ("Key worker", p.key_worker))
        if who
    ]
    return "\n".join(lines) or "None recorded by the school"


def salutation(people: Sequence[Contact]) -> str:
    if not people:
        return "Dear Parent/Carer"
    names = [c.salutation_name for c in people]
    return "Dear " + " and ".join(names)


def last_attended(marks: Mapping[date, tuple[str, str]], today: date) -> date | None:
    for d in sorted((d for d in marks if d <= today), reverse=True):
        if any(code in PRESENT for code in marks[d]):
            return d
    return None


def recent_absences(
    marks: Mapping[date, tuple[str, str]], today: date, limit: int = RECENT_ABSENCES
) -> list[dict[str, str]]:
    """The latest absences, newest first: date, session(s), code and what it means."""
    rows: list[dict[str, str]] = []
    for d in sorted((d for d in marks if d <= today), reverse=True):
        am, pm = marks[d]
        absent = [
            (s, c)
            for s, c in (("AM", am), ("PM", pm))
            if c and c not in PRESENT and c in CODE_MEANINGS and c not in ("#", "Z", "X", "D")
        ]
        if not absent:
            continue
        if len(absent) == 2 and am == pm:
            rows.append(
                {"date": uk_date(d), "session": "All day", "code": am, "meaning": CODE_MEANINGS[am]}
            )
        else:
            rows.extend(
                {"date": uk_date(d), "session": s, "code": c, "meaning": CODE_MEANINGS[c]}
                for s, c in absent
            )
        if len(rows) >= limit:
            break
    return rows[:limit]


def attendance_context(
    marks: Mapping[date, tuple[str, str]], today: date, pupil: Pupil
) -> dict[str, Any]:
    start, _ = academic_year_bounds(academic_year_of(today))
    counts: SessionCounts = count_sessions(marks, start, today)
    s = pupil.summary
    if counts.possible == 0 and s is not None and s.possible:
        if s.present is not None:
            present = s.present
        else:
            present = round((s.percent or 0.0) * s.possible / 100)
        counts = SessionCounts(possible=s.possible, present=present)
    first = min((d for d in marks if start <= d <= today), default=None)
    return {
        "percent": counts.percent_text(),
        "present": counts.present,
        "possible": counts.possible,
        "missed": counts.absent,
        "missed_days": f"{counts.absent / 2:g}",
        "authorised": counts.authorised,
        "unauthorised": counts.unauthorised,
        "since": uk_date(first or start),
        "to": uk_date(today),
        "academic_year": academic_year_of(today),
        "recent_absences": recent_absences(marks, today),
        "last_attended": uk_date(last_attended(marks, today)),
    }


def school_context(settings: Settings) -> dict[str, Any]:
    s = settings.school
    return {
        "name": s.name,
        "address_lines": list(s.address),
        "address": ", ".join(s.address),
        "phone": s.phone,
        "email": s.email,
        "website": s.website,
        "head_teacher": s.head_teacher,
        "head_teacher_title": s.head_teacher_title,
        "dsl": s.dsl,
        "dsl_email": s.dsl_email,
        "attendance_officer": s.attendance_officer,
        "attendance_officer_title": s.attendance_officer_title,
        "attendance_officer_email": s.attendance_officer_email,
        "attendance_officer_phone": s.attendance_officer_phone,
        "urn": s.urn,
    }


def council_context(settings: Settings) -> dict[str, Any]:
    c = settings.council
    return {
        "name": c.name,
        "cme_team": c.cme_team,
        "cme_contact": c.cme_contact,
        "cme_email": c.cme_email,
        "cme_phone": c.cme_phone,
        "admissions_email": c.admissions_email,
        "address_lines": list(c.address),
        "address": ", ".join(c.address),
    }


def policy_context(settings: Settings) -> dict[str, Any]:
    """The ``[policy]`` numbers, written as a letter prints them (90, not 90.0), so the words
    follow the school's settings: ``policy.below_threshold`` is "below 90%" (or "90% or
    below" under the DfE rule, where exactly 90.0% counts)."""
    p = settings.policy
    out: dict[str, Any] = {
        f.name: f"{v:g}" if isinstance(v, float) else v
        for f in dataclass_fields(p)
        if not isinstance(v := getattr(p, f.name), list)
    }
    pct = f"{p.pa_threshold_percent:g}%"
    out["below_threshold"] = f"{pct} or below" if p.pa_rule == "dfe" else f"below {pct}"
    return out


def pupil_context(p: Pupil, school_name: str) -> dict[str, Any]:
    from mergekit.merge.formfields import pupil_english

    # Only an English-proficiency record answers this: a first language other than English
    # does not mean the child speaks no English.
    speaks_english, proficiency = pupil_english(p.english_proficiency)
    flags = {f: yes_no(f in p.flags) for f in FLAG_NAMES}
    return {
        "upn": p.upn,
        "forename": p.forename,
        "middle_names": p.middle_names,
        "surname": p.surname,
        "preferred_name": p.known_as,
        "full_name": p.full_name,
        "legal_name": p.legal_name,
        "aliases": p.aliases,
        "former_upn": p.former_upn,
        "admission_no": p.admission_no,
        "admission_date": uk_date(p.admission_date),
        "dob": uk_date(p.dob),
        "dob_short": short_date(p.dob),
        "gender": p.gender,
        "year": "" if p.year is None else str(p.year),
        "year_label": "" if p.year is None else ("Reception" if p.year == 0 else f"Year {p.year}"),
        "reg_group": p.reg_group,
        "year_and_reg": " / ".join(
            x for x in ("" if p.year is None else f"Year {p.year}", p.reg_group) if x
        ),
        "ethnicity": p.ethnicity,
        "first_language": p.first_language,
        "speaks_english": speaks_english,
        "english_proficiency": proficiency,
        "address_lines": list(p.address.block()),
        "address": p.address.one_line(),
        "postcode": p.address.postcode,
        "previous_addresses": p.previous_addresses,
        "sen": p.sen,
        "school": school_name,
        **flags,
        "flags": {f: f in p.flags for f in FLAG_NAMES},
    }


def build_context(
    settings: Settings,
    data: SchoolData,
    pupil: Pupil,
    today: date,
    action: Action | None = None,
    letters: LetterHistory | None = None,
    to: Sequence[Contact] | None = None,
    steps: StepsTaken | None = None,
) -> dict[str, Any]:
    """Every merge field for one pupil (and the action being done, if any). ``to`` overrides
    the addressees (so siblings' letters name the same parents in the same order); ``steps``
    is what the ledger records of the CME steps (the forms' ``referral.*`` and ``removal.*``)."""
    from mergekit.merge.formfields import (
        StepsTaken,
        referral_context,
        removal_context,
        sibling_referrals,
    )

    steps = steps or StepsTaken()
    contacts = data.contacts_of(pupil.upn)
    to = list(to) if to is not None else addressees(contacts)
    parents = [c for c in contacts if c.parental_responsibility][:2]
    others = [c for c in contacts if c not in parents][:2]
    marks = data.marks_of(pupil.upn)
    events = data.events.get(pupil.upn, ())
    event = events[-1] if events else None
    sent = dict(letters.sent) if letters else {}
    brothers_sisters = data.siblings_of(pupil.upn)
    referred = sibling_referrals(brothers_sisters, action, steps, today)
    siblings = [
        {
            "name": s.full_name,
            "dob": uk_date(s.dob),
            "address": s.address.one_line(),
            "school": settings.school.name,
            "year": "" if s.year is None else str(s.year),
            "reg_group": s.reg_group,
            "upn": s.upn,
            "cme_referral": referred.get(s.upn, ""),
        }
        for s in brothers_sisters
    ]
    action_ctx: dict[str, Any] = {"name": "", "title": "", "reason": "", "evidence": {}}
    if action is not None:
        action_ctx = {
            "name": action.kind,
            "title": ACTION_TITLES.get(action.kind, ""),
            "reason": action.reason,
            "evidence": dict(action.evidence),
        }
    number = int(action.kind[-1]) if action and action.kind.startswith("pa_letter_") else 0
    run_start = action.evidence.get("run_start") if action else None
    run_days = action.evidence.get("run_days") if action else None
    attendance = attendance_context(marks, today, pupil)
    year_start, _ = academic_year_bounds(academic_year_of(today))
    log = data.contact_log.get(pupil.upn, ())
    from mergekit.merge.chart import ChartImage, chart_spec

    chart = ChartImage(
        chart_spec(
            marks,
            year_start,
            today,
            settings.policy.pa_threshold_percent,
            ((d, f"letter {n}") for n, d in sent.items()),
        )
    )
    return {
        "today": uk_date(today),
        "today_short": short_date(today),
        "attendance_chart": chart,
        "to_complete": TO_COMPLETE,
        "school": school_context(settings),
        "council": council_context(settings),
        "policy": policy_context(settings),
        "pupil": pupil_context(pupil, settings.school.name),
        "attendance": attendance,
        "letter": {
            "number": number,
            "letter_1_date": uk_date(sent.get(1)),
            "letter_2_date": uk_date(sent.get(2)),
            "letter_3_date": uk_date(sent.get(3)),
            "previous": [
                {"number": n, "date": uk_date(d)}
                for n, d in sorted(sent.items())
                if n < (number or 4)
            ],
        },
        "recipient": {
            "names": " and ".join(c.name for c in to),
            "salutation": salutation(to),
            "address_lines": list(to[0].address.block()) if to else [],
            "has_address": bool(to) and to[0].address.is_postable,
            "emails": [c.email for c in to if c.email],
            "sign_off": "Yours sincerely" if to else "Yours faithfully",
        },
        "parent1": _contact(parents[0] if parents else None),
        "parent2": _contact(parents[1] if len(parents) > 1 else None),
        "other_contact1": _contact(others[0] if others else None),
        "other_contact2": _contact(others[1] if len(others) > 1 else None),
        "siblings": siblings,
        "contact_log": [
            {
                "date": uk_date(e.date),
                "method": e.method,
                "contact_made": yes_no(e.contact_made),
                "notes": e.notes,
            }
            for e in sorted(data.contact_log.get(pupil.upn, ()), key=lambda e: e.date)
            if e.date <= today
        ][-RECENT_ABSENCES:],
        "social_worker": _person(pupil.social_worker),
        "key_worker": _person(pupil.key_worker),
        "other_agencies": _other_agencies(pupil),
        "referral": referral_context(
            pupil,
            action,
            marks,
            log,
            events,
            brothers_sisters,
            attendance,
            steps,
            today,
            year_start,
        ),
        "removal": removal_context(pupil, action, log, events, steps, today, year_start),
        "action": action_ctx,
        "absence": {
            "first_day": uk_date(date.fromisoformat(str(run_start))) if run_start else "",
            "school_days": run_days or "",
        },
        "event": {
            "kind": str(event.kind) if event else "",
            "date_received": uk_date(event.date_received) if event else "",
            "effective_date": uk_date(event.effective_date) if event else "",
            "new_address": event.new_address if event else "",
            "new_country": event.new_country if event else "",
            "new_school": event.new_school if event else "",
            "informed": event.informed if event else "",
            "notes": event.notes if event else "",
        },
    }


def flatten(context: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """('pupil.forename', 'Amara'), ...: the dotted names PDF mappings and `fields` use.
    Lists of text are joined with newlines; lists of rows are numbered (siblings.1.name)."""
    for key, value in context.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, f"{name}.")
        elif isinstance(value, list):
            if all(isinstance(x, str) for x in value):
                yield name, "\n".join(value)
            else:
                for i, item in enumerate(value, start=1):
                    if isinstance(item, Mapping):
                        yield from flatten(item, f"{name}.{i}.")
                    else:
                        yield f"{name}.{i}", item
        else:
            yield name, value
