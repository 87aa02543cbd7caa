"""What an unexpected error (a bug) shows and keeps.

An exception's message can hold a pupil's name, UPN or address (a ``KeyError`` on a name, a
library quoting the cell it choked on), and a terminal's output gets pasted into emails and
support tickets. So the terminal is told only the kind of error and where in mergekit's code
it happened; the full traceback, message included, goes to an owner-only report file beside
the school's own files, to be shared only as pupil data is.
"""

from __future__ import annotations

import platform
import sys
import traceback
from datetime import datetime
from pathlib import Path

from mergekit import __version__
from mergekit.core.atomic import write_atomic

_PACKAGE = Path(__file__).resolve().parent.parent


def where(exc: BaseException) -> str:
    """The innermost place in mergekit's own code the error passed through, as
    'mergekit/plan/policy.py line 40 (due_letters)' (no values, no source text). The first
    frame is the one that caught it, so it is not counted."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]
    for frame in reversed(frames):
        try:
            relative = Path(frame.filename).resolve().relative_to(_PACKAGE)
        except ValueError:
            continue
        return f"mergekit/{relative.as_posix()} line {frame.lineno} ({frame.name})"
    return "outside mergekit's code"


def summary(exc: BaseException) -> str:
    """One line naming the error's kind and place, safe to show and share."""
    return f"{type(exc).__name__} in {where(exc)}"


def write_report(
    exc: BaseException, folder: Path | None, now: datetime, argv: list[str]
) -> Path | None:
    """The full traceback in ``folder`` (default: the current folder) as
    mergekit-error-<time>.txt, owner-only; None when it cannot be written (a read-only share,
    a folder since removed): the summary is then all there is."""
    text = "".join(
        [
            f"mergekit {__version__}, Python {platform.python_version()} on {sys.platform}\n",
            f"when: {now.isoformat(timespec='seconds')}\n",
            f"command: {' '.join(argv)}\n\n",
            *traceback.format_exception(exc),
        ]
    )
    try:
        path = (folder or Path.cwd()) / f"mergekit-error-{now:%Y%m%d-%H%M%S}.txt"
        write_atomic(path, text.encode("utf-8", "backslashreplace"))
    except OSError:
        return None
    return path
