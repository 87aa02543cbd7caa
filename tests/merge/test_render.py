"""The fast renderer: the same documents as docxtpl, valid Word files, strict and escaped."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docxtpl import DocxTemplate
from lxml import etree

from mergekit.core.actions import DOCUMENT_ACTIONS
from mergekit.core.atomic import write_atomic
from mergekit.core.config import load_config
from mergekit.core.errors import TemplateError
from mergekit.core.resources import bundled
from mergekit.documents.sample import sample_context
from mergekit.merge.render import compile_template, environment

TODAY = date(2026, 11, 27)
BUNDLED = DOCUMENT_ACTIONS  # every action with a Word template


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    settings = load_config(bundled("examples", "mergekit.toml"))
    return sample_context(settings, TODAY)


def make_docx(
    path: Path,
    paragraphs: Sequence[Sequence[str]],
    *,
    header: Sequence[str] = (),
    footer: Sequence[str] = (),
    table: Sequence[Sequence[str]] = (),
) -> Path:
    """A Word file whose paragraphs are built run by run (each string one run)."""
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
    section = doc.sections[0]
    for runs, part in ((header, section.header), (footer, section.footer)):
        for r in runs:
            part.paragraphs[0].add_run(r)
    doc.save(str(path))
    return path


def text_of(data: bytes | Path) -> list[str]:
    """Everything a reader sees, in order: body, tables, headers, footers."""
    doc = Document(io.BytesIO(data) if isinstance(data, bytes) else str(data))
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            out.extend(c.text for c in row.cells)
    for s in doc.sections:
        for hf in (s.header, s.footer, s.first_page_header, s.first_page_footer):
            out.extend(p.text for p in hf.paragraphs)
    return out


def plain_docxtpl(path: Path, context: dict[str, Any]) -> bytes:
    tpl = DocxTemplate(str(path))
    tpl.render(context, jinja_env=environment(), autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_template_renders_the_same_text_as_plain_docxtpl(
    name: str, context: dict[str, Any]
) -> None:
    path = bundled("templates", "docx", f"{name}.docx")
    fast = compile_template(path).render(context)
    assert text_of(fast) == text_of(plain_docxtpl(path, context))
    assert context["pupil"]["full_name"] in "\n".join(text_of(fast))


def test_output_is_a_valid_zip_that_copies_the_untouched_parts(context: dict[str, Any]) -> None:
    path = bundled("templates", "docx", "pa_letter_1.docx")
    out = zipfile.ZipFile(io.BytesIO(compile_template(path).render(context)))
    src = zipfile.ZipFile(path)
    assert out.testzip() is None
    # the one part added: the picture of {{ attendance_chart }} (tests/merge/test_chart.py)
    assert out.namelist() == [*src.namelist(), "word/media/mergekit_attendance_chart.png"]
    assert out.read("word/styles.xml") == src.read("word/styles.xml")
    assert out.read("word/document.xml") != src.read("word/document.xml")
    for name in out.namelist():
        if name.endswith((".xml", ".rels")):
            etree.fromstring(out.read(name))  # well-formed, or this raises


def test_text_with_xml_specials_is_escaped(tmp_path: Path, context: dict[str, Any]) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["To ", "{{ recipient.names }}", "."]])
    ctx = {**context, "recipient": {**context["recipient"], "names": "O'Brien & Sons <Ltd>"}}
    data = compile_template(tpl).render(ctx)
    assert text_of(data)[0] == "To O'Brien & Sons <Ltd>."
    etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))


def test_headers_and_footers_are_filled_in(tmp_path: Path, context: dict[str, Any]) -> None:
    tpl = make_docx(
        tmp_path / "t.docx",
        [["Body"]],
        header=["{{ school.name }}"],
        footer=["Pupil ", "{{ pupil.upn }}"],
    )
    doc = Document(io.BytesIO(compile_template(tpl).render(context)))
    assert doc.sections[0].header.paragraphs[0].text == context["school"]["name"]
    assert doc.sections[0].footer.paragraphs[0].text == f"Pupil {context['pupil']['upn']}"


def test_a_value_with_line_breaks_becomes_line_breaks(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["{{ event.notes }}"]])
    ctx = {**context, "event": {**context["event"], "notes": "first line\nsecond line"}}
    data = compile_template(tpl).render(ctx)
    assert text_of(data)[0] == "first line\nsecond line"
    assert b"<w:br/>" in zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")


def test_paragraph_and_row_loops_repeat_per_item(tmp_path: Path, context: dict[str, Any]) -> None:
    tpl = make_docx(
        tmp_path / "t.docx",
        [["{%p for line in pupil.address_lines %}"], ["{{ line }}"], ["{%p endfor %}"]],
        table=["{%tr for s in siblings %}", "{{ s.name }}", "{%tr endfor %}"],
    )
    text = text_of(compile_template(tpl).render(context))
    assert text[: len(context["pupil"]["address_lines"])] == context["pupil"]["address_lines"]
    assert context["siblings"][0]["name"] in text


def test_docxtpl_brace_escapes_print_literal_braces(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    tpl = make_docx(tmp_path / "t.docx", [["Type {_{ pupil.forename }_} in a template"]])
    assert text_of(compile_template(tpl).render(context))[0] == (
        "Type {{ pupil.forename }} in a template"
    )


def test_a_missing_field_at_render_names_the_template_and_field(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    tpl = make_docx(tmp_path / "letter.docx", [["{{ pupil.shoe_size }}"]])
    with pytest.raises(
        TemplateError, match=r"letter\.docx \(body\): unknown field '\.\.\.shoe_size'"
    ):
        compile_template(tpl).render(context)


def test_a_tag_jinja_cannot_read_is_reported_with_its_paragraph(tmp_path: Path) -> None:
    tpl = make_docx(
        tmp_path / "broken.docx",
        [["A fine paragraph"], ["Attendance {% if attendance.percent %", " was low"]],
    )
    with pytest.raises(TemplateError) as e:
        compile_template(tpl)
    assert "broken.docx (body)" in str(e.value)
    assert "Attendance {% if attendance.percent % was low" in str(e.value)


def test_a_template_from_an_unusual_zip_tool_renders_as_a_plain_zip(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    """Data before the first part (as some archivers and self-extracting tools write): the
    template is re-packed in memory, and the letter made from it is an ordinary .docx."""
    path = tmp_path / "letter.docx"
    make_docx(path, [["Dear parent of ", "{{ pupil.full_name }}"]])
    odd = tmp_path / "odd.docx"
    odd.write_bytes(b"written by an unusual tool\n" + path.read_bytes())
    out = compile_template(odd).render(context)
    assert out.startswith(b"PK\x03\x04")
    assert zipfile.ZipFile(io.BytesIO(out)).testzip() is None
    assert text_of(out) == text_of(compile_template(path).render(context))
    assert f"Dear parent of {context['pupil']['full_name']}" in text_of(out)


def test_a_zip_encrypted_template_says_to_save_it_without_a_password(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    make_docx(path, [["Hello"]])
    data = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the "encrypted" flag bit
        pos = data.find(sig)
        while pos >= 0:
            data[pos + at] |= 0x1
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(TemplateError, match="password-protected - save a copy without a password"):
        compile_template(path)


def test_not_a_word_file_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "letter.docx"
    fake.write_text("this is not a Word file", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"not a Word \.docx file"):
        compile_template(fake)


def test_an_if_that_cuts_across_a_table_is_checked_on_every_render(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    """{% if %} in a paragraph, {% endif %} inside a table: true is fine, false would leave
    broken XML; that render is refused instead of writing a file Word must repair."""
    tpl = make_docx(
        tmp_path / "cut.docx",
        [["Before {% if pupil.flags.fsm %}", "shown"]],
        table=["{% endif %} after"],
    )
    compiled = compile_template(tpl)
    assert any(p.validate for p in compiled.parts)
    flags = context["pupil"]["flags"]
    yes = {**context, "pupil": {**context["pupil"], "flags": {**flags, "fsm": True}}}
    no = {**context, "pupil": {**context["pupil"], "flags": {**flags, "fsm": False}}}
    assert "shown" in "\n".join(text_of(compiled.render(yes)))
    with pytest.raises(TemplateError, match="cut across"):
        compiled.render(no)


def test_blocks_inside_one_paragraph_need_no_checking(tmp_path: Path) -> None:
    tpl = make_docx(
        tmp_path / "ok.docx",
        [
            ["{% if pupil.flags.fsm %}", "free meals", "{% else %}", "none", "{% endif %}"],
            ["{%p for line in pupil.address_lines %}"],
            ["{{ line }}"],
            ["{%p endfor %}"],
        ],
    )
    assert not any(p.validate for p in compile_template(tpl).parts)


def test_write_atomic_replaces_the_file_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "out" / "a.docx"
    write_atomic(target, b"first")
    write_atomic(target, b"second", sync=True)
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["a.docx"]


@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_converts_every_rendered_template(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt install libreoffice-writer-nogui")
    files = []
    for name in BUNDLED:
        out = tmp_path / f"{name}.docx"
        out.write_bytes(
            compile_template(bundled("templates", "docx", f"{name}.docx")).render(context)
        )
        files.append(out)
    profile = (tmp_path / "lo-profile").as_uri()
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for f in files:
        pdf = tmp_path / "pdf" / f"{f.stem}.pdf"
        assert pdf.is_file(), f"{f.name}: {done.stdout}{done.stderr}"
        assert pdf.stat().st_size > 1000
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
            assert context["pupil"]["upn"] in text


def test_optional_fields_can_be_tested_or_defaulted(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    tpl = make_docx(
        tmp_path / "t.docx",
        [
            ["{% if pupil.nickname is defined %}", "{{ pupil.nickname }}", "{% endif %}", "-"],
            ["{{ pupil.pronoun|default('they') }}"],
        ],
    )
    assert text_of(compile_template(tpl).render(context))[:2] == ["-", "they"]
