"""The ``mergekit`` command group and the one place library errors become Click errors."""

from __future__ import annotations

from typing import Any

import click

from mergekit import __version__
from mergekit.core.errors import MergekitError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class MergekitGroup(click.Group):
    """Turns every :class:`MergekitError` raised below it into a clean ``Error: ...`` line
    (exit 1). Anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MergekitError as e:
            raise click.ClickException(str(e)) from e


@click.group(cls=MergekitGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="mergekit")
def main() -> None:
    """mergekit: the paperwork of the attendance and children-missing-education policy.

    It reads the school's tracking workbook and transfer list, works out which pupils need
    which letter, call or form today, fills the Word and PDF documents, prints one pack for the
    office, emails what should be emailed (only when you ask), and records every step in the
    Off Roll tab and its ledger.

    Start with `mergekit demo` to see it on the example school, or `mergekit init` for your own.
    """
