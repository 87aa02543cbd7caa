"""``python -m mergekit``."""

from mergekit.cli import main

main()
