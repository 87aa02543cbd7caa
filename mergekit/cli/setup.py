"""`mergekit init`: a starter mergekit.toml for a real school."""

from __future__ import annotations

from pathlib import Path

import click

from mergekit.cli.base import main
from mergekit.core.starter import write_starter


@main.command()
@click.argument(
    "folder", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
def init(folder: Path) -> None:
    """Write a starter mergekit.toml (every key commented) into FOLDER; never overwrites.

    Then fill in your school's details and term dates, put your tracking workbook and transfer
    list beside it, and run `mergekit check`.
    """
    target = write_starter(folder)
    click.echo(f"Wrote {target}")
    click.echo(
        "Next: fill in [school], [council] and [calendar] terms, copy your tracking "
        "workbook and transfer list beside it, then run: mergekit check"
    )
