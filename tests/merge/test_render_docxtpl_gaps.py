"""The fast renderer where other projects' templates found it apart from docxtpl (issue
16.6): a {#tc #} cell comment fixes the table grid, a literal typed inside a tag is escaped
once, and an unknown filter names its paragraph. Each compared with docxtpl itself."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docxtpl import DocxTemplate
from jinja2 import Environment
from jinja2 import TemplateError as JinjaError
from lxml import etree

from mergekit.core.errors import TemplateError
from mergekit.documents.fieldschema import context_schema
from mergekit.documents.templatecheck import check_template
from mergekit.merge.render import compile_template, environment

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docxtpl(path: Path, context: dict[str, object], **render: object) -> bytes:
    tpl = DocxTemplate(str(path))
    tpl.render(context, **render)  # type: ignore[arg-type]
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


def _body(data: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return etree.fromstring(z.read("word/document.xml"))


def _grids(data: bytes) -> list[list[str]]:
    """Each table's column widths (w:gridCol) and the cells of each of its rows."""
    out = []
    for tbl in _body(data).iter(W + "tbl"):
        cols = [c.get(W + "w") or "" for c in tbl.find(W + "tblGrid").findall(W + "gridCol")]
        cells = [str(len(r.findall(W + "tc"))) for r in tbl.iter(W + "tr")]
        out.append([*cols, "|", *cells])
    return out


def _texts(data: bytes) -> list[str]:
    doc = Document(io.BytesIO(data))
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            out.extend(c.text for c in row.cells)
    return out


def test_a_cell_comment_removes_the_cell_and_fixes_the_grid_as_docxtpl_does(
    tmp_path: Path,
) -> None:
    doc = Document()
    table = doc.add_table(rows=2, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.paragraphs[0].add_run(f"r{r}c{c} {{{{ name }}}}")
    # The last cell of the first row is a cell comment: docxtpl drops the whole cell.
    table.rows[0].cells[2].paragraphs[0].add_run("{#tc a cell comment #}")
    table.rows[1].cells[2].paragraphs[0].add_run("{#tc another #}")
    path = tmp_path / "tc.docx"
    doc.save(str(path))
    context = {"name": "Ada"}

    ours = compile_template(path).render(context)
    theirs = _docxtpl(path, context, jinja_env=environment(), autoescape=True)

    assert _grids(theirs)[0][-2:] == ["2", "2"]  # the comment cells are gone
    assert len(_grids(theirs)[0]) == 2 + 1 + 2  # and the grid has two columns
    assert _grids(ours) == _grids(theirs)
    assert _texts(ours) == _texts(theirs)


def test_a_literal_inside_a_tag_is_escaped_once(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph().add_run('{{ nickname|default("Testé&xx;") }}')
    doc.add_paragraph().add_run('{% if name == "A&B <Ltd>" %}same{% endif %}')
    doc.add_paragraph().add_run("{{ name }}")
    path = tmp_path / "literal.docx"
    doc.save(str(path))
    context = {"name": "A&B <Ltd>"}

    ours = _texts(compile_template(path).render(context))

    assert ours[:3] == ["Testé&xx;", "same", "A&B <Ltd>"]
    # docxtpl without autoescape prints the literal as typed (the value it cannot escape
    # is left out of the comparison: it would break its XML).
    plain = _docxtpl(path, {"name": "A&amp;B &lt;Ltd&gt;"})
    assert _texts(plain)[0] == ours[0]


def test_an_unknown_filter_names_the_paragraph_it_is_in(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph().add_run("Hello")
    p = doc.add_paragraph()
    for run in ("Dear {{ name", "|shout }}", " here"):
        p.add_run(run)  # the tag split across runs, as Word saves it
    doc.add_paragraph()
    path = tmp_path / "filter.docx"
    doc.save(str(path))

    with pytest.raises(TemplateError) as ours:
        compile_template(path)
    with pytest.raises(JinjaError) as theirs:
        _docxtpl(path, {"name": "Ada"}, jinja_env=Environment())
    message = str(ours.value)
    assert "No filter named 'shout'" in message
    assert 'near "Dear {{ name|shout }} here"' in message
    assert "Dear {{ name|shout }} here" in list(theirs.value.docx_context)  # type: ignore[attr-defined]

    report = check_template(path, context_schema({"name": "Ada"}))
    found = [f for f in report.findings if "shout" in f.message]
    assert found
    assert found[0].paragraph == "Dear {{ name|shout }} here"
