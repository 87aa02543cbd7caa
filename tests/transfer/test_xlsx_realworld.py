"""Lose nothing: on every real-world workbook, writing a leaver changes only the cells written.

Each workbook (never copied into the repo) gets an Off Roll tab in the test's setup, added
with mergekit's own patcher (not openpyxl, which would rewrite the whole package), then a
leaver is added through the whole `offroll add` path and every zip part is compared.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from conftest import REALWORLD, realworld
from offroll_builders import (
    PUPILS,
    make_tracking,
    outside_sheet_data,
    parts,
    raw_members,
    school,
    sheet_cells,
    write_config,
)

from mergekit.core.errors import WriteBackError
from mergekit.core.workspace import open_workspace
from mergekit.read.transferlist import read_transfer_list
from mergekit.transfer.offroll import add_leaver
from mergekit.transfer.xlsx.workbook import XlsxWorkbook

pytestmark = pytest.mark.realworld

_FOLDER = REALWORLD / "xlsx"
FILES = sorted(p.name for p in _FOLDER.iterdir()) if _FOLDER.is_dir() else ["(absent)"]
# Saved as "Strict Open XML": not a workbook mergekit can write (refused, tested below).
STRICT = {"openxmlsdk__strict_Comments.xlsx"}
WRITABLE = [f for f in FILES if f not in STRICT]
SHEET = "Off Roll (mergekit test)"
HEADER = ["Name", "UPN", "D.O.B", "Year/Tutor Group", "Date of Leaving", "Reason for Leaving",
          "Authorised by Headteacher", "Date Authorised", "Date Data Team Emailed",
          "Date Updated Transfer List", "Date Admissions Informed"]  # fmt: skip


def _source(name: str) -> Path:
    files = {p.name: p for p in realworld("xlsx")}
    return files[name]


def _with_off_roll_tab(name: str, folder: Path, first_leaver: bool = True) -> Path:
    """A private copy of the workbook with an Off Roll tab: a title, the header on row 2
    and (optionally) one leaver on row 3."""
    folder.mkdir()
    path = folder / name
    shutil.copyfile(_source(name), path)
    book = XlsxWorkbook.open(path)
    book.add_worksheet(SHEET)
    sheet = book.worksheet(SHEET)
    sheet.set("A1", "LEAVERS - STUDENTS TO TAKE OFF ROLL")
    for i, header in enumerate(HEADER):
        sheet.set(f"{chr(65 + i)}2", header)
    book.save()
    if first_leaver:
        book = XlsxWorkbook.open(path)
        sheet = book.worksheet(SHEET, first_data_row=3)
        row = ["Imogen Fairley", "K823123426020", date(2011, 2, 2), "Y10 / 10RT", date(2026, 10, 2),
               "Moved to Scotland", "Mrs Helen Marsh", date(2026, 9, 30)]  # fmt: skip
        for i, value in enumerate(row):
            sheet.set(f"{chr(65 + i)}3", value)
        book.save()
    return path


@pytest.mark.parametrize("name", WRITABLE)
def test_adding_a_leaver_changes_only_the_cells_written(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "school"
    path = _with_off_roll_tab(name, folder)
    make_tracking(folder / "tracking.xlsx")
    ws = open_workspace(write_config(folder, transfer_list=name))
    part = XlsxWorkbook.open(path).sheet_info(SHEET).part
    before, raw_before = parts(path), raw_members(path)

    upn, surname, forename, dob = PUPILS[3][:4]
    done = add_leaver(ws, upn, date(2026, 11, 23), "=moved away (no forwarding address)")

    after, raw_after = parts(path), raw_members(path)
    assert list(after) == list(before)
    for part_name in before:
        if part_name != part:
            assert after[part_name] == before[part_name], part_name
            assert raw_after[part_name] == raw_before[part_name], part_name
    assert outside_sheet_data(after[part]) == outside_sheet_data(before[part])
    old, new = sheet_cells(before[part]), sheet_cells(after[part])
    written = {c.cell for c in done.changes}
    assert written == {"A4", "B4", "C4", "D4", "E4", "F4"}
    assert {k: v for k, v in new.items() if k not in written} == old
    # The new values read back, dates as dates, the formula-looking reason as text.
    tl = read_transfer_list(ws.settings, path)
    leaver = next(x for x in tl.leavers if x.row == 4)
    assert (leaver.name, leaver.upn, leaver.dob) == (f"{forename} {surname}", upn, dob)
    assert leaver.date_of_leaving == date(2026, 11, 23)
    assert leaver.reason == "=moved away (no forwarding address)"
    assert b"<f>" not in after[part]
    assert ET.fromstring(after[part]) is not None


def _openpyxl_cells(path: Path, sheet: str) -> list[tuple[object, ...]]:
    """The sheet's cells through openpyxl (its warnings about the workbook's own features
    are not this test's business)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            return [tuple(c.value for c in row) for row in wb[sheet].iter_rows()]
        finally:
            wb.close()


def _openpyxl_opens(name: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            openpyxl.load_workbook(_source(name), read_only=True).close()
    except Exception as e:
        pytest.skip(f"openpyxl cannot open the original either ({type(e).__name__}: {e})")


@pytest.mark.parametrize("name", WRITABLE)
def test_the_written_workbook_reopens_in_openpyxl(name: str, tmp_path: Path) -> None:
    _openpyxl_opens(name)
    folder = tmp_path / "school"
    path = _with_off_roll_tab(name, folder)
    make_tracking(folder / "tracking.xlsx")
    add_leaver(open_workspace(write_config(folder, transfer_list=name)), PUPILS[3][0],
               date(2026, 11, 23), "-moved")  # fmt: skip
    rows = _openpyxl_cells(path, SHEET)
    assert rows[1][:2] == ("Name", "UPN")
    assert rows[2][0] == "Imogen Fairley"
    assert rows[3][:2] == (f"{PUPILS[3][2]} {PUPILS[3][1]}", PUPILS[3][0])
    assert rows[3][4].date() == date(2026, 11, 23)  # type: ignore[union-attr]
    assert rows[3][5] == "-moved"


@pytest.mark.parametrize("name", WRITABLE)
def test_a_first_date_adds_at_most_one_format_to_styles(name: str, tmp_path: Path) -> None:
    path = _with_off_roll_tab(name, tmp_path / "school", first_leaver=False)
    before = parts(path)
    book = XlsxWorkbook.open(path)
    book.worksheet(SHEET, first_data_row=3).set("E3", date(2026, 10, 2))
    result = book.save()
    styles = book.styles().part
    assert set(result.changed_parts) <= {book.sheet_info(SHEET).part, styles}
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    old, new = ET.fromstring(before[styles]), ET.fromstring(parts(path)[styles])
    old_children = {c.tag: c for c in old}
    for child in new:
        if child.tag not in old_children:
            assert child.tag == f"{ns}numFmts"
            assert len(child) == 1
            continue
        was = old_children[child.tag]
        if child.tag in (f"{ns}cellXfs", f"{ns}numFmts"):
            assert [ET.tostring(x) for x in child][: len(was)] == [ET.tostring(x) for x in was]
            assert len(child) - len(was) <= 1
        else:
            assert ET.tostring(child) == ET.tostring(was)
    _openpyxl_opens(name)
    assert _openpyxl_cells(path, SHEET)[2][4].date() == date(2026, 10, 2)  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(STRICT))
def test_a_strict_open_xml_workbook_is_refused_clearly(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    shutil.copyfile(_source(name), path)
    original = path.read_bytes()
    with pytest.raises(WriteBackError, match=r"Strict Open XML.*Save As > Excel Workbook"):
        XlsxWorkbook.open(path)
    assert path.read_bytes() == original


def test_a_chart_sheet_is_refused_as_a_target(tmp_path: Path) -> None:
    path = tmp_path / "charts.xlsx"
    shutil.copyfile(_source("xlsxwriter__chartsheet03_hidden.xlsx"), path)
    book = XlsxWorkbook.open(path)
    chart = next(s for s in book.sheets if s.kind == "chartsheet")
    with pytest.raises(WriteBackError, match="is a chart sheet, not a worksheet"):
        book.worksheet(chart.name)


@pytest.mark.slow
@pytest.mark.libreoffice
def test_written_workbooks_open_in_libreoffice(tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    chosen = [
        "poi__mv-calculator-final-2-20-2013.xlsm",  # macros, form controls, hidden sheets
        "closedxml__ValidationWithSheetReference.xlsx",  # x14 validation
        "poi__simple-monthly-budget.xlsx",  # tables, charts, customXml
    ]
    paths = []
    for i, name in enumerate(chosen):
        folder = tmp_path / f"s{i}"
        path = _with_off_roll_tab(name, folder)
        make_tracking(folder / "tracking.xlsx")
        ws = open_workspace(write_config(folder, transfer_list=name))
        add_leaver(ws, PUPILS[3][0], date(2026, 11, 23), "+44 is not a formula")
        paths.append(path)
    # mergekit's own Off Roll fixture too (the example school's: tests/transfer/test_offroll.py).
    fixture = school(tmp_path / "fixture")
    add_leaver(open_workspace(fixture), PUPILS[3][0], date(2026, 11, 23), "=not a formula")
    extra = [fixture.parent / "transfer_list.xlsx"]
    out = tmp_path / "csv"
    csv_filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", csv_filter, "--outdir", str(out), *map(str, [*paths, *extra])],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for path in paths:
        csv = out / f"{path.stem}-{SHEET}.csv"
        assert csv.is_file(), proc.stdout
        lines = csv.read_text(encoding="utf-8").splitlines()
        assert lines[3].startswith(f"{PUPILS[3][2]} {PUPILS[3][1]},{PUPILS[3][0]},20/01/2012,")
        assert "23/11/2026,+44 is not a formula" in lines[3]
        assert "Imogen Fairley" in lines[2]
    lines = (out / "transfer_list-Off Roll.csv").read_text(encoding="utf-8").splitlines()
    assert lines[6].startswith(
        f"Theo Dunmore,{PUPILS[3][0]},20/01/2012,Y9 / 9KM,23/11/2026,=not a formula"
    )
    assert lines[3].startswith("Imogen Fairley")
