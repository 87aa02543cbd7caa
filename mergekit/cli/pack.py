"""`mergekit pack`: the print pack of a run folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, today_option, workspace
from mergekit.pack import pack_run


@main.command()
@config_option
@today_option
@click.option(
    "--duplex",
    is_flag=True,
    help="Add a blank page after documents with an odd number of pages, for double-sided "
    "printing (no sheet then carries two pupils).",
)
def pack(config: Path | None, today: date | None, duplex: bool) -> None:
    """Make one PDF to print: a cover sheet with counts, every letter in hand-out order (year,
    reg group, surname, forename), then the forms.

    It uses the PDFs in the day's run folder (out/YYYY-MM-DD/), so run
    `mergekit letters --pdf` first (it makes the pack too); run this to make it again, for
    example with --duplex. LibreOffice is not needed.
    """
    ws = workspace(config, today)
    result = pack_run(ws.settings, ws.today, duplex=duplex)
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
    click.echo(
        f"Print pack: {result.path} ({letters} letters, {forms} forms, {result.pages} pages "
        "with the cover)"
    )
