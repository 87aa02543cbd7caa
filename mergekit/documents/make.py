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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from mergekit.core.actions import DOCUMENT_ACTIONS, FORMS, LETTERS, PDF_FORMS
from mergekit.core.atomic import write_atomic
from mergekit.core.config import Settings
from mergekit.core.errors import (
    MergekitError,
    TemplateError,
    WorkbookError,
)
from mergekit.core.ledger import Ledger
from mergekit.core.model import Action, Contact, Pupil, SchoolData
from mergekit.core.runfolder import (
    DOCX_DIR,
    MANIFEST,
    PACK_NAME,
    PDF_DIR,
    PREVIEW_DIR,
    ManifestRow,
    document_pdf,
    document_stem,
    edited_after,
    file_sha256,
    merge_manifest,
    read_manifest,
    run_dir,
)
from mergekit.core.workspace import Workspace
from mergekit.documents.fieldschema import FieldVisitor, context_schema
from mergekit.documents.sample import sample_action, sample_context, sample_data
from mergekit.merge.addressing import household_addressees, recipients_text
from mergekit.merge.fields import LetterHistory, build_context
from mergekit.merge.formfields import StepsTaken
from mergekit.merge.render import (
    CompiledTemplate,
    compile_template,
    numbered,
    paragraph_at,
    sha256,
)
from mergekit.merge.templates import template_path
from mergekit.plan.planning import Review

# (stage, done, total): stage is "render", "pdf", "forms" or "pack".
Progress = Callable[[str, int, int], None]


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Document:
    """One rendered document."""

    action: Action
    pupil: Pupil
    file: Path  # where the .docx was written
    relative: str  # the manifest's ``file``: path inside the run folder
    sha256: str
    recipients: str  # the manifest's ``recipients``
    postable: bool  # a letter that can be posted (forms: always True)
    pdf: Path | None = None


@dataclass(frozen=True)
class DocumentsResult:
    run_dir: Path
    documents: tuple[Document, ...] = ()
    already_done: tuple[str, ...] = ()  # "pa_letter_1 for A123... (Smith, John)" lines
    struck: tuple[Action, ...] = ()  # set to N in the reviewed plan
    notes: tuple[str, ...] = ()
    manifest: Path | None = None
    pack: Path | None = None
    preview: bool = False
    run_id: int | None = None
    earlier_pdfs: tuple[Path, ...] = ()  # PDFs made again for documents made earlier today
    struck_on: Mapping[tuple[str, str, str], date] = field(default_factory=dict)  # held strikes
    held: tuple[Action, ...] = ()  # not made: their templates print a setting not filled in
    held_because: tuple[str, ...] = ()  # which settings, and where
    again: bool = False  # made again (--again): each replaces today's earlier copy

    @property
    def cannot_post(self) -> tuple[Document, ...]:
        return tuple(d for d in self.documents if not d.postable)

    @property
    def pdfs(self) -> tuple[Path, ...]:
        return tuple(d.pdf for d in self.documents if d.pdf is not None)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.documents:
            out[d.action.kind] = out.get(d.action.kind, 0) + 1
        return out


# ---------------------------------------------------------------------------------------------
# Templates


def field_schema(settings: Settings, today: date) -> dict[str, Any]:
    """What templates may ask for: the merge fields of a complete sample pupil."""
    return context_schema(sample_context(settings, today))


def compile_checked(
    path: Path, schema: Mapping[str, Any], name: str | None = None
) -> CompiledTemplate:
    """Compile a template and check every field it uses; TemplateError lists each unknown
    field with the closest real names."""
    compiled = compile_template(path, name)
    problems: list[str] = []
    for part in compiled.parts:
        visitor = FieldVisitor(schema)
        visitor.run(part.template.environment.parse(numbered(part.source)))
        problems.extend(
            f'{compiled.name} ({part.label}): {u.message()} in "'
            f'{paragraph_at(part.source, u.lineno)}"'
            for u in visitor.unknown
        )
    if problems:
        raise TemplateError(
            "\n".join(
                [
                    *problems,
                    "Nothing was made. Correct the field names in the template "
                    "(`mergekit fields` lists them; `mergekit templates check` checks a file).",
                ]
            )
        )
    return compiled


def compile_for(
    settings: Settings, actions: Iterable[str], today: date
) -> dict[str, CompiledTemplate]:
    schema = field_schema(settings, today)
    out: dict[str, CompiledTemplate] = {}
    for a in dict.fromkeys(actions):
        path = template_path(settings, a)
        out[a] = compile_checked(path, schema, f"{a} template ({path.name})")
    return out


# ---------------------------------------------------------------------------------------------
# The pipeline


@dataclass
class _Job:
    action: Action
    pupil: Pupil
    to: list[Contact]
    stem: str
    data: bytes = b""
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Earlier:
    """A document made earlier today whose PDF is missing, or older than its Word file."""

    relative: str
    file: Path
    action: Action
    context: Mapping[str, Any]


def produce(
    ws: Workspace,
    data: SchoolData,
    actions: Sequence[Action],
    *,
    command: str,
    history: Mapping[str, Mapping[int, date]] | None = None,
    pdf: bool = False,
    progress: Progress | None = None,
    preview: bool = False,
    notes: Sequence[str] = (),
    struck: Sequence[Action] = (),
    already_done: Sequence[str] = (),
    kinds: Sequence[str] = (),
    reviewed: Review | None = None,
    again: bool = False,
) -> DocumentsResult:
    """Render one document per action into the run folder (``preview``: into its preview/
    folder, recording nothing), make the PDFs when asked, then write the manifest and record
    everything in the ledger. With ``pdf``, documents of ``kinds`` made earlier today whose PDF
    is missing or out of date get theirs too."""
    settings = ws.settings
    run = run_dir(settings, ws.today)
    target = run / PREVIEW_DIR if preview else run
    sent = history or {}
    jobs = _jobs(data, actions)
    jobs, held, because = _hold_unfilled(settings, jobs, preview)
    if preview:
        notes = [*notes, *because]
    fresh = {f"docx/{j.stem}.docx" for j in jobs}
    steps = _steps(ws, jobs, kinds)
    earlier = (
        _pdfs_to_redo(ws, data, run, kinds, fresh, sent, steps)
        if pdf and kinds and not preview
        else []
    )
    struck_on = {k: r.day for k, r in reviewed.held.items()} if reviewed else {}
    if not jobs and not earlier:
        if reviewed is not None and reviewed.changes and not preview:
            _record_review_only(ws, run, reviewed, command)
        return DocumentsResult(
            run,
            (),
            tuple(already_done),
            tuple(struck),
            tuple(notes),
            preview=preview,
            struck_on=struck_on,
            held=held,
            held_because=because,
        )
    docs = _render_all(ws, data, jobs, target, sent, progress, steps) if jobs else []
    extra = list(notes)
    redone: list[tuple[_Earlier, Path]] = []
    if pdf:
        # Before recording: if LibreOffice fails, nothing is recorded, and running the
        # command again makes the documents and their PDFs.
        try:
            docs, redone, more = _make_pdfs(settings, target, jobs, docs, earlier, progress)
        except MergekitError as e:
            made = f"the Word documents are in {target / DOCX_DIR}, " if docs else ""
            raise type(e)(
                f"{e}\n{made.capitalize()}nothing was recorded: run the command again to make "
                "the documents and their PDFs"
            ) from e
        extra.extend(more)
        if redone:
            extra.append(
                f"{len(redone)} PDF{'s' * (len(redone) != 1)} made again for documents made "
                "earlier today (missing, or the Word file was edited)"
            )
    manifest: Path | None = None
    run_id: int | None = None
    pack: Path | None = None
    if not preview:
        now_in = {(d.pupil.upn, d.action.kind): d.relative for d in docs}
        # Made again under another name (the pupil moved form, say): the old file leaves the
        # manifest, so it is neither emailed nor printed.
        renamed = (
            [r.file for r in read_manifest(run) if now_in.get((r.upn, r.action), r.file) != r.file]
            if again and (run / MANIFEST).is_file()
            else []
        )
        manifest = merge_manifest(
            run,
            [
                ManifestRow(d.pupil.upn, d.action.kind, d.relative, d.sha256, d.recipients)
                for d in docs
            ],
            drop=renamed,
        )
        run_id = _record(ws, run, docs, redone, command, reviewed)
        if pdf:
            pack, missing = _pack(ws, data, run)
            if missing:
                extra.append(
                    f"the print pack leaves out {missing} of today's documents that have no "
                    "PDF yet - make them with `mergekit letters --pdf` or "
                    "`mergekit forms --due --pdf`"
                )
            if progress is not None:
                progress("pack", 1, 1)
    return DocumentsResult(
        run,
        tuple(docs),
        tuple(already_done),
        tuple(struck),
        tuple(extra),
        manifest,
        pack,
        preview,
        run_id,
        tuple(p for _, p in redone),
        struck_on=struck_on,
        held=held,
        held_because=because,
        again=again,
    )


def _hold_unfilled(
    settings: Settings, jobs: list[_Job], preview: bool
) -> tuple[list[_Job], tuple[Action, ...], tuple[str, ...]]:
    """Jobs whose templates print a blank or placeholder setting are held back (a preview
    makes them anyway, to show the wording): (jobs to do, held actions, why)."""
    from mergekit.merge.settingscheck import setting_problems

    if not jobs:
        return jobs, (), ()
    unfilled = setting_problems(settings, [j.action.kind for j in jobs])
    why = tuple(str(u.problem) for u in unfilled)
    if preview or not unfilled:
        return jobs, (), why
    blocked = {a for u in unfilled for a in u.actions}
    held = tuple(j.action for j in jobs if j.action.kind in blocked)
    return [j for j in jobs if j.action.kind not in blocked], held, why


def _context(
    ws: Workspace,
    data: SchoolData,
    pupil: Pupil,
    action: Action | None,
    sent: Mapping[str, Mapping[int, date]],
    to: Sequence[Contact] | None,
    steps: StepsTaken | None = None,
) -> dict[str, Any]:
    """One document's merge fields, with the letters the pupil's family has had so far (and,
    for the forms, the CME steps the ledger records)."""
    return build_context(
        ws.settings,
        data,
        pupil,
        ws.today,
        action,
        LetterHistory(dict(sent.get(pupil.upn, {}))),
        to=to,
        steps=steps,
    )


def _steps(ws: Workspace, jobs: Sequence[_Job], kinds: Sequence[str]) -> StepsTaken | None:
    """The ledger's CME steps (with the forms made now), when forms are being made."""
    if not any(j.action.kind in FORMS for j in jobs) and not set(kinds) & set(FORMS):
        return None
    from mergekit.merge.cmesteps import steps_taken

    return steps_taken(ws.settings, (j.action for j in jobs), ws.today)


def _render_all(
    ws: Workspace,
    data: SchoolData,
    jobs: Sequence[_Job],
    target: Path,
    sent: Mapping[str, Mapping[int, date]],
    progress: Progress | None,
    steps: StepsTaken | None = None,
) -> list[Document]:
    settings = ws.settings
    templates = compile_for(settings, (j.action.kind for j in jobs), ws.today)
    total = len(jobs)
    for i, job in enumerate(jobs, start=1):
        job.context = _context(ws, data, job.pupil, job.action, sent, job.to, steps)
        job.data = templates[job.action.kind].render(job.context)
        if progress is not None:
            progress("render", i, total)
    # Every document exists in memory: only now is anything written.
    docs: list[Document] = []
    for job in jobs:
        path = target / DOCX_DIR / f"{job.stem}.docx"
        write_atomic(path, job.data)
        text, postable = recipients_text(settings, job.action.kind, job.to)
        docs.append(
            Document(
                job.action,
                job.pupil,
                path,
                path.relative_to(target).as_posix(),
                sha256(job.data),
                text,
                postable,
            )
        )
    return docs


def _pdfs_to_redo(
    ws: Workspace,
    data: SchoolData,
    run: Path,
    kinds: Sequence[str],
    fresh: set[str],
    sent: Mapping[str, Mapping[int, date]],
    steps: StepsTaken | None = None,
) -> list[_Earlier]:
    """Today's earlier documents of these kinds that need a PDF (again): none yet, or the Word
    file is newer (staff edited the letter). A form's PDF is filled from the records, so it is
    only made when missing."""
    from mergekit.plan.planning import recorded_actions

    if not (run / MANIFEST).is_file():
        return []
    rows = [r for r in read_manifest(run) if r.action in kinds and r.file]
    # The ledger's actions of today (the latest per pupil and kind).
    recorded = {(a.upn, a.kind): a for a in recorded_actions(ws.settings, data, ws.today)}
    homes: dict[str, list[Contact]] | None = None
    out: list[_Earlier] = []
    for r in rows:
        relative = r.file
        docx = run / relative
        pdf = document_pdf(run, relative)
        pupil = data.pupils.get(r.upn)
        if relative in fresh or pupil is None or not docx.is_file():
            continue
        action_name = r.action
        if pdf.is_file() and (action_name in PDF_FORMS or not edited_after(docx, pdf)):
            continue
        action = recorded.get((pupil.upn, action_name)) or _requested(pupil, action_name, ws.today)
        context: Mapping[str, Any] = {}
        if action_name in PDF_FORMS:
            homes = homes if homes is not None else household_addressees(data)
            context = _context(ws, data, pupil, action, sent, homes.get(pupil.upn, []), steps)
        out.append(_Earlier(relative, docx, action, context))
    return out


def _jobs(data: SchoolData, actions: Sequence[Action]) -> list[_Job]:
    homes = household_addressees(data)
    jobs: list[_Job] = []
    seen: set[tuple[str, str]] = set()
    for a in actions:
        pupil = data.pupils.get(a.upn)
        if pupil is None or (a.upn, a.kind) in seen:
            continue  # one document per pupil and action
        seen.add((a.upn, a.kind))
        jobs.append(_Job(a, pupil, homes.get(a.upn, []), document_stem(pupil, a.kind)))
    jobs.sort(key=lambda j: (j.pupil.sort_key, DOCUMENT_ACTIONS.index(j.action.kind)))
    return jobs


def _record(
    ws: Workspace,
    run: Path,
    docs: Sequence[Document],
    redone: Sequence[tuple[_Earlier, Path]],
    command: str,
    reviewed: Review | None = None,
) -> int:
    from mergekit.plan.planning import record_actions, record_review

    base = ws.settings.base
    with Ledger.open(ws.settings.ledger_path) as ledger:
        run_id = ledger.start_run(command, ws.today, _shown(run, base))
        if reviewed is not None:
            record_review(ledger, run_id, reviewed, ws.today)
        ids = record_actions(ledger, run_id, [d.action for d in docs], ws.today)
        for d in docs:
            action_id = ids.get(d.action.key())
            ledger.record_document(
                run_id, d.pupil.upn, "docx", _shown(d.file, base), d.sha256, action_id
            )
            if d.pdf is not None:
                digest = file_sha256(d.pdf)
                ledger.record_document(
                    run_id, d.pupil.upn, "pdf", _shown(d.pdf, base), digest, action_id
                )
        for e, pdf in redone:
            found = [
                r.id
                for r in ledger.actions(e.action.upn, e.action.kind)
                if r.stage == e.action.stage
            ]
            ledger.record_document(
                run_id,
                e.action.upn,
                "pdf",
                _shown(pdf, base),
                file_sha256(pdf),
                found[-1] if found else None,
            )
    return run_id


def _record_review_only(ws: Workspace, run: Path, reviewed: Review, command: str) -> None:
    """Nothing to make, but the strikes staff wrote today still go into the ledger."""
    from mergekit.plan.planning import record_review

    with Ledger.open(ws.settings.ledger_path) as ledger:
        run_id = ledger.start_run(command, ws.today, _shown(run, ws.settings.base))
        record_review(ledger, run_id, reviewed, ws.today)


def _shown(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# PDFs


def _make_pdfs(
    settings: Settings,
    target: Path,
    jobs: Sequence[_Job],
    docs: list[Document],
    earlier: Sequence[_Earlier],
    progress: Progress | None,
) -> tuple[list[Document], list[tuple[_Earlier, Path]], list[str]]:
    """Letters (and the planned-move form) through LibreOffice in one go; the CME referral
    and Remove From Roll forms filled as PDF forms."""
    pdf_dir = target / PDF_DIR
    notes: list[str] = []
    contexts: dict[str, Mapping[str, Any]] = {
        d.relative: j.context for d, j in zip(docs, jobs, strict=True)
    }
    contexts.update({e.relative: e.context for e in earlier})
    # (relative, Word file, action name) of everything that needs a PDF
    items = [(d.relative, d.file, d.action.kind) for d in docs] + [
        (e.relative, e.file, e.action.kind) for e in earlier
    ]
    word = [i for i in items if i[2] not in PDF_FORMS]
    forms = [i for i in items if i[2] in PDF_FORMS]
    made: dict[str, Path] = {}
    if word:
        from mergekit.pdf.convert import convert_letters

        def step(done: int, total: int) -> None:
            if progress is not None:
                progress("pdf", done, total)

        converted = convert_letters(
            [file for _, file, _ in word],
            pdf_dir,
            soffice=settings.pdf.soffice,
            timeout=settings.pdf.convert_timeout_seconds,
            progress=step,
        )
        notes.extend(converted.font_warnings)
        made.update({rel: p for (rel, _, _), p in zip(word, converted.pdfs, strict=True)})
    if forms:
        from mergekit.pdf.forms import fill_action_form
    for i, (rel, file, action) in enumerate(forms, start=1):
        # The council's own form when mergekit.toml maps one for this action ([forms.NAME]),
        # else the school's or mergekit's bundled fillable form.
        report = fill_action_form(settings, action, contexts[rel], pdf_dir / f"{file.stem}.pdf")
        made[rel] = report.path
        notes.extend(f"{report.path.name}: {n}" for n in report.notes)
        if progress is not None:
            progress("forms", i, len(forms))
    new = [replace(d, pdf=made.get(d.relative)) for d in docs]
    redone = [(e, made[e.relative]) for e in earlier if e.relative in made]
    return new, redone, notes


def _pack(ws: Workspace, data: SchoolData, run: Path) -> tuple[Path | None, int]:
    """The print pack: every document of the day's run folder that has a PDF; and how many
    documents were left out for want of one."""
    from mergekit.pdf.pack import PackItem, build_pack

    items = []
    missing = 0
    if not (run / MANIFEST).is_file():
        return None, 0
    for r in read_manifest(run):
        pupil = data.pupils.get(r.upn)
        pdf = document_pdf(run, r.file)
        if pupil is None or not pdf.is_file():
            missing += 1
            continue
        items.append(PackItem.of(pupil, r.action, pdf))
    if not items:
        return None, missing
    out = build_pack(
        items,
        run / PACK_NAME,
        run_date=ws.today,
        school_name=ws.settings.school.name,
        duplex=ws.settings.pdf.duplex,
    )
    return out, missing


# ---------------------------------------------------------------------------------------------
# What the commands call


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


def _requested(pupil: Pupil, action: str, today: date) -> Action:
    """A form staff asked for that the plan does not list today."""
    from mergekit.core.calendar import academic_year_of

    return Action.for_pupil(
        pupil,
        action,
        reason=f"requested by staff on {today:%d/%m/%Y}",
        stage=f"requested {today.isoformat()}",
        academic_year=academic_year_of(today),
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
# For staff who edit templates


@dataclass(frozen=True)
class FieldsListing:
    pupil: str  # who the values belong to, e.g. "A999... Amara Okafor (Year 9, 9KM)"
    fields: tuple[tuple[str, Any], ...]  # (dotted name, value) in context order
    notes: tuple[str, ...] = ()


def list_fields(ws: Workspace, data: SchoolData | None, upn: str | None = None) -> FieldsListing:
    """Every merge field with its value for one pupil: ``upn``; else the first pupil today's
    plan has a letter or form for (so the letter and action fields have values); else the first
    pupil with a postal address; else, when the workbook cannot be read, an invented pupil. The
    action fields come from the plan's action for that pupil (a document action first)."""
    from mergekit.merge.fields import flatten

    notes: list[str] = []
    planned: list[Action] = []
    history: Mapping[str, Mapping[int, date]] = {}
    if data is None or not data.pupils:
        data, pupil = sample_data(ws.today)
        notes.append("the tracking workbook could not be read: the values are an invented pupil's")
    else:
        try:
            from mergekit.plan import planning

            planned = sorted(
                planning.make_plan(ws, data).actions,
                key=lambda a: a.kind not in DOCUMENT_ACTIONS,
            )
            _, history = _ledger_state(ws, data)
        except (MergekitError, ValueError) as e:
            notes.append(f"the plan could not be made ({e}): the action fields are empty")
        pupil = _sample_pupil(ws, data, upn, planned)
    action = next((a for a in planned if a.upn == pupil.upn), None)
    from mergekit.merge.cmesteps import steps_taken

    steps = steps_taken(ws.settings, (a for a in planned if a.kind in FORMS), ws.today)
    home = household_addressees(data).get(pupil.upn)
    context = _context(ws, data, pupil, action, history, home, steps)
    if action is None:
        notes.append(
            f"no action is planned today for {pupil.upn}: the action.* and absence.* fields are "
            "empty here, and filled in when a document is made"
        )
    year = f"Year {pupil.year}, " if pupil.year is not None else ""
    label = f"{pupil.upn} {pupil.full_name} ({year}{pupil.reg_group})"
    return FieldsListing(label, tuple(flatten(context)), tuple(notes))


def _sample_pupil(
    ws: Workspace, data: SchoolData, upn: str | None, planned: Sequence[Action]
) -> Pupil:
    if upn is not None:
        found = data.pupils.get("".join(upn.split()).upper())
        if found is None:
            raise WorkbookError(
                f"{ws.settings.files.tracking}: no pupil with the UPN {upn!r} - check the UPN"
            )
        return found
    for a in planned:
        if a.kind in DOCUMENT_ACTIONS and a.upn in data.pupils:
            return data.pupils[a.upn]
    homes = household_addressees(data)
    ordered = sorted(data.pupils.values(), key=lambda p: p.sort_key)
    return next(
        (p for p in ordered if homes.get(p.upn) and homes[p.upn][0].address.is_postable),
        ordered[0],
    )


def templates_in_use(settings: Settings) -> list[tuple[str, Path]]:
    """(action, template file) for every document mergekit makes, with the school's own
    templates where the config names them."""
    return [(a, template_path(settings, a)) for a in DOCUMENT_ACTIONS]
