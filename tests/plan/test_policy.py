"""The policy rules, table by table: warning letters, day-one contact, events, who is in scope,
summary-only workbooks. CME runs are in test_policy_runs.py, alerts in test_policy_alerts.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest
from policy_builders import (
    TODAY,
    School,
    actions,
    back,
    coded,
    contact,
    done,
    names,
    plan,
    policy,
    present_days,
    pupil,
    single,
    ytd,
)

from mergekit.core.actions import DAY_BY_DAY
from mergekit.core.model import AttendanceSummary, EventKind, Person
from mergekit.plan.planning import load_history
from mergekit.plan.policy import History

# ---------------------------------------------------------------------------------------------
# Warning letters: the threshold, both rules, the minimum sessions


@pytest.mark.parametrize(
    ("possible", "present", "rule", "letter"),
    [
        pytest.param(100, 90, "policy", False, id="policy-exactly-90.0-no-letter"),
        pytest.param(100, 89, "policy", True, id="policy-one-session-below-letter"),
        pytest.param(100, 91, "policy", False, id="policy-one-session-above-no-letter"),
        pytest.param(100, 90, "dfe", True, id="dfe-exactly-90.0-is-persistent-absence"),
        pytest.param(100, 91, "dfe", False, id="dfe-one-session-above-no-letter"),
        pytest.param(100, 89, "dfe", True, id="dfe-one-session-below-letter"),
        pytest.param(19, 1, "policy", False, id="min-possible-19-no-letter"),
        pytest.param(20, 1, "policy", True, id="min-possible-20-letter"),
    ],
)
def test_first_letter_threshold(possible: int, present: int, rule: str, letter: bool) -> None:
    s = School()
    s.add(pupil(1), ytd(TODAY, possible, present))
    p = plan(s.data(), settings=policy(pa_rule=rule))
    assert ("pa_letter_1" in names(p)) is letter


def test_fractional_threshold_is_compared_exactly() -> None:
    # 37/40 is exactly 92.5%: not below 92.5 under the policy rule; 36/40 (90%) is.
    s = School()
    s.add(pupil(1), ytd(TODAY, 40, 37))
    s.add(pupil(2), ytd(TODAY, 40, 36))
    p = plan(s.data(), settings=policy(pa_threshold_percent=92.5))
    assert {a.upn for a in actions(p, "pa_letter_1")} == {pupil(2).upn}


def test_letter_reason_and_evidence_carry_the_numbers() -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 86))
    first_sent = back(TODAY, 20)
    p = plan(s.data(), history=History(letters={upn: {1: first_sent}}))
    a = single(actions(p, "pa_letter_2"))
    assert a.reason == (
        f"attendance 86.0% (86/100 sessions), below 90%; letter 1 sent {first_sent:%d/%m/%Y}"
    )
    assert a.stage == "2026-27"
    assert a.evidence["possible"] == 100
    assert a.evidence["present"] == 86
    assert a.evidence["absent"] == 14
    assert a.evidence["percent"] == 86.0
    assert a.evidence["previous_letters"] == [{"number": 1, "date": first_sent.isoformat()}]
    json.dumps(a.evidence)  # JSON-serialisable


def test_reason_never_reads_90_point_0_below_90() -> None:
    # 332/369 = 89.97%, which rounds to 90.0 at one decimal: the reason shows 89.97 instead.
    late = date(2027, 7, 20)
    s = School()
    s.add(pupil(1), ytd(late, 369, 332))
    a = single(actions(plan(s.data(), late), "pa_letter_1"))
    assert a.reason.startswith("attendance 89.97% (332/369 sessions), below 90%")


@pytest.mark.parametrize(
    ("gap", "letter"),
    [
        pytest.param(14, False, id="14-school-days-after-letter-1-too-soon"),
        pytest.param(15, True, id="15-school-days-after-letter-1-letter-2"),
    ],
)
def test_letters_are_spaced_in_school_days(gap: int, letter: bool) -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 80))
    sent = back(TODAY, gap)
    p = plan(s.data(), history=History(letters={upn: {1: sent}}))
    assert ("pa_letter_2" in names(p)) is letter
    assert "pa_letter_1" not in names(p)
    if letter:
        assert single(actions(p, "pa_letter_2")).evidence["school_days_since_last_letter"] == 15


def test_letter_spacing_skips_half_term_and_inset() -> None:
    # Letter 1 on Fri 16/10/2026; half term 26-30/10, INSET 02/11, closure 09/10 is before.
    # School days after it: 19-23/10 (5), 03/11-06/11 (4), 09-13/11 (5) -> 14 on 13/11.
    s = School()
    upn = s.add(pupil(1), ytd(date(2026, 11, 16), 60, 40))
    history = History(letters={upn: {1: date(2026, 10, 16)}})
    assert "pa_letter_2" not in names(plan(s.data(), date(2026, 11, 13), history=history))
    assert "pa_letter_2" in names(plan(s.data(), date(2026, 11, 16), history=history))


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        pytest.param({}, "pa_letter_1", id="none-sent-letter-1-even-if-very-low"),
        pytest.param({1: 40}, "pa_letter_2", id="letter-1-sent-letter-2-never-3"),
        pytest.param({1: 45, 2: 30}, "pa_letter_3", id="letters-1-2-sent-letter-3"),
        pytest.param({1: 50, 2: 35, 3: 20}, None, id="three-sent-at-most-3"),
        pytest.param({2: 40}, "pa_letter_3", id="gap-in-imported-history-never-repeats"),
    ],
)
def test_letters_go_in_order(sent: dict[int, int], expected: str | None) -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 30))
    history = History(letters={upn: {n: back(TODAY, ago) for n, ago in sent.items()}})
    letters = [n for n in names(plan(s.data(), history=history)) if n.startswith("pa_letter")]
    assert letters == ([expected] if expected else [])


def test_no_letter_once_attendance_has_recovered() -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 95))
    p = plan(s.data(), history=History(letters={upn: {1: back(TODAY, 30)}}))
    assert not [n for n in names(p) if n.startswith("pa_letter")]


def test_letters_from_last_year_do_not_count() -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 80))
    history = History(letters={upn: {1: date(2026, 3, 2), 2: date(2026, 5, 11)}})
    assert "pa_letter_1" in names(plan(s.data(), history=history))


def test_letter_done_in_the_ledger_is_not_planned_again() -> None:
    s = School()
    s.add(pupil(1), ytd(TODAY, 100, 80))
    first = single(actions(plan(s.data()), "pa_letter_1"))
    assert "pa_letter_1" not in names(plan(s.data(), history=done(first)))


def test_letter_history_imported_from_the_workbook_letters_sheet() -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 80))
    s.letter(upn, 1, date(2026, 10, 2))
    s.letter(upn, 1, date(2026, 3, 1))  # last academic year: ignored
    data = s.data()
    history = load_history(None, data, TODAY)
    assert history.letters == {upn: {1: date(2026, 10, 2)}}
    a = single(actions(plan(data, history=history), "pa_letter_2"))
    assert a.reason.endswith("letter 1 sent 02/10/2026")


# ---------------------------------------------------------------------------------------------
# Day one


@pytest.mark.parametrize(
    ("am", "pm", "first_day", "vulnerable"),
    [
        pytest.param("N", "N", True, True, id="N-both-sessions"),
        pytest.param("/", "N", True, True, id="N-pm-only"),
        pytest.param("I", "I", False, True, id="illness-vulnerable-only"),
        pytest.param("O", "/", False, True, id="unauthorised-am-vulnerable-only"),
        pytest.param("/", "\\", False, False, id="present-nothing"),
        pytest.param("D", "D", False, False, id="dual-registered-not-an-absence"),
    ],
)
def test_day_one_contact(am: str, pm: str, first_day: bool, vulnerable: bool) -> None:
    s = School()
    marks = present_days(date(2026, 11, 2), TODAY) | {TODAY: (am, pm)}
    s.add(pupil(1), marks)
    s.add(pupil(2, flags=frozenset({"looked_after"})), marks)
    p = plan(s.data())
    assert ("first_day_contact" in names(p, pupil(1).upn)) is first_day
    assert ("vulnerable_day1_contact" in names(p, pupil(2).upn)) is vulnerable
    assert "vulnerable_day1_contact" not in names(p, pupil(1).upn)


def test_first_day_contact_lists_phones_in_priority_order_without_no_contact() -> None:
    s = School()
    upn = pupil(1).upn
    s.add(
        pupil(1),
        {TODAY: ("N", "N")},
        contact(upn, "Mr Barred Parent", priority=1, mobile="07700 900111", no_contact=True),
        contact(upn, "Ms Second Carer", priority=3, mobile="07700 900333", relationship="Aunt"),
        contact(upn, "Mrs First Parent", priority=2, mobile="", landline="01632 960222"),
    )
    a = single(actions(plan(s.data()), "first_day_contact"))
    assert [c["name"] for c in a.evidence["contacts"]] == ["Mrs First Parent", "Ms Second Carer"]
    assert a.evidence["contacts"][0]["phones"] == ["01632 960222"]
    assert a.evidence["withheld_no_contact"] == 1
    assert "07700 900111" not in json.dumps(a.evidence)
    assert a.reason == (
        "AM and PM marked N (reason not yet established) on 27/11/2026; "
        "call Mrs First Parent (Mother) on 01632 960222"
    )
    assert a.stage == "2026-11-27"


@pytest.mark.parametrize(
    ("flags", "vulnerable"),
    [
        pytest.param({"child_protection_plan"}, True, id="cp-plan"),
        pytest.param({"child_in_need_plan"}, True, id="cin-plan"),
        pytest.param({"domestic_abuse_notification"}, False, id="da-alone-not-enough"),
        pytest.param({"domestic_abuse_notification", "early_help"}, True, id="da-with-early-help"),
        pytest.param({"early_help"}, False, id="early-help-alone"),
    ],
)
def test_vulnerable_flags(flags: set[str], vulnerable: bool) -> None:
    s = School()
    s.add(pupil(1, flags=frozenset(flags)), {TODAY: ("O", "O")})
    assert ("vulnerable_day1_contact" in names(plan(s.data()))) is vulnerable


def test_vulnerable_contact_carries_the_social_worker() -> None:
    s = School()
    worker = Person("Sam Worker", "sam.worker@example.gov.uk", "01632 960999")
    s.add(pupil(1, flags=frozenset({"looked_after"}), social_worker=worker), {TODAY: ("I", "I")})
    a = single(actions(plan(s.data()), "vulnerable_day1_contact"))
    assert a.evidence["social_worker"] == {
        "name": "Sam Worker",
        "phone": "01632 960999",
        "email": "sam.worker@example.gov.uk",
    }
    assert "contact social worker Sam Worker 01632 960999" in a.reason
    assert "absent on 27/11/2026, AM and PM I (illness); contact" in a.reason


def test_vulnerable_flags_are_configurable() -> None:
    s = School()
    s.add(pupil(1, flags=frozenset({"young_carer"})), {TODAY: ("I", "I")})
    assert not names(plan(s.data()))
    p = plan(s.data(), settings=policy(vulnerable_flags=["young_carer"]))
    assert "vulnerable_day1_contact" in names(p)


# ---------------------------------------------------------------------------------------------
# Events


@pytest.mark.parametrize(
    ("kind", "received", "effective", "planned"),
    [
        pytest.param(
            EventKind.PLANNED_MOVE, date(2026, 11, 20), date(2026, 12, 18), True, id="planned-move"
        ),
        pytest.param(EventKind.HOME_EDUCATION, date(2026, 11, 25), None, True, id="home-education"),
        pytest.param(
            EventKind.PLANNED_MOVE, date(2026, 11, 30), None, False, id="received-after-today"
        ),
        pytest.param(
            EventKind.PLANNED_MOVE,
            date(2026, 3, 2),
            date(2026, 4, 1),
            False,
            id="last-academic-year",
        ),
        pytest.param(
            EventKind.PLANNED_MOVE,
            date(2026, 7, 1),
            date(2026, 9, 30),
            True,
            id="received-last-year-moving-this-year",
        ),
    ],
)
def test_events(kind: EventKind, received: date, effective: date | None, planned: bool) -> None:
    s = School()
    upn = s.add(pupil(1), present_days(date(2026, 11, 2), TODAY))
    s.event(upn, kind, received, effective_date=effective, new_country="Portugal")
    p = plan(s.data())
    assert (str(kind) in names(p)) is planned
    if planned:
        a = single(actions(p, str(kind)))
        assert a.stage == received.isoformat()
        assert a.evidence["effective_date"] == (effective.isoformat() if effective else None)
        assert f"{received:%d/%m/%Y}" in a.reason
        assert str(kind) not in names(plan(s.data(), history=done(a)))


# ---------------------------------------------------------------------------------------------
# Scope, dates, summary-only workbooks


@pytest.mark.parametrize(
    ("year", "considered"),
    [
        pytest.param(0, False, id="reception-not-compulsory"),
        pytest.param(1, True, id="year-1"),
        pytest.param(11, True, id="year-11"),
        pytest.param(12, False, id="year-12-ignored"),
        pytest.param(None, False, id="no-year-group"),
    ],
)
def test_only_pupils_of_compulsory_school_age(year: int | None, considered: bool) -> None:
    s = School()
    s.add(pupil(1, year=year), ytd(TODAY, 100, 50, "O") | {TODAY: ("N", "N")})
    p = plan(s.data())
    assert bool(p.actions) is considered
    if not considered:
        assert p.notes  # says how many pupils were left out


def test_marks_after_today_are_ignored() -> None:
    s = School()
    future = coded([date(2026, 11, 30), date(2026, 12, 1)], "N")
    s.add(pupil(1), present_days(date(2026, 9, 3), TODAY) | future)
    s.add(pupil(2), ytd(TODAY, 100, 100) | coded([date(2026, 12, d) for d in range(1, 19)], "O"))
    assert plan(s.data()).actions == ()


def test_summary_only_workbook_uses_summary_figures_and_skips_day_by_day_rules() -> None:
    s = School(has_marks=False)
    s.add(pupil(1, summary=AttendanceSummary(possible=100, present=86)))
    s.add(pupil(2, summary=AttendanceSummary(percent=45.0)))
    s.add(pupil(3, summary=AttendanceSummary(possible=100, present=95)))
    p = plan(s.data())
    assert names(p, pupil(1).upn) == ["pa_letter_1"]
    assert names(p, pupil(2).upn) == ["pa_letter_1", "severe_absence"]
    assert names(p, pupil(3).upn) == []
    assert "(summary column)" in single(actions(p, "pa_letter_1", pupil(2).upn)).reason
    skipped = " ".join(p.skipped)
    for rule in DAY_BY_DAY:
        assert rule in skipped
    assert "no session marks" in skipped


def test_evaluate_does_not_move_a_non_school_today_but_notes_it() -> None:
    s = School()
    s.add(pupil(1), ytd(TODAY, 100, 80))
    p = plan(s.data(), date(2026, 11, 28))
    assert any("28/11/2026 is not a school day" in n for n in p.notes)
    assert "pa_letter_1" in names(p)


def test_actions_are_sorted_by_action_then_hand_out_order() -> None:
    s = School()
    s.add(pupil(3, year=7, reg_group="7B"), ytd(TODAY, 100, 80) | {TODAY: ("N", "N")})
    s.add(pupil(1, year=9, reg_group="9A"), ytd(TODAY, 100, 80) | {TODAY: ("N", "N")})
    s.add(pupil(2, year=7, reg_group="7A"), ytd(TODAY, 100, 80))
    p = plan(s.data())
    order = [(a.kind, a.upn) for a in p.actions]
    u1, u2, u3 = (pupil(n).upn for n in (1, 2, 3))
    assert order == [
        ("first_day_contact", u3),
        ("first_day_contact", u1),
        ("pa_letter_1", u2),
        ("pa_letter_1", u3),
        ("pa_letter_1", u1),
    ]


def test_every_action_carries_pupil_details() -> None:
    s = School()
    s.add(pupil(1, year=8, reg_group="8RB"), ytd(TODAY, 100, 80))
    a = single(plan(s.data()).actions)
    assert (a.upn, a.name, a.year, a.reg_group) == (pupil(1).upn, pupil(1).full_name, 8, "8RB")
    assert a.academic_year == "2026-27"
    assert replace(a, approved=False).key() == a.key()


def test_without_terms_the_school_day_rules_say_they_were_skipped() -> None:
    from mergekit.core.calendar import SchoolCalendar

    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 40, "O"))
    history = History(letters={upn: {1: date(2026, 9, 14)}})
    p = plan(s.data(), history=history, cal=SchoolCalendar([]))
    assert names(p) == ["severe_absence"]
    assert "[calendar] has no terms" in p.skipped[0]
    assert "pa_letter_2" in p.skipped[0]
