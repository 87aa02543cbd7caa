"""Reading workbooks into the model: any header spelling, title rows, every input format,
and a clear message for every broken workbook in tests/data/broken."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from policy_builders import FILLED_IN_SETTINGS

from mergekit.cli import main
from mergekit.core.config import load_config
from mergekit.read.columns import SHEETS, header_index, match_header
from mergekit.read.tracking import read_tracking, read_tracking_file

DATA = Path(__file__).parents[1] / "data"
BROKEN = DATA / "broken"
FORMATS = DATA / "formats"


def write_config(folder: Path, tracking: Path | str, extra: str = "") -> Path:
    cfg = folder / "mergekit.toml"
    cfg.write_text(
        f"""
{FILLED_IN_SETTINGS}
[files]
tracking = "{tracking}"
transfer_list = "transfer_list.xlsx"
[calendar]
terms = [{{ start = 2026-11-02, end = 2026-12-18 }}]
[run]
today = 2026-11-27
{extra}
""",
        encoding="utf-8",
    )
    return cfg


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Legal Surname", "surname"),
        ("SURNAME", "surname"),
        ("Last Name", "surname"),
        ("Reg Group", "reg_group"),
        ("Registration Group", "reg_group"),
        ("Form", "reg_group"),
        ("Tutor Group", "reg_group"),
        ("NC Year", "year"),
        ("Year Group", "year"),
        ("Date of Birth", "dob"),
        ("D.O.B.", "dob"),
        ("date_of_birth", "dob"),
        ("% Attendance", "attendance_pct"),
        ("Attendance %", "attendance_pct"),
        ("Possible Marks", "possible_sessions"),
        ("Unique Pupil Number", "upn"),
    ],
)
def test_pupil_headers_match_their_mis_synonyms(header: str, field: str) -> None:
    spec = SHEETS["pupils"]
    assert field == match_header(header, header_index(spec), spec)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("DATE DATA TEAM EMAILED TO TAKE STUDENT OFF ROLE:", "data_team_emailed"),
        ('DATE UPDATED "TRANSFER LIST" SPREADSHEET (OFF ROLL TAB):', "transfer_list_updated"),
        ("DATE COVENTRY ADMISSIONS INFORMED OF CHILD TAKEN OFF ROLE:", "admissions_informed"),
        ("Date Warwickshire admissions informed", "admissions_informed"),
        ("AUTHORISED BY HEADTEACHER/SIGNATURE:", "authorised_by"),
        ("YEAR/TUTOR GROUP:", "year_group"),
    ],
)
def test_off_roll_checklist_headers_are_recognised(header: str, field: str) -> None:
    spec = SHEETS["off_roll"]
    assert field == match_header(header, header_index(spec), spec)


def _tracking(path: Path, *, title_rows: int = 2, renamed: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Students (MIS export)"
    for i in range(title_rows):
        ws.append([f"Title row {i + 1}"])
    surname = "Family Name" if renamed else "Legal Surname"
    ws.append(
        [
            "UPN",
            surname,
            "Forename",
            "Date of Birth",
            "NC Year",
            "Tutor Group",
            "Attendance %",
            "Looked After",
        ]
    )
    ws.append(["B801200005001", "O'Brien", "Zoë", "14/03/2012", "Year 9", "9KM", 0.873, "Y"])
    ws.append([" g80120000101a ", "Nguyễn", "Łukasz", date(2013, 1, 2), 8, "8AB", "91.5%", "N"])
    ws.append([None] * 8)
    cs = wb.create_sheet("Parents")
    cs.append(
        [
            "Pupil UPN",
            "Contact Priority",
            "Parent Name",
            "Relationship to Pupil",
            "PR",
            "Email Address",
            "Postcode",
            "Address",
        ]
    )
    cs.append(
        [
            "B801200005001",
            1,
            "Mrs Aoife O'Brien",
            "Mother",
            "Yes",
            "a@example.org",
            "ZZ1 1AA",
            "1 Elm Row, Exampleton",
        ]
    )
    wb.save(path)
    return path


def test_sheets_are_found_by_header_row_whatever_they_are_called(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, _tracking(tmp_path / "t.xlsx"))
    result = read_tracking(load_config(cfg))
    assert {"pupils": "Students (MIS export)", "contacts": "Parents"} == result.sheets_found
    assert [] == result.errors
    zoe = result.data.pupils["B801200005001"]
    assert ("O'Brien", "Zoë", date(2012, 3, 14), 9, "9KM") == (
        zoe.surname,
        zoe.forename,
        zoe.dob,
        zoe.year,
        zoe.reg_group,
    )
    assert zoe.has("looked_after")
    assert zoe.summary is not None
    assert 87.3 == pytest.approx(zoe.summary.percent)
    assert "G80120000101A" in result.data.pupils  # trimmed, upper-cased temporary UPN
    (mother,) = result.data.contacts_of("B801200005001")
    assert (mother.title, mother.surname, mother.parental_responsibility) == (
        "Mrs",
        "O'Brien",
        True,
    )
    assert ("1 Elm Row", "Exampleton") == mother.address.lines


def test_config_column_overrides_map_a_schools_own_header(tmp_path: Path) -> None:
    book = _tracking(tmp_path / "t.xlsx", renamed=True)
    cfg = write_config(tmp_path, book, '[columns.pupils]\nsurname = "Family Name"\n')
    result = read_tracking(load_config(cfg))
    assert result.data.pupils["B801200005001"].surname == "O'Brien"


def test_header_may_be_anywhere_in_the_first_ten_rows_but_not_below(tmp_path: Path) -> None:
    ok = read_tracking(
        load_config(write_config(tmp_path, _tracking(tmp_path / "a.xlsx", title_rows=9)))
    )
    assert len(ok.data.pupils) == 2
    late = read_tracking(
        load_config(write_config(tmp_path, _tracking(tmp_path / "b.xlsx", title_rows=10)))
    )
    assert late.data.pupils == {}
    assert any("pupils sheet" in str(p) for p in late.errors)


@pytest.mark.parametrize("name", ["tracking.xlsx", "tracking.xls"])
def test_xlsx_and_xls_exports_read_the_same(tmp_path: Path, name: str) -> None:
    result = read_tracking(load_config(write_config(tmp_path, FORMATS / name)))
    assert [] == result.errors
    assert 3 == len(result.data.pupils)
    assert 30 == result.counts["marks"]
    assert ("/", "\\") == result.data.marks_of("X331499926001")[date(2026, 11, 27)]


def test_csv_export_with_a_title_row_reads_pupils(tmp_path: Path) -> None:
    result = read_tracking(load_config(write_config(tmp_path, FORMATS / "pupils.csv")))
    assert [] == result.errors
    assert date(2012, 10, 2) == result.data.pupils["L331499926002"].dob


def test_reading_never_writes_to_the_input(tmp_path: Path) -> None:
    book = shutil.copy(FORMATS / "tracking.xlsx", tmp_path / "tracking.xlsx")
    before = hashlib.sha256(Path(book).read_bytes()).hexdigest()
    mtime = Path(book).stat().st_mtime_ns
    read_tracking_file(Path(book), load_config(write_config(tmp_path, book)))
    assert before == hashlib.sha256(Path(book).read_bytes()).hexdigest()
    assert mtime == Path(book).stat().st_mtime_ns
    assert ["mergekit.toml", "tracking.xlsx"] == sorted(p.name for p in tmp_path.iterdir())


def test_an_excel_lock_file_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    book = shutil.copy(FORMATS / "tracking.xlsx", tmp_path / "tracking.xlsx")
    (tmp_path / "~$tracking.xlsx").write_bytes(b"owner")
    result = CliRunner().invoke(main, ["check", "--config", str(write_config(tmp_path, book))])
    assert 0 == result.exit_code, result.output
    assert "the workbook is open in Excel" in result.output


BROKEN_CASES = [
    (
        "wrong_headers.xlsx",
        [
            "missing column 'Legal Surname' in the pupils sheet (header row 3) - did you mean "
            "'Family Nme'?",
            "missing column 'DOB' in the pupils sheet (header row 3) - did you mean 'Birthday'?",
            '[columns.pupils] year = "Yeer"',
        ],
    ),
    (
        "text_in_number_columns.xlsx",
        [
            "Pupils!E4 (Year): 'nine' is not a year group - write the NC year, e.g. 9 or Year 9",
            "Contacts!B3 (Priority): 'first' is not a whole number",
            "Contacts!E4 (Parental Responsibility): 'maybe' is not yes or no - write Y or N",
        ],
    ),
    (
        "impossible_dates.xlsx",
        [
            "Pupils!D4 (DOB): '31/02/2012' is not a date - write it as DD/MM/YYYY",
            "Pupils!D5 (DOB): '10/23/2012' is not a date (month 23); it looks like US order",
            "Pupils!D6 (DOB): 'not known' is not a date",
            "Marks!B5 (Date): '2026-13-01' is not a date - write it as DD/MM/YYYY",
        ],
    ),
    (
        "duplicate_upns.xlsx",
        [
            "Pupils!A7 (UPN): UPN L331499926002 appears twice (also row 5)",
            "Pupils!A8 (UPN): UPN 'A331499926004' has the wrong check letter (expected P)",
        ],
    ),
    (
        "bad_marks.xlsx",
        [
            "Marks!C2 (AM): 'Q9' is not a 2024 DfE attendance code",
            "Marks!A17 (UPN): marks for UPN 'K331499926009', who is not on the pupils sheet",
        ],
    ),
    ("empty_sheet.xlsx", ["empty_sheet.xlsx: no sheet looks like the pupils sheet"]),
    ("not_a_workbook.xlsx", ["not_a_workbook.xlsx: not an Excel workbook"]),
    (
        "password_protected.xlsx",
        ["password_protected.xlsx: the workbook is protected with a password"],
    ),
    ("zero_bytes.xlsx", ["zero_bytes.xlsx: the file is empty (0 bytes)"]),
]


@pytest.mark.parametrize(("name", "expected"), BROKEN_CASES, ids=[c[0] for c in BROKEN_CASES])
def test_broken_workbooks_give_clear_located_errors(
    tmp_path: Path, name: str, expected: list[str]
) -> None:
    cfg = write_config(tmp_path, BROKEN / name)
    result = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    assert 1 == result.exit_code
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output


def test_ten_thousand_blank_formatted_rows_are_skipped(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, BROKEN / "blank_formatted_rows.xlsx")
    result = read_tracking(load_config(cfg))
    assert [] == result.errors
    assert 3 == len(result.data.pupils)


def test_check_json_reports_every_problem_for_machines(tmp_path: Path) -> None:
    import json

    cfg = write_config(tmp_path, BROKEN / "duplicate_upns.xlsx")
    result = CliRunner().invoke(main, ["check", "--config", str(cfg), "--json"])
    assert 1 == result.exit_code
    report = json.loads(result.output)
    assert 2 == report["errors"]
    cells = {(p["sheet"], p["cell"]) for p in report["problems"] if p["severity"] == "error"}
    assert {("Pupils", "A7"), ("Pupils", "A8")} == cells


def _realworld_workbooks() -> list[Path]:
    from conftest import REALWORLD

    folder = REALWORLD / "xlsx"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.mark.realworld
@pytest.mark.parametrize("book", _realworld_workbooks(), ids=lambda p: p.name)
def test_real_world_workbooks_that_are_not_trackers_are_explained_not_crashed_on(
    tmp_path: Path, book: Path
) -> None:
    """Charts, pivots, macros, Strict Open XML...: read-only, and a clear answer."""
    cfg = write_config(tmp_path, book)
    result = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    assert 1 == result.exit_code
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{book.name}: no sheet looks like the pupils sheet" in result.output


def test_real_world_folder_is_present_or_the_reason_is_given() -> None:
    if not _realworld_workbooks():
        pytest.skip(
            "../shared/realworld/xlsx is absent: real-world workbooks live outside the repo"
        )
    assert len(_realworld_workbooks()) > 10
