"""The ``mergekit`` command group and the one place library errors become Click errors."""

from __future__ import annotations

import io
import os
import sys
from datetime import datetime
from typing import Any

import click

from mergekit import __version__
from mergekit.core import crashreport
from mergekit.core.errors import MergekitError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class MergekitGroup(click.Group):
    """Turns every :class:`MergekitError` raised below it into a clean ``Error: ...`` line
    (exit 1). Anything else is a bug: its message may hold pupil data, so the terminal gets
    only its kind and place, and the full traceback goes to an owner-only report file
    (``MERGEKIT_DEBUG=1`` shows it in the terminal instead, for developers)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MergekitError as e:
            raise click.ClickException(str(e)) from e
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # Whatever read our output stopped early (`mergekit check | head`): not a fault.
            _silence_stdout()
            raise click.exceptions.Exit(1) from None
        except Exception as e:
            if os.environ.get("MERGEKIT_DEBUG"):
                raise
            raise click.ClickException(_bug_message(e)) from None


def _silence_stdout() -> None:
    """Point stdout at the null device, so Python's own flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # not a real file (a test runner's buffer): nothing will flush to a closed pipe


def _bug_message(e: Exception) -> str:
    report = crashreport.write_report(e, None, datetime.now().astimezone(), sys.argv)
    kept = (
        f"The details are in {report} (readable only by you; it may name pupils, so share "
        "it only as you would pupil data)."
        if report is not None
        else "Run it again with MERGEKIT_DEBUG=1 set to see the details (they may name pupils)."
    )
    return (
        f"mergekit stopped on an unexpected error: {crashreport.summary(e)}.\n"
        "This is a fault in mergekit: please report it with the line above, which holds no "
        "pupil data. What was recorded before it is kept, and running the same command again "
        f"carries on from there. {kept}"
    )


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
