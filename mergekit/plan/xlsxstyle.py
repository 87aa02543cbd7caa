"""What the review workbooks mergekit writes for staff have in common (``plan.xlsx``,
``release.xlsx``): a styled header row, a drop-down that only takes the given answers, and a
sheet of instructions. openpyxl objects in, nothing written to disk here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

HEADER_FILL = "DDEBF7"


def style_header(cells: Iterable[Any]) -> None:
    """Bold, on the light blue staff know from the other sheets."""
    from openpyxl.styles import Font, PatternFill

    for cell in cells:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)


def choice_list(ws: Any, cells: str, choices: Sequence[str], title: str, error: str) -> None:
    """A drop-down of ``choices`` on ``cells`` (e.g. "H2:H40"); anything else is refused with
    ``error``. A blank stays allowed: what a blank means is the reader's decision."""
    from openpyxl.worksheet.datavalidation import DataValidation

    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(choices) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=title,
        error=error,
    )
    ws.add_data_validation(dv)
    dv.add(cells)


def help_sheet(wb: Any, title: str, lines: Iterable[str], width: int = 100) -> None:
    """A sheet of instructions, one line per row."""
    ws = wb.create_sheet(title)
    for line in lines:
        ws.append([line])
    ws.column_dimensions["A"].width = width


def text_only(wb: Any) -> None:
    """Every text cell of ``wb`` stored as a string: openpyxl takes text beginning ``=`` for a
    formula, so a name typed ``=HYPERLINK(...)`` would run in Excel or show ``Err:509``.
    mergekit writes no formulas, so no cell is left as one."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.data_type != "s":
                    cell.data_type = "s"


def workbook_bytes(wb: Any) -> bytes:
    """The .xlsx bytes of ``wb``, its text kept as text (:func:`text_only`): every workbook
    mergekit makes with openpyxl is saved through here."""
    import io

    text_only(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
