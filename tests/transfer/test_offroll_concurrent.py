"""Two people running `mergekit offroll` at once on the same transfer list: real CLI processes
started together, the workbook re-read with openpyxl after each trial. Nothing may be lost:
the workbook lock is held from reading the tab to replacing the file."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from offroll_builders import COLUMN, FIRST_LEAVER_ROW, PUPILS, school
from racers import Racers, racers

from mergekit.core.ledger import Ledger

# The count: 20 trials of two at once (about 5 s here, each racer started once).
TRIALS = int(os.environ.get("MERGEKIT_CONCURRENCY_TRIALS", "20"))
THEO, SASHA = PUPILS[3][0], PUPILS[4][0]
OLIVER = PUPILS[1][0]


def _column(path: Path, letter: str) -> list[object]:
    wb = openpyxl.load_workbook(path)
    ws = wb["Off Roll"]
    return [ws[f"{letter}{r}"].value for r in range(FIRST_LEAVER_ROW, ws.max_row + 1)]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return school(tmp_path_factory.mktemp("template") / "school").parent


def _trials(template: Path, tmp_path: Path, trial: Callable[[Racers, Path, int], None]) -> None:
    """``trial`` TRIALS times, each on a fresh copy of the school, with the same two racers."""
    with racers(2, tmp_path / "go") as race:
        for n in range(TRIALS):
            folder = tmp_path / f"t{n}"
            shutil.copytree(template, folder)
            trial(race, folder, n)


def test_two_offroll_adds_at_once_both_reach_the_workbook(template: Path, tmp_path: Path) -> None:
    _trials(template, tmp_path, _two_adds)


def _two_adds(race: Racers, folder: Path, trial: int) -> None:
    config = str(folder / "mergekit.toml")
    results = race.race(
        ["offroll", "add", THEO, "--config", config, "--leaving-date", "26/11/2026",
         "--reason", "Moved to Wales"],
        ["offroll", "add", SASHA, "--config", config, "--leaving-date", "26/11/2026",
         "--reason", "Moved abroad"],
    )  # fmt: skip
    for r in results:
        assert r.returncode == 0, (trial, r.stdout, r.stderr)
        assert "Added " in r.stdout
    upns = _column(folder / "transfer_list.xlsx", COLUMN["upn"])
    assert upns.count(THEO) == 1, (trial, upns)
    assert upns.count(SASHA) == 1, (trial, upns)
    rows = {int(r.stdout.split(" row ")[1].split(":")[0]) for r in results}
    assert len(rows) == 2, f"trial {trial}: both said the same row {rows}"
    with Ledger.open(folder / "ledger.sqlite") as ledger:
        written = {r[0] for r in ledger.conn.execute("SELECT upn FROM writes")}
    assert written == {THEO, SASHA}


def test_two_offroll_sets_at_once_on_one_row_keep_both_dates(
    template: Path, tmp_path: Path
) -> None:
    _trials(template, tmp_path, _two_sets)


def _two_sets(race: Racers, folder: Path, trial: int) -> None:
    config = str(folder / "mergekit.toml")
    results = race.race(
        ["offroll", "set", OLIVER, "--config", config, "--data-team-emailed", "26/11/2026"],
        ["offroll", "set", OLIVER, "--config", config, "--transfer-list-updated",
         "27/11/2026"],
    )  # fmt: skip
    for r in results:
        assert r.returncode == 0, (trial, r.stdout, r.stderr)
    path = folder / "transfer_list.xlsx"
    oliver = _column(path, COLUMN["upn"]).index(OLIVER)
    emailed = _column(path, COLUMN["data_team_emailed"])[oliver]
    updated = _column(path, COLUMN["transfer_list_updated"])[oliver]
    assert emailed is not None, f"trial {trial}: the data-team date was lost"
    assert updated is not None, f"trial {trial}: the transfer-list date was lost"
    assert (emailed.date(), updated.date()) == (date(2026, 11, 26), date(2026, 11, 27))  # type: ignore[attr-defined]


def test_while_another_holds_the_workbook_offroll_says_who(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from mergekit.cli import main
    from mergekit.core import lock

    folder = tmp_path / "school"
    shutil.copytree(template, folder)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom pathlib import Path\nfrom mergekit.core.lock import workbook_lock\n"
            "with workbook_lock(Path(sys.argv[1]), 'offroll set'):\n"
            "    print('held', flush=True)\n    sys.stdin.read()\n",
            str(folder / "transfer_list.xlsx"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    monkeypatch.setattr(lock, "WAIT_SECONDS", 0.5)  # the default wait, shortened
    try:
        args = ["offroll", "add", THEO, "--config", str(folder / "mergekit.toml")]
        result = CliRunner().invoke(main, [*args, "--leaving-date", "26/11/2026", "--reason", "x"])
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
    assert result.exit_code == 1
    assert "Error: the workbook " in result.output
    assert f"is in use by {getpass.getuser()}@{socket.gethostname()}" in result.output
    assert f"(process {holder.pid}, running `mergekit offroll set`)" in result.output
    assert THEO not in _column(folder / "transfer_list.xlsx", COLUMN["upn"])
