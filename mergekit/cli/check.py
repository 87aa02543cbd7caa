"""`mergekit check`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, today_option, workspace
from mergekit.core.errors import Severity
from mergekit.core.model import FixFirst
from mergekit.day.check import run_check

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """Text for the terminal: control characters (an escape sequence in a cell, a bidi
    override) shown as \\x.. escapes, never acted on by the terminal."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))


def show_fix_first(items: Sequence[FixFirst], *, err: bool = False, indent: str = "") -> None:
    """The pupils kept out of letters and forms, first and in red, with each reason."""
    if not items:
        return
    n = len(items)
    click.secho(
        f"{indent}Fix first: {n} pupil{'s' * (n != 1)} kept out of letters and forms until "
        "their rows are fixed (everyone else is planned as usual)",
        fg="red",
        bold=True,
        err=err,
    )
    for f in items:
        who = printable(" ".join(x for x in (f.upn, f.name) if x))
        click.secho(f"{indent}  {who}", fg="red", err=err)
        for reason in f.reasons:
            click.secho(f"{indent}    {printable(reason)}", fg="red", err=err)


@main.command()
@config_option
@today_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON for machines.")
def check(config: Path | None, today: date | None, as_json: bool) -> None:
    """Read the workbooks and list every problem, grouped, with the cell to fix.

    Exit status 1 while any error remains, 0 when there are only warnings or none. A pupil's
    own errors keep only that pupil out of letters and forms; transfer-list errors block only
    `mergekit offroll`; school-wide errors (calendar, missing sheets) stop the other commands.
    """
    ws = workspace(config, today, quiet=as_json)
    report = run_check(ws.settings, ws.calendar, ws.today, ws.now)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        s = ws.settings
        files = " and ".join(s.resolve(f).name for f in (s.files.tracking, s.files.transfer_list))
        click.echo(f"Checking {files} for {ws.today:%A %d/%m/%Y}")
        for title, problems in report.grouped():
            click.echo(f"\n{title} ({len(problems)})")
            for p in problems:
                label = "error  " if p.severity is Severity.ERROR else "warning"
                colour = "red" if p.severity is Severity.ERROR else "yellow"
                click.echo(f"  {click.style(label, fg=colour)} {printable(p)}")
        click.echo("")
        if report.fix_first:
            click.echo("")
            show_fix_first(report.fix_first)
        if report.transfer_errors:
            click.secho(
                "The transfer list's errors block only `mergekit offroll` writes.", fg="yellow"
            )
        click.echo("")
        click.secho(report.summary(), fg="green" if report.ok else "red", bold=True)
    if not report.ok:
        raise SystemExit(1)
