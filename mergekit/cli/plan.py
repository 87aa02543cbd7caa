"""`mergekit plan`, `mergekit calendar`, `mergekit history`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.check import printable, show_fix_first
from mergekit.cli.options import config_option, today_option, workspace
from mergekit.core.actions import ACTION_TITLES
from mergekit.core.calendar import academic_year_of, compact_dates, terms_of_year
from mergekit.core.ledger import StrikeRecord
from mergekit.day.plan import plan_today
from mergekit.plan.planning import history_report, record_plan
from mergekit.plan.policy import Plan
from mergekit.transfer.pending import finish_interrupted


@main.command()
@config_option
@today_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON for machines.")
@click.option(
    "--xlsx",
    "xlsx",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the plan as a workbook to review: set Approve to N to strike an action. "
    "Rewriting it keeps the Ns already there.",
)
@click.option(
    "--record",
    is_flag=True,
    help="Record the approved actions in the ledger as done, so they are not planned again "
    "(for schools that only use the plan).",
)
def plan(
    config: Path | None, today: date | None, as_json: bool, xlsx: Path | None, record: bool
) -> None:
    """Show who needs which letter, call or form today, and why.

    Nothing is written unless you ask: --xlsx writes the review workbook, --record writes the
    ledger. Without them the plan can be run as often as you like.
    """
    ws = workspace(config, today, quiet=True)
    report = plan_today(ws, xlsx=xlsx)
    p = report.plan
    register = report.check.register
    show_fix_first(p.fix_first, err=True)
    held = [x for x in p.skipped if register is not None and x.startswith(register.message())]
    for line in held:  # first, and in red: nothing that needs today's marks was planned
        click.secho(line, fg="red", bold=True, err=True)
    for note in p.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    for line in p.skipped:
        if line not in held:
            click.secho(f"Skipped: {line}", fg="yellow", err=True)
    unfilled = report.check.unfilled
    if unfilled:
        keys = ", ".join(f"[{k.split('.')[0]}] {k.split('.')[1]}" for k in unfilled)
        click.secho(
            f"Warning: settings the documents print are blank or placeholders ({keys}): the "
            "documents that print them are not made until they are filled in (`mergekit "
            "check` says which)",
            fg="red",
            err=True,
        )
    blocking = len(report.check.blocking)
    if blocking:
        click.secho(
            f"Warning: `mergekit check` finds {blocking} error{'s' * (blocking != 1)} in the "
            "workbooks, so this plan may be incomplete or wrong - run `mergekit check` and "
            "fix them",
            fg="red",
            err=True,
        )
    if as_json:
        # What will be done: struck actions (Approve = N, today or held from an earlier
        # day) are left out, as they are from everything mergekit makes.
        click.echo(
            json.dumps(replace(p, actions=p.approved()).as_json(), indent=2, ensure_ascii=False)
        )
    else:
        _show(p, report.approvals_file, report.review.held if report.review else {})
    if report.xlsx_written:
        kept = f" (kept {report.xlsx_kept_n} N from the earlier copy)" if report.xlsx_kept_n else ""
        click.echo(f"Wrote {report.xlsx_written}{kept}", err=as_json)
    if record:
        if report.check.blocking:
            raise click.ClickException(
                "nothing recorded: fix the errors `mergekit check` lists, then run again"
            )
        done = record_plan(ws, p, report.review)
        struck = f"; {done.struck} not approved, left out" if done.struck else ""
        click.echo(
            f"Recorded {done.recorded} action{'s' * (done.recorded != 1)} as done in "
            f"{done.ledger} (run {done.run_id}){struck}",
            err=as_json,
        )


def _show(
    p: Plan, approvals: Path | None, held: Mapping[tuple[str, str, str], StrikeRecord]
) -> None:
    pupils = len({a.upn for a in p.actions})
    click.secho(
        f"Plan for {p.today:%A %d/%m/%Y}: {len(p.actions)} action{'s' * (len(p.actions) != 1)}"
        f" for {pupils} pupil{'s' * (pupils != 1)}",
        bold=True,
    )
    if approvals is not None:
        click.echo(f"Approvals from {approvals}")
    for action, items in p.grouped():
        click.echo("")
        click.secho(f"{ACTION_TITLES.get(action, action)} ({len(items)})", bold=True)
        name_w = max(len(a.name) for a in items)
        for a in items:
            yr = " ".join(x for x in (f"Y{a.year}" if a.year is not None else "", a.reg_group) if x)
            earlier = held.get(a.key())
            when = f" on {earlier.day:%d/%m/%Y}" if earlier is not None else ""
            struck = click.style(f" [struck{when}]", fg="red") if not a.approved else ""
            click.echo(printable(f"  {a.upn}  {a.name:<{name_w}}  {yr:<10} {a.reason}") + struck)
    if not p.actions:
        click.echo("Nothing to do today.")


@main.command()
@config_option
@click.option(
    "--year",
    help="Academic year to show, like 2025-26 (default: the current one).",
)
def calendar(config: Path | None, year: str | None) -> None:
    """The school days of each term, to check against the school's published dates."""
    ws = workspace(config, quiet=True)
    if year is None:
        year = academic_year_of(ws.requested)
    elif not _is_year(year):
        raise click.BadParameter(f"{year!r} is not an academic year - write it like 2025-26")
    terms = terms_of_year(ws.calendar, year)
    if not terms:
        raise click.ClickException(
            f"{ws.settings.where('calendar.terms')}: no terms in [calendar] for {year} - add "
            "the school's term dates to mergekit.toml"
        )
    bank = "with" if ws.calendar.use_bank_holidays else "without"
    click.secho(
        f"School calendar {year} ({ws.settings.path.name}, {bank} England and Wales bank holidays)",
        bold=True,
    )
    total = 0
    for i, t in enumerate(terms, start=1):
        total += len(t.days)
        click.echo("")
        click.secho(
            f"Term {i}: {t.term.start:%a %d/%m/%Y} to {t.term.end:%a %d/%m/%Y}: "
            f"{len(t.days)} school day{'s' * (len(t.days) != 1)}",
            bold=True,
        )
        for off in t.closed:
            click.echo(f"  not a school day: {off.day:%a %d/%m/%Y} {off.reason}")
        click.echo(f"  {compact_dates(t.days) or 'no school days'}")
    click.echo("")
    click.secho(f"Total: {total} school days ({2 * total} sessions)", bold=True)


def _is_year(text: str) -> bool:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    return m is not None and (int(m.group(1)) + 1) % 100 == int(m.group(2))


@main.command()
@config_option
@click.argument("upn", required=False)
def history(config: Path | None, upn: str | None) -> None:
    """What mergekit has recorded for a pupil (by UPN), or every pupil with a record."""
    ws = workspace(config, quiet=True)
    finished = finish_interrupted(ws.settings, "history")
    if finished:
        click.echo(f"Finished first: {finished}.")
    report = history_report(ws.settings, upn)
    if not report.exists:
        click.echo(
            f"No ledger yet ({report.ledger}): nothing has been recorded. It is started by "
            "`mergekit plan --record` or `mergekit run`."
        )
        return
    names = report.names or {}
    if report.upn is not None:
        name = f" {names[report.upn]}" if report.upn in names else ""
        if not report.lines:
            click.echo(f"Nothing recorded for {report.upn}{name} in {report.ledger}.")
            return
        click.secho(f"{report.upn}{name}: {len(report.lines)} entries", bold=True)
        for line in report.lines:
            click.echo(f"  {line.when[:16].replace('T', ' ')}  {line.what}: {line.detail}")
        return
    if not report.pupils:
        click.echo(f"The ledger {report.ledger} has no pupil records yet.")
        return
    click.secho(f"{len(report.pupils)} pupils with a record in {report.ledger}", bold=True)
    click.echo(f"  {'UPN':<13}  {'Name':<24}  actions  documents  emails  last")
    for u, actions, documents, emails, last in report.pupils:
        click.echo(
            f"  {u:<13}  {names.get(u, ''):<24}  {actions:>7}  {documents:>9}  {emails:>6}  "
            f"{last[:10]}"
        )
