"""Counting one pupil's sessions exactly, for the rules: prefix sums of the marks (any date range
in two binary searches), runs of unexplained absence, year-to-date attendance, and comparisons
made in whole numbers against the exact fraction a setting names (92.5 is 185/2), never on a
rounded percentage.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from mergekit.core.attendance import (
    POSSIBLE,
    PRESENT,
    UNAUTHORISED,
    UNEXPLAINED,
)
from mergekit.core.calendar import SchoolCalendar
from mergekit.core.model import PupilMarks

# code -> (possible, present, unauthorised) sessions it adds.
_WEIGHT: dict[str, tuple[int, int, int]] = {
    code: (1, int(code in PRESENT), int(code in UNAUTHORISED)) for code in POSSIBLE
}
_NONE = (0, 0, 0)


class Timeline:
    """Prefix sums of one pupil's sessions up to ``today``, so any date range is counted with
    two binary searches (the rules ask for many ranges per pupil)."""

    __slots__ = ("dates", "possible", "present", "unauthorised")

    def __init__(self, marks: PupilMarks, today: date) -> None:
        self.dates: list[date] = []
        self.possible = [0]
        self.present = [0]
        self.unauthorised = [0]
        p = r = u = 0
        for d in sorted(marks):
            if d > today:  # marks dated after today are ignored
                break
            am, pm = marks[d]
            a = _WEIGHT.get(am, _NONE)
            b = _WEIGHT.get(pm, _NONE)
            p += a[0] + b[0]
            r += a[1] + b[1]
            u += a[2] + b[2]
            self.dates.append(d)
            self.possible.append(p)
            self.present.append(r)
            self.unauthorised.append(u)

    def counts(self, start: date, end: date) -> tuple[int, int, int]:
        """(possible, present, unauthorised) sessions dated start..end inclusive."""
        lo = bisect.bisect_left(self.dates, start)
        hi = bisect.bisect_right(self.dates, end)
        if hi <= lo:
            return _NONE
        return (
            self.possible[hi] - self.possible[lo],
            self.present[hi] - self.present[lo],
            self.unauthorised[hi] - self.unauthorised[lo],
        )


def unexplained_run(marks: PupilMarks, calendar: SchoolCalendar, day: date) -> tuple[date, int]:
    """(first day, length) of the run of consecutive school days ending on ``day`` (or the
    latest school day before it) on which both sessions are G, N or O. Non-school days neither
    count nor break it; a school day with any other mark, or none, does. Length 0 means no run
    (the first day is then ``day``)."""
    days = calendar.days
    i = bisect.bisect_right(days, day) - 1
    first, n = day, 0
    while i >= 0:
        d = days[i]
        m = marks.get(d)
        if m is None or m[0] not in UNEXPLAINED or m[1] not in UNEXPLAINED:
            break
        first, n = d, n + 1
        i -= 1
    return first, n


def _exact(x: float) -> Fraction:
    """A config number as written (92.5 is 185/2, not the nearest binary float)."""
    return Fraction(str(x))


def _at_least(part: int, whole: int, pct: Fraction) -> bool:
    """part / whole >= pct %, in integers."""
    return part * 100 * pct.denominator >= pct.numerator * whole


def _below(part: int, whole: int, pct: Fraction) -> bool:
    """part / whole < pct %, in integers."""
    return part * 100 * pct.denominator < pct.numerator * whole


def _pct(part: int, whole: int) -> str:
    """'86.4' (one decimal place, as the letters print it)."""
    return f"{100.0 * part / whole:.1f}" if whole else "100.0"


def _num(x: float | Fraction) -> str:
    """90.0 -> '90', 92.5 -> '92.5'."""
    return f"{float(x):g}"


def _uk(d: date | None) -> str:
    return f"{d:%d/%m/%Y}" if d else ""


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


@dataclass(frozen=True)
class _Attendance:
    """Year-to-date attendance, from marks or the summary columns."""

    rate: Fraction  # present / possible, 0..1
    possible: int | None
    present: int | None
    source: str  # "marks" or "summary"

    @property
    def absent(self) -> int | None:
        if self.possible is None or self.present is None:
            return None
        return self.possible - self.present

    def percent_text(self, below: Fraction | None = None) -> str:
        """Attendance % to one decimal; when it is below ``below`` but would round up to it,
        two decimals truncated, so the reason never reads "90.0%, below 90%"."""
        shown = f"{float(self.rate * 100):.1f}"
        if below is not None and self.rate * 100 < below and _exact(float(shown)) >= below:
            hundredths = int(self.rate * 10000)
            shown = f"{hundredths // 100}.{hundredths % 100:02d}"
        return shown

    def describe(self, below: Fraction | None = None) -> str:
        text = f"attendance {self.percent_text(below)}%"
        if self.possible is not None and self.present is not None:
            return f"{text} ({self.present}/{self.possible} sessions)"
        return f"{text} (summary column)"

    def evidence(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "possible": self.possible,
            "present": self.present,
            "absent": self.absent,
            "percent": round(float(self.rate * 100), 1),
        }
