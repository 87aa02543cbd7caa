"""Options shared by many commands, and opening the workspace they describe."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from mergekit.workspace import Workspace, open_workspace

F = TypeVar("F", bound=Callable[..., Any])


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="MERGEKIT_CONFIG",
        help="mergekit.toml to use (default: the one in the current folder).",
    )(f)


def today_option(f: F) -> F:
    return click.option(
        "--today",
        "today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        help="Work as if today were this date (YYYY-MM-DD). A day the school is shut means "
        "the latest school day before it.",
    )(f)


def workspace(
    config: Path | None, today: datetime | date | None = None, quiet: bool = False
) -> Workspace:
    """Open the config and calendar; say so when the date was moved to a school day."""
    day = today.date() if isinstance(today, datetime) else today
    ws = open_workspace(config, day)
    for w in ws.settings.warnings:
        click.secho(f"Warning: {w}", fg="yellow", err=True)
    if ws.note and not quiet:
        click.secho(ws.note, fg="yellow", err=True)
    return ws
