"""Alerts for the DSL and the attendance lead: severe absence, the penalty-notice threshold and a
sudden drop in attendance. Each is raised once per episode: not again the next day, again when
the condition clears and returns."""

from __future__ import annotations

from datetime import date

import pytest
from policy_builders import (
    TODAY,
    School,
    actions,
    back,
    coded,
    done,
    names,
    plan,
    policy,
    present_days,
    pupil,
    school_days,
    single,
)

from mergekit.plan.policy import History

YEAR = school_days(date(2026, 9, 1), date(2026, 12, 18))  # autumn 2026, D[0] = Thu 03/09


def severe_school() -> School:
    """20 days absent (ill), 30 present, then absent again to the end of term."""
    marks = coded(YEAR[:20], "I") | coded(YEAR[20:50], "/", "\\") | coded(YEAR[50:], "I")
    s = School()
    s.add(pupil(1), marks)
    return s


def severe(today: date, history: History | None = None) -> list[str]:
    return [
        a.stage
        for a in actions(plan(severe_school().data(), today, history=history), "severe_absence")
    ]


def test_severe_absence_starts_when_the_minimum_sessions_are_reached() -> None:
    # All absent from day 1; the 20th possible session is on the 10th school day.
    assert severe(YEAR[8]) == []
    assert severe(YEAR[9]) == [YEAR[9].isoformat()]


def test_severe_absence_is_raised_once_not_again_the_next_day() -> None:
    first = single(actions(plan(severe_school().data(), YEAR[9]), "severe_absence"))
    assert severe(YEAR[10], done(first)) == []
    # Recomputed from the marks: a run 20 days later finds the same episode.
    assert severe(YEAR[30]) == [YEAR[9].isoformat()]
    assert severe(YEAR[30], done(first)) == []


def test_severe_absence_again_after_it_clears_and_returns() -> None:
    first = single(actions(plan(severe_school().data(), YEAR[9]), "severe_absence"))
    # 40 absent of 80 on day 40 (exactly 50%: still severe), 40 of 82 the next day: cleared.
    assert severe(YEAR[39]) == [YEAR[9].isoformat()]
    assert severe(YEAR[40]) == []
    # Absent again from day 51: 60 of 120 on day 60 is 50% again, a new episode.
    assert severe(YEAR[58]) == []
    assert severe(YEAR[59], done(first)) == [YEAR[59].isoformat()]
    a = single(actions(plan(severe_school().data(), YEAR[59]), "severe_absence"))
    assert a.evidence["absent"] == 60
    assert a.evidence["possible"] == 120
    assert a.reason == (
        f"absence 50.0% (60/120 sessions) this year, at least 50% since {YEAR[59]:%d/%m/%Y}: "
        "alert the DSL"
    )


# ---------------------------------------------------------------------------------------------
# Penalty notice threshold

PENALTY_TODAY = date(2026, 12, 4)  # 10 school weeks back (half term skipped): from Mon 21/09


def penalty_school(extra: dict[date, tuple[str, str]]) -> School:
    marks = present_days(date(2026, 9, 3), PENALTY_TODAY) | extra
    s = School()
    s.add(pupil(1), marks)
    return s


BEFORE_HALF_TERM = {
    date(2026, 9, 21): ("O", "O"),
    date(2026, 10, 5): ("G", "G"),
    date(2026, 10, 19): ("U", "O"),
}
AFTER_HALF_TERM = {date(2026, 11, 3): ("N", "O"), date(2026, 12, 1): ("O", "O")}


@pytest.mark.parametrize(
    ("extra", "raised"),
    [
        pytest.param(BEFORE_HALF_TERM | AFTER_HALF_TERM, True, id="10-sessions-across-two-terms"),
        pytest.param(
            BEFORE_HALF_TERM | AFTER_HALF_TERM | {date(2026, 12, 1): ("O", "/")},
            False,
            id="9-sessions",
        ),
        pytest.param(
            {date(2026, 9, 18): ("O", "O")}
            | BEFORE_HALF_TERM
            | AFTER_HALF_TERM
            | {date(2026, 12, 1): ("/", "\\")},
            False,
            id="2-of-10-before-the-window",
        ),
        pytest.param(
            BEFORE_HALF_TERM | AFTER_HALF_TERM | {date(2026, 12, 1): ("I", "M")},
            False,
            id="authorised-codes-do-not-count",
        ),
    ],
)
def test_penalty_threshold(extra: dict[date, tuple[str, str]], raised: bool) -> None:
    p = plan(penalty_school(extra).data(), PENALTY_TODAY)
    assert ("penalty_notice_threshold" in names(p)) is raised


def test_penalty_window_and_sessions_in_the_evidence() -> None:
    p = plan(penalty_school(BEFORE_HALF_TERM | AFTER_HALF_TERM).data(), PENALTY_TODAY)
    a = single(actions(p, "penalty_notice_threshold"))
    ev = a.evidence
    assert (ev["window_start"], ev["window_end"]) == ("2026-09-21", "2026-12-04")
    assert ev["unauthorised_sessions"] == 10
    assert ev["sessions"][:3] == [
        {"date": "2026-09-21", "session": "AM", "code": "O"},
        {"date": "2026-09-21", "session": "PM", "code": "O"},
        {"date": "2026-10-05", "session": "AM", "code": "G"},
    ]
    assert {s["code"] for s in ev["sessions"]} == {"G", "N", "O", "U"}
    assert a.stage == "2026-12-01"  # the day the 10th session was reached
    assert a.reason == (
        "10 unauthorised sessions (G, N, O, U) in the 10 school weeks 21/09/2026 to "
        "04/12/2026, at least 10: consider a Notice to Improve or a penalty notice"
    )
    # Once: the next school day finds the same episode, already done.
    data = penalty_school(BEFORE_HALF_TERM | AFTER_HALF_TERM).data()
    for day in (date(2026, 12, 2), date(2026, 12, 3)):
        assert single(actions(plan(data, day), "penalty_notice_threshold")).stage == "2026-12-01"
        assert "penalty_notice_threshold" not in names(plan(data, day, history=done(a)))
    # On Monday 07/12 the window moves on to 28/09: the two sessions of 21/09 drop out.
    assert "penalty_notice_threshold" not in names(plan(data, date(2026, 12, 7)))


# ---------------------------------------------------------------------------------------------
# Attendance drop


def drop_school(
    recent_present_sessions: int, earlier_days: int = 35, recent_possible_days: int = 20
) -> School:
    """Earlier part: ``earlier_days`` present days before the 20-day window; window: the given
    presence out of ``recent_possible_days`` marked days (the rest X, not possible)."""
    window = school_days(back(TODAY, 19), TODAY)
    earlier = school_days(date(2026, 9, 1), back(TODAY, 20))[-earlier_days:] if earlier_days else ()
    marks = coded(earlier, "/", "\\")
    codes = ["/"] * recent_present_sessions
    codes += ["I"] * (2 * recent_possible_days - recent_present_sessions)
    codes += ["X"] * (2 * (20 - recent_possible_days))
    marks |= {d: (codes[2 * i], codes[2 * i + 1]) for i, d in enumerate(window)}
    s = School()
    s.add(pupil(1), marks)
    return s


@pytest.mark.parametrize(
    ("recent_present", "earlier_days", "recent_days", "raised"),
    [
        pytest.param(36, 35, 20, True, id="exactly-10-points-drop"),
        pytest.param(37, 35, 20, False, id="7.5-points-no-drop"),
        pytest.param(20, 10, 20, True, id="earlier-part-20-possible"),
        pytest.param(20, 9, 20, False, id="earlier-part-18-possible-too-few"),
        pytest.param(10, 35, 10, True, id="recent-part-20-possible"),
        pytest.param(9, 35, 9, False, id="recent-part-18-possible-too-few"),
    ],
)
def test_attendance_drop(
    recent_present: int, earlier_days: int, recent_days: int, raised: bool
) -> None:
    s = drop_school(recent_present, earlier_days, recent_days)
    assert ("attendance_drop" in names(plan(s.data()))) is raised


def test_attendance_drop_evidence_has_both_windows() -> None:
    a = single(actions(plan(drop_school(36).data()), "attendance_drop"))
    window_start = back(TODAY, 19)
    assert a.evidence["recent"] == {
        "start": window_start.isoformat(),
        "end": TODAY.isoformat(),
        "possible": 40,
        "present": 36,
        "percent": 90.0,
    }
    assert a.evidence["earlier"]["possible"] == 70
    assert a.evidence["earlier"]["present"] == 70
    assert a.evidence["drop_points"] == 10.0
    assert a.reason.startswith(
        f"attendance 90.0% (36/40 sessions) over the last 20 school days from "
        f"{window_start:%d/%m/%Y}, 10.0 points below 100.0% (70/70) earlier this year"
    )


def test_drop_points_from_settings() -> None:
    s = drop_school(37)
    assert "attendance_drop" in names(plan(s.data(), settings=policy(drop_points=7.5)))
    assert "attendance_drop" not in names(plan(s.data(), settings=policy(drop_points=7.6)))


def test_an_alert_carried_over_the_summer_is_raised_again_in_the_new_year() -> None:
    # 10 unauthorised sessions in July 2026; the 10-week window on Fri 04/09/2026 still holds
    # them (spanning two academic years), but the episode is counted within 2026-27.
    july = coded(school_days(date(2026, 7, 13), date(2026, 7, 17)), "O")
    s = School()
    s.add(pupil(1), present_days(date(2026, 6, 1), date(2026, 9, 4)) | july)
    last_year = single(actions(plan(s.data(), date(2026, 7, 17)), "penalty_notice_threshold"))
    assert last_year.stage == "2026-07-17"
    a = single(
        actions(
            plan(s.data(), date(2026, 9, 4), history=done(last_year)), "penalty_notice_threshold"
        )
    )
    assert a.stage == "2026-09-03"
    assert a.evidence["window_start"] < "2026-07-13"
