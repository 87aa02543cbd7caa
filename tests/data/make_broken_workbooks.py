"""Build tests/data/broken/: workbooks that are wrong in the ways real ones are.

Run from the repository root: ``python tests/data/make_broken_workbooks.py``. The outputs are
committed, so the tests never need this script's extra tools (msoffcrypto-tool encrypts the
password-protected workbook; LibreOffice makes the .xls copy). Every name is invented.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import PatternFill
from stdnum.gb.upn import calc_check_digit

HERE = Path(__file__).resolve().parent
BROKEN = HERE / "broken"
FORMATS = HERE / "formats"
FIXED = datetime(2026, 11, 27, 9, 0, 0)


def upn(serial: int) -> str:
    body = f"331499926{serial:03d}"
    return calc_check_digit(body) + body


PUPIL_HEADER = ["UPN", "Legal Surname", "Legal Forename", "DOB", "Year", "Reg Group", "Gender"]
PUPILS = [
    [upn(1), "Adeyemi", "Tobi", date(2013, 3, 14), 8, "8AB", "M"],
    [upn(2), "Brennan", "Siobhán", date(2012, 10, 2), 9, "9CD", "F"],
    [upn(3), "Chowdhury", "Nadia", date(2011, 1, 20), 10, "10EF", "F"],
]
CONTACT_HEADER = [
    "UPN",
    "Priority",
    "Contact Name",
    "Relationship",
    "Parental Responsibility",
    "Lives With Pupil",
    "Address Line 1",
    "Postcode",
    "Mobile",
    "Email",
]
CONTACTS = [
    [
        upn(1),
        1,
        "Mrs Funmi Adeyemi",
        "Mother",
        "Y",
        "Y",
        "1 Elm Row",
        "ZZ1 1AA",
        "07700 900001",
        "f.adeyemi@example.org",
    ],
    [upn(2), 1, "Mr Liam Brennan", "Father", "Y", "Y", "2 Oak Row", "ZZ1 1AB", "07700 900002", ""],
    [
        upn(3),
        1,
        "Ms Rekha Chowdhury",
        "Mother",
        "Y",
        "Y",
        "3 Ash Row",
        "ZZ1 1AC",
        "07700 900003",
        "r.chowdhury@example.org",
    ],
]
MARK_HEADER = ["UPN", "Date", "AM", "PM"]
MARK_DAYS = [
    date(2026, 11, 23),
    date(2026, 11, 24),
    date(2026, 11, 25),
    date(2026, 11, 26),
    date(2026, 11, 27),
]


def marks() -> list[list[object]]:
    return [[p[0], d, "/", "\\"] for p in PUPILS for d in MARK_DAYS]


def workbook(
    pupils: list[list[object]] | None = None,
    *,
    pupil_header: list[str] | None = None,
    contacts: list[list[object]] | None = None,
    mark_rows: list[list[object]] | None = None,
) -> Workbook:
    wb = Workbook()
    wb.properties.created = wb.properties.modified = FIXED
    ws = wb.active
    assert ws is not None
    ws.title = "Pupils"
    ws.append(["Exampleton High - pupil list"])
    ws.append([])
    ws.append(pupil_header or PUPIL_HEADER)
    for row in pupils if pupils is not None else PUPILS:
        ws.append(row)
    cs = wb.create_sheet("Contacts")
    cs.append(CONTACT_HEADER)
    for row in contacts if contacts is not None else CONTACTS:
        cs.append(row)
    ms = wb.create_sheet("Marks")
    ms.append(MARK_HEADER)
    for row in mark_rows if mark_rows is not None else marks():
        ms.append(row)
    return wb


def save(wb: Workbook, path: Path) -> None:
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())


def main() -> None:
    BROKEN.mkdir(exist_ok=True)
    FORMATS.mkdir(exist_ok=True)
    save(workbook(), FORMATS / "tracking.xlsx")

    # Headers an MIS might use that are not pupil-list headers at all.
    save(
        workbook(
            pupil_header=["Pupil Ref", "Family Nme", "Given", "Birthday", "Yeer", "Form", "Gender"]
        ),
        BROKEN / "wrong_headers.xlsx",
    )
    # Text in number columns.
    rows = [list(r) for r in PUPILS]
    rows[0][4] = "nine"
    rows[1][4] = "Year 9"  # fine: read as 9
    bad_contacts = [list(r) for r in CONTACTS]
    bad_contacts[1][1] = "first"
    bad_contacts[2][4] = "maybe"
    save(workbook(rows, contacts=bad_contacts), BROKEN / "text_in_number_columns.xlsx")
    # Impossible and US-order dates.
    rows = [list(r) for r in PUPILS]
    rows[0][3] = "31/02/2012"
    rows[1][3] = "10/23/2012"
    rows[2][3] = "not known"
    m = marks()
    m[3][1] = "2026-13-01"
    save(workbook(rows, mark_rows=m), BROKEN / "impossible_dates.xlsx")
    # Duplicate UPNs and a wrong check letter.
    rows = [list(r) for r in PUPILS]
    rows.append([upn(2), "Brennan", "Aoife", date(2014, 5, 5), 7, "7GH", "F"])
    wrong = upn(4)
    rows.append(["A" if wrong[0] != "A" else "B", "Doe", "Jan", date(2012, 1, 1), 9, "9CD", "F"])
    rows[-1][0] = rows[-1][0] + wrong[1:]
    save(workbook(rows), BROKEN / "duplicate_upns.xlsx")
    # Marks for a pupil who is not on roll, and a code that does not exist.
    m = marks()
    m.append([upn(9), date(2026, 11, 27), "/", "\\"])
    m[0][2] = "Q9"
    save(workbook(mark_rows=m), BROKEN / "bad_marks.xlsx")
    # A workbook with no data at all.
    empty = Workbook()
    empty.properties.created = empty.properties.modified = FIXED
    save(empty, BROKEN / "empty_sheet.xlsx")
    # Not a workbook: a text file with an .xlsx name.
    (BROKEN / "not_a_workbook.xlsx").write_text("UPN,Surname\nthis is a text file\n")
    # Zero bytes.
    (BROKEN / "zero_bytes.xlsx").write_bytes(b"")
    # 10,000 blank but formatted rows under the data (Excel's "used range" trap).
    wb = workbook()
    ws = wb["Pupils"]
    fill = PatternFill("solid", fgColor="FFF2CC")
    for r in range(ws.max_row + 1, ws.max_row + 10_001):
        ws.cell(row=r, column=1).fill = fill
    save(wb, BROKEN / "blank_formatted_rows.xlsx")
    # Password protected ("Encrypt with Password" in Excel): password is "example".
    from msoffcrypto.format.ooxml import OOXMLFile  # dev-only tool, used only here

    plain = io.BytesIO()
    workbook().save(plain)
    plain.seek(0)
    encrypted = io.BytesIO()
    OOXMLFile(plain).encrypt("example", encrypted)
    (BROKEN / "password_protected.xlsx").write_bytes(encrypted.getvalue())

    # Other formats MIS reports export: .csv (pupils only) and .xls.
    with (FORMATS / "pupils.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        import csv

        w = csv.writer(fh)
        w.writerow(["Student list"])
        w.writerow(PUPIL_HEADER)
        for row in PUPILS:
            w.writerow([f"{c:%d/%m/%Y}" if isinstance(c, date) else c for c in row])
    soffice = shutil.which("soffice")
    if soffice:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [
                    soffice,
                    f"-env:UserInstallation=file://{tmp}/profile",
                    "--headless",
                    "--convert-to",
                    "xls",
                    "--outdir",
                    tmp,
                    str(FORMATS / "tracking.xlsx"),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            shutil.copy(Path(tmp) / "tracking.xls", FORMATS / "tracking.xls")


if __name__ == "__main__":
    main()
