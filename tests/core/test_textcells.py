"""CSV cells that begin like a formula are written as text (issue 17, point 2): a single quote
before ``= + - @``, tab or CR, per OWASP's CSV-injection advice, in every CSV mergekit writes
(manifest.csv here; print-list.csv and failures.csv in tests/mail/test_csv_text.py), and
mergekit reads its own files back as typed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mergekit.core.runfolder import ManifestRow, merge_manifest, read_manifest
from mergekit.core.textcells import FORMULA_STARTS, csv_cell, csv_text

PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def test_every_owasp_formula_start_is_guarded() -> None:
    assert set(FORMULA_STARTS) == set(PREFIXES)


@pytest.mark.parametrize("prefix", PREFIXES, ids=repr)
def test_a_cell_beginning_like_a_formula_gets_a_quote_and_reads_back_as_typed(prefix: str) -> None:
    text = f'{prefix}HYPERLINK("http://example.org")'
    assert csv_cell(text) == "'" + text
    assert csv_text(csv_cell(text)) == text


@pytest.mark.parametrize("text", ["Smith", "O'Brien", "'quoted", "07700 900001", "", "a=b"])
def test_ordinary_text_is_written_unchanged(text: str) -> None:
    assert csv_cell(text) == text
    assert csv_text(text) == text


@pytest.mark.parametrize("prefix", PREFIXES, ids=repr)
def test_the_manifest_writes_text_not_formulas_and_reads_it_back(
    tmp_path: Path, prefix: str
) -> None:
    who = f"{prefix}cmd|' /C calc'!A0"
    row = ManifestRow("A123456789012", "pa_letter_1", "docx/x.docx", "ab" * 32, who)
    merge_manifest(tmp_path, [row])
    with (tmp_path / "manifest.csv").open(encoding="utf-8", newline="") as f:
        cells = [c for r in csv.reader(f) for c in r]
    assert "'" + who in cells
    assert not [c for c in cells if c.startswith(PREFIXES)]
    (back,) = read_manifest(tmp_path)
    assert back.recipients == who.strip()
