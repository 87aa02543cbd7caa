"""`mergekit plan`, `plan --xlsx`, `plan --record` and `mergekit history`, on real workbooks
written into a temporary folder and read back by the real reader."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from policy_builders import (
    TODAY,
    School,
    back,
    coded,
    present_days,
    pupil,
    school_days,
    school_folder,
    ytd,
)

from mergekit.cli import main
from mergekit.core.errors import WorkbookError
from mergekit.core.model import AttendanceSummary, EventKind
from mergekit.plan.planning import read_approvals

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def small_school() -> School:
    s = School()
    s.add(pupil(1, surname="Ashworth", forename="Amy"), ytd(TODAY, 100, 80))
    s.add(
        pupil(2, surname="Baker", forename="Ben", year=7, reg_group="7C"),
        present_days(date(2026, 11, 2), TODAY) | {TODAY: ("N", "N")},
    )
    run_from = back(TODAY, 21)
    before = present_days(date(2026, 9, 3), back(run_from, 1))
    s.add(
        pupil(3, surname="Cole", forename="Cara"),
        before | coded(school_days(run_from, TODAY), "O"),
    )
    s.add(pupil(4, surname="Dunn", forename="Dev", year=12, reg_group="12X"), ytd(TODAY, 100, 40))
    upn5 = s.add(pupil(5, surname="Evans", forename="Eli"), ytd(TODAY, 100, 85))
    s.letter(upn5, 1, back(TODAY, 20))
    upn6 = s.add(pupil(6, surname="Frost", forename="Fay"), present_days(date(2026, 11, 2), TODAY))
    s.event(upn6, EventKind.PLANNED_MOVE, date(2026, 11, 20), effective_date=date(2026, 12, 18))
    return s


EXPECTED = {
    (pupil(1).upn, "pa_letter_1"),
    (pupil(2).upn, "first_day_contact"),
    (pupil(3).upn, "pa_letter_1"),
    (pupil(3).upn, "penalty_notice_threshold"),
    (pupil(3).upn, "attendance_drop"),
    (pupil(3).upn, "cme_inform"),
    (pupil(3).upn, "cme_referral"),
    (pupil(3).upn, "remove_from_roll"),
    (pupil(5).upn, "pa_letter_2"),
    (pupil(6).upn, "planned_move"),
}


@pytest.fixture
def school(tmp_path: Path) -> Path:
    return school_folder(tmp_path / "school", small_school().data())


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def plan_json(cfg: Path, *extra: str) -> dict[str, object]:
    result = run("plan", "--config", str(cfg), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def pairs(doc: dict[str, object]) -> set[tuple[str, str]]:
    return {(a["upn"], a["action"]) for a in doc["actions"]}  # type: ignore[attr-defined, index]


def test_plan_json_matches_the_contract(school: Path) -> None:
    doc = plan_json(school)
    assert list(doc) == ["today", "actions", "skipped"]
    assert doc["skipped"] == []
    assert doc["today"] == "2026-11-27"
    for a in doc["actions"]:  # type: ignore[attr-defined]
        assert list(a) == ["upn", "name", "action", "reason", "evidence"]
    assert pairs(doc) == EXPECTED
    letter = next(a for a in doc["actions"] if a["upn"] == pupil(5).upn)  # type: ignore[attr-defined]
    assert letter["reason"] == (
        f"attendance 85.0% (85/100 sessions), below 90%; letter 1 sent {back(TODAY, 20):%d/%m/%Y}"
    )
    assert letter["name"] == "Eli Evans"


def test_plan_does_not_create_a_ledger(school: Path) -> None:
    plan_json(school)
    assert not (school.parent / "mergekit-ledger.sqlite").exists()
    assert sorted(p.name for p in school.parent.iterdir()) == ["mergekit.toml", "tracking.xlsx"]


def test_plan_table_is_grouped_by_action_with_counts(school: Path) -> None:
    result = run("plan", "--config", str(school))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Plan for Friday 27/11/2026: 10 actions for 5 pupils" in out
    assert "Attendance warning letter 1 (2)" in out
    assert "Remove From Roll checklist (1)" in out
    assert out.index("First day absence contact (1)") < out.index("Attendance warning letter 1")
    line = next(x for x in out.splitlines() if "Ben Baker" in x)
    assert pupil(2).upn in line
    assert "Y7 7C" in line
    assert "call Mrs Ada Parent (Mother) on 07700 900001" in line
    assert "Dev Dunn" not in out  # year 12
    assert "1 pupil outside years 1-11" in result.stderr


def test_plan_on_a_saturday_works_for_friday_and_says_so(school: Path) -> None:
    result = run("plan", "--config", str(school), "--today", "2026-11-28", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["today"] == "2026-11-27"
    assert "Saturday 28/11/2026 is not a school day (weekend)" in result.stderr


def test_record_then_plan_plans_nothing_recorded_again(school: Path) -> None:
    result = run("plan", "--config", str(school), "--record")
    assert result.exit_code == 0, result.output
    assert "Recorded 10 actions as done" in result.output
    assert (school.parent / "mergekit-ledger.sqlite").is_file()
    assert plan_json(school)["actions"] == []
    # The next school day: Cara is still absent, but every step of her run is done.
    assert plan_json(school, "--today", "2026-11-30")["actions"] == []


def test_struck_actions_in_plan_xlsx_are_not_recorded(school: Path) -> None:
    out_dir = school.parent / "out" / "2026-11-27"
    result = run("plan", "--config", str(school), "--xlsx", str(out_dir / "plan.xlsx"))
    assert result.exit_code == 0, result.output
    set_approve(out_dir / "plan.xlsx", pupil(1).upn, "pa_letter_1", "N")
    result = run("plan", "--config", str(school), "--record")
    assert result.exit_code == 0, result.output
    assert "Recorded 9 actions as done" in result.output
    assert "1 not approved, left out" in result.output
    # Struck, so not in the JSON of what will be done, but listed as struck in the table.
    assert pairs(plan_json(school)) == set()
    table = run("plan", "--config", str(school)).stdout
    assert "[struck on 27/11/2026]" in next(x for x in table.splitlines() if "Amy Ashworth" in x)


def set_approve(path: Path, upn: str, action: str, value: str | None) -> None:
    wb = load_workbook(path)
    ws = wb["Plan"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == upn and row[4].value == action:
            row[7].value = value
    wb.save(path)


def test_plan_xlsx_review_workbook(school: Path, tmp_path: Path) -> None:
    target = tmp_path / "review.xlsx"
    result = run("plan", "--config", str(school), "--xlsx", str(target))
    assert result.exit_code == 0, result.output
    assert f"Wrote {target}" in result.output
    wb = load_workbook(target)
    ws = wb["Plan"]
    assert [c.value for c in ws[1]] == [
        "UPN",
        "Name",
        "Year",
        "Reg group",
        "Action",
        "Reason",
        "Stage",
        "Approve",
        "Note",
    ]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:I{ws.max_row}"
    assert ws.max_row == 1 + len(EXPECTED)
    assert {r[7].value for r in ws.iter_rows(min_row=2)} == {"Y"}
    validations = ws.data_validations.dataValidation
    assert [(v.formula1, str(v.sqref)) for v in validations] == [('"Y,N"', f"H2:H{ws.max_row}")]
    assert ws.column_dimensions["F"].width >= 60
    keys = read_approvals(target)
    assert {(u, a) for u, a, _ in keys} == EXPECTED
    assert all(keys.values())


def test_rewriting_plan_xlsx_keeps_staff_decisions(school: Path, tmp_path: Path) -> None:
    target = tmp_path / "review.xlsx"
    run("plan", "--config", str(school), "--xlsx", str(target))
    set_approve(target, pupil(6).upn, "planned_move", "N")
    result = run("plan", "--config", str(school), "--xlsx", str(target))
    assert result.exit_code == 0, result.output
    assert "kept 1 N" in result.output
    assert "[struck]" in next(x for x in result.stdout.splitlines() if "Fay Frost" in x)
    approvals = read_approvals(target)
    assert [k for k, ok in approvals.items() if not ok] == [
        (pupil(6).upn, "planned_move", "2026-11-20")
    ]


def test_read_approvals_tolerates_resorted_rows_and_yes_no(tmp_path: Path, school: Path) -> None:
    target = tmp_path / "review.xlsx"
    run("plan", "--config", str(school), "--xlsx", str(target))
    wb = load_workbook(target)
    ws = wb["Plan"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    rows.sort(key=lambda r: str(r[1]), reverse=True)  # staff sorted by name, Z-A
    for i, values in enumerate(rows, start=2):
        for j, v in enumerate(values, start=1):
            ws.cell(i, j, v)
    ws.cell(2, 8, "no")
    ws.cell(3, 8).value = None  # cleared: counts as N
    ws.cell(4, 8, "Yes")
    wb.save(target)
    approvals = read_approvals(target)
    struck = {(k[0], k[1]) for k, ok in approvals.items() if not ok}
    assert struck == {(rows[0][0], rows[0][4]), (rows[1][0], rows[1][4])}
    assert len(approvals) == len(EXPECTED)


def test_read_approvals_names_the_cell_of_a_bad_value(tmp_path: Path, school: Path) -> None:
    target = tmp_path / "review.xlsx"
    run("plan", "--config", str(school), "--xlsx", str(target))
    wb = load_workbook(target)
    wb["Plan"]["H5"] = "maybe"
    wb.save(target)
    with pytest.raises(
        WorkbookError, match=r"review.xlsx: Plan!H5 \(Approve\): 'maybe' is not Y or N"
    ):
        read_approvals(target)
    result = run("plan", "--config", str(school), "--xlsx", str(target))
    assert result.exit_code == 1
    assert "Plan!H5" in result.output
    assert "Traceback" not in result.output


def test_plan_xlsx_refuses_to_overwrite_another_workbook(tmp_path: Path, school: Path) -> None:
    other = tmp_path / "precious.xlsx"
    shutil.copy(school.parent / "tracking.xlsx", other)
    before = other.read_bytes()
    result = run("plan", "--config", str(school), "--xlsx", str(other))
    assert result.exit_code == 1
    assert "is not a plan workbook" in result.output
    assert other.read_bytes() == before


def test_check_errors_warn_and_block_recording(tmp_path: Path) -> None:
    s = small_school()
    # A mark on a Saturday: `mergekit check` reports it as an error.
    s.marks[pupil(1).upn][date(2026, 11, 21)] = ("/", "\\")
    cfg = school_folder(tmp_path / "school", s.data())
    result = run("plan", "--config", str(cfg), "--json")
    assert result.exit_code == 0
    assert "`mergekit check` finds 1 error" in result.stderr
    assert pairs(json.loads(result.stdout)) == EXPECTED
    result = run("plan", "--config", str(cfg), "--record")
    assert result.exit_code == 1
    assert "nothing recorded" in result.output
    assert not (cfg.parent / "mergekit-ledger.sqlite").exists()


def test_history_command(school: Path) -> None:
    result = run("history", "--config", str(school))
    assert result.exit_code == 0
    assert "No ledger yet" in result.output
    assert not (school.parent / "mergekit-ledger.sqlite").exists()
    run("plan", "--config", str(school), "--record")
    result = run("history", "--config", str(school))
    assert result.exit_code == 0, result.output
    assert "5 pupils with a record" in result.output
    row = next(x for x in result.output.splitlines() if pupil(3).upn in x)
    assert "Cara Cole" in row
    assert row.split()[3] == "6"  # actions
    result = run("history", "--config", str(school), pupil(3).upn.lower())
    assert result.exit_code == 0, result.output
    assert f"{pupil(3).upn} Cara Cole: 6 entries" in result.output
    assert "remove_from_roll: absent without explanation" in result.output
    result = run("history", "--config", str(school), pupil(4).upn)
    assert f"Nothing recorded for {pupil(4).upn} Dev Dunn" in result.output


def test_summary_only_workbook_plans_letters_and_says_what_was_skipped(tmp_path: Path) -> None:
    s = School(has_marks=False)
    s.add(pupil(1, summary=AttendanceSummary(possible=120, present=100)))
    s.add(pupil(2, summary=AttendanceSummary(possible=120, present=118)))
    cfg = school_folder(tmp_path / "school", s.data())
    result = run("plan", "--config", str(cfg), "--json")
    assert result.exit_code == 0, result.output
    assert pairs(json.loads(result.stdout)) == {(pupil(1).upn, "pa_letter_1")}
    assert "Skipped: first_day_contact, vulnerable_day1_contact" in result.stderr
    assert "no session marks (only summary columns)" in result.stderr


# ---------------------------------------------------------------------------------------------
# The example school (examples/tracking.xlsx is generated by another part of the project)


@pytest.fixture
def example(example_school: Path) -> Path:
    if not (example_school.parent / "tracking.xlsx").is_file():
        pytest.skip("examples/tracking.xlsx has not been generated yet")
    return example_school


def test_example_school_plan_json_matches_the_contract(example: Path) -> None:
    doc = plan_json(example)
    assert list(doc) == ["today", "actions", "skipped"]
    assert doc["skipped"] == []
    assert doc["today"] == "2026-11-27"
    assert doc["actions"]
    for a in doc["actions"]:  # type: ignore[attr-defined]
        assert list(a) == ["upn", "name", "action", "reason", "evidence"]
        assert isinstance(a["evidence"], dict)


def test_example_school_record_then_plan_plans_nothing_recorded(example: Path) -> None:
    first = pairs(plan_json(example))
    result = run("plan", "--config", str(example), "--record")
    assert result.exit_code == 0, result.output
    assert not first & pairs(plan_json(example))


def test_example_school_plans_what_its_generator_expects(example: Path) -> None:
    """examples/README.md lists, worked out independently by scripts/make_example_school.py,
    every action mergekit should plan on 27/11/2026."""
    readme = example.parent / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if "## Everything mergekit should plan" not in text:
        pytest.skip("examples/README.md has no list of expected actions")
    section = text.split("## Everything mergekit should plan", 1)[1].split("\n## ", 1)[0]
    expected: set[tuple[str, str]] = set()
    action = ""
    for line in section.splitlines():
        if m := re.match(r"### `(\w+)`", line):
            action = m.group(1)
        elif (m := re.match(r"- ([A-Z0-9]{13}) ", line)) and action:
            expected.add((m.group(1), action))
    assert expected
    assert pairs(plan_json(example)) == expected
