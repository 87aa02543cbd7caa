"""`mergekit worklist` and how the work list and the plan to review print: A4 landscape, one
page wide, header rows on every page, every cell's text in full.

The page setup is read back with openpyxl; the print itself is real LibreOffice Calc turning
the workbooks into PDF, read back with pdftotext.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader

from mergekit.cli import main
from mergekit.core.ledger import Ledger
from mergekit.plan.xlsxprint import text_lines

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUN = Path("out") / "2026-11-27"
TABS = ["Day 1 calls", "Social workers", "DSL alerts", "CME team", "Home education"]


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example school after `mergekit worklist` and `mergekit plan --xlsx`; its config."""
    folder = tmp_path_factory.mktemp("worklist") / "school"
    shutil.copytree(
        EXAMPLES, folder, ignore=shutil.ignore_patterns("out", "backups", "*.sqlite*", "~$*")
    )
    config = str(folder / "mergekit.toml")
    runner = CliRunner()
    made = runner.invoke(main, ["worklist", "--config", config], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    (folder / "worklist-output.txt").write_text(made.output, encoding="utf-8")
    plan = runner.invoke(
        main, ["plan", "--config", config, "--xlsx", str(folder / RUN / "plan.xlsx")]
    )
    assert plan.exit_code == 0, plan.output
    return folder


def test_worklist_command_writes_the_days_call_list_and_records_it(school: Path) -> None:
    output = (school / "worklist-output.txt").read_text(encoding="utf-8")
    path = school / RUN / "worklist.xlsx"
    assert f"Work list for Friday 27/11/2026: {path} (54 rows)" in output
    assert re.search(r"^  Day 1 calls +19$", output, re.MULTILINE), output
    assert "Recorded as done in the ledger: 46" in output
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == TABS
    calls = list(book["Day 1 calls"].iter_rows(min_row=3, values_only=True))
    assert len(calls) == 19  # examples/README.md: 19 first-day calls
    andreea = next(r for r in calls if r[0] == "C331499919135")
    assert andreea[6].splitlines()[0] == "1. Miss Mihaela Georgescu (Mother) (interpreter)"
    assert andreea[7].splitlines()[0] == "1. 07700 900597 mobile"
    ledger = Ledger.open_readonly(school / "mergekit-ledger.sqlite")
    assert ledger is not None
    with ledger:
        done = ledger.done_keys()
    assert ("C331499919135", "first_day_contact", "2026-11-27") in done
    assert len(done) == 46

    again = CliRunner().invoke(main, ["worklist", "--config", str(school / "mergekit.toml")])
    assert again.exit_code == 0, again.output
    assert "(54 rows)" in again.output, "a second run the same day lists them again"
    assert "Recorded as done" not in again.output, "and records nothing twice"


def _sheets(school: Path) -> list[tuple[str, Worksheet]]:
    work = load_workbook(school / RUN / "worklist.xlsx")
    plan = load_workbook(school / RUN / "plan.xlsx")
    return [(f"worklist {ws.title}", ws) for ws in work.worksheets] + [("plan", plan["Plan"])]


def test_every_sheet_prints_landscape_one_page_wide_with_its_headers_on_every_page(
    school: Path,
) -> None:
    for name, ws in _sheets(school):
        setup = ws.page_setup
        assert setup.orientation == "landscape", name
        assert setup.paperSize == 9, name  # A4
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), name
        assert ws.sheet_properties.pageSetUpPr is not None
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        headers = 1 if name == "plan" else 2
        assert ws.print_title_rows == f"$1:${headers}", name
        last = ws.cell(row=headers, column=ws.max_column).column_letter
        assert ws.print_area == f"'{ws.title}'!$A$1:${last}${ws.max_row}", name
        # Narrow enough to print at 75% or more: landscape A4 less margins holds about 150.
        widths = [ws.column_dimensions[c.column_letter].width for c in ws[headers]]
        assert sum(widths) <= 200, (name, widths)


def test_every_cell_wraps_and_every_row_is_tall_enough_for_its_text(school: Path) -> None:
    for name, ws in _sheets(school):
        for row in ws.iter_rows(min_row=2):
            height = ws.row_dimensions[row[0].row].height
            assert height is not None, (name, row[0].row)
            for cell in row:
                assert cell.alignment.wrap_text, (name, cell.coordinate)
                if cell.value is not None:
                    lines = str(cell.value).count("\n") + 1
                    assert height >= 12 * lines, (name, cell.coordinate)
    # The note across the top of a tab is given the whole width, not column A's.
    ws = load_workbook(school / RUN / "worklist.xlsx")["Day 1 calls"]
    assert "A1:J1" in {str(r) for r in ws.merged_cells.ranges}


def test_text_lines_counts_wrapped_and_explicit_lines() -> None:
    assert text_lines("short", 20) == 1
    assert text_lines("one\ntwo\nthree", 20) == 3
    assert text_lines("word " * 40, 20) >= 200 // 20


def _text(pdf: Path) -> str:
    raw = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    return " ".join(raw.split())


@pytest.mark.libreoffice
@pytest.mark.poppler
@pytest.mark.slow
def test_libreoffice_prints_the_work_list_and_plan_on_few_pages_with_nothing_cut(
    school: Path, tmp_path: Path
) -> None:
    soffice = shutil.which("soffice")
    if soffice is None or shutil.which("pdftotext") is None:
        pytest.skip("needs LibreOffice (libreoffice-calc-nogui) and pdftotext (poppler-utils)")
    sources = [school / RUN / "worklist.xlsx", school / RUN / "plan.xlsx"]
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            *map(str, sources),
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )
    work, plan = tmp_path / "worklist.pdf", tmp_path / "plan.pdf"
    pages = PdfReader(work).pages
    # 54 rows on five tabs: it printed on 24 pages with overlapping text before.
    assert len(pages) <= 10
    assert all(p.mediabox.width > p.mediabox.height for p in pages), "landscape"
    for source, pdf in ((sources[0], work), (sources[1], plan)):
        text = _text(pdf)
        book = load_workbook(source)
        for ws in book.worksheets:
            if ws.title == "How to review":
                continue
            for row in ws.iter_rows(values_only=True):
                for value in row:
                    if value is not None:
                        shown = " ".join(str(value).split())
                        assert shown in text, f"{pdf.name} {ws.title}: {shown!r} is cut"
    calls = load_workbook(sources[0])["Day 1 calls"]
    text = _text(work)
    for upn, name, *_, phones, _outcome, _made in calls.iter_rows(min_row=3, values_only=True):
        assert f"{upn} {name}" in text
        for line in str(phones).splitlines():
            assert line in text
