"""Options shared by many commands, and opening the workspace they describe."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from mergekit.core.workspace import Workspace, open_workspace
from mergekit.read import values

F = TypeVar("F", bound=Callable[..., Any])


class SchoolDate(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A date as staff type it: DD/MM/YYYY (UK order, never US) or YYYY-MM-DD, also
    14-Mar-2026. ``keep``: words passed through as they are (an option's "today")."""

    name = "DATE"

    def __init__(self, keep: tuple[str, ...] = ()) -> None:
        self.keep = keep

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date) or value in self.keep:
            return value
        try:
            return values.parse_date(value)
        except values.BadValue as bad:
            self.fail(f"{bad.message} - write it as DD/MM/YYYY or YYYY-MM-DD", param, ctx)


DATE = SchoolDate()


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
        type=DATE,
        help="Work as if today were this date (DD/MM/YYYY or YYYY-MM-DD). A day the school "
        "is shut means the latest school day before it.",
    )(f)


def _limit(ctx: click.Context, param: click.Parameter, value: str | None) -> int | str | None:
    """A whole number of messages above 0, or "all"."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == "all":
        return "all"
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise click.BadParameter(f"{value!r} is not a number of messages above 0, or 'all'")


def limit_option(help: str) -> Callable[[F], F]:
    """``--limit N|all``, parsed here once for `mergekit send` and `mergekit run`."""

    def decorate(f: F) -> F:
        return click.option("--limit", metavar="N|all", callback=_limit, help=help)(f)

    return decorate


def messages_to_send(limit: int | str | None, send: bool) -> int | None:
    """How many messages a command may send (None: no limit). A real send without --limit
    sends one (mailmerge's habit: check one arrives, then --limit all)."""
    if isinstance(limit, int):
        return limit
    if limit is None and send:
        return 1
    return None


def workspace(config: Path | None, today: date | None = None, quiet: bool = False) -> Workspace:
    """Open the config and calendar; say so when the date was moved to a school day."""
    ws = open_workspace(config, today)
    for w in ws.settings.warnings:
        click.secho(f"Warning: {w}", fg="yellow", err=True)
    if ws.note and not quiet:
        click.secho(ws.note, fg="yellow", err=True)
    return ws


_STAGES = {
    "render": "Making documents",
    "pdf": "Converting to PDF",
    "forms": "Filling PDF forms",
    "pack": "Print pack",
}


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per stage, on stderr, driven by the library's callback."""
    state: dict[str, Any] = {"stage": None, "bar": None, "done": 0}

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].render_finish()
            state["bar"] = None

    def update(stage: str, done: int, total: int) -> None:
        if stage != state["stage"]:
            close()
            state["stage"] = stage
            state["done"] = 0
            state["bar"] = click.progressbar(
                length=total, label=_STAGES.get(stage, stage), file=sys.stderr
            )
            state["bar"].render_progress()
        bar = state["bar"]
        if done > state["done"]:
            bar.update(done - state["done"])
            state["done"] = done

    try:
        yield update
    finally:
        close()
