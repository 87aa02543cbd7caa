"""`mergekit pack`: the print pack of a run folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, today_option, workspace
from mergekit.day.school import pupils_of
from mergekit.pdf.pack import pack_run


@main.command()
@config_option
@today_option
@click.option(
    "--duplex/--simplex",
    default=None,
    help="For a double-sided printer (a blank page after each document with an odd number "
    "of pages, so no sheet carries two pupils), or a single-sided one (no blank pages). "
    "Default: [pdf] duplex in mergekit.toml, which is double-sided unless set to false.",
)
def pack(config: Path | None, today: date | None, duplex: bool | None) -> None:
    """Make one PDF to print: a cover sheet with counts, every letter in hand-out order (year,
    reg group, surname, forename), then the forms. The cover says whether to print it
    double-sided (the default) or single-sided.

    It uses the PDFs in the day's run folder (out/YYYY-MM-DD/), so run
    `mergekit letters --pdf` first (it makes the pack too); run this to make it again, for
    example with --simplex. LibreOffice is not needed.
    """
    ws = workspace(config, today)
    result = pack_run(ws.settings, ws.today, lambda: pupils_of(ws.settings), duplex=duplex)
    for note in result.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    if result.edited:
        names = ", ".join(p.name for p in result.edited[:5])
        more = f" and {len(result.edited) - 5} more" if len(result.edited) > 5 else ""
        click.secho(
            f"Warning: {len(result.edited)} Word documents were changed after their PDFs were "
            f"made ({names}{more}); the pack shows the PDFs - run `mergekit letters --pdf` "
            "again to include the edits, or re-save those letters as PDF from Word",
            fg="yellow",
            err=True,
        )
    letters = sum(1 for i in result.items if not i.is_form)
    forms = len(result.items) - letters
    sides = "double-sided" if result.duplex else "single-sided"
    click.echo(
        f"Print pack: {result.path} ({letters} letters, {forms} forms, {result.pages} pages "
        f"with the cover; print it {sides})"
    )
