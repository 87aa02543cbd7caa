"""`mergekit pdf fields` and `mergekit pdf fill`: fillable PDF forms."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, today_option, workspace
from mergekit.day.school import school_for_form
from mergekit.pdf.forms import fill_for_pupil, inspect_form
from mergekit.pdf.reader import FormFieldInfo


@main.group()
def pdf() -> None:
    """Fillable PDF forms: see what a form holds, fill one for a pupil.

    A council's own form is tied to mergekit's fields in mergekit.toml:

    \b
      [forms.council_cme]
      file = "council-cme-form.pdf"
      action = "cme_referral"
      fields = { "Child Surname" = "pupil.surname", "DOB" = "pupil.dob" }

    `mergekit pdf fields FORM.pdf` lists the PDF's field names; `mergekit fields` lists
    mergekit's.
    """
    # pypdf logs recoverable oddities of council PDFs ("Ignoring padding error") to stderr;
    # mergekit reports what matters itself.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _details(f: FormFieldInfo) -> str:
    parts = []
    if f.export_values:
        parts.append("ticks as " + " / ".join(f.export_values))
    if f.options:
        shown = ", ".join(f.options[:6]) + (", ..." if len(f.options) > 6 else "")
        parts.append(f"choices: {shown}")
    if f.max_length:
        boxes = " (one per box)" if f.comb else ""
        parts.append(f"max {f.max_length} characters{boxes}")
    if f.read_only:
        parts.append("read-only")
    if f.hidden:
        parts.append("HIDDEN (viewers do not show it)")
    if f.calculated:
        parts.append("CALCULATED by the form (mergekit does not recompute it)")
    if f.label and f.label != f.name:
        label = f.label if len(f.label) <= 70 else f.label[:67] + "..."
        parts.append(f'"{label}"')
    if f.note:
        parts.append(f"NOTE: {f.note}")
    return "; ".join(parts)


@pdf.command("fields")
@click.argument("form", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the fields as JSON for machines.")
def fields_command(form: Path, as_json: bool) -> None:
    """List the fields of a fillable PDF FORM: name, type, page, export values or choices.

    Use the names in a [forms.NAME] mapping in mergekit.toml. Forms mergekit cannot fill
    (XFA-only, protected by a password) are refused with the reason.
    """
    info = inspect_form(form)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(form),
                    "pages": info.pages,
                    "xfa_hybrid": info.xfa,
                    "encrypted": info.encrypted,
                    "notes": list(info.notes),
                    "fields": [f.as_dict() for f in info.fields],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    n = len(info.fields)
    click.echo(
        f"{form.name}: {info.pages} page{'s' * (info.pages != 1)}, {n} field{'s' * (n != 1)}"
    )
    for note in info.notes:
        click.secho(f"Note: {note}", fg="yellow")
    if not info.fields:
        return
    width = min(max(len(f.name) for f in info.fields), 44)
    click.echo("")
    click.echo(f"  {'FIELD':<{width}}  {'TYPE':<15}  {'PAGE':<5} DETAILS")
    for f in info.fields:
        kind = f.kind + (" (lines)" if f.multiline else "")
        pages = ",".join(str(p) for p in f.pages) or "-"
        click.echo(f"  {f.name:<{width}}  {kind:<15}  {pages:<5} {_details(f)}".rstrip())


@pdf.command("fill")
@click.argument("form")
@click.option("--upn", required=True, help="The pupil's UPN.")
@config_option
@today_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the filled PDF (default: the day's run folder, pdf/).",
)
@click.option(
    "--flatten/--no-flatten",
    default=None,
    help="Make a non-editable copy (default: [pdf] flatten in mergekit.toml).",
)
def fill_command(
    form: str,
    upn: str,
    config: Path | None,
    today: date | None,
    out: Path | None,
    flatten: bool | None,
) -> None:
    """Fill FORM for one pupil from the tracking workbook.

    FORM is a bundled form (cme_referral, remove_from_roll), a [forms.NAME] from
    mergekit.toml, or the path of a PDF that [forms] maps (or that has a .json mapping
    beside it).
    """
    ws = workspace(config, today)
    report = fill_for_pupil(ws, form, upn, lambda: school_for_form(ws, upn), out, flatten)
    how = "flattened (not editable)" if report.flattened else "editable"
    click.echo(f"Filled {len(report.filled)} fields ({how}): {report.path}")
    for note in report.notes:
        click.secho(f"Note: {note}", fg="yellow")
