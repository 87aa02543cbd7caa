"""The school's policy as pure rules: who needs which letter, call or form on one school day.

:func:`evaluate` reads nothing but its arguments (the workbook's model, the school calendar, the
``[policy]`` settings, what has already been done, and ``today``): no files, no clock. Every
comparison is made on whole session counts against exact fractions, never on a rounded
percentage; percentages appear only in the reasons people read.

Each action carries a *stage* naming the occurrence, so the ledger can tell "already done":

* ``first_day_contact``, ``vulnerable_day1_contact``: the day (ISO date);
* ``pa_letter_N``: the academic year (``2026-27``);
* ``cme_inform``, ``cme_referral``, ``remove_from_roll``: the first day of the absence run;
* ``severe_absence``, ``penalty_notice_threshold``, ``attendance_drop``: the first school day of
  the current episode (the condition is recomputed day by day from the marks, so the episode is
  found even when mergekit has not run every day); an alert is raised again only when the
  condition clears and returns, or in a new academic year;
* ``planned_move``, ``home_education``: the date the event was received.

The rules are one class here (about 600 lines) because they share the episode and run
detection and read best side by side against the policy document; the exact session counting
they stand on is :mod:`mergekit.plan.counting`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from mergekit.core.actions import ACTIONS, DAY_BY_DAY, DOCUMENT_ACTIONS, LETTERS
from mergekit.core.attendance import (
    ABSENT,
    CODE_MEANINGS,
    PRESENT,
    UNAUTHORISED,
)
from mergekit.core.calendar import SchoolCalendar, academic_year_bounds, academic_year_of
from mergekit.core.config import PolicySettings
from mergekit.core.model import (
    Action,
    ContactLogEntry,
    EventKind,
    FixFirst,
    Pupil,
    PupilMarks,
    SchoolData,
)
from mergekit.plan.counting import (
    Timeline,
    _at_least,
    _Attendance,
    _exact,
    _iso,
    _num,
    _pct,
    _uk,
    unexplained_run,
)

_ORDER = {a: i for i, a in enumerate(ACTIONS)}
_DOCUMENTS = frozenset(DOCUMENT_ACTIONS)


@dataclass(frozen=True)
class History:
    """What has already happened, as the rules need it (plain data, no ledger handle).

    ``letters``: UPN -> {letter number: date sent} this academic year (ledger and the
    workbook's letters sheet merged). ``done``: (UPN, action, stage) recorded in the ledger.
    """

    letters: Mapping[str, Mapping[int, date]] = field(default_factory=dict)
    done: frozenset[tuple[str, str, str]] = frozenset()


@dataclass(frozen=True)
class Plan:
    """Everything the policy says staff must do on ``today``."""

    today: date
    actions: tuple[Action, ...]  # sorted by action, then the order letters are handed out
    skipped: tuple[str, ...] = ()  # rules that could not run, and why
    notes: tuple[str, ...] = ()
    # Pupils kept out of letters and forms until a problem in their rows is fixed.
    fix_first: tuple[FixFirst, ...] = ()

    def approved(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.approved)

    def grouped(self) -> list[tuple[str, list[Action]]]:
        """(action name, its actions) in ACTIONS order, only the actions present."""
        groups: dict[str, list[Action]] = {}
        for a in self.actions:
            groups.setdefault(a.kind, []).append(a)
        return list(groups.items())

    def as_json(self) -> dict[str, Any]:
        """The public ``plan --json`` shape: exactly these keys."""
        return {
            "today": self.today.isoformat(),
            "actions": [
                {
                    "upn": a.upn,
                    "name": a.name,
                    "action": a.kind,
                    "reason": a.reason,
                    "evidence": dict(a.evidence),
                }
                for a in self.actions
            ],
            "skipped": [
                {"upn": f.upn, "name": f.name, "reasons": list(f.reasons)} for f in self.fix_first
            ],
        }


def evaluate(
    data: SchoolData,
    calendar: SchoolCalendar,
    policy: PolicySettings,
    history: History,
    today: date,
) -> Plan:
    """Apply every rule to every pupil of compulsory school age for the school day ``today``."""
    rules = _Rules(data, calendar, policy, history, today)
    actions: dict[tuple[str, str, str], Action] = {}
    outside = no_year = 0
    first, last = policy.first_compulsory_year, policy.last_compulsory_year
    held = data.held_upns
    for pupil in data.pupils.values():
        if pupil.year is None:
            no_year += 1
            continue
        if not first <= pupil.year <= last:
            outside += 1
            continue
        for action in rules.pupil(pupil):
            if pupil.upn in held and action.kind in _DOCUMENTS:
                continue  # no letter or form from rows with errors (listed in fix_first)
            if action.key() not in history.done:
                actions.setdefault(action.key(), action)
    pupils = data.pupils
    ordered = sorted(
        actions.values(),
        key=lambda a: (_ORDER.get(a.kind, len(_ORDER)), pupils[a.upn].sort_key, a.stage),
    )
    notes = list(rules.notes)
    if outside:
        notes.append(
            f"{outside} pupil{'s' * (outside != 1)} outside years {first}-{last} "
            "(not of compulsory school age) not considered"
        )
    if no_year:
        notes.append(
            f"{no_year} pupil{'s have' if no_year != 1 else ' has'} no year group and "
            "were not considered - fill in the year on the pupils sheet"
        )
    return Plan(today, tuple(ordered), tuple(rules.skipped()), tuple(notes), data.fix_first)


def letter_condition_since(
    data: SchoolData, calendar: SchoolCalendar, policy: PolicySettings, upn: str, today: date
) -> date | None:
    """The first school day of the unbroken stretch, ending ``today``, on which the pupil's
    attendance this year was low enough for a warning letter, from the day-by-day marks. None
    when it is not low enough today, or when the workbook has no marks to tell (summary
    figures only). A letter's stage is the academic year, so this is how a strike on it can
    tell that the pupil recovered and fell back since."""
    pupil = data.pupils.get(upn)
    marks = data.marks_of(upn) if data.has_marks else {}
    if pupil is None or not marks:
        return None
    rules = _Rules(data, calendar, policy, History(), today)
    return rules.letter_since(Timeline(marks, today))


# ---------------------------------------------------------------------------------------------
# The rules


class _Rules:
    def __init__(
        self,
        data: SchoolData,
        calendar: SchoolCalendar,
        policy: PolicySettings,
        history: History,
        today: date,
    ) -> None:
        self.data = data
        self.calendar = calendar
        self.policy = policy
        self.history = history
        self.today = today
        self.year = academic_year_of(today)
        self.year_start, _ = academic_year_bounds(self.year)
        self.first_day = calendar.first_day_of_year(self.year) or self.year_start
        self.pa = _exact(policy.pa_threshold_percent)
        self.severe = _exact(policy.severe_absence_percent)
        self.drop = _exact(policy.drop_points)
        self.dfe = policy.pa_rule == "dfe"
        self.has_calendar = bool(calendar.terms)
        self.vulnerable = [
            (combo, tuple(part.strip() for part in combo.split("+")))
            for combo in policy.vulnerable_flags
        ]
        self.notes: list[str] = []
        if self.has_calendar and not calendar.is_school_day(today):
            why = calendar.why_not(today) or "not a school day"
            self.notes.append(f"{today:%d/%m/%Y} is not a school day ({why})")

    def skipped(self) -> list[str]:
        out: list[str] = []
        if not self.data.has_marks:
            out.append(
                f"{', '.join(DAY_BY_DAY)}: skipped - the workbook has no session marks "
                "(only summary columns), and these rules need each day's AM and PM marks; "
                "warning letters and severe absence use the summary figures"
            )
        elif not self.has_calendar:
            out.append(
                "pa_letter_2, pa_letter_3, cme_inform, cme_referral, remove_from_roll, "
                "penalty_notice_threshold, attendance_drop: skipped - [calendar] has no terms, "
                "so school days cannot be counted; add the term dates to mergekit.toml"
            )
        return out

    # -- one pupil ---------------------------------------------------------------------------

    def pupil(self, p: Pupil) -> list[Action]:
        out: list[Action] = []
        marks = self.data.marks_of(p.upn) if self.data.has_marks else {}
        line = Timeline(marks, self.today) if marks else None
        if self.data.has_marks:
            out.extend(self._day_one(p, marks))
        attendance = self._attendance(p, line)
        if attendance is not None:
            out.extend(self._letter(p, attendance))
            out.extend(self._severe(p, attendance, line))
        if line is not None and self.has_calendar:
            out.extend(self._penalty(p, marks, line))
            out.extend(self._drop(p, line))
            out.extend(self._cme(p, marks))
        out.extend(self._events(p))
        return out

    def _action(self, p: Pupil, action: str, stage: str, reason: str, ev: dict[str, Any]) -> Action:
        return Action.for_pupil(
            p, action, reason=reason, stage=stage, academic_year=self.year, evidence=ev
        )

    def _attendance(self, p: Pupil, line: Timeline | None) -> _Attendance | None:
        if line is not None:
            possible, present, _ = line.counts(self.year_start, self.today)
            if possible:
                return _Attendance(Fraction(present, possible), possible, present, "marks")
        s = p.summary
        if s is None:
            return None
        if s.possible and s.present is not None and 0 <= s.present <= s.possible:
            return _Attendance(Fraction(s.present, s.possible), s.possible, s.present, "summary")
        if s.percent is not None and 0 <= s.percent <= 100:
            return _Attendance(_exact(s.percent) / 100, s.possible, None, "summary")
        return None

    def _episode_start(self, holds: Callable[[date], bool]) -> date | None:
        """First school day of the unbroken stretch, ending today, on which the condition held
        (looking no further back than the academic year); None when it does not hold today."""
        if not holds(self.today):
            return None
        days = self.calendar.days
        start = self.today
        i = bisect.bisect_right(days, self.today) - 1
        while i >= 0 and days[i] >= self.year_start and holds(days[i]):
            start = days[i]
            i -= 1
        return start

    # -- day one -----------------------------------------------------------------------------

    def _day_one(self, p: Pupil, marks: PupilMarks) -> Iterable[Action]:
        today = self.today
        pair = marks.get(today)
        if pair is None:
            return
        am, pm = pair
        if "N" in pair:
            sessions = " and ".join(s for s, c in (("AM", am), ("PM", pm)) if c == "N")
            contacts = self.data.contacts_of(p.upn)
            callable_ = [c for c in contacts if not c.no_contact]
            rows = [
                {
                    "name": c.name,
                    "relationship": c.relationship,
                    "priority": c.priority,
                    "phones": [x for x in (c.mobile, c.landline, c.work_phone) if x],
                    "email": c.email,
                }
                for c in callable_
            ]
            first = next((c for c in callable_ if c.mobile or c.landline or c.work_phone), None)
            if first is not None:
                rel = f" ({first.relationship})" if first.relationship else ""
                phone = first.mobile or first.landline or first.work_phone
                who = f"call {first.name}{rel} on {phone}"
            else:
                who = "no phone number on record: text, email or visit the home"
            yield self._action(
                p,
                "first_day_contact",
                today.isoformat(),
                f"{sessions} marked N (reason not yet established) on {_uk(today)}; {who}",
                {
                    "date": today.isoformat(),
                    "am": am,
                    "pm": pm,
                    "contacts": rows,
                    "withheld_no_contact": len(contacts) - len(callable_),
                },
            )
        absent = [(s, c) for s, c in (("AM", am), ("PM", pm)) if c in ABSENT]
        matched = [combo for combo, parts in self.vulnerable if all(f in p.flags for f in parts)]
        if absent and matched:
            sw, kw = p.social_worker, p.key_worker
            if sw:
                who = f"contact social worker {_person(sw.name, sw.phone, sw.email)}"
            elif kw:
                who = f"contact key worker {_person(kw.name, kw.phone, kw.email)}"
            else:
                who = "no social worker or key worker recorded: tell the DSL"
            flags = ", ".join(m.replace("_", " ").replace("+", " with ") for m in matched)
            if len(absent) == 2 and am == pm:
                absent = [("AM and PM", am)]
            codes = ", ".join(f"{s} {c} ({CODE_MEANINGS.get(c, c)})" for s, c in absent)
            yield self._action(
                p,
                "vulnerable_day1_contact",
                today.isoformat(),
                f"vulnerable ({flags}) and absent on {_uk(today)}, {codes}; {who}",
                {
                    "date": today.isoformat(),
                    "am": am,
                    "pm": pm,
                    "flags": matched,
                    "social_worker": {"name": sw.name, "phone": sw.phone, "email": sw.email},
                    "key_worker": {"name": kw.name, "phone": kw.phone, "email": kw.email},
                },
            )

    # -- warning letters ---------------------------------------------------------------------

    def _is_pa(self, a: _Attendance) -> bool:
        if self.dfe:  # absence of (100 - threshold)% or more: exactly 90.0% counts
            return (1 - a.rate) * 100 >= 100 - self.pa
        return a.rate * 100 < self.pa

    def letter_since(self, line: Timeline) -> date | None:
        minimum = self.policy.min_possible_sessions

        def holds(d: date) -> bool:
            possible, present, _ = line.counts(self.year_start, d)
            if not possible or possible < minimum:
                return False
            return self._is_pa(_Attendance(Fraction(present, possible), possible, present, "marks"))

        return self._episode_start(holds)

    def _letter(self, p: Pupil, a: _Attendance) -> Iterable[Action]:
        minimum = self.policy.min_possible_sessions
        if a.possible is not None and a.possible < minimum:
            return
        if not self._is_pa(a):
            return  # includes a pupil who has recovered since the last letter
        sent = {
            n: d
            for n, d in self.history.letters.get(p.upn, {}).items()
            if self.year_start <= d <= self.today
        }
        # Letters go in order: the number sent this year + 1. A gap in an imported history
        # (letter 2 logged, letter 1 not) never makes a letter go twice.
        number = max(len(sent), max(sent, default=0)) + 1
        if number > len(LETTERS):
            return
        gap: int | None = None
        if sent:
            last = max(sent.values())
            gap = self.calendar.school_days_after(last, self.today)
            if gap < self.policy.letter_interval_school_days:
                return
        action = f"pa_letter_{number}"
        if self.dfe:
            absence = 100 - float(a.rate * 100)
            test = (
                f"absence {absence:.1f}%, at least {_num(100 - self.pa)}% (DfE persistent absence)"
            )
            described = a.describe()
        else:
            test = f"below {_num(self.pa)}%"
            described = a.describe(below=self.pa)
        previous = "; ".join(f"letter {n} sent {_uk(d)}" for n, d in sorted(sent.items()))
        reason = f"{described}, {test}; {previous or 'no letter sent yet this year'}"
        ev = a.evidence() | {
            "rule": self.policy.pa_rule,
            "threshold_percent": float(self.pa),
            "since": self.year_start.isoformat(),
            "to": self.today.isoformat(),
            "previous_letters": [
                {"number": n, "date": d.isoformat()} for n, d in sorted(sent.items())
            ],
            "school_days_since_last_letter": gap,
        }
        yield self._action(p, action, self.year, reason, ev)

    # -- alerts ------------------------------------------------------------------------------

    def _severe(self, p: Pupil, a: _Attendance, line: Timeline | None) -> Iterable[Action]:
        minimum = self.policy.min_possible_sessions
        if a.possible is not None and a.possible < minimum:
            return
        if (1 - a.rate) * 100 < self.severe:
            return
        start: date | None
        if a.source == "marks" and line is not None:

            def holds(d: date) -> bool:
                possible, present, _ = line.counts(self.year_start, d)
                return possible >= minimum and _at_least(possible - present, possible, self.severe)

            start = self._episode_start(holds)
            if start is None:
                return
        else:
            start = self.first_day  # summary figures carry no history: once a year
        absence = 100 - float(a.rate * 100)
        counts = f" ({a.absent}/{a.possible} sessions)" if a.absent is not None else ""
        since = f" since {_uk(start)}" if a.source == "marks" else " (summary column)"
        reason = (
            f"absence {absence:.1f}%{counts} this year, at least "
            f"{_num(self.severe)}%{since}: alert the DSL"
        )
        ev = a.evidence() | {
            "absence_percent": round(absence, 1),
            "threshold_percent": float(self.severe),
            "episode_start": start.isoformat(),
        }
        yield self._action(p, "severe_absence", start.isoformat(), reason, ev)

    def _penalty(self, p: Pupil, marks: PupilMarks, line: Timeline) -> Iterable[Action]:
        weeks = self.policy.penalty_window_weeks
        need = self.policy.penalty_threshold_sessions

        def window(d: date) -> date | None:
            w = self.calendar.last_school_weeks(d, weeks)
            return w[0] if w else None

        def holds(d: date) -> bool:
            start = window(d)
            return start is not None and line.counts(start, d)[2] >= need

        start = self._episode_start(holds)
        first = window(self.today)
        if start is None or first is None:
            return
        sessions = [
            {"date": d.isoformat(), "session": s, "code": c}
            for d in line.dates[bisect.bisect_left(line.dates, first) :]
            for s, c in zip(("AM", "PM"), marks[d], strict=True)
            if c in UNAUTHORISED
        ]
        reason = (
            f"{len(sessions)} unauthorised sessions (G, N, O, U) in the {weeks} school weeks "
            f"{_uk(first)} to {_uk(self.today)}, at least {need}: consider a Notice to "
            "Improve or a penalty notice"
        )
        ev = {
            "window_start": first.isoformat(),
            "window_end": self.today.isoformat(),
            "window_school_weeks": weeks,
            "unauthorised_sessions": len(sessions),
            "threshold_sessions": need,
            "sessions": sessions,
            "episode_start": start.isoformat(),
        }
        yield self._action(p, "penalty_notice_threshold", start.isoformat(), reason, ev)

    def _drop(self, p: Pupil, line: Timeline) -> Iterable[Action]:
        n = self.policy.drop_window_school_days
        minimum = self.policy.min_possible_sessions
        year_start = self.year_start

        def parts(d: date) -> tuple[date, tuple[int, int, int], tuple[int, int, int]] | None:
            start = self.calendar.back(d, n - 1)
            if start is None or start <= year_start:
                return None
            return start, line.counts(start, d), line.counts(year_start, start - _DAY)

        def holds(d: date) -> bool:
            got = parts(d)
            if got is None:
                return False
            _, (rp, rr, _), (ep, er, _) = got
            if rp < minimum or ep < minimum:
                return False
            # earlier% - recent% >= drop points, cross-multiplied to stay in integers
            gap = 100 * self.drop.denominator * (er * rp - rr * ep)
            return gap >= self.drop.numerator * ep * rp

        start = self._episode_start(holds)
        got = parts(self.today)
        if start is None or got is None:
            return
        recent_start, (rp, rr, _), (ep, er, _) = got
        points = 100.0 * er / ep - 100.0 * rr / rp
        reason = (
            f"attendance {_pct(rr, rp)}% ({rr}/{rp} sessions) over the last {n} school days "
            f"from {_uk(recent_start)}, {points:.1f} points below {_pct(er, ep)}% "
            f"({er}/{ep}) earlier this year: a significant change to look into"
        )
        ev = {
            "recent": {
                "start": recent_start.isoformat(),
                "end": self.today.isoformat(),
                "possible": rp,
                "present": rr,
                "percent": round(100.0 * rr / rp, 1),
            },
            "earlier": {
                "start": year_start.isoformat(),
                "end": (recent_start - _DAY).isoformat(),
                "possible": ep,
                "present": er,
                "percent": round(100.0 * er / ep, 1),
            },
            "drop_points": round(points, 1),
            "threshold_points": float(self.drop),
            "episode_start": start.isoformat(),
        }
        yield self._action(p, "attendance_drop", start.isoformat(), reason, ev)

    # -- children missing education ----------------------------------------------------------

    def _cme(self, p: Pupil, marks: PupilMarks) -> Iterable[Action]:
        steps = (
            ("cme_inform", self.policy.cme_inform_days),
            ("cme_referral", self.policy.cme_referral_days),
            ("remove_from_roll", self.policy.remove_from_roll_days),
        )
        start, days = unexplained_run(marks, self.calendar, self.today)
        if days < min(n for _, n in steps):
            return
        log = [e for e in self.data.contact_log.get(p.upn, ()) if start <= e.date <= self.today]
        if any(e.contact_made for e in log):
            return  # the family has been reached since the run began
        last = _last_attended(marks, start)
        attempts = [_attempt(e) for e in log]
        tail = {
            "cme_inform": "inform the CME team",
            "cme_referral": "complete the CME referral form",
            "remove_from_roll": "Remove From Roll checklist for the head teacher's signature "
            "(reg. 9(1)(i) also needs joint reasonable enquiries with the LA)",
        }
        tried = f"{len(attempts)} contact attempt{'s' * (len(attempts) != 1)}"
        for action, needed in steps:
            if days < needed:
                continue
            reason = (
                f"absent without explanation (G, N or O all day) for {days} school days since "
                f"{_uk(start)}, last attended {_uk(last) or 'never recorded'}, {tried} and no "
                f"successful contact: {tail[action]}"
            )
            ev = {
                "run_start": start.isoformat(),
                "run_end": self.today.isoformat(),
                "run_days": days,
                "threshold_days": needed,
                "last_attended": _iso(last),
                "contact_attempts": attempts,
            }
            yield self._action(p, action, start.isoformat(), reason, ev)

    # -- events ------------------------------------------------------------------------------

    def _events(self, p: Pupil) -> Iterable[Action]:
        for ev in self.data.events.get(p.upn, ()):
            if ev.date_received > self.today:
                continue
            current = ev.date_received >= self.year_start or (
                ev.effective_date is not None and ev.effective_date >= self.year_start
            )
            if not current:
                continue  # an old event from an earlier year is history, not today's work
            when = f" from {_uk(ev.effective_date)}" if ev.effective_date else ""
            if ev.kind is EventKind.PLANNED_MOVE:
                where = ev.new_country or ev.new_address or ev.new_school
                to = f" to {where}" if where else ""
                reason = (
                    f"planned move{to}{when} notified on {_uk(ev.date_received)}: complete the "
                    "Planned Move form and inform the CME team"
                )
            else:
                reason = (
                    f"written request to educate at home{when} received on "
                    f"{_uk(ev.date_received)}: off-roll steps under reg. 9(1)(f)"
                )
            evidence = {
                "date_received": ev.date_received.isoformat(),
                "effective_date": _iso(ev.effective_date),
                "new_address": ev.new_address,
                "new_country": ev.new_country,
                "new_school": ev.new_school,
                "informed": ev.informed,
                "notes": ev.notes,
            }
            yield self._action(p, str(ev.kind), ev.date_received.isoformat(), reason, evidence)


_DAY = timedelta(days=1)


def _person(name: str, phone: str, email: str) -> str:
    return " ".join(x for x in (name, phone or email) if x) or "(no details)"


def _attempt(e: ContactLogEntry) -> dict[str, Any]:
    return {
        "date": e.date.isoformat(),
        "method": e.method,
        "contact_made": e.contact_made,
        "notes": e.notes,
    }


def _last_attended(marks: PupilMarks, before: date) -> date | None:
    """The last day before ``before`` with a present mark."""
    for d in sorted((d for d in marks if d < before), reverse=True):
        if any(code in PRESENT for code in marks[d]):
            return d
    return None
