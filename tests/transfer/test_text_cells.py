"""The Off Roll write-back stores text beginning ``= + - @``, tab or CR as an inline string,
never a formula (issue 17, point 2), and keeps the school's workbook's own permissions."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from mergekit.transfer.xlsx.workbook import XlsxWorkbook

PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _book(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Off Roll"
    ws.append(["Name", "Reason"])
    wb.save(path)
    return path


@pytest.mark.parametrize("prefix", PREFIXES, ids=repr)
def test_off_roll_text_beginning_like_a_formula_is_written_as_text(
    tmp_path: Path, prefix: str
) -> None:
    text = f'{prefix}HYPERLINK("http://example.org/x","Smith")'
    path = _book(tmp_path / "transfer.xlsx")
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A2", text)
    book.worksheet("Off Roll").set("B2", text)
    book.save()
    assert b"<f>" not in _sheet_xml(path)
    ws = openpyxl.load_workbook(path)["Off Roll"]
    for ref in ("A2", "B2"):
        assert ws[ref].data_type == "s"
        # A CR is stored the way Excel itself stores it (_x000D_, read back by Excel as a
        # CR); openpyxl does not decode that escape.
        assert ws[ref].value == text.replace("\r", "_x000D_")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_schools_workbook_keeps_its_own_permissions_when_replaced(tmp_path: Path) -> None:
    path = _book(tmp_path / "transfer.xlsx")
    path.chmod(0o664)  # shared with colleagues: it is the school's file, not mergekit's
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A2", "Ann")
    book.save(backups=tmp_path / "backups", day=date(2026, 11, 27))
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    (backup,) = (tmp_path / "backups").iterdir()  # mergekit's own copy: owner-only
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700


def _sheet_xml(path: Path) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")
