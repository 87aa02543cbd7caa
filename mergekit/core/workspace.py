"""What every command starts from: the settings, the school calendar and the school day.

``today`` is chosen here, once, and passed down as a parameter: the policy rules never read the
clock. A date that is not a school day plans for the latest school day before it, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from mergekit.core.calendar import SchoolCalendar, academic_year_of
from mergekit.core.config import Settings, find_config, load_config
from mergekit.core.errors import ConfigError


@dataclass(frozen=True)
class Workspace:
    settings: Settings
    calendar: SchoolCalendar
    today: date  # the school day mergekit works for
    requested: date  # the date that was asked for (or the real date)
    note: str = ""  # why ``today`` differs from ``requested``, for the user
    # The time of day when ``today`` is the real date; None when working for another day,
    # whose register is complete (the rules take it as a parameter, never from the clock).
    now: time | None = None


def open_workspace(
    config: Path | None, today: date | None = None, clock: Callable[[], datetime] = datetime.now
) -> Workspace:
    settings = load_config(find_config(config))
    calendar = SchoolCalendar.from_settings(settings.calendar)
    real = clock()
    requested = today or settings.run.today or real.date()
    day, requested, note = school_day_for(calendar, requested)
    now = real.time() if day == real.date() else None
    return Workspace(settings, calendar, day, requested, note, now)


def school_day_for(calendar: SchoolCalendar, requested: date) -> tuple[date, date, str]:
    """(school day, requested, note): the latest school day on or before ``requested``."""
    if not calendar.terms:
        return requested, requested, ""
    if calendar.is_school_day(requested):
        return requested, requested, ""
    year = academic_year_of(requested)
    last = calendar.terms[-1].end
    if requested > last and academic_year_of(last) != year:
        raise ConfigError(
            f"[calendar] in mergekit.toml is out of date: {requested:%d/%m/%Y} is in the "
            f"{year} academic year, and the last term configured ends {last:%d/%m/%Y} - add "
            f"the school's {year} term dates (and INSET days) to [calendar] terms, or choose "
            "an earlier --today"
        )
    day = calendar.on_or_before(requested)
    if day is None:
        raise ConfigError(
            f"{requested:%d/%m/%Y} (academic year {year}) is before the first term in "
            f"[calendar] - add the school's {year} term dates to mergekit.toml, or choose a "
            "later --today"
        )
    why = calendar.why_not(requested) or "not a school day"
    note = (
        f"{requested:%A %d/%m/%Y} is not a school day ({why}): working for the latest "
        f"school day before it, {day:%A %d/%m/%Y}"
    )
    return day, requested, note
