"""Today's register: whether the workbook holds today's marks, or is an old export.

The rules that read the marks up to today (``NEEDS_TODAYS_MARKS`` in the action catalogue)
would otherwise work on old figures: no first-day calls, letters on old numbers, CME runs that
seem to stop. Pure: the time of day is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from mergekit.core.model import SchoolData


@dataclass(frozen=True)
class RegisterGap:
    """No marks at all for a school day whose register has closed: the workbook is an old
    export. ``latest``: the last day before it that has marks."""

    day: date
    latest: date | None

    def message(self) -> str:
        return f"no marks recorded for {self.day:%A %d/%m/%Y}"

    def hint(self) -> str:
        latest = f"the latest marks are for {self.latest:%A %d/%m/%Y}; " if self.latest else ""
        return (
            f"export today's register first ({latest}first-day calls, warning letters, alerts "
            "and CME steps wait for it, so nothing is made on old figures)"
        )


def _has_marks_on(data: SchoolData, day: date) -> bool:
    return any(any(marks.get(day, ())) for marks in data.marks.values())


def register_gap(
    data: SchoolData, today: date, now: time | None, closes: time
) -> RegisterGap | None:
    """Whether the register for ``today`` is missing: the workbook has session marks, none
    for today, and registration has closed (``now`` None means the day is over). Pure: the
    time is a parameter."""
    if not data.has_marks or (now is not None and now < closes) or _has_marks_on(data, today):
        return None
    earlier = (d for marks in data.marks.values() for d, pair in marks.items() if any(pair))
    return RegisterGap(today, max((d for d in earlier if d < today), default=None))


def register_pending(data: SchoolData, today: date, now: time | None, closes: time) -> bool:
    """Before registration closes on the real day, with no marks for it yet."""
    return data.has_marks and now is not None and now < closes and not _has_marks_on(data, today)
