"""The school as the commands start from: the tracking workbook, read (and checked) once.

Called by the command layer, which hands the model down: the outputs (documents, the print
pack, a filled form) take it as a parameter, or as a function they call at the point where
they used to read the workbook, so what each command checks first, and says, is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from mergekit.core.config import Settings
from mergekit.core.errors import CheckFailed
from mergekit.core.model import Pupil, SchoolData
from mergekit.core.workspace import Workspace
from mergekit.day.check import run_check
from mergekit.read.tracking import read_tracking


def load_school(ws: Workspace) -> SchoolData:
    """The tracking workbook, refusing to make documents from a workbook with errors (those
    that hold back only some actions, such as no register for today, are left to the plan and
    to :func:`mergekit.documents.produce.produce`)."""
    report = run_check(ws.settings, ws.calendar, ws.today, ws.now)
    if report.result is None or report.blocking:
        n = len(report.blocking)
        first = f" (first: {report.blocking[0]})" if report.blocking else ""
        raise CheckFailed(
            f"{ws.settings.files.tracking}: `mergekit check` finds {n} error"
            f"{'s' * (n != 1)}{first} - fix them, then run again; nothing was made"
        )
    return report.result.data


def pupils_of(settings: Settings) -> Mapping[str, Pupil]:
    """The tracking workbook's pupils, whatever else it holds (the print pack places each
    document by its pupil's year, reg group and name)."""
    return read_tracking(settings).data.pupils


def school_for_form(settings: Settings) -> SchoolData:
    """The tracking workbook for `mergekit pdf fill`, refusing one with errors."""
    result = read_tracking(settings)
    if result.errors:
        n = len(result.errors)
        raise CheckFailed(
            f"{settings.files.tracking}: the workbook has {n} error{'s' * (n != 1)} (first: "
            f"{result.errors[0]}) - run `mergekit check`, fix them, then fill the form"
        )
    return result.data
