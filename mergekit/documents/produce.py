"""Making a set of documents, in an order that never leaves half a run: compile each template once
and check its fields, render every document in memory, write them into ``<run folder>/docx/``,
make their PDFs (LibreOffice for letters, the filled forms) with those made earlier today that
lack one, merge ``manifest.csv``, record the actions and documents in the ledger, and build the
print pack.

Documents whose templates print a blank or placeholder setting are held back, with the reason.

One module (about 630 lines) on purpose: its steps are one run's order, and that order is what
makes a killed run resumable (files, then PDFs, then the manifest, then the records, then the
pack; each step finds what an earlier, interrupted run left). Split by step, the order would
live in no one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from mergekit.core.actions import DOCUMENT_ACTIONS, FORMS, PDF_FORMS
from mergekit.core.atomic import write_atomic
from mergekit.core.config import Settings
from mergekit.core.crashpoint import crash_point
from mergekit.core.errors import (
    MergekitError,
    TemplateError,
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
from mergekit.documents.sample import sample_context
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
    # A filled PDF form's values that did not fit their boxes (field and what was cut).
    to_check: tuple[str, ...] = ()


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
        remade: Path | None = None
        if pdf and not preview and _pack_stale(run):
            # An earlier run was stopped after recording its documents, before the pack.
            remade, _ = _pack(ws, data, run)
            if remade is not None:
                notes = [*notes, "the print pack was made again (it was missing or out of date)"]
        return DocumentsResult(
            run,
            (),
            tuple(already_done),
            tuple(struck),
            tuple(notes),
            pack=remade,
            preview=preview,
            struck_on=struck_on,
            held=held,
            held_because=because,
        )
    docs = _render_all(ws, data, jobs, target, sent, progress, steps) if jobs else []
    crash_point("documents:after-word-files")
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
        crash_point("documents:after-pdfs")
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
        crash_point("documents:after-manifest")
        run_id = _record(ws, run, docs, redone, command, reviewed)
        crash_point("documents:after-recording")
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
    # One transaction: the actions and every document record (with its hash) together, or
    # none of them (a rerun then makes and records them all), never actions without documents.
    with Ledger.open(ws.settings.ledger_path) as ledger, ledger.transaction():
        run_id = ledger.start_run(command, ws.today, _shown(run, base))
        if reviewed is not None:
            record_review(ledger, run_id, reviewed, ws.today)
        ids = record_actions(ledger, run_id, [d.action for d in docs], ws.today)
        for i, d in enumerate(docs):
            if i == len(docs) // 2:
                crash_point("documents:mid-recording")
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
    cut: dict[str, tuple[str, ...]] = {}
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
        cut[rel] = report.cut
        notes.extend(f"{report.path.name}: {n}" for n in report.notes)
        if progress is not None:
            progress("forms", i, len(forms))
    new = [replace(d, pdf=made.get(d.relative), to_check=cut.get(d.relative, ())) for d in docs]
    redone = [(e, made[e.relative]) for e in earlier if e.relative in made]
    return new, redone, notes


def _pack_stale(run: Path) -> bool:
    """The run folder's print pack is missing or older than its manifest or a PDF in it."""
    manifest = run / MANIFEST
    if not manifest.is_file():
        return False
    pdfs = [p for p in (document_pdf(run, r.file) for r in read_manifest(run)) if p.is_file()]
    if not pdfs:
        return False
    pack = run / PACK_NAME
    if not pack.is_file():
        return True
    newest = max(p.stat().st_mtime_ns for p in [manifest, *pdfs])
    return pack.stat().st_mtime_ns < newest


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
