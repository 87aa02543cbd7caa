"""CSV as Excel saves it (issue 11.5): plain "CSV (Comma delimited)" is Windows-1252, "CSV
UTF-8" has a BOM, European Excel uses semicolons, and addresses carry quoted line breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergekit.read.sheets import read_workbook

ROWS = [
    ["UPN", "Legal Surname", "Legal Forename", "Address"],
    ["A123", "Dąbrowski", "Łukasz", "1 High St\nExampleton"],
    ["B456", "Brontë", "Zoë", "2 Low Rd"],
]


def _write(path: Path, sep: str, encoding: str) -> Path:
    lines = []
    for row in ROWS:
        lines.append(sep.join(f'"{c}"' if "\n" in c or sep in c else c for c in row))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    ("sep", "encoding"),
    [(",", "utf-8-sig"), (",", "utf-8"), (";", "utf-8-sig"), (";", "utf-8")],
)
def test_utf8_csv_with_or_without_bom_and_either_separator(
    tmp_path: Path, sep: str, encoding: str
) -> None:
    rows = read_workbook(_write(tmp_path / "pupils.csv", sep, encoding))[0].rows
    assert rows[0] == ROWS[0]
    assert rows[1] == ROWS[1]
    assert rows[2] == ROWS[2]


def test_windows_1252_csv_reads_names_correctly(tmp_path: Path) -> None:
    rows_1252 = [r[:] for r in ROWS]
    rows_1252[1][1:3] = ["Dabrowski", "Zoë Ångström"]  # 1252 has no Ł or ą
    path = tmp_path / "pupils.csv"
    text = "\r\n".join(",".join(f'"{c}"' if "\n" in c else c for c in row) for row in rows_1252)
    path.write_bytes((text + "\r\n").encode("cp1252"))
    rows = read_workbook(path)[0].rows
    assert rows[1][2] == "Zoë Ångström"
    assert rows[1][3] == "1 High St\nExampleton"
    assert rows[2][2] == "Zoë"
