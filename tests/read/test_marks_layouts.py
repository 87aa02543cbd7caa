"""The same marks in three layouts give exactly the same plan (issue 11.5): UPN, Date, AM,
PM; one row per session (Session, Mark); and a register grid (a row per pupil, a column per
session, dates over an AM/PM header row, a title row above)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
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

START = date(2026, 11, 2)


def school() -> School:
    s = School()
    s.add(pupil(1), present_days(START, TODAY) | {TODAY: ("N", "N")})
    s.add(
        pupil(2),
        present_days(START, back(TODAY, 8)) | coded(school_days(back(TODAY, 7), TODAY), "O"),
    )
    s.add(pupil(3), present_days(START, TODAY) | {back(TODAY, 12): ("N", "\\")})
    s.add(pupil(4), {d: m for d, m in ytd(TODAY, 100, 80).items() if d >= START})
    return s


def _rows(path: Path) -> list[tuple[object, ...]]:
    wb = load_workbook(path)
    return list(wb["Marks"].iter_rows(min_row=2, values_only=True))


def to_sessions(path: Path) -> None:
    rows = _rows(path)
    wb = load_workbook(path)
    del wb["Marks"]
    ws = wb.create_sheet("Marks")
    ws.append(["UPN", "Date", "Session", "Mark"])
    for upn, d, am, pm in rows:
        ws.append([upn, d, "AM", am])
        ws.append([upn, d, "PM", pm])
    wb.save(path)


def to_grid(path: Path) -> None:
    rows = _rows(path)
    days = sorted({r[1] for r in rows})
    marks = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    upns = list(dict.fromkeys(r[0] for r in rows))
    wb = load_workbook(path)
    del wb["Marks"]
    ws = wb.create_sheet("Register")
    ws.append(["Attendance register, autumn 2 (exported from the MIS)"])
    ws.append(["", ""] + [x for d in days for x in (d, None)])
    ws.append(["UPN", "Name"] + ["AM", "PM"] * len(days))
    for upn in upns:
        ws.append([upn, "x"] + [c for d in days for c in marks.get((upn, d), (None, None))])
    wb.save(path)


def plan_of(tmp_path: Path, name: str, change: object) -> tuple[dict[str, object], str]:
    cfg = school_folder(tmp_path / name, school().data())
    if callable(change):
        change(cfg.parent / "tracking.xlsx")
    r = CliRunner().invoke(main, ["plan", "--config", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    check = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    return json.loads(r.stdout), check.output


@pytest.mark.parametrize("layout", ["sessions", "grid"])
def test_every_layout_gives_exactly_the_same_plan(tmp_path: Path, layout: str) -> None:
    base, _ = plan_of(tmp_path, "long", None)
    other, out = plan_of(tmp_path, layout, to_sessions if layout == "sessions" else to_grid)
    assert other == base
    assert len(base["actions"]) >= 3  # type: ignore[arg-type]
    assert "still has an N mark" in out  # the stale N is found in every layout


def test_a_grid_names_its_own_cell_for_a_stale_n(tmp_path: Path) -> None:
    _, out = plan_of(tmp_path, "grid", to_grid)
    line = next(x for x in out.splitlines() if "still has an N" in x)
    days = school_days(START, TODAY)
    col = 2 + 2 * days.index(back(TODAY, 12))  # 0-based column of that day's AM
    from mergekit.read.sheets import column_letter

    assert f"Register!{column_letter(col)}6 (AM)" in line  # pupil 3 is on row 6
