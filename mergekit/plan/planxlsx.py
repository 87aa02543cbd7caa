"""The plan as a workbook staff can review: one row per action, an ``Approve`` column (Y/N).

Rows are matched back by UPN + action + stage, so staff may sort and filter the sheet freely.
Writing over an existing plan workbook keeps the decisions already made in it: a re-run of
``mergekit plan --xlsx`` the same day never turns an N back into a Y. An action struck on an
earlier day and still struck is written with N and a note, so writing Y lifts the strike.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path

from mergekit.core.actions import ACTION_TITLES
from mergekit.core.atomic import write_or_explain
from mergekit.core.errors import WorkbookError
from mergekit.plan.policy import Plan
from mergekit.plan.xlsxprint import lay_out
from mergekit.plan.xlsxstyle import choice_list, help_sheet, style_header, workbook_bytes

HEADERS = ("UPN", "Name", "Year", "Reg group", "Action", "Reason", "Stage", "Approve", "Note")
WIDTHS = (14, 20, 5, 7, 24, 60, 11, 8, 20)  # one landscape A4 page wide at about 90%
_KEYS = ("upn", "action", "stage", "approve")

Approvals = dict[tuple[str, str, str], bool]

_HOW_TO = (
    "How to review this plan",
    "",
    "Each row on the Plan sheet is one letter, call, form or alert mergekit will act on.",
    "Approve: Y (the default) keeps the action; N strikes it, so nothing is produced for it.",
    "A blank Approve cell counts as N.",
    "A strike holds on later days too, until you write Y against it in that day's plan (the "
    "Note column says when it was struck), or the pupil's situation changes and the plan says "
    "so.",
    "You may sort and filter the rows: they are matched back by UPN, Action and Stage, so do "
    "not edit those three columns.",
    "Save the workbook (keep the .xlsx format) before running the next mergekit command.",
    "",
    "Actions:",
    *(f"  {name}: {title}" for name, title in ACTION_TITLES.items()),
)


def write_plan_xlsx(
    plan: Plan, path: Path, notes: Mapping[tuple[str, str, str], str] | None = None
) -> int:
    """Write the review workbook atomically. Decisions already in an existing plan workbook
    at ``path`` are kept; an action not approved in ``plan`` (a strike held from an earlier
    day) is written N. ``notes``: the Note column by (UPN, action, stage). Returns how many
    rows kept an N from the existing workbook."""
    from openpyxl import Workbook

    kept: Approvals = {}
    if path.exists():
        try:
            kept = read_approvals(path)
        except WorkbookError as e:
            raise WorkbookError(
                f"{path}: exists and is not a plan workbook mergekit can update ({e}) - "
                "choose another file name, or move that file away"
            ) from e
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has one sheet
    ws.title = "Plan"
    ws.append(list(HEADERS))
    style_header(ws[1])
    struck = 0
    notes = notes or {}
    for a in plan.actions:
        approve = kept.get(a.key(), a.approved)
        struck += not approve and a.key() in kept
        ws.append(
            [
                a.upn,
                a.name,
                a.year,
                a.reg_group,
                a.kind,
                a.reason,
                a.stage,
                "Y" if approve else "N",
                notes.get(a.key(), ""),
            ]
        )
    last = ws.max_row
    lay_out(ws, WIDTHS, header_rows=1, title=f"Plan to review for {plan.today:%A %d/%m/%Y}")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:I{max(last, 1)}"
    if last >= 2:
        why = "Type Y to approve this action or N to strike it."
        choice_list(ws, f"H2:H{last}", ("Y", "N"), "Approve", why)
    help_sheet(wb, "How to review", _HOW_TO)
    _write_atomic(path, workbook_bytes(wb))
    return struck


def read_approvals(path: Path) -> Approvals:
    """(UPN, action, stage) -> approved, from the Approve column of a plan workbook. Y or Yes
    approves; N, No or a blank cell strikes; anything else is an error naming the cell."""
    from openpyxl import load_workbook

    if not path.is_file():
        raise WorkbookError(
            f"{path}: no such file - write it with `mergekit plan --xlsx {path.name}`"
        )
    try:
        wb = load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise WorkbookError(
            f"{path.name}: cannot be read as an Excel workbook ({e}) - save it as .xlsx"
        ) from e
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            for header_row, values in enumerate(rows, start=1):
                if header_row > 10:
                    break
                names = [_norm(v) for v in values]
                if all(k in names for k in _KEYS):
                    # _KEYS order: upn, action, stage, approve (unpacked in that order).
                    cols = {k: names.index(k) for k in _KEYS}
                    return _read_rows(path, ws.title, rows, header_row, cols)
    finally:
        wb.close()
    raise WorkbookError(
        f"{path.name}: no sheet with the columns UPN, Action, Stage and Approve - use the "
        "workbook `mergekit plan --xlsx` wrote"
    )


def _read_rows(
    path: Path,
    sheet: str,
    rows: Iterator[tuple[object, ...]],
    header_row: int,
    cols: Mapping[str, int],
) -> Approvals:
    out: Approvals = {}
    letter = chr(ord("A") + cols["approve"])
    for number, values in enumerate(rows, start=header_row + 1):
        upn, action, stage, raw = (values[i] if i < len(values) else None for i in cols.values())
        upn_text = _text(upn).upper().replace(" ", "")
        if not upn_text:
            continue
        if isinstance(stage, datetime):
            stage = stage.date()
        stage_text = stage.isoformat() if isinstance(stage, date) else _text(stage)
        answer = _text(raw).casefold()
        if answer in ("y", "yes"):
            ok = True
        elif answer in ("n", "no", ""):
            ok = False
        else:
            raise WorkbookError(
                f"{path.name}: {sheet}!{letter}{number} (Approve): {_text(raw)!r} is not Y or N "
                "- write Y to approve the action or N to strike it"
            )
        key = (upn_text, _text(action), stage_text)
        out[key] = out.get(key, True) and ok  # a row listed twice: N wins
    return out


def _norm(value: object) -> str:
    return "".join(_text(value).split()).casefold()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _write_atomic(path: Path, data: bytes) -> None:
    """The old file or the new, never half (Excel locks an open workbook on Windows)."""
    write_or_explain(
        path,
        data,
        WorkbookError,
        "cannot be replaced",
        "close it in Excel and run again",
        catch=PermissionError,
    )
