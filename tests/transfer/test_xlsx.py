"""The surgical cell writer: only the written cells change, everything else byte for byte."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from offroll_builders import (
    outside_sheet_data,
    parts,
    raw_members,
    row_attrs,
    sheet_cells,
)
from openpyxl.worksheet.table import Table

from mergekit.core.atomic import STALE_TEMP_SECONDS, temp_name
from mergekit.core.errors import WriteBackError
from mergekit.transfer.xlsx.parts import is_date_format
from mergekit.transfer.xlsx.save import backup_name, remove_stale_temps
from mergekit.transfer.xlsx.workbook import XlsxWorkbook


def _book(path: Path, setup=None) -> Path:  # type: ignore[no-untyped-def]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Off Roll"
    ws.append(["Name", "Date of Leaving", "Reason"])
    ws.append(["Ann Example", date(2026, 11, 2), "Moved"])
    ws["B2"].number_format = "DD/MM/YYYY"
    ws.column_dimensions["C"].width = 40
    wb.create_sheet("Other")["A1"] = "kept"
    if setup:
        setup(wb)
    wb.save(path)
    return path


def _sheet_part(path: Path, name: str = "Off Roll") -> str:
    return XlsxWorkbook.open(path).sheet_info(name).part


def test_only_the_written_cells_change(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    before, raw_before = parts(path), raw_members(path)
    book = XlsxWorkbook.open(path)
    sheet = book.worksheet("Off Roll", first_data_row=2)
    sheet.set("A3", "Bob Example")
    sheet.set("B3", date(2026, 11, 20))
    sheet.set("C3", "Moved away")
    result = book.save()
    after = parts(path)
    part = _sheet_part(path)
    assert result.changed_parts == (part,)
    assert list(after) == list(before)  # same parts, same order
    raw_after = raw_members(path)
    for name in before:
        if name != part:
            assert raw_after[name] == raw_before[name], name  # even the compressed bytes
    assert outside_sheet_data(after[part]) == outside_sheet_data(before[part])
    old, new = sheet_cells(before[part]), sheet_cells(after[part])
    assert {k: v for k, v in new.items() if k in old} == old
    assert set(new) - set(old) == {"A3", "B3", "C3"}
    ws = openpyxl.load_workbook(path)["Off Roll"]
    assert (ws["A3"].value, ws["C3"].value) == ("Bob Example", "Moved away")
    assert ws["B3"].value.date() == date(2026, 11, 20)
    assert ws["B3"].number_format == ws["B2"].number_format == "DD/MM/YYYY"


def test_dimension_is_widened_to_the_new_row(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("D5", "note")
    book.save()
    assert b'<dimension ref="A1:D5"/>' in parts(path)[_sheet_part(path)]


def test_text_that_looks_like_a_formula_is_stored_as_text(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    book = XlsxWorkbook.open(path)
    sheet = book.worksheet("Off Roll")
    for col, text in zip(
        "ABCD", ['=HYPERLINK("x")', "+44 1632", "-moved", "@SUM(A1)"], strict=True
    ):
        sheet.set(f"{col}3", text)
    book.save()
    xml = parts(path)[_sheet_part(path)]
    assert b"<f>" not in xml
    ws = openpyxl.load_workbook(path)["Off Roll"]
    for col, text in zip(
        "ABCD", ['=HYPERLINK("x")', "+44 1632", "-moved", "@SUM(A1)"], strict=True
    ):
        assert ws[f"{col}3"].value == text
        assert ws[f"{col}3"].data_type in ("s", "inlineStr")


def test_a_new_row_goes_between_existing_rows_in_order(tmp_path: Path) -> None:
    def setup(wb: openpyxl.Workbook) -> None:
        wb["Off Roll"]["A10"] = "footer"

    path = _book(tmp_path / "t.xlsx", setup)
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A4", "middle")
    book.save()
    assert list(row_attrs(parts(path)[_sheet_part(path)])) == ["1", "2", "4", "10"]
    ws = openpyxl.load_workbook(path)["Off Roll"]
    assert (ws["A4"].value, ws["A10"].value) == ("middle", "footer")


def test_a_styled_empty_row_keeps_its_row_and_cell_formats(tmp_path: Path) -> None:
    def setup(wb: openpyxl.Workbook) -> None:
        ws = wb["Off Roll"]
        ws.row_dimensions[3].height = 30
        ws["C3"].number_format = "@"
        ws["C3"].font = openpyxl.styles.Font(italic=True)

    path = _book(tmp_path / "t.xlsx", setup)
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("C3", "Moved")
    book.save()
    ws = openpyxl.load_workbook(path)["Off Roll"]
    assert ws["C3"].value == "Moved"
    assert ws["C3"].font.italic
    assert ws.row_dimensions[3].height == 30


def test_a_date_takes_the_cell_above_style(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    styles_before = parts(path)["xl/styles.xml"]
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll", first_data_row=2).set("B3", date(2026, 11, 20))
    book.save()
    assert parts(path)["xl/styles.xml"] == styles_before
    cells = sheet_cells(parts(path)[_sheet_part(path)])
    style = re.compile(rb' s="(\d+)"')
    assert style.search(cells["B3"]).group(1) == style.search(cells["B2"]).group(1)  # type: ignore[union-attr]


def test_a_date_without_any_date_style_adds_one_dd_mm_yyyy_format(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    before = parts(path)["xl/styles.xml"]
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll", first_data_row=2).set("E3", date(2026, 11, 20))
    book.save()
    after = parts(path)["xl/styles.xml"]
    from xml.etree import ElementTree as ET

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    b, a = ET.fromstring(before), ET.fromstring(after)
    for old, new in zip(b, a, strict=True):
        if old.tag in (f"{ns}cellXfs", f"{ns}numFmts"):
            assert [ET.tostring(x) for x in new][: len(old)] == [ET.tostring(x) for x in old]
            assert len(new) - len(old) <= 1
        else:
            assert ET.tostring(new) == ET.tostring(old)
    ws = openpyxl.load_workbook(path)["Off Roll"]
    assert ws["E3"].number_format.lower() == "dd/mm/yyyy"
    # A second date in that column reuses the format just added.
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll", first_data_row=2).set("E4", date(2026, 11, 23))
    book.save()
    assert parts(path)["xl/styles.xml"] == after


def test_a_1904_workbook_gets_1904_serial_numbers(tmp_path: Path) -> None:
    def setup(wb: openpyxl.Workbook) -> None:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904

    path = _book(tmp_path / "t.xlsx", setup)
    book = XlsxWorkbook.open(path)
    assert book.date1904
    book.worksheet("Off Roll", first_data_row=2).set("B3", date(2026, 11, 20))
    book.save()
    assert openpyxl.load_workbook(path)["Off Roll"]["B3"].value.date() == date(2026, 11, 20)


def test_is_date_format_tells_dates_from_times_and_numbers() -> None:
    assert is_date_format("dd/mm/yyyy")
    assert is_date_format('d"th" mmmm yyyy')
    assert is_date_format("[$-809]dd mmm yy;@")
    assert not is_date_format("h:mm:ss")
    assert not is_date_format("[h]:mm")
    assert not is_date_format("0.00%")
    assert not is_date_format('"day" 0')


def test_a_formula_cell_is_never_overwritten(tmp_path: Path) -> None:
    def setup(wb: openpyxl.Workbook) -> None:
        wb["Off Roll"]["C2"] = "=A2"

    path = _book(tmp_path / "t.xlsx", setup)
    sheet = XlsxWorkbook.open(path).worksheet("Off Roll")
    with pytest.raises(WriteBackError, match="C2 holds a formula"):
        sheet.set("C2", "x")


def test_a_cell_covered_by_a_merge_is_refused(tmp_path: Path) -> None:
    def setup(wb: openpyxl.Workbook) -> None:
        wb["Off Roll"].merge_cells("D3:F3")

    path = _book(tmp_path / "t.xlsx", setup)
    sheet = XlsxWorkbook.open(path).worksheet("Off Roll")
    sheet.set("D3", "first cell of a merge is fine")
    with pytest.raises(WriteBackError, match="inside merged cells D3:F3"):
        sheet.set("E3", "x")


def test_a_table_ending_on_the_last_row_grows_by_the_new_row(tmp_path: Path) -> None:
    def setup(wb: openpyxl.Workbook) -> None:
        wb["Off Roll"].add_table(Table(displayName="Leavers", ref="A1:C2"))

    path = _book(tmp_path / "t.xlsx", setup)
    before = parts(path)
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "Bob")
    result = book.save()
    table = next(n for n in before if n.startswith("xl/tables/"))
    assert table in result.changed_parts
    after = parts(path)
    assert b'ref="A1:C3"' in after[table]
    assert after[table].replace(b'ref="A1:C3"', b'ref="A1:C2"') == before[table]
    assert openpyxl.load_workbook(path)["Off Roll"].tables["Leavers"].ref == "A1:C3"


def test_a_table_with_room_to_spare_is_left_alone(tmp_path: Path) -> None:
    def setup(wb: openpyxl.Workbook) -> None:
        wb["Off Roll"].add_table(Table(displayName="Leavers", ref="A1:C20"))

    path = _book(tmp_path / "t.xlsx", setup)
    before = parts(path)
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "Bob")
    book.save()
    assert all(parts(path)[n] == c for n, c in before.items() if n.startswith("xl/tables/"))


def test_add_worksheet_makes_a_sheet_excel_readers_open(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    before = parts(path)
    book = XlsxWorkbook.open(path)
    book.add_worksheet("Off Roll 2")
    sheet = book.worksheet("Off Roll 2")
    sheet.set("A1", "Name")
    sheet.set("B2", date(2026, 1, 5))
    book.save()
    after = parts(path)
    assert [n for n in after if n in before] == list(before)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Off Roll", "Other", "Off Roll 2"]
    assert wb["Off Roll 2"]["A1"].value == "Name"
    assert wb["Off Roll 2"]["B2"].value.date() == date(2026, 1, 5)


# -- refusals -------------------------------------------------------------------------------


def test_the_excel_lock_file_stops_the_write(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "x")
    (tmp_path / "~$t.xlsx").write_bytes(b"owner")
    before = path.read_bytes()
    with pytest.raises(WriteBackError, match="close the workbook in Excel and run again"):
        book.save()
    with pytest.raises(WriteBackError, match="close the workbook in Excel and run again"):
        XlsxWorkbook.open(path)
    assert path.read_bytes() == before


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "x")
    _book(path, lambda wb: wb["Other"].__setitem__("B1", "someone else's edit"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    with pytest.raises(WriteBackError, match="changed by someone else"):
        book.save()
    assert openpyxl.load_workbook(path)["Other"]["B1"].value == "someone else's edit"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-style .xls"),
        (
            "enc.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le"),
            "password",
        ),
        (
            "renamed.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
            "old-style .xls file with an .xlsx name",
        ),
        ("text.xlsx", b"Name,Date\nAnn,01/01/2026\n", "not a workbook"),
        ("empty.xlsx", b"", "not a workbook"),
        ("list.csv", b"Name\n", "only .xlsx and .xlsm"),
    ],
)
def test_files_that_are_not_writable_workbooks_are_refused(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(WriteBackError, match=message):
        XlsxWorkbook.open(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("photo.txt", "not a workbook")
    with pytest.raises(WriteBackError, match="not a workbook"):
        XlsxWorkbook.open(path)


def test_a_zip64_workbook_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _book(tmp_path / "src.xlsx")
    path = tmp_path / "z64.xlsx"
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # makes zipfile write ZIP64 records
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
    with pytest.raises(WriteBackError, match="ZIP64"):
        XlsxWorkbook.open(path)


def test_parts_with_zip64_extra_fields_are_still_written_exactly(tmp_path: Path) -> None:
    source = _book(tmp_path / "src.xlsx")
    path = tmp_path / "extra.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            with zout.open(info.filename, "w", force_zip64=True) as f:
                f.write(zin.read(info))
    before = raw_members(path)
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "x")
    book.save()
    after = raw_members(path)
    part = _sheet_part(path)
    assert {n: m for n, m in after.items() if n != part} == {
        n: m for n, m in before.items() if n != part
    }
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    assert openpyxl.load_workbook(path)["Off Roll"]["A3"].value == "x"


# -- atomic saving, crashes and backups ------------------------------------------------------


def test_a_write_that_fails_half_way_leaves_the_original_and_no_temp_file(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    original = path.read_bytes()
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "x")
    written: list[str] = []

    def disk_full_after_two_parts(part: str) -> None:
        written.append(part)
        if len(written) == 2:
            raise OSError(28, "No space left on device")

    with pytest.raises(WriteBackError, match=r"No space left on device.*the file is as it was"):
        book.save(on_part=disk_full_after_two_parts)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


_CRASH = """
import os, signal, sys
from pathlib import Path
from mergekit.transfer.xlsx.workbook import XlsxWorkbook
book = XlsxWorkbook.open(Path(sys.argv[1]))
book.worksheet("Off Roll").set("A3", "x")
def die(part):
    if part.endswith("styles.xml"):
        os.kill(os.getpid(), signal.SIGKILL)
book.save(on_part=die)
"""


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_a_killed_write_leaves_the_original_and_the_next_write_clears_its_temp(
    tmp_path: Path,
) -> None:
    path = _book(tmp_path / "t.xlsx")
    original = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH, str(path)], check=False, capture_output=True
    )
    assert proc.returncode == -9
    assert path.read_bytes() == original
    temps = [p for p in tmp_path.iterdir() if p.name != "t.xlsx"]
    assert len(temps) == 1  # the crash left its unfinished temp file
    assert temps[0].name.startswith(".mergekit-tmp-")
    # A fresh temp of a live process (another mergekit at work) is left alone...
    live = tmp_path / temp_name("t.xlsx")
    live.write_bytes(b"in progress")
    assert remove_stale_temps(path) == [temps[0]]  # ...the dead process's is removed
    # Another computer's (on a shared drive) is removed once it is old.
    other = tmp_path / ".mergekit-tmp-otherhost-1-abcd1234-t.xlsx"
    other.write_bytes(b"x")
    assert remove_stale_temps(path) == []
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(other, (old, old))
    live.unlink()
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "y")
    book.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]
    assert openpyxl.load_workbook(path)["Off Roll"]["A3"].value == "y"


def test_a_backup_is_kept_before_the_first_write_of_each_day(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    original = path.read_bytes()
    backups = tmp_path / "backups"
    for i, day in enumerate([date(2026, 11, 27), date(2026, 11, 27), date(2026, 11, 30)]):
        book = XlsxWorkbook.open(path)
        book.worksheet("Off Roll").set(f"A{3 + i}", f"write {i}")
        result = book.save(backups=backups, day=day)
        assert (result.backup is not None) == (i != 1)
    first = backups / backup_name(path, date(2026, 11, 27))
    assert first.name == "t 2026-11-27.xlsx"
    assert first.read_bytes() == original  # the day's copy is from before its first write
    assert sorted(p.name for p in backups.iterdir()) == ["t 2026-11-27.xlsx", "t 2026-11-30.xlsx"]
    assert (
        openpyxl.load_workbook(backups / "t 2026-11-30.xlsx")["Off Roll"]["A4"].value == "write 1"
    )


def test_the_workbook_keeps_its_file_permissions(tmp_path: Path) -> None:
    path = _book(tmp_path / "t.xlsx")
    path.chmod(0o640)
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("A3", "x")
    book.save()
    assert path.stat().st_mode & 0o777 == 0o640
