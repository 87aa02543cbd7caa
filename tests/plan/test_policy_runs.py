"""Children missing education: the unexplained-absence run on the school's own calendar, the
contact log, and the stages due at 5, 10 and 20 school days."""

from __future__ import annotations

from datetime import date

import pytest
from policy_builders import (
    TODAY,
    School,
    actions,
    back,
    calendar,
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

from mergekit.plan.policy import History, unexplained_run

CME = ("cme_inform", "cme_referral", "remove_from_roll")


def run_school(first: date, today: date, code: str = "O") -> School:
    """One pupil present from September, then absent (``code`` all day) from ``first``."""
    s = School()
    before = present_days(date(2025, 9, 3), first)
    before.pop(first, None)
    s.add(pupil(1), before | coded(school_days(first, today), code))
    return s


def cme(today: date, s: School, history: History | None = None) -> list[str]:
    return [n for n in names(plan(s.data(), today, history=history)) if n in CME]


@pytest.mark.parametrize(
    ("first", "today", "days"),
    [
        pytest.param(date(2026, 11, 18), date(2026, 11, 24), 5, id="crosses-a-weekend"),
        pytest.param(date(2026, 4, 29), date(2026, 5, 6), 5, id="crosses-bank-holiday-4-may"),
        pytest.param(date(2026, 10, 7), date(2026, 10, 13), 4, id="crosses-closure-9-oct"),
        pytest.param(date(2026, 10, 19), date(2026, 11, 6), 9, id="crosses-half-term-and-inset"),
        pytest.param(date(2025, 12, 15), date(2026, 1, 9), 9, id="crosses-christmas-and-inset"),
        pytest.param(date(2026, 7, 20), date(2026, 9, 4), 4, id="crosses-summer-into-new-year"),
        pytest.param(date(2026, 11, 27), date(2026, 11, 27), 1, id="one-day"),
    ],
)
def test_run_counts_school_days_only(first: date, today: date, days: int) -> None:
    s = run_school(first, today)
    marks = s.marks[pupil(1).upn]
    assert unexplained_run(marks, calendar(), today) == (first, days)


def test_run_on_first_day_of_term_continues_from_before_the_holiday() -> None:
    # Half term 26-30/10/2026, INSET Mon 02/11: Tue 03/11 is the first day of term.
    s = run_school(date(2026, 10, 19), date(2026, 11, 3), code="N")
    p = plan(s.data(), date(2026, 11, 3))
    assert "first_day_contact" in names(p)
    a = single(actions(p, "cme_inform"))
    assert (a.evidence["run_start"], a.evidence["run_days"]) == ("2026-10-19", 6)


@pytest.mark.parametrize(
    ("today_marks", "days"),
    [
        pytest.param(("O", "O"), 6, id="both-unexplained"),
        pytest.param(("G", "N"), 6, id="mixed-G-N"),
        pytest.param(("O", "/"), 0, id="present-pm-breaks"),
        pytest.param(("O", "I"), 0, id="illness-breaks"),
        pytest.param(("O", "U"), 0, id="late-U-breaks"),
        pytest.param(("O", ""), 0, id="no-pm-mark-breaks"),
    ],
)
def test_any_other_mark_breaks_the_run(today_marks: tuple[str, str], days: int) -> None:
    s = run_school(date(2026, 11, 20), TODAY)  # Fri 20 to Fri 27: 6 school days
    s.marks[pupil(1).upn][TODAY] = today_marks
    assert unexplained_run(s.marks[pupil(1).upn], calendar(), TODAY)[1] == days


def test_a_school_day_with_no_marks_breaks_the_run() -> None:
    s = run_school(date(2026, 11, 16), TODAY)
    del s.marks[pupil(1).upn][date(2026, 11, 20)]
    assert unexplained_run(s.marks[pupil(1).upn], calendar(), TODAY) == (date(2026, 11, 23), 5)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        pytest.param(4, [], id="4-days-nothing"),
        pytest.param(5, ["cme_inform"], id="5-days-inform"),
        pytest.param(9, ["cme_inform"], id="9-days-inform"),
        pytest.param(10, ["cme_inform", "cme_referral"], id="10-days-referral"),
        pytest.param(19, ["cme_inform", "cme_referral"], id="19-days"),
        pytest.param(20, list(CME), id="20-days-remove-from-roll"),
        pytest.param(22, list(CME), id="22-days-no-history-all-three"),
    ],
)
def test_cme_stages_due(days: int, expected: list[str]) -> None:
    s = run_school(back(TODAY, days - 1), TODAY)
    assert cme(TODAY, s) == expected


def test_cme_stage_already_done_is_not_listed_again() -> None:
    s = run_school(back(TODAY, 21), TODAY)
    inform = single(actions(plan(s.data()), "cme_inform"))
    assert cme(TODAY, s, done(inform)) == ["cme_referral", "remove_from_roll"]
    for a in actions(plan(s.data()), "cme_inform"):
        assert a.stage == back(TODAY, 21).isoformat()


def test_a_new_run_is_a_new_stage() -> None:
    # Inform done for an earlier run; the pupil came back, then a new run began.
    s = run_school(date(2026, 11, 16), TODAY)
    earlier = History(done=frozenset({(pupil(1).upn, "cme_inform", "2026-10-05")}))
    assert cme(TODAY, s, earlier) == ["cme_inform", "cme_referral"]


@pytest.mark.parametrize(
    ("contact_day", "made", "expected"),
    [
        pytest.param(None, False, ["cme_inform"], id="no-contact-at-all"),
        pytest.param(3, True, [], id="contact-made-on-day-4"),
        pytest.param(0, True, [], id="contact-made-on-day-1"),
        pytest.param(3, False, ["cme_inform"], id="attempt-on-day-4-unsuccessful"),
        pytest.param(-1, True, ["cme_inform"], id="contact-before-the-run-began"),
    ],
)
def test_successful_contact_since_the_run_began(
    contact_day: int | None, made: bool, expected: list[str]
) -> None:
    first = back(TODAY, 5)
    s = run_school(first, TODAY)
    if contact_day is not None:
        when = school_days(first, TODAY)[contact_day] if contact_day >= 0 else back(first, 1)
        s.contact_log(pupil(1).upn, when, made)
    assert cme(TODAY, s) == expected


def test_cme_evidence() -> None:
    first = back(TODAY, 11)
    s = run_school(first, TODAY)
    upn = pupil(1).upn
    s.contact_log(upn, back(first, 3), True)  # before the run: not relevant
    s.contact_log(upn, school_days(first, TODAY)[1], False, "Home visit")
    s.contact_log(upn, school_days(first, TODAY)[4], False, "Text")
    a = single(actions(plan(s.data()), "cme_referral"))
    assert a.stage == first.isoformat()
    ev = a.evidence
    assert ev["run_start"] == first.isoformat()
    assert ev["run_days"] == 12
    assert ev["last_attended"] == back(first, 1).isoformat()
    assert [x["method"] for x in ev["contact_attempts"]] == ["Home visit", "Text"]
    assert a.reason == (
        f"absent without explanation (G, N or O all day) for 12 school days since "
        f"{first:%d/%m/%Y}, last attended {back(first, 1):%d/%m/%Y}, 2 contact attempts and "
        "no successful contact: complete the CME referral form"
    )


def test_pupil_joining_mid_term() -> None:
    # Joined Mon 09/11/2026, never attended: no marks before, so the run starts on joining.
    s = School()
    s.add(
        pupil(1, admission_date=date(2026, 11, 9)),
        coded(school_days(date(2026, 11, 9), TODAY), "O"),
    )
    p = plan(s.data())
    a = single(actions(p, "cme_referral"))
    assert a.evidence["run_start"] == "2026-11-09"
    assert a.evidence["run_days"] == 15
    assert a.evidence["last_attended"] is None
    # Their 30 possible sessions are their own: severe absence and letter 1 from them.
    letter = single(actions(p, "pa_letter_1"))
    assert letter.evidence["possible"] == 30


def test_thresholds_come_from_policy_settings() -> None:
    s = run_school(back(TODAY, 2), TODAY)
    assert cme(TODAY, s) == []
    settings = policy(cme_inform_days=3, cme_referral_days=4, remove_from_roll_days=6)
    assert [n for n in names(plan(s.data(), settings=settings)) if n in CME] == ["cme_inform"]
