"""N marks left past the legal limit (issue 11.2): a warning naming pupil, date and cell (never
an error), counted as unauthorised absence, and a register task on the work list. The mark
that once went unreported: the calendar held only last year's terms, so mergekit silently
worked for the last school day of July and ignored every later mark."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook
from policy_builders import TODAY, School, back, plan, present_days, pupil, school_folder

from mergekit.cli import main
from mergekit.plan.counting import Timeline

N_DAY = back(TODAY, 12)


def present_but_one_n() -> School:
    s = School()
    s.add(pupil(1), present_days(date(2026, 9, 3), TODAY) | {N_DAY: ("N", "\\")})
    return s


def test_a_stale_n_on_an_otherwise_present_pupil_is_a_warning_with_its_cell(
    tmp_path: Path,
) -> None:
    cfg = school_folder(tmp_path / "s", present_but_one_n().data())
    r = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    line = next(x for x in r.output.splitlines() if "still has an N mark" in x)
    assert line.strip().startswith("warning")
    assert f"{pupil(1).upn} (Pupil001 Testperson001)" in line
    assert f"from {N_DAY:%d/%m/%Y}, 12 school days ago" in line
    assert "Marks!C" in line
    assert "counted as unauthorised absence" in line


def test_the_stale_n_is_counted_as_unauthorised_and_listed_as_a_register_task(
    tmp_path: Path,
) -> None:
    data = present_but_one_n().data()
    line = Timeline(data.marks[pupil(1).upn], TODAY)
    assert line.counts(N_DAY, N_DAY) == (2, 1, 1)  # N: possible, not present, unauthorised
    plan(data)  # the rules run on it
    cfg = school_folder(tmp_path / "s", data)
    r = CliRunner().invoke(main, ["worklist", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(next((cfg.parent / "out").rglob("worklist.xlsx")))
    rows = [x for x in wb["Register"].iter_rows(min_row=3, values_only=True) if x[0]]
    assert rows == [
        (
            pupil(1).upn,
            "Pupil001 Testperson001",
            f"{N_DAY:%d/%m/%Y}",
            "AM",
            rows[0][4],
            12,
            "recode to the reason, or O",
        )
    ]
    assert str(rows[0][4]).startswith("Marks!C")


def test_last_years_calendar_no_longer_hides_this_years_n_marks(tmp_path: Path) -> None:
    cfg = school_folder(tmp_path / "s", present_but_one_n().data())
    text = cfg.read_text(encoding="utf-8")
    kept = [
        x for x in text.splitlines() if "start = 2026-09" not in x and "start = 2026-11" not in x
    ]
    kept = [x for x in kept if "start = 2027" not in x]
    cfg.write_text("\n".join(kept) + "\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    assert r.exit_code == 1
    assert "out of date: 27/11/2026 is in the 2026-27 academic year" in r.output
    assert "add the school's 2026-27 term dates" in r.output
