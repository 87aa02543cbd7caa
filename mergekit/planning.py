"""From the workbook and the ledger to today's plan, and back: approvals and "done".

:mod:`mergekit.policy` is pure; this module does the reading around it. ``mergekit plan``
opens the ledger read-only (a missing ledger is an empty history and is not created); only
recording, by ``plan --record`` or the commands that produce documents, writes to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from mergekit.calendar import academic_year_bounds, academic_year_of
from mergekit.check import CheckReport, run_check
from mergekit.config import Settings
from mergekit.errors import MergekitError, WorkbookError
from mergekit.ledger import HistoryLine, Ledger
from mergekit.model import Action, SchoolData
from mergekit.planxlsx import Approvals, read_approvals, write_plan_xlsx
from mergekit.policy import History, Plan, evaluate
from mergekit.runfolder import PLAN_XLSX, run_dir
from mergekit.workspace import Workspace

__all__ = [
    "PLAN_XLSX",
    "HistoryReport",
    "PlanReport",
    "apply_approvals",
    "approvals_for",
    "history_report",
    "load_history",
    "make_plan",
    "plan_today",
    "read_approvals",
    "read_history",
    "record_actions",
    "record_plan",
    "recorded_actions",
    "run_dir",
    "write_plan_xlsx",
]

_LETTER = re.compile(r"pa_letter_([123])")


def _letter_number(action: str) -> int | None:
    m = _LETTER.fullmatch(action)
    return int(m.group(1)) if m else None


def load_history(ledger: Ledger | None, data: SchoolData, today: date) -> History:
    """Letters sent this academic year (ledger + the workbook's letters sheet; when both
    record the same letter, the later date, so the next letter is never sent early) and the
    (UPN, action, stage) keys already done."""
    year = academic_year_of(today)
    start, _ = academic_year_bounds(year)
    letters: dict[str, dict[int, date]] = {}

    def add(upn: str, number: int, day: date) -> None:
        if start <= day <= today:
            sent = letters.setdefault(upn, {})
            if number not in sent or day > sent[number]:
                sent[number] = day

    for upn, records in data.letters.items():
        for record in records:
            number = _letter_number(record.letter)
            if number:
                add(upn, number, record.date_sent)
    done: frozenset[tuple[str, str, str]] = frozenset()
    if ledger is not None:
        for upn, action, day in ledger.letters_sent(year):
            number = _letter_number(action)
            if number:
                add(upn, number, day)
        done = frozenset(ledger.done_keys())
    return History(letters, done)


def read_history(ws: Workspace, data: SchoolData, *, ledger_path: Path | None = None) -> History:
    """:func:`load_history` from the ledger, which is only read; when it does not exist yet
    the history is empty and no file is created."""
    path = ledger_path or ws.settings.ledger_path
    ledger = Ledger.open_readonly(path) if path.is_file() else None
    try:
        return load_history(ledger, data, ws.today)
    finally:
        if ledger is not None:
            ledger.close()


def recorded_actions(settings: Settings, data: SchoolData, day: date) -> list[Action]:
    """The actions the ledger records as done on ``day``, in the order they were recorded,
    for the pupils in the workbook. The ledger is only read; none yet is no actions."""
    path = settings.ledger_path
    ledger = Ledger.open_readonly(path) if path.is_file() else None
    if ledger is None:
        return []
    with ledger:
        records = ledger.actions(day=day)
    return [
        Action.for_pupil(
            data.pupils[r.upn],
            r.action,
            reason=r.reason,
            stage=r.stage,
            academic_year=r.academic_year,
            evidence=r.evidence,
        )
        for r in records
        if r.upn in data.pupils
    ]


def with_recorded(
    actions: Iterable[Action], settings: Settings, data: SchoolData, day: date
) -> list[Action]:
    """The day's actions: ``actions`` (today's plan) and those the ledger already records for
    that day. Once done, an action leaves the plan; its reason and evidence (the first day of
    absence, say) still belong in the day's emails and work list."""
    out = {a.key(): a for a in actions}
    for a in recorded_actions(settings, data, day):
        out.setdefault(a.key(), a)
    return list(out.values())


def make_plan(ws: Workspace, data: SchoolData, *, ledger_path: Path | None = None) -> Plan:
    """Today's plan, from the history :func:`read_history` reads."""
    history = read_history(ws, data, ledger_path=ledger_path)
    plan = evaluate(data, ws.calendar, ws.settings.policy, history, ws.today)
    if ws.note:
        plan = replace(plan, notes=(ws.note, *plan.notes))
    return plan


def apply_approvals(plan: Plan, approvals: Mapping[tuple[str, str, str], bool]) -> Plan:
    """Set each action's ``approved`` from a reviewed plan workbook. An action the workbook
    does not list was never reviewed, so it is not approved (and a note says so)."""
    missing = 0
    actions = []
    for a in plan.actions:
        ok = approvals.get(a.key())
        if ok is None:
            missing += 1
            ok = False
        actions.append(replace(a, approved=ok))
    notes = plan.notes
    if missing:
        notes = (
            *notes,
            f"{missing} action{'s are' if missing != 1 else ' is'} not in the reviewed plan "
            "workbook (the tracking workbook changed after it was written?) and will not be "
            "done - run `mergekit plan --xlsx` again to review them",
        )
    return replace(plan, actions=tuple(actions), notes=notes)


def approvals_for(run_dir: Path, explicit: Path | None = None) -> Approvals | None:
    """Approvals from ``explicit`` (which must exist), else from plan.xlsx in the run folder
    when staff made one; None when there is nothing to honour."""
    if explicit is not None:
        return read_approvals(explicit)
    path = run_dir / PLAN_XLSX
    return read_approvals(path) if path.is_file() else None


def record_actions(
    ledger: Ledger, run_id: int, actions: Iterable[Action], today: date
) -> dict[tuple[str, str, str], int]:
    """Record the approved actions as done, in one transaction; returns their ledger ids by
    key. Actions staff struck (``approved`` False) are not recorded."""
    chosen = [a for a in actions if a.approved]
    ids = ledger.record_actions(
        [
            (run_id, a.upn, a.action, a.stage, a.academic_year, today, a.reason, a.evidence)
            for a in chosen
        ]
    )
    return {a.key(): i for a, i in zip(chosen, ids, strict=True)}


# ---------------------------------------------------------------------------------------------
# What the commands call


@dataclass(frozen=True)
class PlanReport:
    plan: Plan
    check: CheckReport
    approvals_file: Path | None = None  # the plan workbook whose Approve column was applied
    xlsx_written: Path | None = None
    xlsx_kept_n: int = 0  # rows that kept an N from the workbook being rewritten

    @property
    def check_errors(self) -> int:
        return len(self.check.errors)


def plan_today(ws: Workspace, *, xlsx: Path | None = None) -> PlanReport:
    """Read and check the workbooks, plan, write the review workbook when asked, and apply the
    approvals staff gave (the workbook just written, else plan.xlsx in today's run folder)."""
    report = run_check(ws.settings, ws.calendar, ws.today)
    if report.result is None:
        raise WorkbookError(
            "; ".join(str(p) for p in report.errors) or "the tracking workbook cannot be read"
        )
    plan = make_plan(ws, report.result.data)
    kept = 0
    if xlsx is not None:
        kept = write_plan_xlsx(plan, xlsx)
    source = xlsx if xlsx is not None else run_dir(ws.settings, ws.today) / PLAN_XLSX
    approvals = read_approvals(source) if source.is_file() else None
    if approvals is not None:
        plan = apply_approvals(plan, approvals)
    return PlanReport(
        plan, report, source if approvals is not None else None, xlsx if xlsx else None, kept
    )


@dataclass(frozen=True)
class Recorded:
    ledger: Path
    run_id: int
    recorded: int
    struck: int


def record_plan(ws: Workspace, plan: Plan) -> Recorded:
    """``plan --record``: the approved actions go into the ledger (created if need be) as
    done, for schools that use mergekit only to plan."""
    path = ws.settings.ledger_path
    with Ledger.open(path) as ledger:
        run_id = ledger.start_run("plan --record", ws.today)
        ids = record_actions(ledger, run_id, plan.actions, ws.today)
    return Recorded(path, run_id, len(ids), len(plan.actions) - len(ids))


@dataclass(frozen=True)
class HistoryReport:
    ledger: Path
    exists: bool
    upn: str | None = None
    lines: tuple[HistoryLine, ...] = ()
    pupils: tuple[tuple[str, int, int, int, str], ...] = ()  # UPN, actions, documents, emails, last
    names: Mapping[str, str] | None = None


def history_report(settings: Settings, upn: str | None = None) -> HistoryReport:
    """One pupil's record from the ledger, or every pupil with a record and their counts.
    Names come from the tracking workbook when it can be read (the ledger keeps UPNs only)."""
    path = settings.ledger_path
    ledger = Ledger.open_readonly(path) if path.is_file() else None
    if ledger is None:
        return HistoryReport(path, exists=False)
    with ledger:
        if upn is not None:
            key = "".join(upn.split()).upper()
            report = HistoryReport(path, True, key, tuple(ledger.history(key)))
        else:
            report = HistoryReport(path, True, pupils=tuple(ledger.history_counts()))
    return replace(report, names=_names(settings))


def _names(settings: Settings) -> dict[str, str] | None:
    from mergekit.workbook import read_tracking

    try:
        data = read_tracking(settings).data
    except MergekitError:
        return None
    return {upn: p.full_name for upn, p in data.pupils.items()}
