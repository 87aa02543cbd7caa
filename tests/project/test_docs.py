"""Every command has help text and is documented in the README (sqlite-utils' habit)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from mergekit.cli import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "mergekit") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        out.append((full, command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, full))
    return out


COMMANDS = _commands(main)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_text(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{name} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts[0]} has no help text"


@pytest.mark.parametrize("name", [n for n, _ in COMMANDS])
def test_every_command_is_documented_in_the_readme(name: str) -> None:
    assert f"`{name}" in README or f"{name} " in README, f"README does not mention `{name}`"
