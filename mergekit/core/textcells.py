"""Text stays text in the spreadsheets and CSV files mergekit writes (never a formula).

A name, phone number or reason typed by staff may begin with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return; Excel and LibreOffice read such a CSV cell (and an .xlsx cell stored as
a formula) as a formula, so a surname can show ``Err:509`` or a phone number become a link to
an outside site. Every CSV cell mergekit writes goes through :func:`csv_cell`, which puts a
single quote before such text as OWASP's CSV-injection advice says (the quote shows, the
formula never runs); mergekit's own readers of those files undo it with :func:`csv_text`.
The .xlsx writers store every text cell as a string (``plan/xlsxstyle.workbook_bytes`` for
openpyxl, inline strings in ``transfer/xlsx/``).
"""

from __future__ import annotations

from collections.abc import Mapping

# What a spreadsheet may take for the start of a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text: a leading ``'`` when it begins
    like a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(row: Mapping[str, object]) -> dict[str, str]:
    """Every cell of a CSV row through :func:`csv_cell`."""
    return {key: csv_cell(value) for key, value in row.items()}


def csv_text(cell: str) -> str:
    """The text :func:`csv_cell` was given (for mergekit reading its own CSV files back)."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell
