"""`mergekit letters`, `mergekit forms` and `mergekit fields` as staff run them."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from document_builders import EXAMPLES_HINT, docx_text, manifest_rows, standard_kids, write_school
from policy_builders import make_upn

from mergekit.cli import main


@pytest.fixture
def school(tmp_path: Path) -> Path:
    return write_school(tmp_path / "school", standard_kids())


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_letters_makes_the_days_letters_and_says_what_it_did(school: Path) -> None:
    code, out = run("letters", "--config", str(school))
    assert code == 0, out
    assert "Letters for Friday 27/11/2026" in out
    assert "Made 8 documents" in out
    assert "Attendance warning letter 1" in out
    assert "Cannot post (1)" in out
    assert make_upn(5) in out  # Eve Nomad, no postal address
    assert "Manifest:" in out
    run_dir = school.parent / "out" / "2026-11-27"
    assert len(manifest_rows(run_dir)) == 8


def test_letters_twice_the_same_day_makes_nothing_new(school: Path) -> None:
    run("letters", "--config", str(school))
    code, out = run("letters", "--config", str(school))
    assert code == 0, out
    assert "Nothing new to make: 8 letters were already made today" in out


def test_letters_only_one_kind(school: Path) -> None:
    code, out = run("letters", "--config", str(school), "--only", "pa_letter_3")
    assert code == 0, out
    assert "Made 1 document " in out
    assert "Attendance warning letter 3" in out


def test_letters_preview_records_nothing(school: Path) -> None:
    code, out = run("letters", "--config", str(school), "--preview")
    assert code == 0, out
    assert "Previews (nothing recorded)" in out
    preview = school.parent / "out" / "2026-11-27" / "preview" / "docx"
    assert len(list(preview.glob("*.docx"))) == 3
    assert not (school.parent / "mergekit-ledger.sqlite").exists()


def test_workbook_errors_stop_letters_with_a_clear_message(school: Path) -> None:
    from openpyxl import load_workbook

    book = school.parent / "tracking.xlsx"
    wb = load_workbook(book)
    wb["Pupils"]["D1"] = "Birthday"  # no DOB column: school-wide, stops everything
    wb.save(book)
    code, out = run("letters", "--config", str(school))
    assert code == 1
    assert "Error: tracking.xlsx: `mergekit check` finds 1 error that stops the whole day" in out
    assert "nothing was made" in out
    assert not (school.parent / "out").exists()


def test_forms_due(school: Path) -> None:
    code, out = run("forms", "--config", str(school), "--due")
    assert code == 0, out
    assert "Made 4 documents" in out
    assert "Children Missing Education referral form" in out
    assert "Remove From Roll checklist" in out
    assert "Planned move form" in out


def test_forms_for_named_pupils(school: Path) -> None:
    code, out = run("forms", "--config", str(school), make_upn(8))
    assert code == 0, out
    assert "Made 2 documents" in out  # Hugo's referral and Remove From Roll checklist
    code, out = run("forms", "--config", str(school), make_upn(10), "--form", "planned_move")
    assert code == 0, out
    assert "Made 1 document " in out


def test_forms_needs_pupils_or_due(school: Path) -> None:
    code, out = run("forms", "--config", str(school))
    assert code == 2
    assert "name pupils by UPN, or use --due" in out


def test_forms_for_an_unknown_upn_is_an_error(school: Path) -> None:
    code, out = run("forms", "--config", str(school), "A123")
    assert code == 1
    assert "no pupil with the UPN 'A123'" in out


def test_fields_lists_every_field_with_a_real_pupils_value(school: Path) -> None:
    code, out = run("fields", "--config", str(school), "--upn", make_upn(3))
    assert code == 0, out
    assert f"values for {make_upn(3)} Ciaran O'Brien (Year 9, 9KM)" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "Ciaran" in lines["pupil.forename"]
    assert "Testbridge School" in lines["school.name"]
    assert "O'Brien & Sons <Ltd>" in lines["parent1.surname"]
    assert "1 October 2026" in lines["letter.letter_1_date"]
    for name in (
        "attendance.percent",
        "recipient.salutation",
        "council.cme_email",
        "attendance.recent_absences.1.date",
    ):
        assert name in lines


@pytest.mark.libreoffice
@pytest.mark.slow
def test_pdfs_for_new_earlier_and_edited_documents_and_the_print_pack(school: Path) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt install libreoffice-writer-nogui")
    run_dir = school.parent / "out" / "2026-11-27"
    code, out = run("letters", "--config", str(school))
    assert code == 0, out
    assert not (run_dir / "pdf").exists()
    # Asked again with --pdf: nothing new to make, but the letters made earlier get PDFs.
    code, out = run("letters", "--config", str(school), "--pdf")
    assert code == 0, out
    assert "Nothing new to make" in out
    assert "PDFs: 8 in" in out
    code, out = run("forms", "--config", str(school), "--due", "--pdf")
    assert code == 0, out
    assert "PDFs: 4 in" in out
    pdfs = sorted(p.stem for p in (run_dir / "pdf").glob("*.pdf"))
    assert pdfs == sorted(Path(r["file"]).stem for r in manifest_rows(run_dir))
    assert (run_dir / "print-pack.pdf").is_file()
    # Staff edit one letter in Word: its PDF is made again, the others are left alone.
    edited = next((run_dir / "docx").glob("*pa_letter_3.docx"))
    later = (run_dir / "pdf" / f"{edited.stem}.pdf").stat().st_mtime + 60
    os.utime(edited, (later, later))
    code, out = run("letters", "--config", str(school), "--pdf")
    assert code == 0, out
    assert "PDFs: 1 in" in out
    with sqlite3.connect(school.parent / "mergekit-ledger.sqlite") as db:
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM documents GROUP BY kind"))
        unlinked = db.execute("SELECT COUNT(*) FROM documents WHERE action_id IS NULL").fetchone()
    assert kinds == {"docx": 12, "pdf": 13}
    assert unlinked == (0,)


def test_the_example_school_gets_letters_and_forms(example_school: Path) -> None:
    if not (example_school.parent / "tracking.xlsx").is_file():
        pytest.skip(EXAMPLES_HINT)
    code, out = run("letters", "--config", str(example_school))
    assert code == 0, out
    code, out = run("forms", "--config", str(example_school), "--due")
    assert code == 0, out
    run_dir = example_school.parent / "out" / "2026-11-27"
    rows = manifest_rows(run_dir)
    assert rows
    for row in rows:
        assert row["upn"] in docx_text(run_dir / row["file"])
