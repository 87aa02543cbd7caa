"""Files that ship with mergekit: the bundled templates and the example school.

In a wheel they live in ``mergekit/_bundled/`` (see pyproject's force-include); in a checkout
they are the repository's top-level ``templates/`` and ``examples/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent.parent  # the mergekit package folder


def bundled(*parts: str) -> Path:
    """Path of a bundled file or folder, e.g. ``bundled("templates", "docx")``."""
    installed = _HERE / "_bundled"
    root = installed if installed.is_dir() else _HERE.parent
    return root.joinpath(*parts)


def templates_dir() -> Path:
    return bundled("templates")


def examples_dir() -> Path:
    return bundled("examples")
