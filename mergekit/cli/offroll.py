"""`mergekit offroll add|set|status`: the transfer list's Off Roll tab."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from mergekit.cli.base import main
from mergekit.cli.options import SchoolDate, config_option, today_option, workspace
from mergekit.transfer.offroll import (
    STEP_LABELS,
    OffRollWrite,
    StepDates,
    add_leaver,
    offroll_status,
    set_steps,
)

_TODAY = "today"
F = TypeVar("F", bound=Callable[..., Any])


DATE = SchoolDate(keep=(_TODAY,))  # alone, a step option means today


def _step_option(flag: str, what: str) -> Callable[[F], F]:
    return click.option(
        flag,
        type=DATE,
        is_flag=False,
        flag_value=_TODAY,
        default=None,
        metavar="[DATE]",
        help=f"Record the date {what} (DD/MM/YYYY; alone: today).",
    )


@main.group()
def offroll() -> None:
    """The transfer list's Off Roll tab: add leavers, record the Remove From Roll checklist
    dates (policy Appendix B), and list what is still open.

    Only the cells written change in the workbook: every other tab, format, drop-down, chart
    and macro is left exactly as it was. A backup copy is kept before the first write of
    each day ([files] backups), and every cell written is recorded in the ledger
    (`mergekit history UPN`).
    """


@offroll.command("add")
@config_option
@today_option
@click.argument("upn")
@click.option("--leaving-date", required=True, type=DATE, help="Date of leaving (DD/MM/YYYY).")
@click.option("--reason", required=True, help="Reason for leaving, as it goes on the tab.")
def add(config: Path | None, today: date | None, upn: str, leaving_date: Any, reason: str) -> None:
    """Add the pupil with this UPN (name, UPN, DOB, year/tutor group from the tracking
    workbook) to the Off Roll tab, below the last leaver."""
    ws = workspace(config, today)
    day = ws.today if leaving_date == _TODAY else leaving_date
    done = add_leaver(ws, upn, day, reason)
    click.echo(f"Added {done.name} to {done.file.name}, {done.sheet} row {done.row}:")
    _echo_write(done)


@offroll.command("set")
@config_option
@today_option
@click.argument("upn")
@click.option("--authorised-by", metavar="NAME", help="Head teacher who authorised the removal.")
@click.option(
    "--authorised-date",
    type=DATE,
    help="Date the head teacher authorised it (DD/MM/YYYY; default today with --authorised-by).",
)
@_step_option("--data-team-emailed", "the data team was emailed to take the pupil off roll")
@_step_option("--transfer-list-updated", "the transfer list was updated")
@_step_option("--admissions-informed", "the council's admissions team was informed")
@click.option(
    "--leaving-date",
    type=DATE,
    help="Correct the date of leaving (only until the authorisation is recorded).",
)
@click.option("--replace", is_flag=True, help="Overwrite a date or name already recorded.")
def set_(
    config: Path | None,
    today: date | None,
    upn: str,
    authorised_by: str | None,
    authorised_date: Any,
    data_team_emailed: Any,
    transfer_list_updated: Any,
    admissions_informed: Any,
    leaving_date: Any,
    replace: bool,
) -> None:
    """Fill in the checklist dates on the pupil's Off Roll row; all in one write.

    The head teacher's authorisation comes first: the data-team, transfer-list and admissions
    dates are refused until it is recorded (it may be in the same command). No date may be
    in the future, before the pupil's admission, or (for the deletion's steps) before the
    authorisation.
    """
    ws = workspace(config, today)

    def day(value: Any) -> date | None:
        return ws.today if value == _TODAY else value

    if authorised_by and authorised_date is None:
        authorised_date = _TODAY
    request = StepDates(
        authorised_by=authorised_by,
        date_authorised=day(authorised_date),
        data_team_emailed=day(data_team_emailed),
        transfer_list_updated=day(transfer_list_updated),
        admissions_informed=day(admissions_informed),
        date_of_leaving=day(leaving_date),
    )
    done = set_steps(ws, upn, request, replace=replace)
    if not done.changes:
        click.echo(
            f"Nothing to change: {done.name} ({done.sheet} row {done.row}) already has that."
        )
        return
    click.echo(f"Updated {done.name} in {done.file.name}, {done.sheet} row {done.row}:")
    _echo_write(done)


@offroll.command("status")
@config_option
@today_option
def status(config: Path | None, today: date | None) -> None:
    """Leavers whose checklist still has open steps, oldest first, with the school days since
    they left. Exit status 1 when any is overdue ([policy] offroll_overdue_school_days)."""
    ws = workspace(config, today)
    report = offroll_status(ws)
    where = f"{report.file.name}, {report.sheet}"
    if not report.open:
        click.secho(
            f"{where}: every leaver's checklist is complete ({report.leavers} leavers).", fg="green"
        )
        return
    click.echo(f"{where}: open Off Roll steps on {report.today:%A %d/%m/%Y}, oldest first")
    for s in report.open:
        leaver = s.leaver
        ident = f" UPN {leaver.upn}" if leaver.upn else ""
        if s.school_days is None:
            click.secho(
                f"\n  row {leaver.row}: {leaver.name}{ident} - no date of leaving", fg="yellow"
            )
        else:
            days = f"{s.school_days} school day{'s' if s.school_days != 1 else ''}"
            flag = click.style("  OVERDUE", fg="red", bold=True) if s.overdue else ""
            click.echo(
                f"\n  row {leaver.row}: {leaver.name}{ident}, left "
                f"{leaver.date_of_leaving:%d/%m/%Y}, {days} ago{flag}"
            )
        labels = [STEP_LABELS.get(step, "date of leaving") for step in s.open_steps]
        click.echo(f"    open: {', '.join(labels)}")
    if report.estimated_days:
        click.secho(
            "\nThe terms in mergekit.toml do not cover these dates: weekdays were counted.",
            fg="yellow",
        )
    overdue = len(report.overdue)
    summary = (
        f"\n{len(report.open)} leaver(s) with open steps, {overdue} overdue "
        f"({report.overdue_after} school days or more after leaving)"
    )
    click.secho(summary, fg="red" if overdue else "green", bold=True)
    if overdue:
        raise SystemExit(1)


def _echo_write(done: OffRollWrite) -> None:
    for c in done.changes:
        was = f" (was {c.old})" if c.old else ""
        click.echo(f"  {c.cell:<6} {c.field:<22} {c.new}{was}")
    for field in done.unchanged:
        click.echo(f"  {'':<6} {field:<22} already recorded")
    if done.backup is not None:
        click.echo(f"Backup of the workbook as it was: {done.backup}")
    click.echo("Recorded in the ledger (see `mergekit history`).")
