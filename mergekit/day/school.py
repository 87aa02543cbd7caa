"""The school as the commands start from: the tracking workbook, read (and checked) once,
and the day's approved plan made from it.

Called by the command layer, which hands the model down: the outputs (documents, the print
pack, a filled form, the outbox) take it as a parameter, or as a function they call at the
point where they used to read the workbook, so what each command checks first, and says, is
unchanged. :func:`load_school` is the one place that decides whether the workbook is good
enough to make anything from; :func:`approved_plan` the one place that says what the day's
documents and emails are for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from mergekit.core.config import Settings
from mergekit.core.errors import CheckFailed
from mergekit.core.model import Action, Pupil, SchoolData
from mergekit.core.workspace import Workspace
from mergekit.day.check import CheckReport, run_check
from mergekit.plan.planning import day_actions, run_dir
from mergekit.read.tracking import read_tracking


def refuse_if_blocked(ws: Workspace, report: CheckReport) -> SchoolData:
    """The checked model, or CheckFailed when a school-wide error stops everything. Pupils
    with errors in their own rows are in ``fix_first`` (no letters or forms for them);
    transfer-list errors hold back only `mergekit offroll`; neither stops the rest."""
    if report.result is None or report.blocking:
        n = len(report.blocking) or len(report.errors)
        problems = report.blocking or report.errors
        first = f" (first: {problems[0]})" if problems else ""
        raise CheckFailed(
            f"{ws.settings.files.tracking}: `mergekit check` finds {n} error"
            f"{'s' * (n != 1)} that stop{'s' * (n == 1)} the whole day{first} - fix them, then "
            "run again; nothing was made"
        )
    return report.result.data


def load_school(ws: Workspace) -> SchoolData:
    """The tracking workbook, read and checked once, refusing to make anything from a
    workbook with a school-wide error (those that hold back only some actions, such as no
    register for today, are left to the plan and to :func:`mergekit.documents.produce.produce`;
    a pupil's own errors keep only that pupil's letters and forms back)."""
    return refuse_if_blocked(ws, run_check(ws.settings, ws.calendar, ws.today, ws.now))


def approved_plan(
    ws: Workspace, data: SchoolData, day: date | None = None, folder: Path | None = None
) -> list[Action]:
    """The day's approved actions (the plan with the approvals in the run's plan.xlsx and the
    strikes the ledger holds, plus what the ledger already records for the day): what the
    documents and emails of that day are for."""
    day = day or ws.today
    folder = folder or run_dir(ws.settings, day)
    return [a for a in day_actions(ws, data, day, folder) if a.approved]


def pupils_of(settings: Settings) -> Mapping[str, Pupil]:
    """The tracking workbook's pupils, whatever else it holds (the print pack places each
    document by its pupil's year, reg group and name)."""
    return read_tracking(settings).data.pupils


def school_for_form(ws: Workspace, upn: str = "") -> SchoolData:
    """The checked school for `mergekit pdf fill` (:func:`load_school`), refusing a pupil
    kept out of forms until their rows are fixed."""
    data = load_school(ws)
    key = "".join(upn.split()).upper()
    held = next((f for f in data.fix_first if f.upn == key), None)
    if held is not None:
        raise CheckFailed(
            f"{key} ({held.name}): no form is filled until their rows are fixed: {held.reasons[0]}"
        )
    return data
