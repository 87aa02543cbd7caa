"""No marks for today after registration: the export is old. On the example school, whose
marks stop on Friday 27/11/2026, Monday 30/11 has no register: check says so first, the plan
leaves out everything that needs today's marks, and run writes no letter on old figures."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import needs_soffice
from policy_builders import TODAY, School, present_days, pupil, school_folder

from mergekit.cli import main
from mergekit.core.actions import NEEDS_TODAYS_MARKS
from mergekit.core.workspace import open_workspace
from mergekit.day.check import run_check
from mergekit.plan.register import register_gap

MONDAY = "2026-11-30"
MESSAGE = "no marks recorded for Monday 30/11/2026 - export today's register first"


def cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_check_says_first_that_todays_register_is_missing(example_school: Path) -> None:
    result = cli("check", "--config", str(example_school), "--today", MONDAY)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:4] == [
        "Checking tracking.xlsx and transfer_list.xlsx for Monday 30/11/2026",
        "",
        "Today's register (1)",
        "  error   tracking.xlsx: Attendance Marks: "
        + MESSAGE
        + " (the latest marks are for Friday 27/11/2026; first-day calls, warning letters, "
        "alerts and CME steps wait for it, so nothing is made on old figures)",
    ]
    assert lines[-1].endswith("1 error, 1 warning")
    # The day the marks are for has its register: nothing to say.
    friday = cli("check", "--config", str(example_school), "--json")
    assert friday.exit_code == 0
    assert "register" not in {p["group"] for p in json.loads(friday.stdout)["problems"]}


def test_the_plan_leaves_out_what_needs_todays_marks_and_says_so(example_school: Path) -> None:
    result = cli("plan", "--config", str(example_school), "--today", MONDAY, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0].startswith(MESSAGE)
    doc = json.loads(result.stdout)
    assert {a["action"] for a in doc["actions"]} == {"planned_move", "home_education"}
    skipped = next(x for x in result.stderr.splitlines() if "would be planned" in x)
    assert "first-day calls, warning letters, alerts and CME steps are not planned" in skipped
    assert "on the old figures up to 27/11/2026" in skipped


@needs_soffice
@pytest.mark.libreoffice
def test_run_makes_no_letter_on_old_figures_and_asks_for_the_register(
    example_school: Path,
) -> None:
    result = cli("run", "--config", str(example_school), "--today", MONDAY)
    assert result.exit_code == 1, result.output  # a person must act
    out = result.output
    assert f"   error   tracking.xlsx: Attendance Marks: {MESSAGE}" in out
    assert "Needs a person:\n  - no marks recorded for Monday 30/11/2026: export today's " in out
    docx = example_school.parent / "out" / "2026-11-30" / "docx"
    made = sorted(p.name for p in docx.glob("*.docx"))
    assert len(made) == 2  # the two planned-move forms, which need no marks
    assert all(name.endswith("_planned_move.docx") for name in made)
    assert "First day absence contact" not in out.split("2. Plan", 1)[1].split("3. ", 1)[0]


# ---------------------------------------------------------------------------------------------
# The rule itself: pure, the time of day a parameter


def one_pupil(last: date) -> School:
    s = School()
    s.add(pupil(1), present_days(date(2026, 11, 2), last))
    return s


def test_register_gap_is_pure_and_waits_for_registration_to_close() -> None:
    data = one_pupil(date(2026, 11, 26)).data()
    closes = time(9, 30)
    assert register_gap(data, TODAY, time(8, 45), closes) is None  # not closed yet
    gap = register_gap(data, TODAY, time(9, 31), closes)
    assert gap is not None
    assert gap.latest == date(2026, 11, 26)
    assert register_gap(data, TODAY, None, closes) == gap  # another day: long closed
    assert register_gap(one_pupil(TODAY).data(), TODAY, None, closes) is None
    assert "planned_move" not in NEEDS_TODAYS_MARKS
    assert {"first_day_contact", "pa_letter_1", "cme_referral"} <= set(NEEDS_TODAYS_MARKS)


def test_before_registration_on_the_real_day_it_is_a_warning_not_an_error(
    tmp_path: Path,
) -> None:
    cfg = school_folder(tmp_path / "school", one_pupil(date(2026, 11, 26)).data())
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("today = 2026-11-27", "")
        + '\n[policy]\nregistration_closes = "09:15"\n',
        encoding="utf-8",
    )

    def at(hour: int, minute: int) -> datetime:
        return datetime(2026, 11, 27, hour, minute)

    early = open_workspace(cfg, clock=lambda: at(8, 50))
    assert early.now == time(8, 50)
    report = run_check(early.settings, early.calendar, early.today, early.now)
    assert report.register is None
    (warned,) = [p for p in report.problems if p.group == "register"]
    assert str(warned).endswith(
        "no marks for Friday 27/11/2026 yet: it is 08:50, before registration closes at 09:15 "
        "- the first-day calls need today's register: export it after registration and run "
        "again"
    )
    late = open_workspace(cfg, clock=lambda: at(9, 20))
    report = run_check(late.settings, late.calendar, late.today, late.now)
    assert report.register is not None
    assert report.blocking == []  # it holds back only what depends on it
    held = {a for p, actions in report.scoped if p.group == "register" for a in actions}
    assert held == set(NEEDS_TODAYS_MARKS)


def test_registration_closes_must_be_a_time(tmp_path: Path) -> None:
    cfg = school_folder(tmp_path / "school", one_pupil(TODAY).data())
    cfg.write_text(
        cfg.read_text(encoding="utf-8") + '\n[policy]\nregistration_closes = "half nine"\n',
        encoding="utf-8",
    )
    result = cli("check", "--config", str(cfg))
    assert result.exit_code == 1
    assert "registration_closes = 'half nine' is not a time - write it as \"09:30\"" in (
        result.output
    )
