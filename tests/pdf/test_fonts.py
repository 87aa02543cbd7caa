"""The templates' fonts: mergekit names a missing metric-compatible font (Liberation Sans for
Arial) instead of letting a form silently spill onto a second page.

The "missing" case is real fontconfig and real LibreOffice on a font set without Liberation:
FONTCONFIG_FILE points at a configuration that only has DejaVu.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from mergekit.cli import main
from mergekit.pdf.fonts import docx_fonts, fc_match, font_gaps, missing_fonts

ROOT = Path(__file__).resolve().parents[2]
DOCX = ROOT / "templates" / "docx"

needs_fontconfig = pytest.mark.skipif(
    shutil.which("fc-match") is None or shutil.which("fc-list") is None,
    reason="fontconfig (fc-match) is not installed: nothing to check fonts with",
)


@pytest.fixture
def only_dejavu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fontconfig configuration whose only fonts are DejaVu (no Arial, no Liberation)."""
    files = subprocess.run(
        ["fc-list", "-f", "%{file}\n", "DejaVu Sans"], capture_output=True, text=True, check=True
    ).stdout.split()
    if not files:
        pytest.skip("DejaVu Sans is not installed (Debian package fonts-dejavu-core)")
    folder = Path(files[0]).parent
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{folder}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir>"
        '<include ignore_missing="yes">/etc/fonts/conf.d</include></fontconfig>\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    return conf


@pytest.mark.parametrize("template", sorted(p.name for p in DOCX.glob("*.docx")))
def test_every_bundled_template_asks_for_arial(template: str) -> None:
    assert "Arial" in docx_fonts(DOCX / template)


def test_theme_fonts_of_a_word_document_are_resolved_through_its_theme() -> None:
    from docx import Document

    # python-docx's default template: Normal uses the theme's minor font (Calibri/Cambria).
    doc = Document()
    doc.add_paragraph("Dear parent")
    path = Path("themed.docx")
    doc.save(str(path))
    assert "Calibri" in docx_fonts(path) or "Cambria" in docx_fonts(path)


@needs_fontconfig
def test_this_computer_has_a_font_with_arials_metrics() -> None:
    """CI installs fonts-liberation2 (.ci/run); without it this says so, by name."""
    gaps = missing_fonts(sorted(DOCX.glob("*.docx")))
    assert not gaps, "\n".join(g.message for g in gaps)
    assert fc_match("Arial")


@needs_fontconfig
def test_without_liberation_the_missing_font_and_its_package_are_named(
    only_dejavu: Path,
) -> None:
    assert fc_match("Arial") == ("DejaVu Sans",)
    gaps = font_gaps(["Arial", "Segoe UI Symbol"])  # a symbol font has no twin to suggest
    assert [g.font.name for g in gaps] == ["Arial"]
    message = gaps[0].message
    assert "the Word templates use the font Arial" in message
    assert "Liberation Sans" in message
    assert "LibreOffice uses DejaVu Sans instead" in message
    assert "sudo apt-get install fonts-liberation2" in message


@needs_fontconfig
@pytest.mark.libreoffice
@pytest.mark.slow
def test_making_pdfs_without_a_metric_compatible_font_warns_naming_it(
    example_school: Path, only_dejavu: Path
) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt install libreoffice-writer-nogui")
    result = CliRunner().invoke(
        main, ["forms", "U331499919010", "--pdf", "--config", str(example_school)]
    )
    assert result.exit_code == 0, result.output
    assert "the Word templates use the font Arial" in result.output
    assert "install fonts-liberation2" in result.output
    pdfs = list((example_school.parent / "out" / "2026-11-27" / "pdf").glob("*planned_move.pdf"))
    assert len(pdfs) == 1, result.output
    # LibreOffice really did lay it out in the substitute.
    fonts = {
        str(f.get_object()["/BaseFont"])
        for page in PdfReader(pdfs[0]).pages
        for f in page["/Resources"]["/Font"].values()
    }
    assert fonts, pdfs[0]
    assert all("DejaVu" in f for f in fonts), fonts
