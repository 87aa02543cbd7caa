"""`mergekit run`: the whole day's work in one go, and `mergekit demo` on the example school.

check -> plan -> work list -> letters and forms -> PDFs -> print pack -> email (a dry run unless
asked) -> what still needs a person. Nothing is produced when ``check`` finds errors, and a
second run on the same day makes nothing new: the ledger remembers what was done.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mergekit.core.actions import DOCUMENT_ACTIONS, LISTED
from mergekit.core.atomic import make_dirs, sweep_stale_temps
from mergekit.core.config import CONFIG_NAME
from mergekit.core.crashpoint import crash_point
from mergekit.core.errors import ConfigError, ConversionError, MergekitError
from mergekit.core.ledger import Ledger
from mergekit.core.lock import with_school_lock
from mergekit.core.model import Action, SchoolData
from mergekit.core.resources import examples_dir
from mergekit.core.workspace import Workspace
from mergekit.day.check import CheckReport, run_check
from mergekit.documents.make import make_letters
from mergekit.documents.produce import DocumentsResult
from mergekit.mail.compose import HeldForm
from mergekit.mail.outbox import deliver
from mergekit.mail.sendreport import SendReport
from mergekit.plan.planning import (
    Review,
    record_actions,
    record_review,
    review,
    run_dir,
    with_recorded,
)
from mergekit.plan.policy import Plan
from mergekit.plan.worklist import write_day_worklist
from mergekit.transfer.pending import finish_interrupted

DocumentsProgress = Callable[[str, int, int], None]


@dataclass
class RunReport:
    ws: Workspace
    check: CheckReport
    plan: Plan | None = None
    run_dir: Path | None = None
    recorded: dict[str, int] = field(default_factory=dict)  # list actions recorded now
    worklist: Path | None = None
    worklist_counts: dict[str, int] = field(default_factory=dict)
    documents: DocumentsResult | None = None
    pdf_missing: str = ""  # why there are no PDFs (LibreOffice missing), with the fix
    email: SendReport | None = None
    email_error: str = ""
    interrupted: str = ""  # an Off Roll write a crash left unrecorded, finished now

    @property
    def stopped(self) -> bool:
        """check found errors that stop everything: nothing was produced. (Errors that hold
        back only some actions, such as no register for today, do not stop the rest.)"""
        return bool(self.check.blocking)

    @property
    def new_actions(self) -> int:
        return sum(self.recorded.values()) + (
            len(self.documents.documents) if self.documents else 0
        )

    @property
    def nothing_new(self) -> bool:
        return not self.stopped and self.new_actions == 0

    @property
    def held(self) -> tuple[HeldForm, ...]:
        """Forms that need a person ("complete and check"): not emailed until released."""
        return self.email.held if self.email is not None else ()

    def needs_a_person(self) -> list[str]:
        out: list[str] = []
        for d in self.documents.cannot_post if self.documents else ():
            out.append(
                f"{d.pupil.upn} {d.pupil.full_name}: no postal address for the "
                f"{d.action.kind} - add it to the contacts sheet, or deliver it by hand"
            )
        for d in self.documents.documents if self.documents else ():
            for what in d.to_check:  # a form value cut off: someone writes it in
                where = d.pdf.name if d.pdf is not None else d.action.kind
                out.append(f"{d.pupil.upn} {d.pupil.full_name}: {where}: {what}")
        if self.worklist_counts:
            calls = self.worklist_counts.get("first_day_contact", 0)
            if calls:
                out.append(
                    f"{calls} first-day call{'s' * (calls != 1)} to make "
                    f"(work list, 'Day 1 calls' tab)"
                )
        if self.email is not None:
            for f in self.email.failures:
                out.append(f"email to {f.recipients} for {f.upn} failed: {f.reason}")
            if self.email.print_items:
                n = len(self.email.print_items)
                out.append(
                    f"{n} document{'s' * (n != 1)} to post or hand over (no email): "
                    f"{self.email.print_list.name}"
                )
            if self.email.unknown:
                out.append(
                    f"{len(self.email.unknown)} email(s) interrupted while sending: "
                    "check the sent-log mailbox (mergekit send explains)"
                )
        return out


@with_school_lock("run")
def run_day(
    ws: Workspace,
    *,
    send: bool = False,
    limit: int | None = None,
    env: Mapping[str, str] | None = None,
    progress: DocumentsProgress | None = None,
) -> RunReport:
    """The day's work for ``ws.today``. Library errors (a locked ledger, LibreOffice hanging)
    propagate as MergekitError after whatever was finished was recorded."""
    env = os.environ if env is None else env
    interrupted = finish_interrupted(ws.settings, "run")
    check = run_check(ws.settings, ws.calendar, ws.today, ws.now)
    report = RunReport(ws, check, interrupted=interrupted)
    if report.stopped or check.result is None:
        return report
    data = check.result.data
    folder = run_dir(ws.settings, ws.today)
    make_dirs(folder)  # owner-only: the run folder holds the day's letters
    sweep_stale_temps(ws.settings.output_dir)  # what a crash on an earlier day left
    report.run_dir = folder
    # Plan once: the documents and emails below use this plan rather than making their own.
    reviewed, report.recorded, day = _plan_day(ws, data, folder)
    crash_point("run:after-list-actions")
    report.plan = reviewed.plan
    report.worklist, report.worklist_counts = write_day_worklist(
        folder, day, data, ws.settings, ws.today
    )
    pdf = _libreoffice(ws)
    report.pdf_missing = pdf
    report.documents = make_letters(
        ws, data, only=DOCUMENT_ACTIONS, pdf=not pdf, progress=progress, reviewed=reviewed
    )
    crash_point("run:before-email")
    try:
        report.email = deliver(ws, send=send, limit=limit, env=env, data=data, plan=day)
    except MergekitError as e:
        if send:
            raise
        report.email_error = str(e)
    return report


def _plan_day(
    ws: Workspace, data: SchoolData, folder: Path
) -> tuple[Review, dict[str, int], list[Action]]:
    """Today's plan as reviewed (today's plan workbook, the strikes the ledger holds), the
    list actions recorded now, and the day's approved actions (those recorded earlier today
    included)."""
    reviewed = review(ws, data)
    recorded = _record_listed(ws, reviewed, folder)
    day = [
        a for a in with_recorded(reviewed.plan.actions, ws.settings, data, ws.today) if a.approved
    ]
    return reviewed, recorded, day


@dataclass
class WorklistReport:
    """What `mergekit worklist` did."""

    plan: Plan
    path: Path | None  # None when nothing today goes on the list
    counts: dict[str, int]  # rows per action
    recorded: dict[str, int]  # list actions recorded as done now


@with_school_lock("worklist")
def make_worklist(ws: Workspace, data: SchoolData) -> WorklistReport:
    """The day's work list on its own (what `mergekit run` writes as its step 3): plans the
    day, records the calls, contacts and alerts as done (making the list is doing them, from
    mergekit's side) and writes ``<run folder>/worklist.xlsx``."""
    folder = run_dir(ws.settings, ws.today)
    make_dirs(folder)  # owner-only: the run folder holds the day's letters
    reviewed, recorded, day = _plan_day(ws, data, folder)
    path, counts = write_day_worklist(folder, day, data, ws.settings, ws.today)
    return WorklistReport(reviewed.plan, path, counts, recorded)


def _record_listed(ws: Workspace, reviewed: Review, folder: Path) -> dict[str, int]:
    """Record the approved list actions (calls, alerts, CME contacts): making the list is
    doing them, from mergekit's side; and the strikes staff wrote in today's plan workbook.
    Documents record themselves when they are made."""
    todo: list[Action] = [
        a
        for a in reviewed.plan.actions
        if a.approved and a.kind in (*LISTED, "vulnerable_day1_contact")
    ]
    if not todo and not reviewed.changes:
        return {}
    with Ledger.open(ws.settings.ledger_path) as ledger, ledger.transaction():
        run_id = ledger.start_run("run", ws.today, folder)
        record_review(ledger, run_id, reviewed, ws.today)
        record_actions(ledger, run_id, todo, ws.today)
    return dict(Counter(a.kind for a in todo))


def _libreoffice(ws: Workspace) -> str:
    """'' when LibreOffice can be used, else why not and how to install it."""
    from mergekit.pdf.soffice import find_soffice

    try:
        find_soffice(ws.settings.pdf.soffice)
    except ConversionError as e:
        return str(e)
    return ""


# ---------------------------------------------------------------------------------------------
# The demo


def copy_example(target: Path) -> Path:
    """Copy the bundled example school into ``target`` (which must not exist yet, or be an
    empty folder); returns the copied mergekit.toml."""
    source = examples_dir()
    if not (source / CONFIG_NAME).is_file():
        raise ConfigError(
            f"the example school is missing from this installation ({source}) - reinstall mergekit"
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(
            f"{target} already exists - the demo never overwrites anything; "
            "choose another folder with --out, or remove that one"
        )
    shutil.copytree(
        source,
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("out", "backups", "*.sqlite*", "~$*", "__pycache__"),
    )
    return target / CONFIG_NAME
