"""`mergekit send`'s day: the school read once and the day's plan, handed to the outbox.

The outbox (:mod:`mergekit.mail.outbox`) never reads the workbook or plans: this module does.
Sending refuses a workbook with errors, as before; it does not stop for the whole `check` (a
calendar problem holds back the day's plan, not the emails already made).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mergekit.core.errors import CheckFailed, Scope
from mergekit.core.lock import with_school_lock
from mergekit.core.model import SchoolData
from mergekit.core.workspace import Workspace
from mergekit.day.check import fix_first
from mergekit.mail.outbox import deliver, run_folder
from mergekit.mail.sendreport import SendReport
from mergekit.plan.planning import day_actions
from mergekit.read.tracking import read_tracking


def school_to_send(ws: Workspace) -> SchoolData:
    """The tracking workbook, refusing one with school-wide errors. A pupil with errors in
    their own rows is only kept out (``fix_first``: the plan has no letter or form for them),
    so one bad row never stops the rest of the school's emails (docs/blocking.md)."""
    result = read_tracking(ws.settings)
    school = [p for p in result.errors if p.scope is not Scope.PUPIL]
    if school:
        n = len(school)
        raise CheckFailed(
            f"{ws.settings.files.tracking}: {n} error{'s' * (n != 1)} in the workbook (first: "
            f"{school[0]}) - run `mergekit check`, fix them, then send"
        )
    return replace(result.data, fix_first=fix_first(result, result.problems))


@with_school_lock("send")
def send_day(ws: Workspace, /, *, run_dir: Path | None = None, **options: Any) -> SendReport:
    """The run folder's messages (``run_dir``, default today's), built from the school and
    the day's plan, through :func:`~mergekit.mail.outbox.deliver` with ``options``."""
    folder, day = run_folder(ws, run_dir)
    data = school_to_send(ws)
    plan = day_actions(ws, data, day, folder)
    return deliver(ws, run_dir=run_dir, data=data, plan=plan, **options)
