"""The school as the document commands start from: the tracking workbook, read and checked.

Called by the command layer, which hands the model down: the libraries below take it as a
parameter and never read the workbook for themselves.
"""

from __future__ import annotations

from mergekit.core.errors import CheckFailed
from mergekit.core.model import SchoolData
from mergekit.core.workspace import Workspace
from mergekit.day.check import run_check


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
