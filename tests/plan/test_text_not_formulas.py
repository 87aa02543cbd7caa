"""Text typed by staff stays text in the workbooks mergekit writes (issue 17, point 2): a name,
phone number or reason beginning ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
string cell, never a formula - in plan.xlsx, worklist.xlsx and release.xlsx. Each workbook is
written for real and re-opened with openpyxl; one is opened in real LibreOffice."""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mergekit.core.config import SchoolSettings, Settings
from mergekit.core.model import Action, Person, SchoolData
from mergekit.mail.release import SheetRow, write_sheet
from mergekit.plan.planxlsx import write_plan_xlsx
from mergekit.plan.policy import Plan
from mergekit.plan.worklist import write_worklist
from tests.policy_builders import TODAY, contact, pupil

SETTINGS = Settings(school=SchoolSettings(name="Example Academy"))
PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What each prefix starts: a formula that would run, or show Err:509 in LibreOffice.
HOSTILE = [f'{p}HYPERLINK("http://example.org/x","call")' for p in PREFIXES]


def _texts(path: Path) -> list[tuple[str, object, str]]:
    """(cell, value, type) of every non-empty cell of every sheet."""
    wb = load_workbook(path)
    try:
        return [
            (f"{ws.title}!{c.coordinate}", c.value, c.data_type)
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if c.value is not None
        ]
    finally:
        wb.close()


def _assert_text(path: Path, expected: str) -> None:
    cells = _texts(path)
    formulas = [(ref, v) for ref, v, t in cells if t == "f"]
    assert formulas == [], f"{path.name}: formula cells {formulas}"
    assert expected in [v for _, v, _ in cells], f"{path.name}: {expected!r} not written as typed"


def _pupil_data(text: str) -> tuple[SchoolData, Action]:
    p = replace(
        pupil(1, surname=text, forename=text),
        social_worker=Person(name=text, phone=text, email=text),
        key_worker=Person(name=text, phone=text),
    )
    data = SchoolData(
        pupils={p.upn: p}, contacts={p.upn: (contact(p.upn, name=text, mobile=text),)}
    )
    a = Action(p.upn, text, "first_day_contact", text, TODAY.isoformat(), "2026-27", 9, text)
    return data, a


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_plan_workbook_stores_text_beginning_like_a_formula_as_text(
    tmp_path: Path, text: str
) -> None:
    _, a = _pupil_data(text)
    path = tmp_path / "plan.xlsx"
    write_plan_xlsx(Plan(TODAY, (a,)), path, notes={a.key(): text})
    _assert_text(path, text)


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_work_list_stores_text_beginning_like_a_formula_as_text(tmp_path: Path, text: str) -> None:
    data, a = _pupil_data(text)
    vulnerable = replace(a, kind="vulnerable_day1_contact")
    path = write_worklist(tmp_path / "worklist.xlsx", [a, vulnerable], data, SETTINGS, today=TODAY)
    _assert_text(path, text)
    cells = [v for _, v, _ in _texts(path)]
    assert f"1. {text} (Mother)" in cells  # the contacts column, built from the name


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_release_sheet_stores_text_beginning_like_a_formula_as_text(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "release.xlsx"
    row = SheetRow("U1", text, "9", text, "cme_referral", "pdf/x.pdf", text, text, "")
    assert write_sheet(path, [row]) == ""
    _assert_text(path, text)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice")
def test_libreoffice_shows_a_name_typed_with_an_equals_sign_as_typed(tmp_path: Path) -> None:
    name = "=Smith+1"  # as a formula: Err:509 / #NAME? in LibreOffice
    data, a = _pupil_data(name)
    path = write_worklist(tmp_path / "worklist.xlsx", [a], data, SETTINGS, today=TODAY)
    out = tmp_path / "csv"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "csv",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with (out / "worklist.csv").open(encoding="utf-8", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert name in cells
    assert not [c for c in cells if "Err:" in c or "#NAME" in c]
