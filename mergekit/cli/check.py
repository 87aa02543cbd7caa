"""`mergekit check`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.cli.options import config_option, today_option, workspace
from mergekit.core.errors import Severity
from mergekit.day.check import run_check


@main.command()
@config_option
@today_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON for machines.")
def check(config: Path | None, today: date | None, as_json: bool) -> None:
    """Read the workbooks and list every problem, grouped, with the cell to fix.

    Exit status 1 when there are errors (other commands will not run until they are fixed),
    0 when there are only warnings or none.
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
                click.echo(f"  {click.style(label, fg=colour)} {p}")
        click.echo("")
        click.secho(report.summary(), fg="green" if report.ok else "red", bold=True)
    if not report.ok:
        raise SystemExit(1)
