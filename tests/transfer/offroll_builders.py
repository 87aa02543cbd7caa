"""Builders shared by the Off Roll and xlsx writer tests (no tests here).

New fixture workbooks are made with openpyxl (only writing into *users'* workbooks must avoid
it); zip parts are compared with plain zipfile. All names and numbers are invented.
"""

from __future__ import annotations

import re
import textwrap
import zipfile
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from stdnum.gb import upn as stdnum_upn

HEADERS = [
    "Name",
    "UPN",
    "D.O.B",
    "Year/Tutor Group",
    "Date of Leaving",
    "Reason for Leaving",
    "Authorised by Headteacher/Signature",
    "Date Authorised",
    "Date Data Team Emailed to Take Student Off Role",
    'Date Updated "Transfer List" Spreadsheet (Off Roll Tab)',
    "Date Coventry Admissions Informed of Child Taken Off Role",
]
COLUMN = {  # field -> column letter in the fixture
    "name": "A",
    "upn": "B",
    "dob": "C",
    "year_group": "D",
    "date_of_leaving": "E",
    "reason": "F",
    "authorised_by": "G",
    "date_authorised": "H",
    "data_team_emailed": "I",
    "transfer_list_updated": "J",
    "admissions_informed": "K",
}


def make_upn(serial: int, la: str = "823") -> str:
    body = f"{la}1234{26:02d}{serial:03d}"
    return stdnum_upn.calc_check_digit(body) + body


# Pupils in the tracking workbook: upn, surname, forename, dob, year, reg group, admission.
PUPILS = [
    (make_upn(1), "Ashworth", "Maya", date(2012, 3, 14), 9, "9KM", date(2023, 9, 4)),
    (make_upn(2), "Brennan", "Oliver", date(2011, 11, 2), 10, "10RT", date(2022, 9, 5)),
    (make_upn(3), "Chowdhury", "Amira", date(2013, 6, 30), 8, "8LP", date(2026, 10, 12)),
    (make_upn(4), "Dunmore", "Theo", date(2012, 1, 20), 9, "9KM", date(2023, 9, 4)),
    (make_upn(5), "Ellery-Quinn", "Sasha", date(2010, 5, 5), 11, "11AB", date(2021, 9, 6)),
]
# Leavers already on the Off Roll tab (pupils 4 and 5 are not in it).
EXISTING = [
    # name, upn, dob, group, left, reason, by, authorised, data team, transfer list, admissions
    (
        "Imogen Fairley",
        make_upn(20),
        date(2011, 2, 2),
        "Y10 / 10RT",
        date(2026, 10, 2),
        "Moved to Scotland",
        "Mrs Helen Marsh",
        date(2026, 9, 30),
        date(2026, 10, 2),
        date(2026, 10, 2),
        date(2026, 10, 5),
    ),
    (
        "Oliver Brennan",
        PUPILS[1][0],
        PUPILS[1][3],
        "Y10 / 10RT",
        date(2026, 11, 6),
        "Elective home education",
        "Mrs Helen Marsh",
        date(2026, 11, 5),
        None,
        None,
        None,
    ),
    (
        "Amira Chowdhury",
        PUPILS[2][0],
        PUPILS[2][3],
        "Y8 / 8LP",
        date(2026, 11, 20),
        "CME - whereabouts unknown",
        None,
        None,
        None,
        None,
        None,
    ),
]
HEADER_ROW = 3
FIRST_LEAVER_ROW = 4


def make_tracking(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Pupils"
    ws.append(
        ["UPN", "Legal Surname", "Legal Forename", "DOB", "Year", "Reg Group", "Admission Date"]
    )
    for row in PUPILS:
        ws.append(list(row))
        for cell in ws[ws.max_row][3], ws[ws.max_row][6]:
            cell.number_format = "DD/MM/YYYY"
    wb.save(path)
    return path


def make_transfer_list(path: Path, *, upn_column: bool = True, blank_styled_rows: int = 0) -> Path:
    """An Off Roll tab as schools keep it: a title above the header, Appendix B's headers, a
    few leavers, frozen panes, a drop-down, conditional formatting, widths, another tab and a
    summary formula that counts the leavers."""
    wb = openpyxl.Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "Summary"
    summary["A1"] = "Leavers this year"
    summary["B1"] = "=COUNTA('Off Roll'!A4:A500)"
    ws = wb.create_sheet("Off Roll")
    headers = list(HEADERS)
    existing = [list(r) for r in EXISTING]
    if not upn_column:
        headers.pop(1)
        for r in existing:
            r.pop(1)
    ws["A1"] = "LEAVERS - STUDENTS TO TAKE OFF ROLL"
    ws["A1"].font = Font(bold=True, size=14)
    for i, h in enumerate(headers, start=1):
        c = ws.cell(HEADER_ROW, i, h)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="FFDDEBF7")
        ws.column_dimensions[c.column_letter].width = 18
    for r, row in enumerate(existing, start=FIRST_LEAVER_ROW):
        for i, value in enumerate(row, start=1):
            c = ws.cell(r, i, value)
            if isinstance(value, date) or (i > 2 and headers[i - 1].lower().startswith("d")):
                c.number_format = "DD/MM/YYYY"
    for r in range(
        FIRST_LEAVER_ROW + len(existing), FIRST_LEAVER_ROW + len(existing) + blank_styled_rows
    ):
        for i in range(1, len(headers) + 1):
            ws.cell(r, i).fill = PatternFill("solid", fgColor="FFFFF2CC")
    ws.freeze_panes = "A4"
    reason_col = "F" if upn_column else "E"
    dv = DataValidation(
        type="list", formula1='"Moved away,Elective home education,CME,Other"', allow_blank=True
    )
    dv.add(f"{reason_col}4:{reason_col}500")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add(
        "A4:K500",
        CellIsRule(
            operator="equal", formula=['"CME"'], fill=PatternFill("solid", fgColor="FFFFC7CE")
        ),
    )
    wb.create_sheet("Joiners").append(["Name", "Date joined"])
    wb.save(path)
    return path


def write_config(
    folder: Path, transfer_list: str = "transfer_list.xlsx", today: str = "2026-11-27"
) -> Path:
    config = folder / "mergekit.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [school]
            name = "Northgate Park Academy"
            head_teacher = "Mrs Helen Marsh"

            [files]
            tracking = "tracking.xlsx"
            transfer_list = "{transfer_list}"
            ledger = "ledger.sqlite"
            backups = "backups"

            [calendar]
            terms = [
              {{ start = 2026-09-01, end = 2026-10-23 }},
              {{ start = 2026-11-02, end = 2026-12-18 }},
              {{ start = 2027-01-04, end = 2027-02-12 }},
            ]
            inset_days = [2026-09-01, 2026-09-02, 2026-11-02]

            [policy]
            offroll_overdue_school_days = 10

            [run]
            today = {today}
            """
        ),
        encoding="utf-8",
    )
    return config


def school(folder: Path, **kw: object) -> Path:
    """A school folder: config, tracking workbook and transfer list; returns the config."""
    folder.mkdir(parents=True, exist_ok=True)
    make_tracking(folder / "tracking.xlsx")
    make_transfer_list(folder / "transfer_list.xlsx", **kw)  # type: ignore[arg-type]
    return write_config(folder)


# ---------------------------------------------------------------------------------------------
# Comparing packages


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def raw_members(path: Path) -> dict[str, tuple[int, int, int, int, bytes]]:
    """name -> (compress type, flags, CRC, compressed size, compressed bytes)."""
    out = {}
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        for i in z.infolist():
            n, k = (
                int.from_bytes(data[i.header_offset + 26 : i.header_offset + 28], "little"),
                int.from_bytes(data[i.header_offset + 28 : i.header_offset + 30], "little"),
            )
            start = i.header_offset + 30 + n + k
            out[i.filename] = (
                i.compress_type,
                i.flag_bits,
                i.CRC,
                i.compress_size,
                data[start : start + i.compress_size],
            )
    return out


_SHEET_DATA = re.compile(rb"<(?:\w+:)?sheetData\b[^>]*?(?:/>|>.*</(?:\w+:)?sheetData>)", re.DOTALL)
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def sheet_cells(xml: bytes) -> dict[str, bytes]:
    """Every cell of a worksheet, serialised, by reference."""
    root = ET.fromstring(xml)
    out = {}
    for c in root.iter(f"{NS}c"):
        out[c.get("r", "")] = ET.tostring(c)
    return out


def row_attrs(xml: bytes) -> dict[str, dict[str, str]]:
    root = ET.fromstring(xml)
    return {r.get("r", ""): dict(r.attrib) for r in root.iter(f"{NS}row")}


def outside_sheet_data(xml: bytes) -> bytes:
    """The worksheet XML with its cells and its dimension taken out (all of that must not
    change byte for byte)."""
    return _DIMENSION.sub(b"", _SHEET_DATA.sub(b"<sheetData/>", xml, count=1), count=1)
