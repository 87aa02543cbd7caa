"""The merge fields of the forms that go to the council: the CME referral (``referral.*``) and
the Remove From Roll checklist (``removal.*``).

Everything here is written for the form's reader, never the planner's to-do text. What the
school's records show is filled in; what they only suggest reads as a suggestion for staff to
confirm (``SUGGESTED, TO CONFIRM``); what they cannot know is marked ``TO COMPLETE``, so nothing
is left silently blank. Pure functions of the model, the action and what mergekit's ledger
records (:class:`StepsTaken`, read by :mod:`mergekit.merge.cmesteps`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mergekit.core.attendance import CODE_MEANINGS, POSSIBLE
from mergekit.core.model import (
    Action,
    ContactLogEntry,
    Event,
    EventKind,
    Pupil,
    PupilMarks,
)
from mergekit.merge.fields import TO_COMPLETE, short_date, uk_date

SUGGESTED = "SUGGESTED, TO CONFIRM"

# Section 6 of the CME referral: the form's own wording of each primary reason.
REFERRAL_REASONS: dict[str, str] = {
    "not_taken_up": "Child has failed to take up a place at the school",
    "whereabouts_unknown": "Child's whereabouts are unknown",
    "fleeing_dv": "Parent is fleeing domestic violence",
    "left_area": "Child / family is reported to have left the area",
    "left_uk": "Child is reported to have left the UK with / without parents or carers "
    "(please complete section 8)",
    "agreed_holiday": "Child has failed to return from an agreed holiday in term time",
    "unauthorised_holiday": "Child has failed to return from an unauthorised holiday in term time",
    "extended_absence": "Parents have taken the child out of school for an extended period "
    "without school agreement",
    "after_summer": "Child has failed to return after the summer holidays and whereabouts are "
    "unknown",
}

REG_9_1_I_DAYS = 20  # regulation 9(1)(i): at least 20 school days' continuous absence

_HOLIDAY_WORDS = re.compile(r"holiday|\bleave\b|wedding|abroad|\btrip\b|travel|flight", re.I)
_MOVED_WORDS = re.compile(r"\bmov(?:ed|ing)\b|left the area|relocat|new address", re.I)
_STEP_ACTIONS = ("cme_inform", "cme_referral")


@dataclass(frozen=True)
class StepsTaken:
    """The CME steps done for each pupil: the school days mergekit's ledger records each
    (UPN, action) as done (documents being made now included), and the days an email
    carrying it was sent."""

    recorded: Mapping[tuple[str, str], tuple[date, ...]] = field(default_factory=dict)
    emailed: Mapping[tuple[str, str], tuple[date, ...]] = field(default_factory=dict)

    def days(self, upn: str, action: str, since: date | None = None) -> list[date]:
        """The days the ledger records ``action`` for the pupil (from ``since``)."""
        return _since(self.recorded.get((upn, action), ()), since)

    def sent(self, upn: str, action: str, since: date | None = None) -> list[date]:
        """The days an email for ``action`` was sent for the pupil (from ``since``)."""
        return _since(self.emailed.get((upn, action), ()), since)

    def with_made(self, actions: Iterable[Action], today: date) -> StepsTaken:
        """These steps plus ``actions``, being done today."""
        recorded = {k: tuple(v) for k, v in self.recorded.items()}
        for a in actions:
            key = (a.upn, a.kind)
            recorded[key] = tuple(sorted({*recorded.get(key, ()), today}))
        return StepsTaken(recorded, self.emailed)


def _since(days: Iterable[date], since: date | None) -> list[date]:
    return sorted(d for d in days if since is None or d >= since)


# ---------------------------------------------------------------------------------------------
# Shared pieces


def run_start(action: Action | None) -> date | None:
    """The first day of the absence run the action is about (CME steps), if any."""
    raw = action.evidence.get("run_start") if action else None
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _run_days(action: Action | None) -> int:
    raw = action.evidence.get("run_days") if action else None
    return raw if isinstance(raw, int) else 0


def enquiry_entries(
    log: Sequence[ContactLogEntry], start: date | None, today: date, year_start: date
) -> list[ContactLogEntry]:
    """The contact-log entries about this absence: from the last time the family was reached
    before it began (this academic year) up to today; with no absence run, this year's."""
    entries = sorted((e for e in log if year_start <= e.date <= today), key=lambda e: e.date)
    if start is None:
        return entries
    reached = [e.date for e in entries if e.date < start and e.contact_made]
    since = reached[-1] if reached else start
    return [e for e in entries if e.date >= since]


def _entry_line(e: ContactLogEntry) -> str:
    made = "contact made" if e.contact_made else "no contact"
    method = e.method or "Contact attempt"
    return f"{short_date(e.date)} {method}: {made}" + (f" - {e.notes}" if e.notes else "")


def _is_visit(e: ContactLogEntry) -> bool:
    return "visit" in e.method.casefold()


def _is_call(e: ContactLogEntry) -> bool:
    method = e.method.casefold()
    return "call" in method or "phone" in method


def register_stretches(marks: PupilMarks, start: date, today: date) -> list[str]:
    """The register from ``start`` to ``today`` in stretches of the same marks:
    'G (holiday not agreed by the school) 16/11/2026 to 20/11/2026'."""
    days = sorted(d for d, m in marks.items() if start <= d <= today and set(m) & POSSIBLE)
    out: list[str] = []
    i = 0
    while i < len(days):
        am, pm = marks[days[i]]
        j = i
        while j + 1 < len(days) and marks[days[j + 1]] == (am, pm):
            j += 1
        if am == pm:
            code = f"{am} ({CODE_MEANINGS.get(am, 'unknown code')})"
        else:
            code = f"{am} AM / {pm} PM"
        span = short_date(days[i]) if i == j else f"{short_date(days[i])} to {short_date(days[j])}"
        out.append(f"{code} {span}")
        i = j + 1
    return out


def _current_event(events: Sequence[Event], year_start: date) -> Event | None:
    current = [
        e
        for e in events
        if e.date_received >= year_start or (e.effective_date and e.effective_date >= year_start)
    ]
    return current[-1] if current else None


# ---------------------------------------------------------------------------------------------
# The CME referral


@dataclass(frozen=True)
class Suggestion:
    reason: str  # a REFERRAL_REASONS key
    evidence: str


def suggest_reason(
    pupil: Pupil,
    marks: PupilMarks,
    entries: Sequence[ContactLogEntry],
    event: Event | None,
    start: date | None,
    today: date,
    year_start: date,
) -> Suggestion | None:
    """The primary reason the records point to, with the evidence, or None. The most specific
    first: a planned move, never having attended, not back after the summer, an unauthorised
    holiday (G in the absence), not back after leave (C just before it), a reported move in
    the contact log, and last, no successful contact since the absence began."""
    if event is not None and event.kind is EventKind.PLANNED_MOVE:
        when = f" from {uk_date(event.effective_date)}" if event.effective_date else ""
        told = f"the school was told on {short_date(event.date_received)}"
        if event.new_country:
            return Suggestion("left_uk", f"a planned move to {event.new_country}{when} ({told})")
        return Suggestion("left_area", f"a planned move{when} ({told})")
    if start is None:
        return None
    year_marks = sorted(d for d in marks if year_start <= d <= today and set(marks[d]) & POSSIBLE)
    shown = "; ".join(register_stretches(marks, start, today))
    if year_marks and year_marks[0] == start:
        # Absent (G, N or O) on every school day of the year so far.
        admitted = pupil.admission_date
        if admitted is not None and admitted >= year_start:
            return Suggestion(
                "not_taken_up",
                f"admitted on {short_date(admitted)} and no attendance recorded since: {shown}",
            )
        if start.month == 9:
            return Suggestion(
                "after_summer", f"not back since the first day of the school year: {shown}"
            )
    in_run = [marks[d] for d in year_marks if d >= start]
    if any("G" in m for m in in_run):
        said = next((e for e in entries if _HOLIDAY_WORDS.search(e.notes)), None)
        quote = f'; the contact log on {short_date(said.date)}: "{said.notes}"' if said else ""
        return Suggestion("unauthorised_holiday", f"the register shows {shown}{quote}")
    before = [d for d in year_marks if d < start]
    if before and "C" in marks[before[-1]]:
        return Suggestion(
            "agreed_holiday",
            f"leave of absence (C) on {short_date(before[-1])}, then the register shows {shown}",
        )
    moved = [e for e in entries if _MOVED_WORDS.search(e.notes)]
    if moved:
        quoted = "; ".join(f'{short_date(e.date)}: "{e.notes}"' for e in moved[-3:])
        return Suggestion("left_area", f"the contact log on {quoted}")
    tried = [e for e in entries if e.date >= start]
    if not any(e.contact_made for e in tried):
        n = len(tried)
        return Suggestion(
            "whereabouts_unknown",
            f"no successful contact since {short_date(start)} ({n} attempt{'s' * (n != 1)} "
            "in the contact log)",
        )
    return None


def _attendance_facts(
    attendance: Mapping[str, Any], marks: PupilMarks, action: Action | None, today: date
) -> str:
    lines = [
        f"Attendance this academic year: {attendance['percent']}% ({attendance['present']} of "
        f"{attendance['possible']} possible sessions since {attendance['since']}).",
        f"Last attended: {attendance['last_attended'] or 'no attendance recorded'}.",
    ]
    start = run_start(action)
    if start is not None:
        days = _run_days(action)
        length = f" ({days} school days)" if days else ""
        lines.append(f"Absent without explanation since {uk_date(start)}{length}:")
        lines.append("; ".join(register_stretches(marks, start, today)) + ".")
    return "\n".join(lines)


def _english_note(speaks: str, proficiency: str) -> str:
    if speaks:
        return f"English proficiency (school records): {proficiency}"
    if proficiency:
        return f"{TO_COMPLETE} (school records: English proficiency {proficiency})"
    return f"{TO_COMPLETE} (no English-proficiency record)"


def _siblings_cme(
    siblings: Sequence[Pupil], steps: StepsTaken, since: date
) -> tuple[str, str, dict[str, str]]:
    """('YES' or '', the note, UPN -> day of the sibling's own referral)."""
    if not siblings:
        return "", "No brothers or sisters found at this school", {}
    referred: dict[str, str] = {}
    for s in siblings:
        days = steps.days(s.upn, "cme_referral", since)
        if days:
            referred[s.upn] = uk_date(days[-1])
    if not referred:
        return "", f"{TO_COMPLETE}: are the children listed also missing education?", {}
    parts = [
        f"{s.full_name}: own CME referral {referred[s.upn]}" for s in siblings if s.upn in referred
    ]
    others = [s.full_name for s in siblings if s.upn not in referred]
    if others:
        parts.append(f"{TO_COMPLETE} for {', '.join(others)}")
    return "YES", "; ".join(parts), referred


def referral_context(
    pupil: Pupil,
    action: Action | None,
    marks: PupilMarks,
    log: Sequence[ContactLogEntry],
    events: Sequence[Event],
    siblings: Sequence[Pupil],
    attendance: Mapping[str, Any],
    steps: StepsTaken,
    today: date,
    year_start: date,
) -> dict[str, Any]:
    """``referral.*``: sections 2 and 5-8 of the CME referral, as the records allow."""
    start = run_start(action)
    entries = enquiry_entries(log, start, today, year_start)
    event = _current_event(events, year_start)
    facts = _attendance_facts(attendance, marks, action, today)
    suggestion = suggest_reason(pupil, marks, entries, event, start, today, year_start)
    if suggestion is not None:
        label = REFERRAL_REASONS[suggestion.reason]
        suggested = f'{SUGGESTED}: "{label}" - {suggestion.evidence}. Tick it if it is right.'
    else:
        label = ""
        suggested = f"{TO_COMPLETE}: tick the reason(s) that apply"
    lines = [_entry_line(e) for e in entries]
    history = "\n".join(lines) or "No contact or attempted contact is recorded in the contact log."
    visits = [e for e in entries if _is_visit(e) and (start is None or e.date >= start)]
    no_visit = (
        f"{TO_COMPLETE}: no home visit is recorded since the absence began - a home visit must "
        "be made before this form is submitted."
    )
    details = f"{history}\n{no_visit}" if not visits else history
    speaks, proficiency = pupil_english(pupil.english_proficiency)
    sib_yes, sib_note, _ = _siblings_cme(siblings, steps, start or today)
    if event is not None and event.kind is EventKind.PLANNED_MOVE and event.new_country:
        when = f" from {uk_date(event.effective_date)}" if event.effective_date else ""
        leaving = (
            f"Planned move to {event.new_country}{when} (the school was told on "
            f"{uk_date(event.date_received)}). {TO_COMPLETE}: the details below, as far as known."
        )
    else:
        leaving = (
            f"{TO_COMPLETE} if there is any sign that the child has left or will leave the UK."
        )
    return {
        "attendance": facts,
        "welfare_concerns": f"{facts}\n{TO_COMPLETE}: any other welfare or behaviour concerns.",
        "reason": suggestion.reason if suggestion else "",
        "reason_label": label,
        "reason_evidence": suggestion.evidence if suggestion else "",
        "reason_suggested": suggested,
        "contact_log": [
            {
                "date": short_date(e.date),
                "method": e.method,
                "contact_made": "YES" if e.contact_made else "NO",
                "notes": e.notes,
            }
            for e in entries
        ],
        "contact_history": history,
        "home_visits": "\n".join(_entry_line(e) for e in visits) or no_visit,
        "home_visit_details": details,
        "speaks_english_note": _english_note(speaks, proficiency),
        "siblings_cme": sib_yes,
        "siblings_cme_note": sib_note,
        "leaving_uk_note": leaving,
    }


def sibling_referrals(
    siblings: Sequence[Pupil], action: Action | None, steps: StepsTaken, today: date
) -> dict[str, str]:
    """UPN -> the day of a sibling's own CME referral (since this absence began, else today)."""
    return _siblings_cme(siblings, steps, run_start(action) or today)[2]


# ---------------------------------------------------------------------------------------------
# English proficiency (DfE scale)

_PROFICIENCY: dict[str, tuple[str, str]] = {
    # code: (the DfE words, the answer to "Does the child speak English?")
    "A": ("New to English", "NO"),
    "B": ("Early acquisition", "NO"),
    "C": ("Developing competence", "YES"),
    "D": ("Competent", "YES"),
    "E": ("Fluent", "YES"),
    "N": ("Not yet assessed", ""),
}
_PROFICIENCY_WORDS = {words.casefold(): code for code, (words, _) in _PROFICIENCY.items()}


def pupil_english(recorded: str) -> tuple[str, str]:
    """('YES'/'NO'/'', how the school's record reads) from an English-proficiency value: a DfE
    code (A-E, N) with or without its words, or the words alone. Anything else (an EAL Y/N
    flag, a language name) does not say whether the child speaks English: ''."""
    text = " ".join(recorded.split())
    if not text:
        return "", ""
    head = re.split(r"[^A-Za-z]", text, maxsplit=1)[0]
    code = head.upper() if len(head) == 1 else ""
    if not code:
        rest = text.casefold()
        code = next((c for words, c in _PROFICIENCY_WORDS.items() if rest.startswith(words)), "")
    if code not in _PROFICIENCY:
        return "", text
    words, answer = _PROFICIENCY[code]
    return answer, f"{code} - {words}"


# ---------------------------------------------------------------------------------------------
# The Remove From Roll checklist


def _ground(action: Action | None, event: Event | None) -> tuple[str, str]:
    """(regulation, the ground in the regulation's words) or ('', what the head must add)."""
    start, days = run_start(action), _run_days(action)
    if start is not None and days >= REG_9_1_I_DAYS:
        return (
            "9(1)(i)",
            f"Reg. 9(1)(i): continuously absent for {REG_9_1_I_DAYS} or more school days "
            f"({days} school days since {uk_date(start)}, none of them authorised), whereabouts "
            "unknown after reasonable enquiries by the school and the local authority",
        )
    if event is not None and event.kind is EventKind.HOME_EDUCATION:
        return (
            "9(1)(f)",
            "Reg. 9(1)(f): the parent has notified the school in writing that the pupil is to "
            f"be educated other than at school (received {uk_date(event.date_received)})",
        )
    short = (
        f" (the register shows {days} school days since {uk_date(start)}; regulation 9(1)(i) "
        f"needs at least {REG_9_1_I_DAYS})"
        if start is not None
        else ""
    )
    return "", (
        f"{TO_COMPLETE}: the regulation 9 ground for deleting the pupil's name, in the "
        f"regulation's words{short}"
    )


def removal_context(
    pupil: Pupil,
    action: Action | None,
    log: Sequence[ContactLogEntry],
    events: Sequence[Event],
    steps: StepsTaken,
    today: date,
    year_start: date,
) -> dict[str, Any]:
    """``removal.*``: the ground, the enquiries and the CME team's advice for the checklist."""
    start = run_start(action)
    event = _current_event(events, year_start)
    code, ground = _ground(action, event)
    if code == "9(1)(i)":
        leaving = f"{TO_COMPLETE} (not before the head teacher signs)"
    elif event is not None and event.effective_date is not None:
        leaving = uk_date(event.effective_date)
    else:
        leaving = TO_COMPLETE
    entries = enquiry_entries(log, start, today, year_start)
    since = [e for e in entries if start is None or e.date >= start]
    # The school's normal absence process (policy): phone calls and a home visit.
    enquired = any(_is_visit(e) for e in since) and any(_is_call(e) for e in since)
    enquiries = "\n".join(_entry_line(e) for e in entries)
    if not enquired:
        missing = "" if entries else "no contact attempts are recorded in the contact log; "
        enquiries = "\n".join(
            x
            for x in (
                enquiries,
                f"{TO_COMPLETE}: {missing}the enquiries made (home visit, phone calls, "
                "contacts, siblings' schools)",
            )
            if x
        )
    informed = steps.days(pupil.upn, "cme_inform", start)
    emailed = [d for a in _STEP_ACTIONS for d in steps.sent(pupil.upn, a, start)]
    # The ledger records that informing the CME team was put on a work list, not that the call
    # was made: only an email the ledger shows as sent is evidence that advice was sought.
    advice: list[str] = [
        f"Inform the CME team: on the work list of {short_date(d)} (confirm it was done)"
        for d in informed
    ]
    for d in steps.days(pupil.upn, "cme_referral", start):
        sent = steps.sent(pupil.upn, "cme_referral", d)
        how = f"emailed to the CME team on {short_date(sent[0])}" if sent else "not emailed yet"
        advice.append(f"CME referral form made on {short_date(d)}, {how}")
    sought = bool(emailed)
    if not sought:
        advice.append(f"{TO_COMPLETE}: when and how the CME team's advice was sought")
    return {
        "ground": ground,
        "regulation": code,
        "date_of_leaving": leaving,
        "enquiries_made": "YES" if enquired else "",
        "enquiries": enquiries,
        "cme_advice_sought": "YES" if sought else "",
        "cme_advice": "\n".join(advice),
    }
