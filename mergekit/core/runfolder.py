"""The run folder: where one school day's files go, what they are called, and its manifest.

``<[files] output>/<YYYY-MM-DD>/`` holds

- ``docx/<stem>.docx``: the Word letters and forms, ``<stem>`` from :func:`document_stem`;
- ``pdf/<stem>.pdf``: the PDF of the same document (converted, or the filled PDF form);
- ``manifest.csv``: one row per document (:data:`MANIFEST_COLUMNS`; ``file`` is the path
  inside the run folder);
- ``print-pack.pdf``, ``plan.xlsx`` (when staff review the plan), ``outbox/*.eml``,
  ``failures.csv`` and ``print-list.csv`` (email), ``release.xlsx`` (the forms held until a
  person releases them, :mod:`mergekit.mail.release`);
- ``preview/``: previews, with their own ``docx/`` and ``pdf/``, never in the manifest;
- ``evidence/<UPN>_<surname>.pdf``: evidence packs (`mergekit evidence`), not in the manifest.

Every module that reads or writes these names goes through here, so they cannot drift apart.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mergekit.core.atomic import write_or_explain
from mergekit.core.config import Settings
from mergekit.core.errors import MergekitError
from mergekit.core.model import Pupil
from mergekit.core.textcells import csv_row, csv_text

DOCX_DIR = "docx"
PDF_DIR = "pdf"
OUTBOX_DIR = "outbox"
PREVIEW_DIR = "preview"
MANIFEST = "manifest.csv"
MANIFEST_COLUMNS: tuple[str, ...] = ("upn", "action", "file", "sha256", "recipients")
PACK_NAME = "print-pack.pdf"
PLAN_XLSX = "plan.xlsx"
FAILURES = "failures.csv"
PRINT_LIST = "print-list.csv"
RELEASE_XLSX = "release.xlsx"

# Characters Windows, macOS or a mail client refuse (or misread) in a file name.
UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')

# The columns a manifest cannot do without; sha256 and recipients may be blank.
_REQUIRED = ("upn", "action", "file")
_MAKE = "(`mergekit letters --pdf`, `mergekit forms --due --pdf`)"
_REMAKE = f"mergekit writes this file: make the day's documents again {_MAKE}"


class ManifestError(MergekitError):
    """A run folder's manifest.csv cannot be read or written."""


def run_dir(settings: Settings, day: date) -> Path:
    """``<[files] output>/<YYYY-MM-DD>``: where one school day's files go."""
    return settings.output_dir / day.isoformat()


def document_stem(pupil: Pupil, action: str) -> str:
    """Y09_9KM_Smith_John_<UPN>_<action>: names that sort in hand-out order. Blank parts are
    left out; characters unsafe in file names become ``-``, spaces too."""
    year = "Y--" if pupil.year is None else f"Y{pupil.year:02d}"
    parts = (year, pupil.reg_group, pupil.surname, pupil.forename, pupil.upn, action)
    clean = (
        UNSAFE_IN_NAMES.sub("-", unicodedata.normalize("NFC", p).strip()).replace(" ", "-")
        for p in parts
        if p.strip()
    )
    return "_".join(clean)


def document_pdf(run: Path, file: str) -> Path:
    """The PDF of a manifest row's document: ``pdf/<its name>.pdf`` in the run folder."""
    return run / PDF_DIR / f"{Path(file).stem}.pdf"


def edited_after(docx: Path, pdf: Path) -> bool:
    """Whether the Word file was saved after its PDF was made (staff edited the letter). A
    second's grace: some file systems keep times to the second."""
    return docx.stat().st_mtime > pdf.stat().st_mtime + 1


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks (a print pack can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# The manifest


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One document of the run; ``line`` is where it was read (0 for a row not yet written)."""

    upn: str
    action: str
    file: str  # path inside the run folder, e.g. docx/Y09_..._pa_letter_1.docx
    sha256: str = ""
    recipients: str = ""
    line: int = 0

    def as_csv(self) -> dict[str, str]:
        return {
            "upn": self.upn,
            "action": self.action,
            "file": self.file,
            "sha256": self.sha256,
            "recipients": self.recipients,
        }


def read_manifest(run: Path) -> list[ManifestRow]:
    """Every row of the run folder's manifest.csv, in file order, with its line number (rows
    without a file too: the caller decides what they mean). A ManifestError names the file
    and, where it can, the line."""
    path = run / MANIFEST
    reader: csv.DictReader[str] | None = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                named = f"{', '.join(missing)} column{'s' * (len(missing) > 1)}"
                raise ManifestError(
                    f"{path} line 1: no {named} - it should start "
                    f"{','.join(MANIFEST_COLUMNS)}; {_REMAKE}"
                )
            return [
                ManifestRow(
                    csv_text(r.get("upn") or "").strip().upper(),
                    csv_text(r.get("action") or "").strip(),
                    csv_text(r.get("file") or "").strip(),
                    csv_text(r.get("sha256") or "").strip().lower(),
                    csv_text(r.get("recipients") or "").strip(),
                    reader.line_num,
                )
                for r in reader
            ]
    except FileNotFoundError as e:
        raise ManifestError(
            f"{path}: no manifest in the run folder - make the day's documents first {_MAKE}"
        ) from e
    except csv.Error as e:
        # The reader counts a line once it has read it whole: the damage is on the next.
        line = reader.line_num + 1 if reader is not None else 1
        raise ManifestError(f"{path} line {line}: cannot read it ({e}) - {_REMAKE}") from e
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not UTF-8 text ({e.reason}) - {_REMAKE}") from e
    except OSError as e:
        raise ManifestError(f"{path}: cannot read it ({e.strerror}) - {_REMAKE}") from e


def merge_manifest(run: Path, rows: Iterable[ManifestRow], drop: Iterable[str] = ()) -> Path:
    """Add (or replace, by file) rows in the run folder's manifest.csv, keeping the rows of
    documents made earlier the same day (but those of the files in ``drop``: made again
    under another name); sorted by file, which is hand-out order. Written whole or not at
    all, and synced: the manifest is the run's record of what it made."""
    path = run / MANIFEST
    by_file = {r.file: r for r in read_manifest(run) if r.file} if path.is_file() else {}
    for file in drop:
        by_file.pop(file, None)
    by_file.update((r.file, r) for r in rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    w.writerows(csv_row(by_file[key].as_csv()) for key in sorted(by_file))  # never a formula
    write_or_explain(
        path,
        buf.getvalue().encode("utf-8"),
        ManifestError,
        "cannot write it",
        "close it if it is open in Excel, check the folder is writable, and run the command again",
    )
    return path


# ---------------------------------------------------------------------------------------------
# Evidence packs

EVIDENCE_DIR = "evidence"


def evidence_dir(settings: Settings, day: date) -> Path:
    """``<[files] output>/<YYYY-MM-DD>/evidence``: the evidence packs made on one school day,
    in its run folder like the outbox (an email's attachments are named inside the run
    folder), never in its manifest (a pack is not one of the day's documents)."""
    return run_dir(settings, day) / EVIDENCE_DIR


def evidence_pack_name(pupil: Pupil) -> str:
    """``<UPN>_<surname>.pdf``, characters unsafe in file names replaced."""
    surname = UNSAFE_IN_NAMES.sub("-", unicodedata.normalize("NFC", pupil.surname).strip())
    return f"{pupil.upn}_{surname.replace(' ', '-') or 'pupil'}.pdf"


def evidence_pack_path(settings: Settings, day: date, pupil: Pupil) -> Path:
    """Where `mergekit evidence` writes a pupil's pack for ``day`` by default (and where
    `send` looks for it to attach to the CME referral email)."""
    return evidence_dir(settings, day) / evidence_pack_name(pupil)
