"""Password protection (AES-256) for PDFs that leave the school by email.

The password is the school's, set in the environment variable named by ``[pdf] password_env``
(never in mergekit.toml, which staff share and back up). There is no default password, and it
is never made from the pupil's date of birth or name: parents are told it by phone or letter,
once, by the school.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from pathlib import Path

from mergekit.core.atomic import write_or_explain
from mergekit.core.config import PdfSettings
from mergekit.core.errors import ConfigError, MergekitError

MIN_LENGTH = 10

# A date such as 03/04/2012 or 2012-04-03: exactly what a DOB-based password looks like.
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/. ]?\d{1,2}[-/. ]?\d{1,4}\s*$")


class PdfSecurityError(MergekitError):
    """A PDF could not be password-protected."""


def pdf_password(settings: PdfSettings, environ: Mapping[str, str]) -> str | None:
    """The password for emailed PDFs, or None when ``encrypt_emailed`` is off.

    Raises ConfigError when encryption is on but the variable is unset, blank, shorter than
    MIN_LENGTH or looks like a date (a date of birth is what a guesser tries first)."""
    if not settings.encrypt_emailed:
        return None
    name = settings.password_env.strip()
    where = "mergekit.toml [pdf]"
    if not name:
        raise ConfigError(
            f"{where}: encrypt_emailed = true but password_env is empty - name the "
            "environment variable that holds the PDF password, e.g. "
            'password_env = "MERGEKIT_PDF_PASSWORD"'
        )
    value = environ.get(name, "")
    how = (
        f'set it before running mergekit (Windows: `setx {name} "..."`, then open a new '
        f"window; macOS/Linux: `export {name}=...`), or set encrypt_emailed = false"
    )
    if not value.strip():
        raise ConfigError(
            f"{where}: encrypt_emailed = true but the environment variable {name} is "
            f"{'blank' if name in environ else 'not set'}; there is no default password - {how}"
        )
    if len(value) < MIN_LENGTH:
        raise ConfigError(
            f"{where}: the password in {name} has {len(value)} characters; use at least "
            f"{MIN_LENGTH} (a short phrase is easiest to read out to parents) - {how}"
        )
    if _DATE_LIKE.match(value):
        raise ConfigError(
            f"{where}: the password in {name} looks like a date or a number; dates of birth "
            f"are the first thing anyone guesses - choose a phrase of at least {MIN_LENGTH} "
            "characters"
        )
    return value


def encrypt_pdf(src: Path, dst: Path, password: str) -> None:
    """Write ``src`` to ``dst`` protected with AES-256 (PDF 2.0 security handler, /V 5 /R 6).

    Opening needs the password; printing and copying are then allowed. ``dst`` appears
    whole or not at all (temporary file in the same folder, fsync, rename); ``src`` may be
    ``dst``."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError, PyPdfError

    if not password:
        raise PdfSecurityError(f"{src}: no password given - set [pdf] password_env")
    try:
        reader = PdfReader(src)
        if reader.is_encrypted:
            raise PdfSecurityError(
                f"{src}: this PDF is already password-protected - use the unprotected copy"
            )
        writer = PdfWriter(clone_from=reader)
    except FileNotFoundError as e:
        raise PdfSecurityError(f"{src}: no such PDF - make the PDFs first") from e
    except (PdfReadError, PyPdfError, OSError, ValueError) as e:
        raise PdfSecurityError(
            f"{src}: cannot read this PDF ({e}) - make it again with `mergekit letters --pdf`"
        ) from e
    # A random owner password: nobody can lift the restrictions without it, and it is never
    # the same as the one parents are given.
    writer.encrypt(user_password=password, owner_password=os.urandom(24).hex(), algorithm="AES-256")
    buf = io.BytesIO()
    writer.write(buf)
    write_or_explain(
        dst,
        buf.getvalue(),
        PdfSecurityError,
        "cannot write the protected PDF",
        "check the folder is writable and the file is not open in another program",
    )
