"""The command line. Only this package imports click; it parses options, calls the library
and prints what came back."""

from mergekit.cli.base import main

# Importing a module registers its commands on `main`.
from mergekit.cli import check  # noqa: F401  isort: skip
from mergekit.cli import pdf  # noqa: F401  isort: skip
from mergekit.cli import pack  # noqa: F401  isort: skip
from mergekit.cli import documents  # noqa: F401  isort: skip
from mergekit.cli import offroll  # noqa: F401  isort: skip
from mergekit.cli import send  # noqa: F401  isort: skip
from mergekit.cli import plan  # noqa: F401  isort: skip
from mergekit.cli import setup  # noqa: F401  isort: skip
from mergekit.cli import run  # noqa: F401  isort: skip
from mergekit.cli import worklist  # noqa: F401  isort: skip
from mergekit.cli import mail  # noqa: F401  isort: skip
from mergekit.cli import evidence  # noqa: F401  isort: skip

__all__ = ["main"]
