"""`mergekit run` (the day's work) and `mergekit demo` (the same on the example school)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.check import printable, show_fix_first
from mergekit.cli.options import (
    config_option,
    limit_option,
    messages_to_send,
    progress_bars,
    today_option,
    workspace,
)
from mergekit.core.actions import ACTION_TITLES, ACTIONS
from mergekit.core.errors import Severity
from mergekit.core.workspace import Workspace
from mergekit.day.pipeline import RunReport, copy_example, run_day


@main.command()
@config_option
@today_option
@click.option(
    "--send",
    is_flag=True,
    help="Send the emails for real (default: a dry run that writes them to the "
    "outbox folder and contacts no server).",
)
@limit_option(
    "With --send: how many messages to send (default 1, so you can check one "
    "arrives; then --limit all)."
)
def run(config: Path | None, today: date | None, send: bool, limit: int | str | None) -> None:
    """Do today's work: check, plan, work list, letters, forms, PDFs, print pack, emails.

    Stops before making anything when `mergekit check` finds errors. Running it again the
    same day makes nothing new and says so. Emails are only sent with --send.
    """
    ws = workspace(config, today)
    _run(ws, send, messages_to_send(limit, send))


@main.command()
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("mergekit-demo"),
    show_default=True,
    help="Folder to copy the example school into (must not exist yet).",
)
@click.option(
    "--copy-only",
    is_flag=True,
    help="Only copy the example school, to try the commands one by one.",
)
def demo(out: Path, copy_only: bool) -> None:
    """Copy the example school into a folder and run a day's work there.

    Shows everything mergekit does, on invented pupils, on the example's school day
    (27 November 2026): nothing is emailed (a dry run) and nothing outside the folder changes.
    """
    config = copy_example(out)
    click.secho(f"Copied the example school into {out}/", bold=True)
    click.echo(f"  (its settings: {config}; its workbooks: tracking.xlsx, transfer_list.xlsx)\n")
    if copy_only:
        click.echo(f"Next: cd {out} && mergekit check")
        return
    ws = workspace(config, None)
    _run(ws, False, None)
    click.echo("")
    click.echo(
        f"Try next: cd {out} && mergekit plan    (or: mergekit check, mergekit history "
        "UPN, mergekit offroll status)"
    )


def _run(ws: Workspace, send: bool, limit: int | None) -> None:
    click.secho(f"mergekit run for {ws.today:%A %d %B %Y}", bold=True)
    with progress_bars() as progress:
        report = run_day(ws, send=send, limit=limit, progress=progress)
    _check(report)
    if report.stopped:
        click.secho(
            "\nStopped: fix the errors above, then run again (nothing was made).",
            fg="red",
            bold=True,
        )
        raise SystemExit(1)
    _plan(report)
    _made(report)
    _email(report)
    _people(report)
    _next(report, send)
    if report.email is not None and (report.email.failed or report.email.stopped):
        raise SystemExit(1)
    if report.check.errors or (report.documents is not None and report.documents.held):
        raise SystemExit(1)  # something was held back: a person must act first


def _check(r: RunReport) -> None:
    if r.interrupted:
        click.echo(f"\nFinished first: {r.interrupted}.")
    click.echo("")
    show_fix_first(r.check.fix_first)
    click.echo(f"\n1. Check      {r.check.summary()}")
    for p in r.check.problems:
        if p.severity is Severity.ERROR:
            click.secho(f"   error   {printable(p)}", fg="red")
    if r.check.transfer_errors and not r.stopped:
        click.secho(
            "   the transfer list's errors block only `mergekit offroll` writes", fg="yellow"
        )
    warnings = r.check.warnings
    for p in warnings[:5]:
        click.secho(f"   warning {printable(p)}", fg="yellow")
    if len(warnings) > 5:
        click.echo(f"   ... and {len(warnings) - 5} more warnings (mergekit check lists them)")


def _plan(r: RunReport) -> None:
    assert r.plan is not None
    actions = r.plan.actions
    approved = [a for a in actions if a.approved]
    struck = len(actions) - len(approved)
    extra = f", {struck} struck in plan.xlsx" if struck else ""
    click.echo(
        f"2. Plan       {len(approved)} new action{'s' * (len(approved) != 1)} for today{extra}"
    )
    counts: dict[str, int] = {}
    for a in approved:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    for action, n in counts.items():
        click.echo(f"               {ACTION_TITLES.get(action, action):<46} {n:>4}")
    for note in (*r.plan.notes, *r.plan.skipped):
        click.secho(f"   note: {note}", fg="yellow")


def _made(r: RunReport) -> None:
    if r.worklist is not None:
        n = sum(r.worklist_counts.values())
        click.echo(
            f"3. Work list  {_rel(r, r.worklist)}  ({n} calls, contacts and alerts for "
            "today, one tab per team)"
        )
    else:
        click.echo("3. Work list  nothing to call or tell anyone about today")
    d = r.documents
    if d is None:
        return
    if d.documents:
        click.echo(
            f"4. Documents  {len(d.documents)} Word documents in {_rel(r, d.run_dir / 'docx')}/"
        )
        counts = d.counts()
        for action in (a for a in ACTIONS if a in counts):
            click.echo(
                f"               {ACTION_TITLES.get(action, action):<46} {counts[action]:>4}"
            )
    elif d.already_done:
        click.echo(
            f"4. Documents  nothing new: {len(d.already_done)} made earlier today "
            f"(in {_rel(r, d.run_dir / 'docx')}/)"
        )
    else:
        click.echo("4. Documents  no letters or forms are due today")
    if r.pdf_missing:
        click.secho(
            "5. PDFs       not made: LibreOffice is not installed. The Word documents "
            "are ready; to get PDFs and the print pack:",
            fg="yellow",
        )
        click.secho(f"               {r.pdf_missing}", fg="yellow")
    else:
        pdfs = len(d.pdfs) + len(d.earlier_pdfs)
        if pdfs:
            click.echo(f"5. PDFs       {pdfs} in {_rel(r, d.run_dir / 'pdf')}/")
        if d.pack is not None:
            sides = "double-sided" if r.ws.settings.pdf.duplex else "single-sided"
            click.echo(
                f"6. Print pack {_rel(r, d.pack)}  (cover sheet, then letters in "
                f"hand-out order, then forms; print it {sides})"
            )
    if d.held:
        click.secho(
            f"   not made: {len(d.held)} document{'s' * (len(d.held) != 1)} whose templates "
            "print settings not filled in (see 1. Check)",
            fg="red",
        )
    shown = set(r.plan.notes) | set(r.plan.skipped) if r.plan else set()
    for note in d.notes:
        if note not in shown:
            click.secho(f"   note: {note}", fg="yellow")


def _email(r: RunReport) -> None:
    e = r.email
    if e is None:
        if r.email_error:
            click.secho(f"7. Email      not prepared: {r.email_error}", fg="yellow")
        return
    held = f"; {len(e.held)} form{'s' * (len(e.held) != 1)} held for a person" if e.held else ""
    if e.dry_run:
        waiting = len(e.listed)
        click.echo(
            f"7. Email      dry run: {waiting} message{'s' * (waiting != 1)} written to "
            f"{_rel(r, e.run_dir / 'outbox')}/ (nothing sent); {len(e.already_sent)} "
            f"sent before{held}"
        )
    else:
        click.echo(
            f"7. Email      sent {len(e.sent)}, failed {len(e.failed)}, still to send "
            f"{len(e.waiting)}{held}"
        )
        if e.stopped:
            click.secho(f"   sending stopped: {e.stopped}", fg="red")
    if e.security_warning:
        click.secho(f"   note: {e.security_warning}", fg="yellow")


def _people(r: RunReport) -> None:
    if r.nothing_new:
        click.secho(
            "\nNothing new since the last run today: everything due was already done "
            "(see `mergekit history UPN`).",
            fg="green",
        )
    todo = [*_held(r), *r.needs_a_person()]
    if todo:
        click.secho("\nNeeds a person:", bold=True)
        for line in todo:
            click.echo(f"  - {line}")
    if r.held:
        n = len(r.held)
        click.secho(
            f"\nNeeds a person: complete and check ({n} form{'s' * (n != 1)} held: not emailed "
            "until released)",
            bold=True,
        )
        for h in r.held:
            click.echo(f"  - {h.pupil.upn} {h.pupil.full_name}: {h.to_do()}")
            click.echo(f"      {_rel(r, h.path)}")
        sheet = r.email.release_sheet if r.email is not None else None
        where = f", or write your name and Y in {_rel(r, sheet)}" if sheet else ""
        click.echo(
            "  Complete and check each PDF in a PDF editor and save it in place, then release "
            f"it: mergekit send --release UPN (or the PDF's name){where}"
        )


def _held(r: RunReport) -> list[str]:
    """What the check held back, first: it needs a person before anything else."""
    out: list[str] = []
    gap = r.check.register
    if gap is not None:
        out.append(
            f"{gap.message()}: export today's register from the MIS into "
            f"{r.ws.settings.files.tracking}, then run again (first-day calls, warning "
            "letters, alerts and CME steps were not planned on the old figures)"
        )
    if r.check.unfilled:
        keys = ", ".join(f"[{k.split('.')[0]}] {k.split('.')[1]}" for k in r.check.unfilled)
        out.append(
            f"fill in {keys} in {r.ws.settings.path.name}: the documents that print "
            f"{'them' if len(r.check.unfilled) > 1 else 'it'} were not made (see 1. Check)"
        )
    return out


def _next(r: RunReport, send: bool) -> None:
    click.secho("\nNext:", bold=True)
    if r.worklist is not None:
        click.echo(f"  - open {_rel(r, r.worklist)} and work through the calls and alerts")
    if r.documents is not None and r.documents.pack is not None:
        click.echo(f"  - print {_rel(r, r.documents.pack)} for the office")
    if r.email is not None and r.email.dry_run and r.email.listed:
        click.echo(
            "  - check an email in the outbox folder, then send: "
            "mergekit send --send --limit 1, then mergekit send --send --limit all"
        )
    elif r.email is not None and not send and not r.email.listed:
        click.echo("  - no emails are waiting")
    if r.email is not None and not r.email.dry_run and r.email.waiting:
        click.echo("  - send the rest: mergekit send --send --limit all")


def _rel(r: RunReport, path: Path) -> str:
    base = r.ws.settings.base
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
