"""Every date option takes DD/MM/YYYY or YYYY-MM-DD (one shared Click type), and a date that
is not one is a plain error naming the option, never a strptime message."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from policy_builders import TODAY, School, pupil, school_folder, ytd

from mergekit.cli import main
from mergekit.cli.options import DATE, today_option


@pytest.fixture
def school(tmp_path: Path) -> Path:
    s = School()
    s.add(pupil(1), ytd(TODAY, 100, 80))
    return school_folder(tmp_path / "school", s.data())


def plan_day(cfg: Path, given: str) -> str:
    result = CliRunner().invoke(main, ["plan", "--config", str(cfg), "--json", "--today", given])
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["today"])


def test_today_takes_uk_order_and_iso_dates_alike(school: Path) -> None:
    assert plan_day(school, "27/11/2026") == "2026-11-27"
    assert plan_day(school, "2026-11-27") == "2026-11-27"
    assert plan_day(school, "26/11/2026") == "2026-11-26"


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("31/11/2026", "'31/11/2026' is not a date"),
        ("11/27/2026", "'11/27/2026' is not a date (month 27); it looks like US order"),
        ("tomorrow", "'tomorrow' is not a date"),
    ],
)
def test_a_bad_date_is_a_plain_error_naming_the_option(school: Path, given: str, said: str) -> None:
    result = CliRunner().invoke(main, ["plan", "--config", str(school), "--today", given])
    assert result.exit_code == 2
    assert f"Invalid value for '--today': {said} - write it as DD/MM/YYYY or YYYY-MM-DD" in (
        result.output
    )
    assert "strptime" not in result.output
    assert "%Y" not in result.output
    assert "Traceback" not in result.output


def test_every_command_with_a_date_option_uses_the_shared_type() -> None:
    def dated(group: click.Group) -> list[tuple[str, click.Parameter]]:
        out: list[tuple[str, click.Parameter]] = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                out += [(f"{name} {n}", p) for n, p in dated(command)]
                continue
            out += [
                (name, p)
                for p in command.params
                if isinstance(p.type, click.DateTime) or p.type.name.upper() == "DATE"
            ]
        return out

    found = dated(main)
    assert {name for name, p in found if p.name == "today"} >= {
        "check",
        "plan",
        "run",
        "letters",
        "forms",
        "send",
        "pack",
        "offroll add",
    }
    assert not [name for name, p in found if isinstance(p.type, click.DateTime)]


def test_the_shared_type_also_reads_a_date_typed_with_the_month_named() -> None:
    @click.command()
    @today_option
    def show(today: object) -> None:
        click.echo(repr(today))

    result = CliRunner().invoke(show, ["--today", "14-Mar-2026"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "datetime.date(2026, 3, 14)"
    assert DATE.name == "DATE"
