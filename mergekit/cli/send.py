"""`mergekit send`: a dry run by default; `--send` sends, one message until `--limit all`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.evidence import packs_before_sending
from mergekit.cli.options import (
    config_option,
    limit_option,
    messages_to_send,
    today_option,
    workspace,
)
from mergekit.core.actions import EMAILED
from mergekit.core.runfolder import OUTBOX_DIR
from mergekit.day.send import send_day
from mergekit.mail.sendreport import Entry, SendReport


def _size(n: int) -> str:
    return f"{n / 1024:.1f} kB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _again(ctx: click.Context, *extra: str) -> str:
    """The same command with the options that chose this run, plus ``extra``."""
    words = ["mergekit", "send", *extra]
    p = ctx.params
    if p.get("config"):
        words += ["--config", str(p["config"])]
    if p.get("today"):
        words += ["--today", f"{p['today']:%Y-%m-%d}"]
    if p.get("run_dir"):
        words += ["--run", str(p["run_dir"])]
    for action in p.get("only") or ():
        words += ["--only", action]
    return " ".join(words)


def _describe(e: Entry, index: int, total: int) -> str:
    m = e.message
    pupil = m.pupil
    form = " ".join(
        x for x in (f"Y{pupil.year}" if pupil.year is not None else "", pupil.reg_group) if x
    )
    return f"[{index}/{total}] {m.action} for {pupil.full_name} ({form})"


def _echo_message(e: Entry, index: int, total: int, report: SendReport) -> None:
    m = e.message
    click.secho(_describe(e, index, total), bold=True)
    click.echo(f"  To:         {', '.join(str(r) for r in m.to)}")
    if report.bcc:
        click.echo(f"  Bcc:        {', '.join(report.bcc)}")
    click.echo(f"  Subject:    {m.subject}")
    for a in m.attachments:
        click.echo(f"  Attachment: {a.filename} ({_size(a.path.stat().st_size)}, {a.path.name})")
    if e.eml is not None:
        click.echo(f"  Saved:      {e.eml} ({_size(e.size)})")
    if e.last_error and e.state != "sent":
        click.echo(f"  Last try:   {e.last_error}")
    click.echo(f"  Message-ID: <{e.message_id}>")


def _echo_progress(e: Entry, index: int, total: int) -> None:
    to = ", ".join(e.sent_to or tuple(str(r) for r in e.message.to))
    head = _describe(e, index, total)
    if e.state == "sent":
        click.echo(f"{click.style('sent   ', fg='green')} {head} -> {to} <{e.message_id}>")
        for addr, why in e.refused:
            click.secho(f"          refused {addr}: {why} (on the print list)", fg="yellow")
    elif e.state == "failed":
        click.echo(f"{click.style('FAILED ', fg='red')} {head}: {e.last_error}")
    else:
        click.echo(f"{click.style('UNKNOWN', fg='red')} {head}: {e.last_error}")


@main.command()
@config_option
@today_option
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The run folder to send (default: <output>/<today>, e.g. out/2026-11-27).",
)
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(sorted(EMAILED)),
    help="Only this kind of message (repeat for several).",
)
@limit_option("Send at most N messages; 'all' for every one. A real send sends 1 unless you say.")
@click.option("--send", "really", is_flag=True, help="Really send (without it: a dry run).")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Also send messages that may or may not have gone when sending was interrupted.",
)
@click.option(
    "--mark-sent",
    "mark_sent",
    multiple=True,
    metavar="MESSAGE-ID",
    help="Record an 'unknown' message as sent after finding it in the Sent Items (or the "
    "sent-log mailbox); nothing is sent. Repeat for several.",
)
@click.option(
    "--release",
    multiple=True,
    metavar="UPN|FILE",
    help="Release forms a person has completed and checked: a UPN (that pupil's held forms "
    "of the run) or a form's PDF. Repeat for several. The PDF is read as it is saved now: "
    "that is what the email attaches.",
)
@click.pass_context
def send(
    ctx: click.Context,
    config: Path | None,
    today: date | None,
    run_dir: Path | None,
    only: tuple[str, ...],
    limit: int | str | None,
    really: bool,
    resend_unknown: bool,
    release: tuple[str, ...],
    mark_sent: tuple[str, ...],
) -> None:
    """Email the day's letters and forms to parents, the council and social workers.

    Without --send this is a dry run: every message is built and saved as an .eml file in the
    run's outbox/ folder, and nothing is sent. With --send, one message is sent unless you add
    --limit all. A message is never sent twice: a rerun sends only what has not gone.

    Forms that need a person (the CME referral, the Remove From Roll checklist, the planned-move
    form) are held: never emailed, even with --send --limit all, until released. Open the
    form's PDF in the run's pdf/ folder, complete and check it in a PDF editor (the head teacher
    signs the Remove From Roll checklist) and save it in place; then release it with
    --release UPN (or the PDF's name), or write your name and Y in the run's release.xlsx.
    The email attaches that PDF exactly as it was saved when released; saving it again holds
    it again. Parent letters are not held: approve them in plan.xlsx.
    """
    if mark_sent and (really or resend_unknown):
        raise click.UsageError(
            "--mark-sent only records what you found in the Sent Items: run it on its own, "
            "without --send or --resend-unknown"
        )
    ws = workspace(config, today)
    if ws.settings.evidence.attach_to_cme_referral and run_dir is None and not mark_sent:
        packs_before_sending(ws)  # [evidence]: the CME referral emails attach the pupil's pack
    report = send_day(
        ws,
        run_dir=run_dir,
        only=only,
        limit=messages_to_send(limit, really),
        send=really,
        resend_unknown=resend_unknown,
        progress=_echo_progress if really else None,
        release=release,
        mark_sent=mark_sent,
    )
    if mark_sent:
        for e in report.marked:
            to = ", ".join(str(r) for r in e.message.to)
            click.secho(
                f"Marked sent: {e.message.upn} {e.message.action} to {to} <{e.message_id}>",
                fg="green",
            )
        click.echo("Nothing was sent; these are recorded as sent and will not be sent again.")
        return
    _summary(ctx, report)
    if report.stopped or report.failed or report.interrupted:
        raise SystemExit(1)


def _held(ctx: click.Context, r: SendReport) -> None:
    """What was released now, and the forms still waiting for a person, with their files."""
    for rel in r.released_now:
        click.secho(
            f"Released: {r.run_dir / rel.document} (sha256 {rel.sha256[:12]}, as saved now)",
            fg="green",
        )
    if not r.held:
        return
    n = len(r.held)
    click.secho(
        f"Needs a person: complete and check ({n} form{'s' * (n != 1)} held: not emailed "
        "until released)",
        bold=True,
        fg="yellow",
    )
    for h in r.held:
        click.echo(f"  {h.pupil.upn} {h.pupil.full_name}: {h.to_do()}")
        click.echo(f"      {h.path}")
    sheet = f", or write your name and Y in {r.release_sheet}" if r.release_sheet else ""
    click.echo(
        "  Complete and check each PDF in a PDF editor and save it in place, then release it: "
        f"{_again(ctx, '--release', 'UPN')} (or the PDF's name){sheet}"
    )


def _summary(ctx: click.Context, r: SendReport) -> None:
    if r.dry_run:
        for i, e in enumerate(r.listed, start=1):
            _echo_message(e, i, len(r.listed), r)
            click.echo("")
    for line in r.recovered:
        click.secho(f"Interrupted last time (now 'unknown'): {line}", fg="red")
    if r.unknown:
        click.secho(
            f"{len(r.unknown)} message(s) may or may not have been sent when sending was "
            "interrupted; they are NOT sent again. Look for each in the Sent Items (or the "
            "sent-log mailbox): if it is there, run "
            f"{_again(ctx, '--mark-sent', 'MESSAGE-ID')}; if it is not, run: "
            f"{_again(ctx, '--send', '--resend-unknown', '--limit', 'all')}",
            fg="red",
        )
        for e in r.unknown:
            to = ", ".join(str(x) for x in e.message.to)
            click.echo(f"  {e.message.upn} {e.message.action} to {to} <{e.message_id}>")
    if r.already_sent:
        click.echo(
            f"Already sent, not sent again: {len(r.already_sent)} "
            "(`mergekit history UPN` shows when and to whom)"
        )
    for note in r.notes:
        click.secho(f"Note: {note}", fg="yellow")
    if r.print_items:
        click.echo(f"To post or phone instead: {len(r.print_items)} ({r.print_list})")
    if r.security_warning:
        click.secho(f"Warning: a real send would be refused: {r.security_warning}", fg="yellow")
    _held(ctx, r)
    if r.failures_path is not None and r.failures:
        click.secho(f"Failures: {len(r.failures)} ({r.failures_path})", fg="red")
    if r.stopped:
        click.secho(f"Stopped: {r.stopped}", fg="red")
    if r.dry_run:
        people = sum(len(e.message.to) for e in r.listed)
        files = sum(len(e.message.attachments) for e in r.listed)
        size = sum(e.size for e in r.listed)
        click.echo(
            f"{len(r.listed)} message(s) to {people} recipient(s), {files} attachment(s), "
            f"{_size(size)} in all, saved in {r.run_dir / OUTBOX_DIR}"
        )
        n = len(r.waiting)
        if n:
            these = "this 1 message" if n == 1 else f"these {n} messages"
            click.secho(
                f">>> This was a dry run. To send {these}, run: "
                f"{_again(ctx, '--send', '--limit', 'all')}",
                bold=True,
            )
        else:
            click.secho(">>> This was a dry run. Nothing is waiting to be sent.", bold=True)
        if r.held:
            n = len(r.held)
            click.secho(
                f">>> {n} form{'s are' if n != 1 else ' is'} held until a person releases "
                f"{'them' if n != 1 else 'it'} (Needs a person, above).",
                bold=True,
            )
        return
    held = f"; {len(r.held)} held for a person" if r.held else ""
    click.secho(
        f"Sent {len(r.sent)}, failed {len(r.failed)}, unknown {len(r.interrupted)}; "
        f"{len(r.waiting)} still to send{held}.",
        bold=True,
    )
    if r.waiting and not r.stopped:
        n = len(r.waiting)
        click.secho(
            f">>> {n} more message{'' if n == 1 else 's'} waiting. To send "
            f"{'it' if n == 1 else 'them'}, run: {_again(ctx, '--send', '--limit', 'all')}",
            bold=True,
        )
