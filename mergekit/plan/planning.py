"""From the workbook and the ledger to today's plan, and back: approvals, strikes and "done".

:mod:`mergekit.plan.policy` is pure; this module does the reading around it. ``mergekit plan``
opens the ledger read-only (a missing ledger is an empty history and is not created); only
recording, by ``plan --record`` or the commands that produce documents, writes to it.

A strike (Approve = N in a plan workbook) is recorded in the ledger by the first command that
honours it, and holds on later days until a person writes Y against it in that day's plan
workbook, or the condition changes: a new occurrence of the action (a new stage), or, for a
warning letter, whose stage is the whole academic year, a pupil whose attendance recovered
and fell back since the strike. The plan says so when a strike stops holding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from mergekit.core.actions import LETTERS, NEEDS_TODAYS_MARKS
from mergekit.core.calendar import academic_year_bounds, academic_year_of
from mergekit.core.config import Settings
from mergekit.core.errors import MergekitError
from mergekit.core.ledger import HistoryLine, Ledger, StrikeRecord
from mergekit.core.model import Action, SchoolData
from mergekit.core.runfolder import (
    PLAN_XLSX,
    run_dir,
)
from mergekit.core.workspace import Workspace
from mergekit.plan.planxlsx import Approvals, read_approvals, write_plan_xlsx
from mergekit.plan.policy import History, Plan, evaluate, letter_condition_since
from mergekit.plan.register import RegisterGap, register_gap

Key = tuple[str, str, str]  # (UPN, action, stage)
LAPSED = "no longer held: "  # how the ledger records a strike whose condition changed

__all__ = [
    "PLAN_XLSX",
    "HistoryReport",
    "Review",
    "apply_approvals",
    "approvals_for",
    "day_actions",
    "history_report",
    "load_history",
    "make_plan",
    "read_approvals",
    "read_history",
    "record_actions",
    "record_plan",
    "record_review",
    "recorded_actions",
    "review",
    "review_plan",
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
    """Today's plan, from the history :func:`read_history` reads. Without today's register
    (after registration), the rules that need today's marks are left out, and it says why."""
    history = read_history(ws, data, ledger_path=ledger_path)
    plan = evaluate(data, ws.calendar, ws.settings.policy, history, ws.today)
    gap = register_gap(data, ws.today, ws.now, ws.settings.policy.registration_time())
    if gap is not None:
        plan = without_todays_marks(plan, gap)
    if ws.note:
        plan = replace(plan, notes=(ws.note, *plan.notes))
    return plan


def without_todays_marks(plan: Plan, gap: RegisterGap) -> Plan:
    """The plan without what needs today's marks: on the old figures the day-1 calls are
    missing, letters state old percentages and a CME absence run seems to stop."""
    kept = tuple(a for a in plan.actions if a.kind not in NEEDS_TODAYS_MARKS)
    left = len(plan.actions) - len(kept)
    upto = f" up to {gap.latest:%d/%m/%Y}" if gap.latest else ""
    line = (
        f"{gap.message()} - export today's register first: first-day calls, warning letters, "
        f"alerts and CME steps are not planned until it is in ({left} would be planned on the "
        f"old figures{upto})"
    )
    return replace(plan, actions=kept, skipped=(line, *plan.skipped))


def apply_approvals(plan: Plan, approvals: Mapping[Key, bool]) -> Plan:
    """Set each action's ``approved`` from a reviewed plan workbook (strikes of earlier days
    are :func:`review_plan`'s). An action the workbook does not list was never reviewed, so it
    is not approved (and a note says so)."""
    return review_plan(plan, approvals).plan


# ---------------------------------------------------------------------------------------------
# Strikes: the plan as reviewed


@dataclass(frozen=True)
class Review:
    """Today's plan with the reviewers' decisions applied: the Approve column of today's plan
    workbook, over the strikes the ledger holds from earlier days. What changed is listed so
    the next command that writes the ledger records it (:func:`record_review`)."""

    plan: Plan
    source: Path | None = None  # today's plan workbook, when one was read
    held: Mapping[Key, StrikeRecord] = field(default_factory=dict)  # struck before, still struck
    strike: tuple[Action, ...] = ()  # N in today's workbook, not held yet
    lift: tuple[Action, ...] = ()  # Y in today's workbook against a held strike
    lapse: tuple[tuple[StrikeRecord, str], ...] = ()  # no longer held: why
    row_notes: Mapping[Key, str] = field(default_factory=dict)  # for the plan workbook

    @property
    def changes(self) -> bool:
        return bool(self.strike or self.lift or self.lapse)


def review_plan(
    plan: Plan,
    approvals: Mapping[Key, bool] | None,
    strikes: Iterable[StrikeRecord] = (),
    letter_since: Callable[[Action], date | None] | None = None,
    source: Path | None = None,
) -> Review:
    """Apply today's decisions (``approvals``, None when no plan workbook was reviewed) and the
    strikes held in the ledger to ``plan``. Pure. ``letter_since``: the first school day of
    the pupil's current stretch below the letter threshold (None: cannot tell), so a strike on
    a warning letter stops holding once the pupil recovered and fell back."""
    strikes = list(strikes)
    held_by_key = {s.key(): s for s in strikes if s.lifted_at is None}
    planned = {a.key() for a in plan.actions}
    by_pair: dict[tuple[str, str], Action] = {(a.upn, a.kind): a for a in plan.actions}
    held: dict[Key, StrikeRecord] = {}
    strike: list[Action] = []
    lift: list[Action] = []
    lapse: list[tuple[StrikeRecord, str]] = []
    row_notes: dict[Key, str] = {}
    notes = list(plan.notes)
    actions: list[Action] = []
    missing = 0
    for a in plan.actions:
        earlier = held_by_key.get(a.key())
        if earlier is not None and a.kind in LETTERS and letter_since is not None:
            since = letter_since(a)
            if since is not None and since > earlier.day:
                why = (
                    f"the pupil's attendance recovered after it was struck and has been below "
                    f"the threshold again since {since:%d/%m/%Y}"
                )
                lapse.append((earlier, why))
                notes.append(_planned_again(a, earlier, why))
                row_notes[a.key()] = f"struck on {earlier.day:%d/%m/%Y}; planned again: {why}"
                earlier = None
        decision = approvals.get(a.key()) if approvals is not None else None
        if decision is None:
            ok = earlier is None and approvals is None
            missing += earlier is None and approvals is not None
        else:
            ok = decision
        if earlier is not None:
            if ok:
                lift.append(a)
            else:
                held[a.key()] = earlier
                row_notes[a.key()] = (
                    f"struck on {earlier.day:%d/%m/%Y} and still struck: write Y to lift it"
                )
        elif decision is False:
            strike.append(a)
        actions.append(replace(a, approved=ok))
    for key, earlier in held_by_key.items():
        now = by_pair.get((earlier.upn, earlier.action))
        if key in planned or now is None:
            continue  # still held: the pupil may qualify again for the same occurrence
        why = f"this is a new occurrence (stage {now.stage}; the strike was for {earlier.stage})"
        lapse.append((earlier, why))
        notes.append(_planned_again(now, earlier, why))
        row_notes.setdefault(now.key(), f"struck on {earlier.day:%d/%m/%Y}; planned again: {why}")
    for earlier in strikes:  # lapsed earlier today: still worth saying all day
        now = by_pair.get((earlier.upn, earlier.action))
        why = earlier.lifted_why.removeprefix(LAPSED)
        if earlier.lifted_at is None or now is None or why == earlier.lifted_why:
            continue
        if now.key() in held_by_key:
            continue  # struck again since
        notes.append(_planned_again(now, earlier, why))
        row_notes.setdefault(now.key(), f"struck on {earlier.day:%d/%m/%Y}; planned again: {why}")
    if held:
        n = len(held)
        notes.append(
            f"{n} action{'s' * (n != 1)} struck on an earlier day {'are' if n != 1 else 'is'} "
            "still struck - to lift a strike, write Y against it in today's plan workbook "
            f"(`mergekit plan --xlsx out/{plan.today.isoformat()}/plan.xlsx`)"
        )
    if missing:
        notes.append(
            f"{missing} action{'s are' if missing != 1 else ' is'} not in the reviewed plan "
            "workbook (the tracking workbook changed after it was written?) and will not be "
            "done - run `mergekit plan --xlsx` again to review them"
        )
    reviewed = replace(plan, actions=tuple(actions), notes=tuple(notes))
    return Review(reviewed, source, held, tuple(strike), tuple(lift), tuple(lapse), row_notes)


def _planned_again(a: Action, earlier: StrikeRecord, why: str) -> str:
    return (
        f"{a.upn} {a.name}: {a.kind} was struck on {earlier.day:%d/%m/%Y}, but {why}, so it "
        "is planned again - write N against it in the plan workbook to strike it again"
    )


def held_strikes(settings: Settings, today: date) -> list[StrikeRecord]:
    """The strikes the ledger holds, and those that stopped holding today because the
    condition changed (only read; none without a ledger)."""
    path = settings.ledger_path
    ledger = Ledger.open_readonly(path) if path.is_file() else None
    if ledger is None:
        return []
    with ledger:
        return [
            s
            for s in ledger.strikes()
            if s.lifted_at is None or (s.lifted_day == today and s.lifted_why.startswith(LAPSED))
        ]


def review(
    ws: Workspace,
    data: SchoolData,
    plan: Plan | None = None,
    *,
    plan_file: Path | None = None,
    approvals: bool = True,
) -> Review:
    """Today's plan (made unless given) as reviewed: the Approve column of ``plan_file``
    (which must exist), else of plan.xlsx in today's run folder when staff made one; and the
    strikes held in the ledger. ``approvals`` False: the ledger's strikes only."""
    plan = plan if plan is not None else make_plan(ws, data)
    source: Path | None = None
    decisions: Approvals | None = None
    if approvals:
        source = plan_file or run_dir(ws.settings, ws.today) / PLAN_XLSX
        if plan_file is not None or source.is_file():
            decisions = read_approvals(source)
        else:
            source = None

    def since(a: Action) -> date | None:
        return letter_condition_since(data, ws.calendar, ws.settings.policy, a.upn, ws.today)

    return review_plan(plan, decisions, held_strikes(ws.settings, ws.today), since, source)


def record_review(ledger: Ledger, run_id: int, reviewed: Review, today: date) -> None:
    """Write what the review changed: new strikes (with their stage), strikes lifted by a Y,
    strikes whose condition changed. Recording twice changes nothing."""
    source = reviewed.source.name if reviewed.source is not None else ""
    ledger.record_strikes(
        [
            (run_id, a.upn, a.kind, a.stage, a.academic_year, today, a.reason, source)
            for a in reviewed.strike
        ]
    )
    if reviewed.lift:
        ledger.lift_strikes(
            [a.key() for a in reviewed.lift], today, f"Y written in {source or 'the plan'}"
        )
    for earlier, why in reviewed.lapse:
        ledger.lift_strikes([earlier.key()], today, f"{LAPSED}{why}")


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
            (run_id, a.upn, a.kind, a.stage, a.academic_year, today, a.reason, a.evidence)
            for a in chosen
        ]
    )
    return {a.key(): i for a, i in zip(chosen, ids, strict=True)}


# ---------------------------------------------------------------------------------------------
# What the commands call


@dataclass(frozen=True)
class Recorded:
    ledger: Path
    run_id: int
    recorded: int
    struck: int


def record_plan(ws: Workspace, plan: Plan, reviewed: Review | None = None) -> Recorded:
    """``plan --record``: the approved actions go into the ledger (created if need be) as
    done, for schools that use mergekit only to plan; and the strikes of the review."""
    path = ws.settings.ledger_path
    with Ledger.open(path) as ledger:
        run_id = ledger.start_run("plan --record", ws.today)
        if reviewed is not None:
            record_review(ledger, run_id, reviewed, ws.today)
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
    from mergekit.read.tracking import read_tracking

    try:
        data = read_tracking(settings).data
    except MergekitError:
        return None
    return {upn: p.full_name for upn, p in data.pupils.items()}


def day_actions(ws: Workspace, data: SchoolData, day: date, folder: Path) -> list[Action]:
    """The day's actions: the plan (with the approvals staff gave in the run's plan.xlsx) and
    the actions the ledger already records for that day. The command that made the documents
    records them as done, after which the plan leaves them out; their reasons and evidence
    (e.g. the first day of absence) still belong in the emails."""
    reviewed = folder / PLAN_XLSX  # the run's own plan workbook, and the ledger's strikes
    on_day = replace(ws, today=day, now=ws.now if day == ws.today else None)
    found = reviewed.is_file()
    plan = review(on_day, data, plan_file=reviewed if found else None, approvals=found).plan
    return with_recorded(plan.actions, ws.settings, data, day)
