"""Password protection for emailed PDFs: AES-256, the password only from the environment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PasswordType, PdfReader

from mergekit.core.config import PdfSettings
from mergekit.core.errors import ConfigError, MergekitError
from mergekit.pdf.protect import MIN_LENGTH, encrypt_pdf, pdf_password

PASSWORD = "blue kettle harbour"
ON = PdfSettings(encrypt_emailed=True, password_env="SCHOOL_PDF_PASSWORD")


def _letter(path: Path, text: str = "Dear parent or carer of Amelia Hartley") -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pageCompression=0)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return path


# ---------------------------------------------------------------------------------------------
# The password rule


def test_no_password_when_encryption_is_off_even_if_one_is_set() -> None:
    off = PdfSettings(encrypt_emailed=False, password_env="SCHOOL_PDF_PASSWORD")
    assert pdf_password(off, {"SCHOOL_PDF_PASSWORD": PASSWORD}) is None


def test_password_comes_from_the_named_environment_variable() -> None:
    assert pdf_password(ON, {"SCHOOL_PDF_PASSWORD": PASSWORD}) == PASSWORD


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "SCHOOL_PDF_PASSWORD is not set"),
        ({"SCHOOL_PDF_PASSWORD": "   "}, "SCHOOL_PDF_PASSWORD is blank"),
        ({"SCHOOL_PDF_PASSWORD": "short"}, f"at least {MIN_LENGTH}"),
        ({"SCHOOL_PDF_PASSWORD": "03/04/2012"}, "looks like a date"),
        ({"SCHOOL_PDF_PASSWORD": "2012-04-03"}, "looks like a date"),
        ({"OTHER": PASSWORD}, "not set"),
    ],
)
def test_encryption_without_a_usable_password_is_refused(
    environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        pdf_password(ON, environ)
    text = str(caught.value)
    assert expected in text
    assert "[pdf]" in text


def test_there_is_no_default_password() -> None:
    with pytest.raises(ConfigError, match="no default password"):
        pdf_password(PdfSettings(encrypt_emailed=True), {})


def test_an_empty_variable_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="password_env is empty"):
        pdf_password(PdfSettings(encrypt_emailed=True, password_env=" "), {"": PASSWORD})


# ---------------------------------------------------------------------------------------------
# Encrypting


def test_encrypted_pdf_uses_aes_256(tmp_path: Path) -> None:
    src = _letter(tmp_path / "letter.pdf")
    dst = tmp_path / "protected.pdf"
    encrypt_pdf(src, dst, PASSWORD)
    encrypt = PdfReader(dst).trailer["/Encrypt"].get_object()
    assert encrypt["/Filter"] == "/Standard"
    assert encrypt["/V"] == 5
    assert encrypt["/R"] == 6
    assert encrypt["/CF"]["/StdCF"]["/CFM"] == "/AESV3"
    # The pupil's name is no longer readable in the file's bytes.
    assert b"Amelia Hartley" in src.read_bytes()
    assert b"Amelia Hartley" not in dst.read_bytes()


def test_round_trip_with_the_password_and_refusal_without_it(tmp_path: Path) -> None:
    src = _letter(tmp_path / "letter.pdf")
    dst = tmp_path / "protected.pdf"
    encrypt_pdf(src, dst, PASSWORD)

    wrong = PdfReader(dst)
    assert wrong.decrypt("wrong password 123") == PasswordType.NOT_DECRYPTED
    right = PdfReader(dst)
    assert right.decrypt(PASSWORD) == PasswordType.USER_PASSWORD
    assert "Amelia Hartley" in right.pages[0].extract_text()


@pytest.mark.poppler
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_a_viewer_needs_the_password(tmp_path: Path) -> None:
    dst = tmp_path / "protected.pdf"
    encrypt_pdf(_letter(tmp_path / "letter.pdf"), dst, PASSWORD)

    refused = subprocess.run(
        ["pdftotext", str(dst), "-"], capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "Amelia Hartley" not in refused.stdout
    opened = subprocess.run(
        ["pdftotext", "-upw", PASSWORD, str(dst), "-"], capture_output=True, text=True, check=False
    )
    assert opened.returncode == 0
    assert "Amelia Hartley" in opened.stdout


def test_encrypting_in_place_replaces_the_file(tmp_path: Path) -> None:
    pdf = _letter(tmp_path / "letter.pdf")
    encrypt_pdf(pdf, pdf, PASSWORD)
    assert PdfReader(pdf).is_encrypted
    assert [p.name for p in tmp_path.iterdir()] == ["letter.pdf"]  # no temp file left


def test_already_protected_or_unreadable_pdfs_are_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    protected = tmp_path / "protected.pdf"
    encrypt_pdf(_letter(tmp_path / "letter.pdf"), protected, PASSWORD)
    with pytest.raises(MergekitError, match="already password-protected"):
        encrypt_pdf(protected, tmp_path / "again.pdf", PASSWORD)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a pdf at all")
    with pytest.raises(MergekitError, match="cannot read this PDF"):
        encrypt_pdf(broken, tmp_path / "out.pdf", PASSWORD)
    with pytest.raises(MergekitError, match="no such PDF"):
        encrypt_pdf(tmp_path / "gone.pdf", tmp_path / "out.pdf", PASSWORD)
    assert not (tmp_path / "again.pdf").exists()
    assert not (tmp_path / "out.pdf").exists()
