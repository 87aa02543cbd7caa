"""`mergekit templates check`: what staff are told about the templates they edit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import realworld
from docx import Document

from mergekit.cli import main
from mergekit.core.actions import DOCUMENT_ACTIONS
from mergekit.core.config import load_config
from mergekit.core.errors import Severity
from mergekit.core.resources import bundled
from mergekit.documents.fieldschema import context_schema
from mergekit.documents.sample import sample_context
from mergekit.documents.templatecheck import TemplateReport, check_template

BUNDLED = DOCUMENT_ACTIONS  # every action with a Word template


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    settings = load_config(bundled("examples", "mergekit.toml"))
    return context_schema(sample_context(settings, date(2026, 11, 27)))


def make_docx(
    path: Path,
    paragraphs: Sequence[Sequence[str]],
    *,
    footer: Sequence[str] = (),
    table: Sequence[str] = (),
) -> Path:
    doc = Document()
    for runs in paragraphs:
        p = doc.add_paragraph()
        for r in runs:
            p.add_run(r)
    if table:
        t = doc.add_table(rows=len(table), cols=1)
        for row, text in zip(t.rows, table, strict=True):
            row.cells[0].paragraphs[0].add_run(text)
        doc.add_paragraph()
    for r in footer:
        doc.sections[0].footer.paragraphs[0].add_run(r)
    doc.save(str(path))
    return path


def messages(report: TemplateReport, severity: Severity) -> list[str]:
    return [str(f) for f in report.findings if f.severity is severity]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_templates_pass_without_a_warning(name: str, schema: dict[str, Any]) -> None:
    report = check_template(bundled("templates", "docx", f"{name}.docx"), schema)
    assert report.findings == ()
    assert "pupil.upn" in report.fields


@pytest.mark.realworld
def test_real_world_word_files_are_reported_on_without_crashing(schema: dict[str, Any]) -> None:
    files = realworld("docx")
    assert files
    for path in files:
        report = check_template(path, schema)
        assert report.findings, f"{path.name}: expected at least one finding"
        if path.name.startswith("docxtpl__"):
            assert report.errors, f"{path.name}: docxtpl's test fields are not mergekit fields"


def test_unknown_field_says_which_and_suggests_the_real_one(
    tmp_path: Path, schema: dict[str, Any]
) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["Dear parent of ", "{{ pupil.forname }}", "."]])
    (error,) = messages(check_template(tpl, schema), Severity.ERROR)
    assert "unknown field 'pupil.forname'" in error
    assert "did you mean 'pupil.forename'" in error
    assert 'in "Dear parent of {{ pupil.forname }}."' in error


def test_a_bare_field_name_is_pointed_at_its_group(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["{{ forename }}"]])
    (error,) = messages(check_template(tpl, schema), Severity.ERROR)
    assert "'pupil.forename'" in error


def test_fields_of_loop_rows_are_checked_against_the_rows(
    tmp_path: Path, schema: dict[str, Any]
) -> None:
    tpl = make_docx(
        tmp_path / "t.docx",
        [["Absences:"]],
        table=[
            "{%tr for a in attendance.recent_absences %}",
            "{{ a.dat }} {{ a.code }}",
            "{%tr endfor %}",
        ],
    )
    (error,) = messages(check_template(tpl, schema), Severity.ERROR)
    assert "unknown field 'a.dat'" in error
    assert "one row of attendance.recent_absences" in error
    assert "did you mean 'a.date'" in error


def test_optional_fields_asked_about_or_defaulted_are_not_errors(
    tmp_path: Path, schema: dict[str, Any]
) -> None:
    tpl = make_docx(
        tmp_path / "t.docx",
        [
            ["{% if pupil.nickname is defined %}", "{{ pupil.nickname }}", "{% endif %}"],
            ["{{ pupil.pronoun|default('they') }}"],
        ],
    )
    assert check_template(tpl, schema).findings == ()
    misspelt = make_docx(tmp_path / "u.docx", [["{{ pupil.nickname }}"]])
    assert not check_template(misspelt, schema).ok


def test_fields_in_footers_are_checked_too(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["{{ pupil.upn }}"]], footer=["{{ school.nmae }}"])
    (error,) = messages(check_template(tpl, schema), Severity.ERROR)
    assert "(footer1)" in error
    assert "'school.name'" in error


def test_curly_quotes_inside_a_tag_are_a_warning(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(
        tmp_path / "t.docx",
        [["{% if action.name == “pa_letter_1” %}", "first", "{% endif %}"]],
    )
    report = check_template(tpl, schema)
    assert report.errors == []
    (warning,) = messages(report, Severity.WARNING)
    assert "curly quotes" in warning


def test_a_tag_split_over_word_runs_is_a_warning_naming_the_paragraph(
    tmp_path: Path, schema: dict[str, Any]
) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["Hello ", "{{ pupil.", "forename }}", "!"]])
    report = check_template(tpl, schema)
    assert report.errors == []
    (warning,) = messages(report, Severity.WARNING)
    assert "split across Word runs" in warning
    assert '"Hello {{ pupil.forename }}!"' in warning


def test_an_if_without_endif_is_an_error(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["{% if pupil.flags.fsm %}", "free meals"], ["Bye"]])
    (error,) = messages(check_template(tpl, schema), Severity.ERROR)
    assert "{% if %} is never closed with {% endif %}" in error
    assert '"{% if pupil.flags.fsm %}free meals"' in error


def test_an_endfor_without_for_is_an_error(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["Text"], ["{%p endfor %}"]])
    (error,) = messages(check_template(tpl, schema), Severity.ERROR)
    assert "{% endfor %} without a matching {% for %}" in error


def test_a_tag_left_open_is_an_error(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["Dear {{ recipient.salutation"]])
    errors = messages(check_template(tpl, schema), Severity.ERROR)
    assert any("not closed in this paragraph" in e for e in errors)


def test_a_row_tag_outside_a_table_is_an_error(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(
        tmp_path / "t.docx", [["{%tr for s in siblings %}"], ["{{ s.name }}"], ["{%tr endfor %}"]]
    )
    errors = messages(check_template(tpl, schema), Severity.ERROR)
    assert any("only allowed inside a table cell" in e for e in errors)


def test_text_beside_a_paragraph_tag_is_a_warning(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(
        tmp_path / "t.docx",
        [["Lines: ", "{%p for l in pupil.address_lines %}"], ["{{ l }}"], ["{%p endfor %}"]],
    )
    (warning,) = messages(check_template(tpl, schema), Severity.WARNING)
    assert "'Lines:'" in warning
    assert "removed" in warning


def test_an_unknown_filter_is_an_error(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["{{ pupil.dob|ukdate }}"]])
    (error,) = messages(check_template(tpl, schema), Severity.ERROR)
    assert "ukdate" in error


def test_a_file_that_is_not_a_word_document_is_reported(
    tmp_path: Path, schema: dict[str, Any]
) -> None:
    fake = tmp_path / "letter.docx"
    fake.write_bytes(b"%PDF-1.7 not really")
    (error,) = messages(check_template(fake, schema), Severity.ERROR)
    assert "not a Word .docx file" in error


def test_a_document_without_fields_is_a_warning(tmp_path: Path, schema: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["Dear parent, hello."]])
    report = check_template(tpl, schema)
    assert report.ok
    assert "no merge fields" in messages(report, Severity.WARNING)[0]


# ---------------------------------------------------------------------------------------------
# The command


def test_templates_check_passes_on_the_bundled_templates(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["templates", "check"])
    assert result.exit_code == 0, result.output
    assert "6 templates checked: 0 errors, 0 warnings" in result.output


def test_templates_check_fails_on_a_broken_template(tmp_path: Path) -> None:
    tpl = make_docx(tmp_path / "mine.docx", [["{{ pupil.forname }}"]])
    result = CliRunner().invoke(main, ["templates", "check", str(tpl)])
    assert result.exit_code == 1
    assert "did you mean 'pupil.forename'" in result.output
    assert "1 template checked: 1 error, 0 warnings" in result.output


@pytest.mark.realworld
def test_templates_check_on_real_world_files_reports_and_exits_1() -> None:
    files = realworld("docx")
    result = CliRunner().invoke(main, ["templates", "check", *map(str, files)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{len(files)} templates checked" in result.output


def test_templates_copy_gives_staff_editable_copies(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["templates", "copy", str(tmp_path / "ours")])
    assert result.exit_code == 0, result.output
    copied = sorted(p.name for p in (tmp_path / "ours" / "docx").iterdir())
    assert copied == sorted(f"{n}.docx" for n in BUNDLED)
    again = CliRunner().invoke(main, ["templates", "copy", str(tmp_path / "ours")])
    assert "0 templates copied" in again.output
