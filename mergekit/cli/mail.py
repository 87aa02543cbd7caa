"""`mergekit mail test` (connect and sign in, optionally send one test message) and `mergekit
mail login` (device-code sign-in for a delegated mailbox)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, workspace
from mergekit.core.errors import MailError


@main.group()
def mail() -> None:
    """Check the email settings, and sign in for sending (Microsoft 365, Google Workspace)."""


@mail.command("test")
@config_option
@click.option("--send", "really", is_flag=True, help="Also send one test message.")
@click.option(
    "--to",
    "to",
    metavar="ADDRESS",
    help="Where --send sends the test message (default: the sender, [mail] from).",
)
def test_command(config: Path | None, really: bool, to: str | None) -> None:
    """Connect to the mail server and sign in with the [mail] settings; nothing is sent.

    With --send, one test message (about no pupil) goes to the sender or to --to ADDRESS.
    Every failure says what to change or what the IT admin must grant.
    """
    from mergekit.mail.mailtest import run_mail_test

    if to is not None and not really:
        raise click.UsageError("--to says where --send sends the test message: add --send")
    ws = workspace(config, quiet=True)
    report = run_mail_test(ws.settings, os.environ, (to or "") if really else None)
    for step in report.steps:
        mark = click.style("ok  ", fg="green") if step.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {step.label}: {step.detail}")
    if not report.ok:
        raise SystemExit(1)
    if not really:
        click.echo("Nothing was sent. To send one test message: mergekit mail test --send")


@mail.command("login")
@config_option
@click.option(
    "--no-browser",
    is_flag=True,
    help="Google: only print the address to open (do not open a browser).",
)
def login(config: Path | None, no_browser: bool) -> None:
    """Sign in once as the sending mailbox, for [mail] auth = "oauth2" with
    oauth_flow = "device_code" (Microsoft 365) or "installed_app" (Google Workspace).

    Microsoft: prints a code and a web address; open it on any device, enter the code and sign
    in as the mailbox in [mail] from. Google: opens (or prints) an address to sign in with in a
    browser on this computer. The tokens are kept in the OS keyring, or in a file only you can
    read ([mail] token_cache), and renewed when sending.
    """
    from mergekit.mail.transports.google import google_login
    from mergekit.mail.transports.microsoft import device_login

    ws = workspace(config, quiet=True)
    m = ws.settings.mail
    if m.auth == "oauth2" and m.oauth_provider == "google" and m.oauth_flow == "installed_app":

        def show_url(url: str) -> None:
            click.secho(
                "Open this address in a browser on this computer and sign in as the "
                "sending mailbox:",
                bold=True,
            )
            click.echo(url)
            if not no_browser:
                click.launch(url)

        who, kept = google_login(ws.settings, os.environ, show_url)
    elif m.auth == "oauth2" and m.oauth_provider == "microsoft" and m.oauth_flow == "device_code":
        who, kept = device_login(
            ws.settings,
            "graph" if m.transport == "graph" else "smtp",
            lambda text: click.secho(text, bold=True),
        )
    else:
        raise MailError(
            f"{ws.settings.where('mail.oauth_flow')}: mergekit mail login is for "
            '[mail] auth = "oauth2" with oauth_flow = "device_code" (Microsoft) or '
            '"installed_app" (Google); other settings need no sign-in (mergekit mail test '
            "checks them)"
        )
    click.secho(f"Signed in{f' as {who}' if who else ''}; kept in {kept}.", fg="green")
