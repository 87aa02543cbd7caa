"""print-list.csv and failures.csv keep text beginning ``= + - @``, tab or CR as text (a
quote before it, per OWASP), and a partial rerun (--only) keeps the other rows as typed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mergekit.mail.compose import PRINT_LIST_COLUMNS
from mergekit.mail.outbox import FAILURE_COLUMNS, _write_rows

PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("prefix", PREFIXES, ids=repr)
@pytest.mark.parametrize("columns", [PRINT_LIST_COLUMNS, FAILURE_COLUMNS], ids=["print", "fail"])
def test_email_csv_files_write_text_not_formulas(
    tmp_path: Path, prefix: str, columns: tuple[str, ...]
) -> None:
    text = f'{prefix}HYPERLINK("http://example.org/x","Smith")'
    path = tmp_path / "out.csv"
    row = dict.fromkeys(columns, text) | {"action": "pa_letter_1"}
    _write_rows(path, columns, [row], ())
    header, written = _cells(path)
    assert header == list(columns)
    assert not [c for c in written if c.startswith(PREFIXES)]
    assert written.count("'" + text) == len(columns) - 1
    # A rerun for other letters keeps this row, still quoted once (never twice).
    other = dict.fromkeys(columns, "plain") | {"action": "pa_letter_2"}
    _write_rows(path, columns, [other], ("pa_letter_2",))
    _, kept, again = _cells(path)
    assert kept == written
    assert again.count("plain") == len(columns) - 1
