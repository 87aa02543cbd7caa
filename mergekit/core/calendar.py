"""The school's own calendar: which days are school days, and counting in them.

A school day is a weekday inside one of the configured terms (each half term is an entry; the
gaps are holidays) that is not an INSET day, a closure, or (by default) an England and Wales
bank holiday. A school week is a Monday-Sunday week holding at least one school day. An
academic year runs 1 September - 31 August and is named like ``2026-27``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from mergekit.core.config import CalendarSettings, Term
from mergekit.core.errors import ConfigError


@dataclass(frozen=True)
class NonSchoolDay:
    day: date
    reason: str


def academic_year_of(day: date) -> str:
    """'2026-27' for any day from 1 Sept 2026 to 31 Aug 2027."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def academic_year_bounds(name: str) -> tuple[date, date]:
    """('2026-27') -> (2026-09-01, 2027-08-31)."""
    try:
        start = int(name.split("-", maxsplit=1)[0])
    except ValueError:
        raise ConfigError(f"{name!r} is not an academic year - write it like 2026-27") from None
    return date(start, 9, 1), date(start + 1, 8, 31)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class SchoolCalendar:
    def __init__(
        self,
        terms: Sequence[Term],
        inset_days: Iterable[date] = (),
        closures: Iterable[date] = (),
        bank_holidays: bool = True,
    ) -> None:
        self.terms = sorted(terms, key=lambda t: t.start)
        self.inset_days = frozenset(inset_days)
        self.closures = frozenset(closures)
        self.use_bank_holidays = bank_holidays

    @classmethod
    def from_settings(cls, s: CalendarSettings) -> SchoolCalendar:
        return cls(s.terms, s.inset_days, s.closures, s.bank_holidays is not False)

    @cached_property
    def bank_holidays(self) -> dict[date, str]:
        if not self.use_bank_holidays or not self.terms:
            return {}
        import holidays

        years = range(self.terms[0].start.year, self.terms[-1].end.year + 1)
        return dict(holidays.country_holidays("GB", subdiv="ENG", years=years).items())

    @cached_property
    def days(self) -> tuple[date, ...]:
        """Every school day, in order."""
        out: list[date] = []
        for term in self.terms:
            d = term.start
            while d <= term.end:
                if self._reason(d) is None:
                    out.append(d)
                d += timedelta(days=1)
        return tuple(sorted(set(out)))

    @cached_property
    def _index(self) -> dict[date, int]:
        return {d: i for i, d in enumerate(self.days)}

    def _reason(self, d: date) -> str | None:
        if d.weekday() >= 5:
            return "weekend"
        if d in self.inset_days:
            return "INSET day"
        if d in self.closures:
            return "closure"
        if d in self.bank_holidays:
            return f"bank holiday ({self.bank_holidays[d]})"
        return None

    def why_not(self, d: date) -> str | None:
        """None for a school day, else why it is not one."""
        if d in self._index:
            return None
        if not any(t.start <= d <= t.end for t in self.terms):
            return "school holiday (outside the terms in mergekit.toml)"
        return self._reason(d) or "not a school day"

    def is_school_day(self, d: date) -> bool:
        return d in self._index

    def covers(self, d: date) -> bool:
        """The configured terms reach this far (so counting up to d is meaningful)."""
        return bool(self.terms) and self.terms[0].start <= d <= self.terms[-1].end + timedelta(
            days=60
        )

    def on_or_before(self, d: date) -> date | None:
        """The latest school day on or before d."""
        i = bisect.bisect_right(self.days, d)
        return self.days[i - 1] if i else None

    def index(self, d: date) -> int:
        """Position of a school day in the calendar (KeyError if not one)."""
        return self._index[d]

    def count_between(self, start: date, end: date) -> int:
        """School days d with start <= d <= end."""
        return bisect.bisect_right(self.days, end) - bisect.bisect_left(self.days, start)

    def school_days_after(self, earlier: date, later: date) -> int:
        """School days strictly after ``earlier`` up to and including ``later``: 0 when later is
        the same school day, 15 when it is the 15th school day after."""
        return bisect.bisect_right(self.days, later) - bisect.bisect_right(self.days, earlier)

    def back(self, d: date, n: int) -> date | None:
        """The school day n school days before school day-or-date d (n=0: on or before d)."""
        i = bisect.bisect_right(self.days, d) - 1 - n
        return self.days[i] if i >= 0 else None

    def between(self, start: date, end: date) -> tuple[date, ...]:
        lo = bisect.bisect_left(self.days, start)
        hi = bisect.bisect_right(self.days, end)
        return self.days[lo:hi]

    def school_weeks(self, start: date, end: date) -> list[date]:
        """Mondays of the school weeks from start to end."""
        return sorted({week_start(d) for d in self.between(start, end)})

    @cached_property
    def _week_starts(self) -> tuple[date, ...]:
        """Monday of every school week, in order (computed once: rules ask per pupil)."""
        return tuple(sorted({week_start(d) for d in self.days}))

    def last_school_weeks(self, d: date, n: int) -> tuple[date, date] | None:
        """(first day, last day) of the n school weeks ending with the week containing d: the
        Monday of the first, and d (or the Sunday of the last school week, when d falls in a
        holiday). A week with no school day in it is not counted."""
        i = bisect.bisect_right(self._week_starts, week_start(d))
        if i == 0 or n < 1:
            return None
        return self._week_starts[max(0, i - n)], min(d, self._week_starts[i - 1] + timedelta(6))

    def first_day_of_year(self, academic_year: str) -> date | None:
        """The first school day of an academic year ('2026-27'), None if it has none."""
        start, end = academic_year_bounds(academic_year)
        i = bisect.bisect_left(self.days, start)
        return self.days[i] if i < len(self.days) and self.days[i] <= end else None

    def by_term(self, academic_year: str | None = None) -> list[tuple[Term, tuple[date, ...]]]:
        out = []
        for term in self.terms:
            if academic_year and academic_year_of(term.start) != academic_year:
                continue
            out.append((term, self.between(term.start, term.end)))
        return out

    def non_school_days(self, term: Term) -> list[NonSchoolDay]:
        out = []
        d = term.start
        while d <= term.end:
            reason = self._reason(d)
            if reason and reason != "weekend":
                out.append(NonSchoolDay(d, reason))
            d += timedelta(days=1)
        return out


@dataclass(frozen=True)
class TermDays:
    """One configured term as `mergekit calendar` shows it."""

    term: Term
    days: tuple[date, ...]  # its school days
    closed: tuple[NonSchoolDay, ...]  # weekdays inside it that are not school days, and why


def terms_of_year(calendar: SchoolCalendar, academic_year: str) -> list[TermDays]:
    """The terms of one academic year with their school days and the days off inside them."""
    return [
        TermDays(term, days, tuple(calendar.non_school_days(term)))
        for term, days in calendar.by_term(academic_year)
    ]


def compact_dates(days: Sequence[date]) -> str:
    """'Sep 3-4, 7-11, 14-18; Oct 1-2': school days by month, consecutive days joined, so a
    full week reads 7-11 and a missing day (INSET, bank holiday) shows as a gap."""
    months: list[tuple[str, list[list[date]]]] = []
    for d in sorted(days):
        label = f"{d:%b}"
        if not months or months[-1][0] != label:
            months.append((label, [[d]]))
            continue
        runs = months[-1][1]
        gap = (d - runs[-1][-1]).days
        if gap == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for label, runs in months:
        text = ", ".join(f"{r[0].day}" if len(r) == 1 else f"{r[0].day}-{r[-1].day}" for r in runs)
        parts.append(f"{label} {text}")
    return "; ".join(parts)
