"""`mergekit evidence`: an evidence pack per pupil (never emailed from here)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import DATE, config_option, today_option, workspace
from mergekit.core.workspace import Workspace
from mergekit.day.school import load_school
from mergekit.evidence.make import due_today, make_packs, referral_packs


@main.command()
@config_option
@today_option
@click.argument("upns", nargs=-1, metavar="[UPN]...")
@click.option(
    "--from",
    "start",
    type=DATE,
    help="First day the pack covers (DD/MM/YYYY). Default: 1 September of this school year.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Write the pack to this file (one pupil), or into this folder (several). Default: "
    "the day's run folder, out/YYYY-MM-DD/evidence/<UPN>_<surname>.pdf.",
)
@click.option(
    "--due",
    is_flag=True,
    help="Every pupil with a CME referral, Remove From Roll or penalty-notice action today.",
)
def evidence(
    config: Path | None,
    today: date | None,
    upns: tuple[str, ...],
    start: date | None,
    out: Path | None,
    due: bool,
) -> None:
    """Make an evidence pack (one PDF) per pupil: a cover, the attendance certificate (the
    register extract with totals, for the head teacher to sign), a chart of weekly attendance,
    the chronology of every letter, call, visit, CME step, email and Off Roll entry, and copies
    of the letters and forms mergekit made.

    Nothing is emailed: with [evidence] attach_to_cme_referral = true, `mergekit send`
    attaches the pack to the CME referral email. LibreOffice is needed only to append Word
    copies that have no PDF; without it they are listed instead.
    """
    if not upns and not due:
        raise click.UsageError("name at least one UPN, or use --due")
    ws = workspace(config, today)
    data = load_school(ws)
    chosen = list(upns)
    if due:
        found = due_today(ws, data)
        if not found:
            click.echo(
                f"No pupil has a CME referral, Remove From Roll or penalty-notice action on "
                f"{ws.today:%d/%m/%Y}: no packs made."
            )
            if not chosen:
                return
        chosen += [u for u in found if u not in chosen]
    report = make_packs(ws, data, [u.strip().upper() for u in chosen], start=start, out=out)
    for note in report.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    for p in report.packs:
        history = "" if p.has_history else "; no history recorded in the period"
        listed = f", {p.listed} listed only" if p.listed else ""
        click.echo(
            f"{p.pupil.upn} {p.pupil.full_name}: {p.path} ({_n(p.pages, 'page')}, "
            f"{_n(p.events, 'event')}, {_n(p.appended, 'copy', 'copies')} appended"
            f"{listed}{history})"
        )
    n = len(report.packs)
    click.secho(f"Evidence packs: {n} made (nothing emailed)", bold=True)


def packs_before_sending(ws: Workspace) -> None:
    """`send` with [evidence] attach_to_cme_referral = true: make the CME referral pupils' packs
    the day does not have yet, so their emails attach them."""
    report = referral_packs(ws, load_school(ws))
    for note in report.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    for p in report.packs:
        click.echo(f"Evidence pack for the CME referral email: {p.path}")


def _n(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"
