"""The school calendar: school days, school weeks and `mergekit calendar`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from policy_builders import calendar, write_config

from mergekit.cli import main
from mergekit.core.calendar import compact_dates, terms_of_year


@pytest.mark.parametrize(
    ("day", "school", "why"),
    [
        pytest.param(date(2026, 5, 4), False, "bank holiday", id="early-may-bank-holiday"),
        pytest.param(date(2026, 11, 2), False, "INSET day", id="inset"),
        pytest.param(date(2026, 10, 9), False, "closure", id="closure"),
        pytest.param(date(2026, 10, 28), False, "school holiday", id="half-term"),
        pytest.param(date(2026, 11, 28), False, "weekend", id="saturday"),
        pytest.param(date(2026, 11, 3), True, None, id="first-day-after-half-term"),
    ],
)
def test_school_days(day: date, school: bool, why: str | None) -> None:
    cal = calendar()
    assert cal.is_school_day(day) is school
    reason = cal.why_not(day)
    assert (reason is None) if why is None else (why in (reason or ""))


@pytest.mark.parametrize(
    ("day", "weeks", "start"),
    [
        pytest.param(date(2026, 12, 4), 10, date(2026, 9, 21), id="skips-half-term-week"),
        pytest.param(date(2026, 11, 13), 10, date(2026, 8, 31), id="reaches-first-week"),
        pytest.param(date(2026, 9, 10), 3, date(2026, 7, 20), id="spans-the-summer"),
        pytest.param(date(2026, 11, 27), 1, date(2026, 11, 23), id="this-week-only"),
    ],
)
def test_last_school_weeks(day: date, weeks: int, start: date) -> None:
    assert calendar().last_school_weeks(day, weeks) == (start, day)


def test_school_days_after_counts_strictly_after() -> None:
    cal = calendar()
    assert cal.school_days_after(date(2026, 10, 16), date(2026, 11, 13)) == 14
    assert cal.school_days_after(date(2026, 10, 16), date(2026, 11, 16)) == 15
    assert cal.school_days_after(date(2026, 11, 27), date(2026, 11, 27)) == 0


def test_first_day_of_year_skips_inset() -> None:
    assert calendar().first_day_of_year("2026-27") == date(2026, 9, 3)
    assert calendar().first_day_of_year("2030-31") is None


def test_terms_of_year_lists_days_off_inside_terms() -> None:
    summer = terms_of_year(calendar(), "2025-26")[4]  # 13/04-22/05/2026
    assert [(d.day, d.reason.split(" (")[0]) for d in summer.closed] == [
        (date(2026, 5, 4), "bank holiday")
    ]
    assert len(summer.days) == 29


def test_compact_dates_joins_consecutive_days() -> None:
    days = calendar().between(date(2026, 9, 1), date(2026, 10, 13))
    assert compact_dates(days) == "Sep 3-4, 7-11, 14-18, 21-25, 28-30; Oct 1-2, 5-8, 12-13"


def test_calendar_command_shows_each_term(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    result = CliRunner().invoke(main, ["calendar", "--config", str(cfg), "--year", "2025-26"])
    assert result.exit_code == 0, result.output
    assert "School calendar 2025-26" in result.output
    assert "Term 5: Mon 13/04/2026 to Fri 22/05/2026: 29 school days" in result.output
    assert "not a school day: Mon 04/05/2026 bank holiday" in result.output
    assert "Apr 13-17, 20-24, 27-30; May 1, 5-8" in result.output
    assert "Total: " in result.output


def test_calendar_command_defaults_to_the_current_year(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)  # [run] today = 2026-11-27
    result = CliRunner().invoke(main, ["calendar", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "School calendar 2026-27" in result.output
    assert "not a school day: Fri 09/10/2026 closure" in result.output


@pytest.mark.parametrize(
    ("year", "message"),
    [
        pytest.param("2026", "is not an academic year", id="not-a-year"),
        pytest.param("2026-28", "is not an academic year", id="years-not-consecutive"),
        pytest.param("2031-32", "no terms in [calendar] for 2031-32", id="no-terms"),
    ],
)
def test_calendar_command_bad_year(tmp_path: Path, year: str, message: str) -> None:
    cfg = write_config(tmp_path)
    result = CliRunner().invoke(main, ["calendar", "--config", str(cfg), "--year", year])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
