"""The transfer list (the Off Roll tab) to the model, read like the tracking workbook: found by
its header row, every bad cell a Problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergekit.core.config import Settings
from mergekit.core.errors import Problem, Severity, WorkbookError
from mergekit.core.model import (
    Leaver,
)
from mergekit.read.columns import SHEETS, Field
from mergekit.read.rows import _as_date, _gc_paused, _locate, _Rows
from mergekit.read.sheets import (
    read_workbook,
)


@dataclass
class TransferList:
    path: Path
    sheet: str
    header_row: int  # Excel row number
    columns: dict[str, int]  # field -> 0-based column
    headers: list[str]
    leavers: list[Leaver]
    problems: list[Problem]


def read_transfer_list(settings: Settings, path: Path | None = None) -> TransferList:
    """Read the Off Roll tab of the transfer list."""
    with _gc_paused():
        return _read_transfer_list(settings, path or settings.require_file("transfer_list"))


def _read_transfer_list(settings: Settings, path: Path) -> TransferList:
    problems: list[Problem] = []
    sheets = read_workbook(path)
    found = _locate(path.name, sheets, settings, ("off_roll",), problems, required=("off_roll",))
    if "off_roll" not in found:
        errs = "; ".join(str(p) for p in problems if p.severity is Severity.ERROR)
        raise WorkbookError(errs or f"{path.name}: no Off Roll tab found")
    match = found["off_roll"]
    rows = _Rows(path.name, SHEETS["off_roll"], match, problems)
    data, cols = rows.columns()  # column-wise: transfer lists grow by years of leavers
    n = len(data)
    text = {
        f: rows.texts(cols, f, n) for f in ("name", "upn", "year_group", "reason", "authorised_by")
    }
    dates = {
        f: rows.typed(data, cols, f)
        for f in (
            "dob",
            "date_of_leaving",
            "date_authorised",
            "data_team_emailed",
            "transfer_list_updated",
            "admissions_informed",
        )
    }
    leavers: list[Leaver] = []
    for i, (r, _) in enumerate(data):
        name = text["name"][i]
        if not name:
            continue
        leavers.append(
            Leaver(
                name=name,
                row=r,
                upn=text["upn"][i].upper().replace(" ", ""),
                dob=_as_date(dates["dob"][i]),
                year_group=text["year_group"][i],
                date_of_leaving=_as_date(dates["date_of_leaving"][i]),
                reason=text["reason"][i],
                authorised_by=text["authorised_by"][i],
                date_authorised=_as_date(dates["date_authorised"][i]),
                data_team_emailed=_as_date(dates["data_team_emailed"][i]),
                transfer_list_updated=_as_date(dates["transfer_list_updated"][i]),
                admissions_informed=_as_date(dates["admissions_informed"][i]),
                source=rows.source(r),
            )
        )
    return TransferList(
        path,
        match.sheet.name,
        match.excel_header_row,
        dict(match.columns),
        match.headers,
        leavers,
        problems,
    )


def fields_of(kind: str) -> tuple[Field, ...]:
    return SHEETS[kind].fields
