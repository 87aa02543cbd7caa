"""The letters/forms pipeline on a real workbook: plan -> Word documents -> manifest -> ledger.

The school is written as a real tracking.xlsx (pupils with their own names and addresses,
siblings, a parent flagged no-contact, a family with no postal address, a name full of XML
specials) and read back by the reader, planned by the real policy engine and rendered by the
real renderer; every document is re-opened with python-docx.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from document_builders import docx_text, manifest_rows, standard_kids, write_school
from policy_builders import (
    make_upn,
)

from mergekit.core.actions import FORMS, LETTERS
from mergekit.core.errors import CheckFailed, TemplateError
from mergekit.core.model import Pupil
from mergekit.core.runfolder import MANIFEST_COLUMNS, document_stem
from mergekit.core.workspace import Workspace, open_workspace
from mergekit.day.school import load_school
from mergekit.documents.make import (
    make_forms,
    make_letters,
    make_preview,
)
from mergekit.merge.addressing import household_addressees

# ---------------------------------------------------------------------------------------------
# A small school written as a real workbook


def workspace_for(cfg: Path) -> Workspace:
    return open_workspace(cfg)


@pytest.fixture
def school(tmp_path: Path) -> Path:
    return write_school(tmp_path / "school", standard_kids())


# ---------------------------------------------------------------------------------------------
# Letters


def test_letters_are_made_for_exactly_the_pupils_the_plan_lists(school: Path) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws))
    made = {(d.pupil.surname, d.pupil.forename, d.action.kind) for d in result.documents}
    assert made == {
        ("Khan", "Aisha", "pa_letter_1"),
        ("Khan", "Bilal", "pa_letter_1"),
        ("O'Brien", "Ciaran", "pa_letter_2"),
        ("Nowak", "Dara", "pa_letter_1"),
        ("Nomad", "Eve", "pa_letter_1"),
        ("Third", "Finn", "pa_letter_3"),
        # Missing for 12 and 21 school days: below 90% as well.
        ("Missing", "Gina", "pa_letter_1"),
        ("Gone", "Hugo", "pa_letter_1"),
    }
    for d in result.documents:
        assert d.file.parent == ws.settings.output_dir / "2026-11-27" / "docx"
        assert d.file.name == document_stem(d.pupil, d.action.kind) + ".docx"


def test_every_letter_holds_its_own_pupil_and_nobody_elses(tmp_path: Path) -> None:
    kids = standard_kids(many=30)
    cfg = write_school(tmp_path / "big", kids)
    ws = workspace_for(cfg)
    result = make_letters(ws, load_school(ws))
    assert len(result.documents) > 30
    everyone = {k.upn: k for k in kids}
    for d in result.documents:
        text = docx_text(d.file)
        me = everyone[d.pupil.upn]
        assert me.upn in text
        assert f"{me.forename} {me.surname}" in text
        others = [k for k in kids if k.upn != me.upn]
        assert not [k.upn for k in others if k.upn in text]
        # Forenames as whole words: surnames are shared within a family (the Khans).
        assert not [k.forename for k in others if re.search(rf"\b{k.forename}\b", text)]
        # The letter goes to this pupil's home and no other family's.
        homes = {str(p["street"]) for p in me.parents}
        home = str(me.parents[0]["street"])
        if home:
            assert home in text
        assert not [
            p["street"]
            for k in others
            for p in k.parents
            if p["street"] and p["street"] not in homes and str(p["street"]) in text
        ]


def test_names_full_of_xml_specials_are_printed_as_written(school: Path) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws))
    letter = next(d for d in result.documents if d.pupil.surname == "O'Brien")
    text = docx_text(letter.file)
    assert "Ms Orla O'Brien & Sons <Ltd>" in text
    assert "Ciaran O'Brien" in text
    with zipfile.ZipFile(letter.file) as z:
        assert z.testzip() is None


def test_letter_2_and_3_give_the_dates_of_the_earlier_letters(school: Path) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws))
    second = next(d for d in result.documents if d.action.kind == "pa_letter_2")
    third = next(d for d in result.documents if d.action.kind == "pa_letter_3")
    assert "We wrote to you on 1 October 2026" in docx_text(second.file)
    assert "We wrote to you on 25 September 2026 and again on 20 October 2026" in docx_text(
        third.file
    )


def test_siblings_at_one_address_name_the_same_parents_in_the_same_order(school: Path) -> None:
    ws = workspace_for(school)
    data = load_school(ws)
    homes = household_addressees(data)
    aisha, bilal = make_upn(1), make_upn(2)
    assert [c.name for c in homes[aisha]] == [c.name for c in homes[bilal]]
    result = make_letters(ws, data)
    texts = {d.pupil.upn: docx_text(d.file) for d in result.documents}
    # Bilal (Year 7) comes first in hand-out order, so his contact order is used for both.
    for upn in (aisha, bilal):
        assert "Mr Tariq Khan and Mrs Amina Khan" in texts[upn]
        assert "Dear Mr Khan and Mrs Khan," in texts[upn]


def test_a_parent_flagged_no_contact_is_not_addressed(school: Path) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws))
    text = docx_text(next(d.file for d in result.documents if d.pupil.surname == "Nowak"))
    assert "Dear Mrs Nowak," in text
    assert "Piotr" not in text


def test_a_family_with_no_postal_address_is_reported_and_still_gets_its_letter(
    school: Path,
) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws))
    assert [d.pupil.surname for d in result.cannot_post] == ["Nomad"]
    nomad = result.cannot_post[0]
    assert nomad.file.is_file()
    row = next(r for r in manifest_rows(result.run_dir) if r["upn"] == nomad.pupil.upn)
    assert "cannot post" in row["recipients"]


def test_manifest_lists_each_document_with_its_hash_and_recipients(school: Path) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws))
    run = result.run_dir
    with (run / "manifest.csv").open(encoding="utf-8-sig", newline="") as f:
        assert tuple(next(csv.reader(f))) == MANIFEST_COLUMNS
    rows = manifest_rows(run)
    assert len(rows) == len(result.documents)
    for row in rows:
        path = run / row["file"]
        assert path.is_file()
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["upn"] in path.name
        assert row["action"] in LETTERS
    khan = next(r for r in rows if r["upn"] == make_upn(1))
    assert khan["recipients"] == (
        "Mr Tariq Khan <tariq.khan@example.org>; Mrs Amina Khan <amina.khan@example.org>; "
        "post: 12 Elm Road, Exampleton, ZZ1 2AB"
    )


def test_each_letter_and_document_is_recorded_in_the_ledger(school: Path) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws))
    with sqlite3.connect(ws.settings.ledger_path) as db:
        actions = set(db.execute("SELECT upn, action, stage, day FROM actions"))
        documents = list(db.execute("SELECT upn, kind, sha256, action_id FROM documents"))
    assert actions == {
        (d.pupil.upn, d.action.kind, "2026-27", "2026-11-27") for d in result.documents
    }
    assert sorted((u, s) for u, _, s, _ in documents) == sorted(
        (d.pupil.upn, d.sha256) for d in result.documents
    )
    assert all(kind == "docx" and action_id for _, kind, _, action_id in documents)


def test_a_second_run_the_same_day_makes_nothing_and_says_why(school: Path) -> None:
    ws = workspace_for(school)
    first = make_letters(ws, load_school(ws))
    stamps = {d.file: d.file.stat().st_mtime_ns for d in first.documents}
    second = make_letters(ws, load_school(ws))
    assert second.documents == ()
    assert len(second.already_done) == len(first.documents)
    assert {d.file: d.file.stat().st_mtime_ns for d in first.documents} == stamps
    assert len(manifest_rows(first.run_dir)) == len(first.documents)


def test_a_letter_struck_in_plan_xlsx_is_not_made(school: Path) -> None:
    from mergekit.plan.planning import make_plan
    from mergekit.plan.planxlsx import write_plan_xlsx

    ws = workspace_for(school)
    data = load_school(ws)
    run = ws.settings.output_dir / "2026-11-27"
    run.mkdir(parents=True)
    write_plan_xlsx(make_plan(ws, data), run / "plan.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(run / "plan.xlsx")
    sheet = wb["Plan"]
    header = [c.value for c in sheet[1]]
    upn_col, action_col, approve_col = (
        header.index("UPN"),
        header.index("Action"),
        header.index("Approve"),
    )
    struck = make_upn(4)
    for row in sheet.iter_rows(min_row=2):
        if row[upn_col].value == struck and row[action_col].value == "pa_letter_1":
            row[approve_col].value = "N"
    wb.save(run / "plan.xlsx")

    result = make_letters(ws, data)
    assert struck not in {d.pupil.upn for d in result.documents}
    assert [a.upn for a in result.struck] == [struck]
    assert len(result.documents) == 7


def test_only_makes_just_the_letters_asked_for(school: Path) -> None:
    ws = workspace_for(school)
    result = make_letters(ws, load_school(ws), only=["pa_letter_2"])
    assert [d.action.kind for d in result.documents] == ["pa_letter_2"]


def test_preview_makes_one_sample_per_template_and_records_nothing(school: Path) -> None:
    ws = workspace_for(school)
    result = make_preview(ws, load_school(ws), (*LETTERS, *FORMS))
    assert sorted(d.action.kind for d in result.documents) == sorted((*LETTERS, *FORMS))
    assert all(d.file.parent == result.run_dir / "preview" / "docx" for d in result.documents)
    assert not ws.settings.ledger_path.exists()
    assert not (result.run_dir / "manifest.csv").exists()
    for d in result.documents:
        assert d.pupil.upn in docx_text(d.file)


def test_school_wide_workbook_errors_stop_the_letters_before_anything_is_made(
    tmp_path: Path,
) -> None:
    cfg = write_school(tmp_path / "s", standard_kids())
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "s" / "tracking.xlsx")
    wb["Pupils"]["D1"] = "Birthday"  # the DOB column is missing: a school-wide error
    wb.save(tmp_path / "s" / "tracking.xlsx")
    ws = workspace_for(cfg)
    with pytest.raises(CheckFailed, match="mergekit check"):
        load_school(ws)


def test_an_unknown_field_in_a_template_stops_the_run_before_any_file_is_written(
    tmp_path: Path,
) -> None:
    from docx import Document as NewDocument

    bad = tmp_path / "my_letter.docx"
    doc = NewDocument()
    doc.add_paragraph().add_run("Dear {{ recipient.salutation }},")
    doc.add_paragraph().add_run("About {{ pupil.forname }} in {{ pupil.reg_grop }}")
    doc.save(str(bad))
    cfg = write_school(tmp_path / "s", standard_kids(), f'[templates]\npa_letter_1 = "{bad}"\n')
    ws = workspace_for(cfg)
    with pytest.raises(TemplateError) as e:
        make_letters(ws, load_school(ws))
    message = str(e.value)
    assert "my_letter.docx" in message
    assert "'pupil.forname'" in message
    assert "did you mean 'pupil.forename'" in message
    assert "'pupil.reg_grop'" in message
    assert "'pupil.reg_group'" in message
    assert not ws.settings.output_dir.exists()
    assert not ws.settings.ledger_path.exists()


# ---------------------------------------------------------------------------------------------
# Forms


def test_forms_due_makes_the_referral_checklist_and_move_form(school: Path) -> None:
    ws = workspace_for(school)
    result = make_forms(ws, load_school(ws), due=True)
    made = sorted((d.pupil.surname, d.action.kind) for d in result.documents)
    assert made == [
        ("Gone", "cme_referral"),
        ("Gone", "remove_from_roll"),
        ("Missing", "cme_referral"),
        ("Mover", "planned_move"),
    ]
    referral = next(d for d in result.documents if d.pupil.surname == "Missing")
    text = docx_text(referral.file)
    assert "Gina" in text
    assert make_upn(7) in text
    assert "Hedda Missing" in text
    assert "☒ NO" in text.replace("    ", " ")  # a flag the school answered
    assert "Hugo" not in text
    checklist = next(d for d in result.documents if d.action.kind == "remove_from_roll")
    text = docx_text(checklist.file)
    assert "21 school days" in text
    assert "Mrs Hana Head" in text
    move = next(d for d in result.documents if d.action.kind == "planned_move")
    assert "10 Rua Nova, Lisbon" in docx_text(move.file)


def test_forms_and_letters_share_the_days_manifest(school: Path) -> None:
    ws = workspace_for(school)
    data = load_school(ws)
    letters = make_letters(ws, data)
    forms = make_forms(ws, data, due=True)
    rows = manifest_rows(letters.run_dir)
    assert len(rows) == len(letters.documents) + len(forms.documents)
    referral = next(r for r in rows if r["action"] == "cme_referral")
    assert referral["recipients"] == "Children Missing Education Team <cme@example.gov.uk>"


def test_forms_for_a_named_pupil_can_be_any_form_asked_for(school: Path) -> None:
    ws = workspace_for(school)
    result = make_forms(ws, load_school(ws), upns=[make_upn(10)], forms=["cme_referral"])
    (doc,) = result.documents
    assert doc.action.stage == "requested 2026-11-27"
    assert "Jon" in docx_text(doc.file)


def test_a_named_pupil_with_no_form_due_is_reported(school: Path) -> None:
    ws = workspace_for(school)
    result = make_forms(ws, load_school(ws), upns=[make_upn(10)])
    assert result.documents == ()
    assert any("no form is due today" in n for n in result.notes)


def test_file_names_sort_in_hand_out_order() -> None:
    p = Pupil(upn="A1", surname="O'Neil Smith", forename="Zoë", year=9, reg_group="9K/M")
    assert document_stem(p, "pa_letter_1") == "Y09_9K-M_O'Neil-Smith_Zoë_A1_pa_letter_1"
    assert document_stem(Pupil(upn="B2", surname="X", forename="Y"), "cme_referral") == (
        "Y--_X_Y_B2_cme_referral"
    )


def test_a_template_failing_for_one_pupil_stops_the_run_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """The field exists, but this pupil has no row 0: found while rendering in memory, so no
    document, manifest or ledger entry is left behind for the others either."""
    from docx import Document as NewDocument

    fragile = tmp_path / "fragile.docx"
    doc = NewDocument()
    doc.add_paragraph().add_run("{{ pupil.full_name }}: {{ attendance.recent_absences[0].date }}")
    doc.save(str(fragile))
    cfg = write_school(
        tmp_path / "s", standard_kids(), f'[templates]\nplanned_move = "{fragile}"\n'
    )
    ws = workspace_for(cfg)
    with pytest.raises(TemplateError, match="planned_move template"):
        make_forms(ws, load_school(ws), due=True)  # Ines, the mover, has no absences
    assert not ws.settings.output_dir.exists()
    assert not ws.settings.ledger_path.exists()
