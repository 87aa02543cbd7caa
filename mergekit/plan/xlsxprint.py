"""Making the workbooks mergekit writes (the work list, the plan to review) print well.

openpyxl writes no row heights, so Excel and LibreOffice print wrapped text in one-line rows
where it overlaps or is cut, and wide sheets print as a grid of pages. Every sheet laid out
here is A4 landscape, fitted to one page wide, with its header rows repeated on each page, a
print area, wrapped text, and row heights worked out from the text so no line is cut.

Widths are in Excel's units (about one digit of the default font); the text is Arial 10,
which Windows has and Linux replaces with the metric-compatible Liberation Sans.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

FONT = "Arial"
SIZE = 10
LINE_POINTS = 13.0  # one line of Arial 10 with its leading, rounded up
PAD_POINTS = 3.0


def text_lines(text: str, width: float) -> int:
    """How many lines ``text`` wraps to in a column ``width`` units wide. Arial 10 text
    averages about 1.3 characters a unit (digits and capitals fewer); counting 1.1 errs
    towards a line too many, never too few."""
    room = max(1, int(width * 1.1) - 1)
    return sum(
        max(1, len(textwrap.wrap(part, room, break_on_hyphens=False))) for part in text.split("\n")
    )


def lay_out(
    ws: Worksheet,
    widths: Sequence[float],
    *,
    header_rows: int,
    title: str = "",
    note_rows: int = 0,
) -> None:
    """Column widths, wrapped Arial 10 text, row heights, and a page setup that prints
    ``ws`` one page wide in landscape with the first ``header_rows`` rows on every page.
    The first ``note_rows`` rows are notes spread across the whole width."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    columns = len(widths)
    last = get_column_letter(columns)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    wrap = Alignment(wrap_text=True, vertical="top", horizontal="left")
    for number, row in enumerate(ws.iter_rows(max_col=columns), start=1):
        lines = 1
        for cell in row:
            font = cell.font
            cell.font = Font(name=FONT, size=SIZE, bold=font.b, italic=font.i, color=font.color)
            cell.alignment = wrap
            if cell.value is None:
                continue
            width = sum(widths) if number <= note_rows else widths[cell.column - 1]
            lines = max(lines, text_lines(str(cell.value), width))
        ws.row_dimensions[number].height = math.ceil(lines * LINE_POINTS + PAD_POINTS)
    for number in range(1, note_rows + 1):
        ws.merge_cells(f"A{number}:{last}{number}")

    setup = ws.page_setup
    setup.orientation = "landscape"
    setup.paperSize = ws.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_area = f"A1:{last}{max(ws.max_row, header_rows)}"
    if header_rows:
        ws.print_title_rows = f"1:{header_rows}"
    header, footer = ws.oddHeader, ws.oddFooter
    assert header is not None  # openpyxl makes both with the sheet
    assert footer is not None
    if title:
        header.left.text = title.replace("&", "&&")
    header.right.text = "&A"
    footer.left.text = "Personal data: keep it secure and shred it when done"
    footer.right.text = "Page &P of &N"
