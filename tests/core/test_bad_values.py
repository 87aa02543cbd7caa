"""Bad values that used to pass silently (issue 11.4) and the out-of-date calendar (11.3):
each a clear error naming the file, key or cell and the fix."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergekit.cli import main
from mergekit.core.config import load_config
from mergekit.core.errors import ConfigError
from mergekit.core.workspace import open_workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from policy_builders import (
    TODAY,
    School,
    present_days,
    pupil,
    school_folder,
    write_config,
)


def test_an_empty_config_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "mergekit.toml"
    cfg.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="the file is empty - run `mergekit init`"):
        load_config(cfg)
    result = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "the file is empty" in result.output


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ("pa_threshold_percent = 120", "pa_threshold_percent = 120.0 is not a percentage"),
        ("severe_absence_percent = -5", "severe_absence_percent = -5.0 is not a percentage"),
        ("letter_interval_school_days = 0", "letter_interval_school_days = 0 must be 1 or more"),
        ("penalty_window_weeks = -2", "penalty_window_weeks = -2 must be 1 or more"),
        ("cme_inform_days = 0", "cme_inform_days = 0 must be 1 or more"),
        ("first_compulsory_year = -7", "is not a National Curriculum year"),
    ],
)
def test_policy_numbers_out_of_range_are_refused_naming_the_line(
    tmp_path: Path, line: str, wanted: str
) -> None:
    cfg = write_config(tmp_path, extra=f"[policy]\n{line}\n")
    with pytest.raises(ConfigError, match=r"mergekit\.toml line \d+: \[policy\] ") as e:
        load_config(cfg)
    assert wanted in str(e.value)


def test_a_day_after_the_last_term_names_the_academic_year_to_add(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, today=date(2027, 9, 14))
    with pytest.raises(ConfigError, match="out of date: 14/09/2027 is in the 2027-28 academic"):
        open_workspace(cfg)
    with pytest.raises(ConfigError, match="add the school's 2024-25 term dates"):
        open_workspace(cfg, date(2024, 10, 1))


def test_a_holiday_inside_the_configured_year_keeps_the_latest_school_day(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    ws = open_workspace(cfg, date(2027, 8, 10))  # summer holiday of 2026-27
    assert ws.today == date(2027, 7, 21)
    assert "is not a school day" in ws.note


def _cells(tmp_path: Path, sheet: str, header: str, value: object) -> Path:
    from openpyxl import load_workbook

    s = School()
    upn = s.add(pupil(1), present_days(date(2026, 11, 2), TODAY))
    s.letter(upn, 1, date(2026, 10, 1))
    cfg = school_folder(tmp_path / "school", s.data())
    wb = load_workbook(cfg.parent / "tracking.xlsx")
    ws = wb[sheet]
    col = next(c.column for c in ws[1] if c.value == header)
    ws.cell(2, col).value = value
    wb.save(cfg.parent / "tracking.xlsx")
    return cfg


@pytest.mark.parametrize(
    ("sheet", "header", "value", "wanted"),
    [
        ("Pupils", "Year", -5, "'-5' is not a year group"),
        ("Pupils", "Year", 23, "'23' is not a year group"),
        ("Letters", "Letter", "Letter 4", "numbered 1 to 3, not 4"),
        ("Letters", "Date Sent", date(2026, 12, 15), "letter dated 15/12/2026, after today"),
    ],
)
def test_bad_cells_are_errors_naming_the_cell_and_holding_only_that_pupil(
    tmp_path: Path, sheet: str, header: str, value: object, wanted: str
) -> None:
    cfg = _cells(tmp_path, sheet, header, value)
    result = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if wanted in x)
    assert line.strip().startswith("error")
    assert f"tracking.xlsx: {sheet}" in line
    assert "Fix first: 1 pupil" in result.output
