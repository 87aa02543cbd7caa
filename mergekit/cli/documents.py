"""`mergekit letters`, `mergekit forms`, `mergekit fields`, `mergekit templates check`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, progress_bars, today_option, workspace
from mergekit.core.actions import ACTION_TITLES, FORMS, LETTERS
from mergekit.core.config import CONFIG_NAME
from mergekit.core.errors import MergekitError, Severity
from mergekit.core.model import SchoolData
from mergekit.core.resources import bundled
from mergekit.core.runfolder import DOCX_DIR, PDF_DIR, PREVIEW_DIR
from mergekit.core.workspace import Workspace
from mergekit.day.school import load_school
from mergekit.documents.fieldlist import list_fields, templates_in_use
from mergekit.documents.make import make_again, make_forms, make_letters, make_preview
from mergekit.documents.produce import DocumentsResult, field_schema
from mergekit.documents.starter import copy_templates
from mergekit.documents.templatecheck import TemplateReport, check_template

pdf_option = click.option(
    "--pdf",
    is_flag=True,
    help="Also make a PDF of each document (LibreOffice) and the print pack for the office.",
)
plan_option = click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The reviewed plan workbook whose Approve column to honour (default: plan.xlsx in "
    "today's run folder, when there is one).",
)


again_option = click.option(
    "--again",
    is_flag=True,
    help="Make today's documents of the pupils named by UPN once more (a deleted PDF, a "
    "corrected address): written over the earlier files and recorded in the ledger as "
    "replacements.",
)


@main.command()
@config_option
@today_option
@click.argument("upns", nargs=-1, metavar="[UPN]...")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(LETTERS),
    help="Make only this letter (repeat for more), e.g. --only pa_letter_2.",
)
@click.option(
    "--preview",
    is_flag=True,
    help="Make one sample of each letter in the run folder's preview/ folder; nothing is "
    "recorded, so you can check the wording first.",
)
@again_option
@pdf_option
@plan_option
def letters(
    config: Path | None,
    today: date | None,
    upns: tuple[str, ...],
    only: tuple[str, ...],
    preview: bool,
    again: bool,
    pdf: bool,
    plan_file: Path | None,
) -> None:
    """Make today's attendance warning letters (1, 2 and 3) as Word documents.

    Only the letters the plan lists, and that staff approved (the Approve column of plan.xlsx),
    are made; letters already made are never made again. They go into the run folder
    (out/<date>/docx/), listed in manifest.csv and recorded in the ledger.

    To make a pupil's letter of today once more, name the pupil: mergekit letters --again
    UPN --pdf.
    """
    if upns and not again:
        raise click.UsageError("name pupils only with --again (mergekit letters --again UPN)")
    if again and (not upns or preview):
        raise click.UsageError("--again needs the UPNs of the pupils, and no --preview")
    ws = workspace(config, today)
    if preview:
        _preview(ws, only or LETTERS, pdf)
        return
    data = load_school(ws)
    if again:
        _again(ws, data, upns, only or LETTERS, pdf, "letter")
        return
    with progress_bars() as progress:
        result = make_letters(ws, data, only=only, plan_file=plan_file, pdf=pdf, progress=progress)
    _report(ws, result, "letter")


@main.command()
@config_option
@today_option
@click.argument("upns", nargs=-1, metavar="[UPN]...")
@click.option("--due", is_flag=True, help="Make every form the plan says is due today.")
@click.option(
    "--form",
    "forms",
    multiple=True,
    type=click.Choice(FORMS),
    help="Which form to make for the named pupils (repeat for more); default: the forms the "
    "plan lists for them.",
)
@click.option(
    "--preview",
    is_flag=True,
    help="Make one sample of each form in the run folder's preview/ folder, recording nothing.",
)
@again_option
@pdf_option
@plan_option
def forms(
    config: Path | None,
    today: date | None,
    upns: tuple[str, ...],
    due: bool,
    forms: tuple[str, ...],
    preview: bool,
    again: bool,
    pdf: bool,
    plan_file: Path | None,
) -> None:
    """Make the CME referral, Remove From Roll and planned-move forms, pre-filled.

    Name pupils by UPN to make their forms (the ones the plan lists, or those given with
    --form), or use --due for every form the plan says is due today. --again UPN... makes
    the forms made for those pupils today once more, recorded as replacements.
    """
    if preview:
        ws = workspace(config, today)
        _preview(ws, forms or FORMS, pdf)
        return
    if not upns and not due:
        raise click.UsageError("name pupils by UPN, or use --due for every form due today")
    if upns and due:
        raise click.UsageError("use either UPNs or --due, not both")
    if again and due:
        raise click.UsageError("--again needs the UPNs of the pupils, not --due")
    ws = workspace(config, today)
    data = load_school(ws)
    if again:
        _again(ws, data, upns, forms or FORMS, pdf, "form")
        return
    with progress_bars() as progress:
        result = make_forms(
            ws,
            data,
            upns=upns,
            due=due,
            forms=forms,
            plan_file=plan_file,
            pdf=pdf,
            progress=progress,
        )
    _report(ws, result, "form")


@main.command()
@config_option
@today_option
@click.option("--upn", help="Show the values for this pupil (default: the first pupil).")
def fields(config: Path | None, today: date | None, upn: str | None) -> None:
    """List every merge field templates can use, with one pupil's value.

    In a Word template write a field as {{ pupil.forename }}. Rows of a list (siblings,
    attendance.recent_absences, ...) are shown numbered here; in a template go through them
    with {%tr for s in siblings %} ... {%tr endfor %} in a table, or {% for %} in a paragraph.
    Tick boxes: {{ pupil.flags.looked_after|tick }} prints ☒ or ☐.
    """
    ws = workspace(config, today)
    data = _try_data(ws)
    listing = list_fields(ws, data, upn)
    for note in listing.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    click.secho(f"Merge fields, with the values for {listing.pupil}:", bold=True)
    width = max(len(name) for name, _ in listing.fields)
    for name, value in listing.fields:
        shown = (
            " / ".join(str(value).splitlines()) if value != "" else click.style("(empty)", dim=True)
        )
        click.echo(f"  {name:<{width}}  {shown}")
    click.echo("")
    click.echo(f"{len(listing.fields)} fields. Check a template with `mergekit templates check`.")


@main.group()
def templates() -> None:
    """Tools for staff who edit the Word templates."""


@templates.command("check")
@config_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
def templates_check(config: Path | None, files: tuple[Path, ...]) -> None:
    """Check Word templates for mistakes before making documents with them.

    With no FILE, checks the templates mergekit uses (yours where mergekit.toml names them,
    else the bundled ones). Reports unknown fields (with "did you mean"), curly quotes and
    broken tags Word made, {% if %} without {% endif %}, and more, in headers and footers too.
    Exit status 1 when there are errors.
    """
    ws = _workspace(config)
    settings = ws.settings
    schema = field_schema(settings, ws.today)
    targets: Sequence[tuple[str, Path]]
    if files:
        targets = [(f.name, f) for f in files]
    else:
        targets = [(f"{a} ({p.name})", p) for a, p in templates_in_use(settings)]
    reports = [check_template(path, schema, name) for name, path in targets]
    errors = sum(len(r.errors) for r in reports)
    warnings = sum(len(r.warnings) for r in reports)
    for (name, _), report in zip(targets, reports, strict=True):
        _show_report(name, report)
    click.echo("")
    summary = (
        f"{len(reports)} template{'s' * (len(reports) != 1)} checked: {errors} error"
        f"{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    )
    click.secho(summary, fg="red" if errors else "green", bold=True)
    if errors:
        raise SystemExit(1)


@templates.command("copy")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default="templates")
@config_option
def templates_copy(folder: Path, config: Path | None) -> None:
    """Copy the bundled Word templates into FOLDER/docx/ so you can edit them.

    Then set [files] templates = "FOLDER" in mergekit.toml: it says exactly which line to
    add or change there. Existing files are never overwritten.
    """
    done = copy_templates(folder, config or Path(CONFIG_NAME))
    for s in done.templates:
        if s.copied:
            click.echo(f"  copied   {s.path}  ({ACTION_TITLES.get(s.action, s.action)})")
        else:
            click.echo(f"  kept     {s.path} (already there)")
    click.echo("")
    copied = done.copied
    use = "To use them: " if done.advice.needed else ""
    click.echo(f"{copied} template{'s' * (copied != 1)} copied. {use}{done.advice.text}")
    click.echo("Then edit them in Word and run `mergekit templates check`.")


# ---------------------------------------------------------------------------------------------


def _again(
    ws: Workspace,
    data: SchoolData,
    upns: Sequence[str],
    kinds: Sequence[str],
    pdf: bool,
    kind: str,
) -> None:
    with progress_bars() as progress:
        result = make_again(
            ws,
            data,
            upns,
            kinds,
            pdf=pdf,
            progress=progress,
            command=f"{kind}s --again {' '.join(upns)}",
        )
    _report(ws, result, kind)


def _preview(ws: Workspace, actions: Sequence[str], pdf: bool) -> None:
    data = _try_data(ws)
    with progress_bars() as progress:
        result = make_preview(ws, data, actions, pdf=pdf, progress=progress)
    for note in result.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    click.secho(f"Previews (nothing recorded) in {result.run_dir / PREVIEW_DIR}:", bold=True)
    for d in result.documents:
        click.echo(f"  {d.relative}  ({d.pupil.full_name}, {d.pupil.upn})")
        if d.pdf is not None:
            click.echo(f"  {d.pdf.relative_to(result.run_dir / PREVIEW_DIR).as_posix()}")


def _try_data(ws: Workspace) -> SchoolData | None:
    """The workbook if it can be read at all (previews and field lists do not need it clean)."""
    from mergekit.read.tracking import read_tracking

    try:
        return read_tracking(ws.settings).data
    except MergekitError as e:
        click.secho(f"Note: {e}", fg="yellow", err=True)
        return None


def _workspace(config: Path | None) -> Workspace:
    """The school's settings and school day; without a mergekit.toml the example school's
    (the field names are the same for every school)."""
    if config is not None or Path(CONFIG_NAME).is_file():
        return workspace(config, quiet=True)
    return workspace(bundled("examples", CONFIG_NAME), quiet=True)


def _report(ws: Workspace, result: DocumentsResult, kind: str) -> None:
    run = result.run_dir
    for note in result.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    click.secho(f"{kind.capitalize()}s for {ws.today:%A %d/%m/%Y} (run folder {run})", bold=True)
    if result.held:
        click.secho(
            f"Not made until the settings are filled in ({len(result.held)}):",
            fg="red",
            bold=True,
        )
        for why in result.held_because:
            click.secho(f"  {why}", fg="red")
        for a in result.held:
            click.echo(f"  {a.upn}  {a.name:<28} {a.kind}")
    if not result.documents:
        if result.already_done:
            n = len(result.already_done)
            click.echo(
                f"Nothing new to make: {n} {kind}{'s were' if n != 1 else ' was'} already made "
                f"today (recorded in the ledger; the files are in {run / DOCX_DIR})."
            )
        elif not result.held:
            click.echo(f"No {kind}s are due today.")
        if result.earlier_pdfs:
            n = len(result.earlier_pdfs)
            click.echo(
                f"Made {n} PDF{'s' * (n != 1)} again for {kind}s made earlier today (missing, "
                "or the Word file was edited)."
            )
    else:
        n = len(result.documents)
        again = " again, each replacing today's earlier copy" if result.again else ""
        click.echo(f"Made {n} document{'s' * (n != 1)}{again} in {run / DOCX_DIR}:")
        for action, count in result.counts().items():
            click.echo(f"  {ACTION_TITLES.get(action, action):<45} {count}")
        if result.already_done:
            click.echo(f"({len(result.already_done)} made earlier today were not made again.)")
    if result.cannot_post:
        click.secho(
            f"\nCannot post ({len(result.cannot_post)}): no parent with parental responsibility "
            "living with the pupil has a postal address. The documents were made; add the "
            "address to the contacts sheet, or deliver them another way:",
            fg="red",
        )
        for d in result.cannot_post:
            click.echo(f"  {d.pupil.upn}  {d.pupil.full_name:<28} {d.relative}")
    if result.struck:
        click.secho(f"\nStruck in the reviewed plan, not made ({len(result.struck)}):", fg="yellow")
        for a in result.struck:
            day = result.struck_on.get(a.key())
            since = (
                f"  (struck on {day:%d/%m/%Y}; write Y in today's plan.xlsx to lift)" if day else ""
            )
            click.echo(f"  {a.upn}  {a.name:<28} {a.kind}{since}")
    if result.manifest is not None:
        click.echo(f"\nManifest: {result.manifest}")
    if result.pdfs or result.earlier_pdfs:
        again = (
            f" (and {len(result.earlier_pdfs)} for documents made earlier today)"
            if result.earlier_pdfs and result.pdfs
            else ""
        )
        count = len(result.pdfs) or len(result.earlier_pdfs)
        click.echo(f"PDFs: {count} in {run / PDF_DIR}{again}")
    if result.pack is not None:
        click.echo(f"Print pack: {result.pack}")
    if result.held:
        raise SystemExit(1)


def _show_report(name: str, report: TemplateReport) -> None:
    if not report.findings:
        n = len(report.fields)
        click.echo(f"{click.style('ok     ', fg='green')} {name}: {n} field{'s' * (n != 1)}")
        return
    for f in report.findings:
        label = "error  " if f.severity is Severity.ERROR else "warning"
        colour = "red" if f.severity is Severity.ERROR else "yellow"
        click.echo(f"{click.style(label, fg=colour)} {f}")
