"""The command line. Only this package imports click; it parses options, calls the library
and prints what came back."""

from mergekit.cli.base import main

# Importing a module registers its commands on `main`.
from mergekit.cli import check  # noqa: F401  isort: skip

__all__ = ["main"]
