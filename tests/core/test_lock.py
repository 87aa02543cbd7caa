"""core/lock.py: lock files held across a command, who holds them, stale takeover; and the
ledger's message when it cannot be opened. Other holders are real processes."""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mergekit.core import lock as lk
from mergekit.core.errors import LedgerError, LockedError
from mergekit.core.ledger import Ledger

_HOLDER = """
import sys
from pathlib import Path
from mergekit.core.lock import hold
with hold(Path(sys.argv[1]), "the thing", "run"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def held_elsewhere(path: Path) -> Iterator[subprocess.Popen[str]]:
    """The lock held by another process until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    try:
        yield proc
    finally:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        proc.stdout.close()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(path: Path, *, pid: int, host: str, since: datetime) -> None:
    body = {
        "user": "someone",
        "host": host,
        "pid": pid,
        "since": since.isoformat(timespec="seconds"),
        "what": "run",
        "token": "old-token",
    }
    path.write_text(json.dumps(body))


def test_the_lock_file_names_who_holds_it_and_goes_when_released(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite.lock"
    with lk.hold(path, "the ledger", "offroll add"):
        body = json.loads(path.read_text())
        assert body["pid"] == os.getpid()
        assert body["host"] == socket.gethostname()
        assert body["what"] == "offroll add"
        assert body["user"]
        since = datetime.fromisoformat(body["since"])
        assert abs((datetime.now(UTC) - since).total_seconds()) < 5
    assert not path.exists()


def test_a_lock_is_re_entrant_within_a_process(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with lk.hold(path, "x"):
        with lk.hold(path, "x", wait=0):
            assert path.exists()
        assert path.exists()  # still held by the outer block
    assert not path.exists()


def test_the_second_user_waits_then_is_told_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite.lock"
    with held_elsewhere(path) as proc:
        start = time.monotonic()
        with pytest.raises(LockedError) as e, lk.hold(path, "the ledger ledger.sqlite", wait=0.6):
            pass
        waited = time.monotonic() - start
    message = str(e.value)
    assert waited >= 0.6
    assert f"@{socket.gethostname()}" in message
    assert f"process {proc.pid}" in message
    assert "mergekit run" in message
    assert "since " in message
    assert "the ledger ledger.sqlite is in use by" in message
    assert "wait for that mergekit to finish" in message
    assert str(path) in message


def test_the_second_user_gets_the_lock_when_the_first_finishes_in_time(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\nfrom pathlib import Path\nfrom mergekit.core.lock import hold\n"
            "with hold(Path(sys.argv[1]), 'x'):\n    print('held', flush=True)\n"
            "    time.sleep(0.8)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    with lk.hold(path, "x", wait=10):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    proc.wait(timeout=10)
    proc.stdout.close()


def test_a_lock_left_by_a_dead_process_on_this_computer_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    _write_lock(path, pid=_dead_pid(), host=socket.gethostname(), since=datetime.now(UTC))
    start = time.monotonic()
    with lk.hold(path, "x", wait=5):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert time.monotonic() - start < 2
    assert list(tmp_path.iterdir()) == []  # nothing left aside


def test_another_computers_lock_is_waited_for_until_it_is_very_old(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    _write_lock(path, pid=12345, host="office-pc-2.example.org", since=datetime.now(UTC))
    with (
        pytest.raises(LockedError, match=r"someone@office-pc-2\.example\.org"),
        lk.hold(path, "x", wait=0.3),
    ):
        pass
    old = datetime.now(UTC) - timedelta(seconds=lk.STALE_AFTER + 60)
    _write_lock(path, pid=12345, host="office-pc-2.example.org", since=old)
    with lk.hold(path, "x", wait=0.3):
        assert json.loads(path.read_text())["pid"] == os.getpid()


_TAKER = """
import sys, time
from pathlib import Path
from mergekit.core.lock import hold
path, log = Path(sys.argv[1]), Path(sys.argv[2])
while not Path(sys.argv[3]).exists():
    time.sleep(0.005)
with hold(path, "x", wait=30):
    start = time.time()
    time.sleep(0.2)
    with log.open("a") as fh:
        fh.write(f"{start} {time.time()}\\n")
"""


def test_two_takers_of_a_stale_lock_never_both_hold_it(tmp_path: Path) -> None:
    path, log, go = tmp_path / "x.lock", tmp_path / "log.txt", tmp_path / "go"
    _write_lock(path, pid=_dead_pid(), host=socket.gethostname(), since=datetime.now(UTC))
    procs = [
        subprocess.Popen([sys.executable, "-c", _TAKER, str(path), str(log), str(go)])
        for _ in range(4)
    ]
    time.sleep(0.5)  # all four started and waiting for the go
    go.touch()
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert len(spans) == 4
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, "two processes held the lock at once"


def test_an_unparsable_lock_being_written_is_waited_for_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.write_bytes(b"")  # created this instant, content not yet written
    with pytest.raises(LockedError), lk.hold(path, "x", wait=0.3):
        pass


# -- the ledger's message when it cannot be opened -------------------------------------------


def test_a_ledger_held_by_another_mergekit_is_never_to_be_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lk, "WAIT_SECONDS", 0.3)  # the default wait, shortened
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(b"\x00" * 10)  # half-created by the other process
    with (
        held_elsewhere(lk.ledger_lock_path(ledger)),
        pytest.raises(LockedError) as e,
        Ledger.open(ledger),
    ):
        pass
    assert "from a backup" not in str(e.value)
    assert "is in use by" in str(e.value)
    # read-only (as `mergekit plan` opens it), the half-made file is not called a non-ledger
    with held_elsewhere(lk.ledger_lock_path(ledger)), pytest.raises(LedgerError) as e2:
        Ledger.open_readonly(ledger)
    assert "being written by" in str(e2.value)
    assert "from a backup" not in str(e2.value)


def test_the_restore_advice_is_only_for_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(b"this is a spreadsheet, not a ledger " * 200)
    with pytest.raises(LedgerError, match=r"not a mergekit ledger .* restore the ledger"):
        Ledger.open(ledger)
    assert not lk.ledger_lock_path(ledger).exists()  # the lock went with the failure


def test_a_ledger_busy_in_another_program_says_wait_not_restore(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    with Ledger.open(ledger):
        pass
    other = sqlite3.connect(ledger, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        conn = sqlite3.connect(ledger, timeout=0.1)
        with pytest.raises(sqlite3.OperationalError) as raw:
            conn.execute("PRAGMA user_version").fetchone()
        conn.close()
        from mergekit.core.ledger import _unreadable

        message = str(_unreadable(ledger, raw.value))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "wait a moment and run this again" in message
    assert "do not replace or restore" in message
