"""Letters and forms for a school day: plan actions -> merge fields -> Word documents.

What ``mergekit letters`` and ``mergekit forms`` do, in an order that never leaves half a run:

1. choose the actions: the plan's document actions that staff approved (plan.xlsx) and that the
   ledger does not already hold;
2. compile each template once and check every field it asks for against the real merge fields
   (a misspelt field stops the run here, before any file exists, naming the template, the field
   and the closest real names);
3. render every document in memory (one per pupil and action; siblings living together get
   their parents named the same way, in the same order);
4. write them into ``<run folder>/docx/``; with ``pdf``, convert the letters (LibreOffice, one
   run for all) and fill the PDF forms, also for documents made earlier today that have no PDF
   yet or whose Word file was edited since;
5. merge ``manifest.csv``, record the actions and documents in the ledger, and with ``pdf``
   build the print pack.

This module is what the commands call (choosing the actions for letters, forms, ``--again`` and
previews); :mod:`mergekit.documents.produce` does steps 2-5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from mergekit.core.actions import FORMS, LETTERS
from mergekit.core.errors import CheckFailed, WorkbookError
from mergekit.core.ledger import Ledger
from mergekit.core.lock import with_school_lock
from mergekit.core.model import Action, SchoolData
from mergekit.core.workspace import Workspace
from mergekit.documents.produce import DocumentsResult, Progress, _requested, produce
from mergekit.documents.sample import sample_action, sample_data
from mergekit.merge.addressing import household_addressees
from mergekit.plan.planning import Review


@dataclass(frozen=True)
class _Chosen:
    plan_actions: tuple[Action, ...]  # the plan's actions of the kinds wanted, approvals applied
    actions: tuple[Action, ...]  # of those: approved and not already done
    struck: tuple[Action, ...]
    notes: tuple[str, ...]
    history: Mapping[str, Mapping[int, date]]
    done_today: tuple[str, ...]
    review: Review


def _choose(
    ws: Workspace,
    data: SchoolData,
    wanted: Sequence[str],
    plan_file: Path | None,
    reviewed: Review | None = None,
) -> _Chosen:
    """The plan's actions of the kinds wanted, as reviewed (today's plan workbook, strikes
    held from earlier days). ``reviewed``: the review the caller already made (``mergekit
    run`` plans once for all its steps)."""
    from mergekit.plan import planning

    notes: list[str] = []
    if reviewed is None:
        reviewed = planning.review(ws, data, plan_file=plan_file)
        if reviewed.source is not None:
            notes.append(f"approvals read from {reviewed.source}")
    plan = reviewed.plan
    notes[:0] = plan.notes
    ours = tuple(a for a in plan.actions if a.kind in wanted)
    done_keys, history = _ledger_state(ws, data)
    chosen = tuple(a for a in ours if a.approved and a.key() not in done_keys)
    struck = tuple(a for a in ours if not a.approved)
    return _Chosen(
        ours, chosen, struck, tuple(notes), history, _done_today(ws, data, wanted), reviewed
    )


def _ledger_state(
    ws: Workspace, data: SchoolData
) -> tuple[frozenset[tuple[str, str, str]], Mapping[str, Mapping[int, date]]]:
    from mergekit.plan.planning import read_history

    history = read_history(ws, data)
    return history.done, history.letters


def _done_today(ws: Workspace, data: SchoolData, wanted: Sequence[str]) -> tuple[str, ...]:
    """What was already made today (so a second run can say why it makes nothing)."""
    path = ws.settings.ledger_path
    ledger = Ledger.open_readonly(path) if path.is_file() else None
    if ledger is None:
        return ()
    with ledger:
        rows = [r for r in ledger.actions() if r.day == ws.today and r.action in wanted]
    out = []
    for r in rows:
        p = data.pupils.get(r.upn)
        out.append(f"{r.action} for {r.upn}" + (f" ({p.full_name})" if p else ""))
    return tuple(out)


@with_school_lock("letters")
def make_letters(
    ws: Workspace,
    data: SchoolData,
    *,
    only: Sequence[str] = (),
    plan_file: Path | None = None,
    pdf: bool = False,
    progress: Progress | None = None,
    reviewed: Review | None = None,
) -> DocumentsResult:
    """``mergekit letters``: the approved warning letters the plan lists for today (``only``:
    these kinds of document instead; ``reviewed``: today's plan, already made and reviewed)."""
    wanted = tuple(only) or LETTERS
    chosen = _choose(ws, data, wanted, plan_file, reviewed)
    return _produce_planned(ws, data, chosen, wanted, "letters", pdf, progress)


def _produce_planned(
    ws: Workspace,
    data: SchoolData,
    chosen: _Chosen,
    kinds: Sequence[str],
    command: str,
    pdf: bool,
    progress: Progress | None,
) -> DocumentsResult:
    """The documents of these kinds the plan lists today, approved and not already done."""
    return produce(
        ws,
        data,
        chosen.actions,
        command=command,
        history=chosen.history,
        pdf=pdf,
        progress=progress,
        notes=chosen.notes,
        struck=chosen.struck,
        already_done=chosen.done_today,
        kinds=kinds,
        reviewed=chosen.review,
    )


@with_school_lock("forms")
def make_forms(
    ws: Workspace,
    data: SchoolData,
    *,
    upns: Sequence[str] = (),
    due: bool = False,
    forms: Sequence[str] = (),
    plan_file: Path | None = None,
    pdf: bool = False,
    progress: Progress | None = None,
) -> DocumentsResult:
    """``mergekit forms``: every form the plan says is due (``due``), or the forms of the named
    pupils (the plan's, or those named in ``forms``; made again if already made)."""
    wanted = tuple(forms) or FORMS
    chosen = _choose(ws, data, wanted, plan_file)
    if due:
        return _produce_planned(ws, data, chosen, wanted, "forms --due", pdf, progress)
    by_pupil: dict[str, dict[str, Action]] = {}
    for a in chosen.plan_actions:
        by_pupil.setdefault(a.upn, {})[a.kind] = a
    actions: list[Action] = []
    notes = list(chosen.notes)
    for raw in upns:
        upn = "".join(raw.split()).upper()
        pupil = data.pupils.get(upn)
        if pupil is None:
            raise WorkbookError(
                f"{ws.settings.files.tracking}: no pupil with the UPN {raw!r} - check the UPN "
                "(`mergekit fields` and `mergekit plan` show the pupils)"
            )
        held = next((f for f in data.fix_first if f.upn == upn), None)
        if held is not None:
            raise CheckFailed(
                f"{upn} ({pupil.full_name}): no form is made until their rows are fixed: "
                f"{held.reasons[0]}"
            )
        planned = by_pupil.get(upn, {})
        if forms:
            actions.extend(planned.get(f) or _requested(pupil, f, ws.today) for f in forms)
        elif planned:
            actions.extend(planned.values())
        else:
            notes.append(
                f"{upn} ({pupil.full_name}): no form is due today - name one with --form "
                f"({', '.join(FORMS)})"
            )
    return produce(
        ws,
        data,
        [a for a in actions if a.approved],
        command="forms " + " ".join(upns),
        history=chosen.history,
        pdf=pdf,
        progress=progress,
        notes=notes,
        struck=[a for a in actions if not a.approved],
        reviewed=chosen.review,
    )


@with_school_lock("letters --again")
def make_again(
    ws: Workspace,
    data: SchoolData,
    upns: Sequence[str],
    kinds: Sequence[str],
    *,
    pdf: bool = False,
    progress: Progress | None = None,
    command: str,
) -> DocumentsResult:
    """``--again UPN...``: make the named pupils' documents of these kinds made earlier today
    once more, from the workbook as it is now (a deleted or spoilt PDF, a corrected address):
    the same actions, written over the earlier files and recorded in the ledger with their new
    hashes, the earlier records kept and marked as replaced. Nothing is made when a UPN has no
    such document today."""
    wanted = set(kinds)
    path = ws.settings.ledger_path
    ledger = Ledger.open_readonly(path) if path.is_file() else None
    made: dict[str, list[tuple[int, str]]] = {}  # UPN -> (action id, action) with a document
    if ledger is not None:
        with ledger:
            today = {r.id: r for r in ledger.actions(day=ws.today) if r.action in wanted}
            for d in ledger.documents():
                if d.action_id in today and d.kind == "docx":
                    r = today[d.action_id]
                    made.setdefault(r.upn, []).append((r.id, r.action))
            sent = {i: ledger.sent_messages(i) for i in today}
    else:
        sent = {}
    errors: list[str] = []
    chosen: list[tuple[str, str]] = []
    for raw in upns:
        upn = "".join(raw.split()).upper()
        pupil = data.pupils.get(upn)
        if pupil is None:
            errors.append(f"{ws.settings.files.tracking}: no pupil with the UPN {raw!r}")
        elif upn not in made:
            errors.append(
                f"{upn} ({pupil.full_name}): no {' or '.join(sorted(wanted))} was made today, "
                "so there is nothing to make again - the plan's documents are made without "
                "--again"
            )
        else:
            chosen.extend((upn, action) for _, action in dict.fromkeys(made[upn]))
    if errors:
        raise WorkbookError("\n".join([*errors, "Nothing was made again."]))
    from mergekit.plan.planning import recorded_actions

    recorded = {(a.upn, a.kind): a for a in recorded_actions(ws.settings, data, ws.today)}
    actions = [recorded[key] for key in dict.fromkeys(chosen) if key in recorded]
    notes = [
        f"{a.upn} {a.name}: the {a.kind} was already emailed ({when[:16].replace('T', ' ')} "
        f"to {to}); the new copy is not emailed again - post it or send it yourself"
        for upn in dict.fromkeys(u for u, _ in chosen)
        for action_id, action in made[upn]
        for when, to in sent.get(action_id, [])[:1]
        if (a := recorded.get((upn, action))) is not None
    ]
    _, history = _ledger_state(ws, data)
    return produce(
        ws,
        data,
        actions,
        command=command,
        history=history,
        pdf=pdf,
        progress=progress,
        notes=notes,
        again=True,
    )


def make_preview(
    ws: Workspace,
    data: SchoolData | None,
    actions: Sequence[str],
    *,
    pdf: bool = False,
    progress: Progress | None = None,
) -> DocumentsResult:
    """One sample of each template into ``<run folder>/preview/``, recording nothing: the first
    pupil the plan lists for it, else the first pupil with a postal address, else an invented
    sample pupil."""
    notes: list[str] = []
    planned: dict[str, Action] = {}
    if data is not None and data.pupils:
        from mergekit.plan import planning

        for a in planning.make_plan(ws, data).actions:
            planned.setdefault(a.kind, a)
    else:
        data, _ = sample_data(ws.today)
        notes.append("the tracking workbook could not be read: previews use an invented pupil")
    homes = household_addressees(data)
    fallback = next(
        (
            p
            for p in sorted(data.pupils.values(), key=lambda p: p.sort_key)
            if homes.get(p.upn) and homes[p.upn][0].address.is_postable
        ),
        next(iter(sorted(data.pupils.values(), key=lambda p: p.sort_key))),
    )
    chosen = [
        planned.get(name) or replace(sample_action(fallback, ws.today, name), reason="preview")
        for name in actions
    ]
    _, history = _ledger_state(ws, data)
    return produce(
        ws,
        data,
        chosen,
        command="preview",
        history=history,
        pdf=pdf,
        progress=progress,
        preview=True,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
