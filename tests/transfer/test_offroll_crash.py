"""`mergekit offroll` killed between writing the workbook and recording it in the ledger (a real
process, SIGKILL at a named crash point), then the next command: the row is known to
`mergekit history` exactly once, never written twice, never recorded when it was not written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from offroll_builders import COLUMN, FIRST_LEAVER_ROW, PUPILS, school

from mergekit.core.crashpoint import ENV
from mergekit.core.ledger import Ledger

THEO, OLIVER = PUPILS[3][0], PUPILS[1][0]


def _mergekit(*args: str, kill_at: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if kill_at:
        env[ENV] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "mergekit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _upns(path: Path) -> list[object]:
    ws = openpyxl.load_workbook(path)["Off Roll"]
    return [ws[f"{COLUMN['upn']}{r}"].value for r in range(FIRST_LEAVER_ROW, ws.max_row + 1)]


def _writes(folder: Path, upn: str) -> list[tuple[str, str]]:
    with Ledger.open(folder / "ledger.sqlite") as ledger:
        rows = ledger.conn.execute("SELECT cell, new_value FROM writes WHERE upn = ?", (upn,))
        return [(r[0], r[1]) for r in rows]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return school(tmp_path / "school")


ADD = ["--leaving-date", "26/11/2026", "--reason", "Moved to Wales"]


def test_killed_after_the_workbook_write_history_still_knows_the_row(config: Path) -> None:
    folder = config.parent
    killed = _mergekit(
        "offroll",
        "add",
        THEO,
        "--config",
        str(config),
        *ADD,
        kill_at="offroll:after-workbook-write",
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert _upns(folder / "transfer_list.xlsx").count(THEO) == 1
    assert _writes(folder, THEO) == []  # the ledger was never told
    history = _mergekit("history", THEO, "--config", str(config))
    assert history.returncode == 0, history.stdout + history.stderr
    assert "Finished first: recorded in the ledger the interrupted offroll add" in history.stdout
    assert "transfer list" in history.stdout
    assert "Moved to Wales" in history.stdout
    recorded = _writes(folder, THEO)
    assert ("F7", "Moved to Wales") in recorded
    assert len(recorded) == len(set(recorded))
    # Adding again is refused (the row is there) and records nothing more.
    again = _mergekit("offroll", "add", THEO, "--config", str(config), *ADD)
    assert again.returncode == 1
    assert "already on the Off Roll tab" in again.stderr
    assert _upns(folder / "transfer_list.xlsx").count(THEO) == 1
    assert _writes(folder, THEO) == recorded
    history2 = _mergekit("history", THEO, "--config", str(config))
    assert "Finished first" not in history2.stdout
    assert history2.stdout.count("Moved to Wales") == 1


def test_killed_before_the_workbook_write_the_rerun_adds_the_row_once(config: Path) -> None:
    folder = config.parent
    killed = _mergekit(
        "offroll", "add", THEO, "--config", str(config), *ADD,
        kill_at="offroll:before-workbook-write",
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert THEO not in _upns(folder / "transfer_list.xlsx")
    again = _mergekit("offroll", "add", THEO, "--config", str(config), *ADD)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _upns(folder / "transfer_list.xlsx").count(THEO) == 1
    recorded = _writes(folder, THEO)
    assert ("F7", "Moved to Wales") in recorded
    assert len(recorded) == len(set(recorded)), "a cell was recorded twice"
    assert not (folder / "ledger.sqlite.offroll-pending.json").exists()


def test_a_set_killed_after_the_write_is_recorded_once_by_the_rerun(config: Path) -> None:
    folder = config.parent
    step = ["--data-team-emailed", "26/11/2026"]
    killed = _mergekit(
        "offroll", "set", OLIVER, "--config", str(config), *step,
        kill_at="offroll:after-workbook-write",
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    again = _mergekit("offroll", "set", OLIVER, "--config", str(config), *step)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to change" in again.stdout
    assert _writes(folder, OLIVER) == [("I5", "26/11/2026")]
