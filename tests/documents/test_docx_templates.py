"""The bundled Word templates: rebuilt byte for byte by their script, and the forms fit their
pages (no blank page holding only the footer)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from pypdf import PdfReader

from mergekit.cli import main
from mergekit.pdf.fonts import missing_fonts

ROOT = Path(__file__).resolve().parents[2]
DOCX = ROOT / "templates" / "docx"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def test_template_script_rebuilds_the_committed_templates_byte_for_byte(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "make_docx_templates.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    committed = sorted(p.name for p in DOCX.glob("*.docx"))
    assert sorted(p.name for p in tmp_path.glob("*.docx")) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (DOCX / name).read_bytes(), name


@pytest.mark.parametrize("template", sorted(p.name for p in DOCX.glob("*.docx")))
def test_a_template_never_ends_with_a_full_size_empty_paragraph(template: str) -> None:
    """Word needs a paragraph after a final table; at full size it can push a blank page."""
    with zipfile.ZipFile(DOCX / template) as z:
        body = etree.fromstring(z.read("word/document.xml")).find(f"{W}body")
    blocks = [e for e in body if e.tag in (f"{W}p", f"{W}tbl")]
    last = blocks[-1]
    assert last.tag == f"{W}p", "a table ends the document"
    if "".join(last.itertext()).strip():
        return  # ends with text
    spacing = last.find(f"{W}pPr/{W}spacing")
    size = last.find(f"{W}pPr/{W}rPr/{W}sz")
    assert spacing is not None
    assert spacing.get(f"{W}lineRule") == "exact"
    assert int(spacing.get(f"{W}line", "999")) <= 20  # twentieths of a point
    assert spacing.get(f"{W}after") == spacing.get(f"{W}before") == "0"
    assert size is not None
    assert int(size.get(f"{W}val", "99")) <= 2  # half-points


@pytest.mark.libreoffice
@pytest.mark.slow
def test_the_example_schools_planned_move_form_is_one_page(example_school: Path) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt install libreoffice-writer-nogui")
    # Without a font with Arial's metrics the form spills over; say so rather than count pages.
    gaps = missing_fonts([DOCX / "planned_move.docx"])
    assert not gaps, "\n".join(g.message for g in gaps)
    result = CliRunner().invoke(main, ["forms", "--due", "--pdf", "--config", str(example_school)])
    assert result.exit_code == 0, result.output
    forms = sorted((example_school.parent / "out" / "2026-11-27" / "pdf").glob("*planned_move.pdf"))
    assert forms, result.output
    for pdf in forms:
        assert len(PdfReader(pdf).pages) == 1, pdf.name
