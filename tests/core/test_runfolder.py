"""The run folder contract: the manifest read and merged, file hashes, stale PDFs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mergekit.core.runfolder import (
    MANIFEST,
    MANIFEST_COLUMNS,
    ManifestError,
    ManifestRow,
    document_pdf,
    edited_after,
    file_sha256,
    merge_manifest,
    read_manifest,
)

HEADER = ",".join(MANIFEST_COLUMNS)


def write(run: Path, text: str) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    path = run / MANIFEST
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_rows_come_back_tidied_with_their_line_numbers(tmp_path: Path) -> None:
    write(
        tmp_path,
        f"\ufeff{HEADER}\r\n"
        " a1 ,pa_letter_1,docx/Y09_a.docx,ABC123,Mrs A <a@example.org>\r\n"
        'b2,cme_referral,docx/Y10_b.docx,,"CME team\r\n(by email)"\r\n'
        "c3,pa_letter_2,,,\r\n",
    )
    rows = read_manifest(tmp_path)
    assert rows[0] == ManifestRow(
        "A1", "pa_letter_1", "docx/Y09_a.docx", "abc123", "Mrs A <a@example.org>", 2
    )
    assert rows[1].recipients == "CME team\r\n(by email)"
    assert rows[1].line == 4  # its recipients cell spans two lines
    assert rows[2].file == ""  # kept: each caller decides what a row without a file means
    assert rows[2].line == 5


def test_a_manifest_without_a_needed_column_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "upn,action,sha256\r\nA1,pa_letter_1,abc\r\n")
    with pytest.raises(ManifestError) as e:
        read_manifest(tmp_path)
    assert str(e.value).startswith(f"{path} line 1: no file column")
    assert "make the day's documents again" in str(e.value)


def test_a_damaged_manifest_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, f"{HEADER}\r\nA1,pa_letter_1,docx/a.docx,,\r\nB2,x,{'y' * 200_000},,\r\n"
    )
    with pytest.raises(ManifestError, match=rf"^{path} line 3: cannot read it"):
        read_manifest(tmp_path)


def test_a_manifest_that_is_not_utf8_or_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest in the run folder"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_bytes(f"{HEADER}\r\n".encode() + "Zoë,a,b,,\r\n".encode("cp1252"))
    with pytest.raises(ManifestError, match="not UTF-8 text"):
        read_manifest(tmp_path)


def test_merging_keeps_earlier_rows_replaces_by_file_and_sorts(tmp_path: Path) -> None:
    merge_manifest(
        tmp_path,
        [
            ManifestRow("B2", "pa_letter_1", "docx/Y10_b.docx", "1" * 64, "Mr B"),
            ManifestRow("A1", "pa_letter_1", "docx/Y09_a.docx", "2" * 64, "Mrs A"),
        ],
    )
    merge_manifest(
        tmp_path,
        [
            ManifestRow("B2", "pa_letter_1", "docx/Y10_b.docx", "3" * 64, "Mr B, Ms C"),
            ManifestRow("A1", "cme_referral", "docx/Y09_a_cme.docx", "4" * 64, "CME team"),
        ],
    )
    raw = (tmp_path / MANIFEST).read_bytes()
    assert raw.startswith(f"{HEADER}\r\n".encode())
    rows = read_manifest(tmp_path)
    assert [(r.file, r.sha256[0], r.recipients) for r in rows] == [
        ("docx/Y09_a.docx", "2", "Mrs A"),
        ("docx/Y09_a_cme.docx", "4", "CME team"),
        ("docx/Y10_b.docx", "3", "Mr B, Ms C"),
    ]
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]  # no temporary file left


def test_merging_into_a_damaged_manifest_refuses_and_leaves_it_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "upn;action;file\r\nA1;pa_letter_1;docx/a.docx\r\n")
    before = path.read_bytes()
    with pytest.raises(ManifestError, match=r"line 1: no upn, action, file columns - "):
        merge_manifest(tmp_path, [ManifestRow("B2", "pa_letter_1", "docx/b.docx")])
    assert path.read_bytes() == before


def test_file_hash_matches_hashlib_for_a_file_larger_than_one_block(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    data = os.urandom(200_000)
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_a_word_file_saved_after_its_pdf_makes_the_pdf_stale(tmp_path: Path) -> None:
    docx = tmp_path / "docx" / "Y09_a_pa_letter_1.docx"
    docx.parent.mkdir()
    docx.write_bytes(b"PK")
    pdf = document_pdf(tmp_path, "docx/Y09_a_pa_letter_1.docx")
    assert pdf == tmp_path / "pdf" / "Y09_a_pa_letter_1.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF")
    made = pdf.stat().st_mtime
    os.utime(docx, (made + 0.5, made + 0.5))
    assert not edited_after(docx, pdf)  # within a second: the same save
    os.utime(docx, (made + 60, made + 60))
    assert edited_after(docx, pdf)
