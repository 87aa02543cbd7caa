"""`mergekit worklist`: today's calls, contacts and alerts, one tab per team."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, today_option, workspace
from mergekit.core.actions import ACTION_TITLES
from mergekit.day.pipeline import make_worklist
from mergekit.day.school import load_school
from mergekit.plan.worklist import tab_counts


@main.command()
@config_option
@today_option
def worklist(config: Path | None, today: date | None) -> None:
    """Write the day's work list, out/YYYY-MM-DD/worklist.xlsx: the first-day calls with
    phone numbers, social workers to contact, DSL alerts, the CME team and home education,
    one tab per team, laid out to print (A4 landscape, one page wide).

    Actions struck in the reviewed plan (plan.xlsx) are left out. The calls, contacts and
    alerts listed are recorded in the ledger as done, as `mergekit run` records them, so they
    are not planned again; running it again the same day lists them again.
    """
    ws = workspace(config, today)
    report = make_worklist(ws, load_school(ws))
    for note in report.plan.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    if report.path is None:
        click.echo(f"Nothing for the work list on {ws.today:%A %d/%m/%Y}.")
        return
    rows = sum(report.counts.values())
    click.secho(
        f"Work list for {ws.today:%A %d/%m/%Y}: {report.path} ({rows} row{'s' * (rows != 1)})",
        bold=True,
    )
    for tab, count in tab_counts(report.counts).items():
        click.echo(f"  {tab:<46} {count:>3}")
    if report.recorded:
        n = sum(report.recorded.values())
        click.echo(f"Recorded as done in the ledger: {n}")
        for action, count in report.recorded.items():
            click.echo(f"  {ACTION_TITLES.get(action, action):<46} {count:>3}")
