"""`mergekit run` under two users and crashes: real CLI processes on a small school.

* Two runs started together make each document once (the school's lock).
* A run killed (SIGKILL, at a named crash point: MERGEKIT_TEST_KILL_AT) and run again finishes
  the day: every document recorded once with the hash of the file on disk, the print pack
  made, nothing repeated.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import needs_soffice
from document_builders import standard_kids, write_school
from racers import Racers, racers
from smtp_server import SmtpServer

from mergekit.core.crashpoint import ENV, POINTS
from mergekit.core.ledger import Ledger
from mergekit.core.lock import ledger_lock_path
from mergekit.core.runfolder import file_sha256

# The count: 20 trials of two runs at once (each racer started once: tests/racers.py).
TRIALS = int(os.environ.get("MERGEKIT_CONCURRENCY_TRIALS", "20"))
RUN = "out/2026-11-27"
NO_PDF = '[pdf]\nsoffice = "/nonexistent/soffice"\n'
MAIL = '[mail]\nfrom = "Attendance Office <attendance@example.org>"\n'


def _school(folder: Path, extra: str = NO_PDF) -> Path:
    return write_school(folder, standard_kids()[:3], extra + MAIL)


def _mergekit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mergekit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


@dataclass(frozen=True)
class State:
    actions: list[tuple[str, str, str]]
    documents: list[tuple[str, str, str]]  # (upn, kind, path) of the current records
    all_documents: list[tuple[str, str, str]]  # every record, replaced ones too
    hashes: dict[str, str]
    messages: list[tuple[str, ...]]


def _ledger_state(config: Path) -> State:
    """What the ledger holds, in a form two runs can be compared by."""
    with Ledger.open(config.parent / "mergekit-ledger.sqlite") as ledger:
        actions = sorted((a.upn, a.action, a.stage) for a in ledger.actions())
        docs = ledger.documents()
        messages = [
            tuple(r) for r in ledger.conn.execute("SELECT upn, dedupe_key, state FROM messages")
        ]
    current = [d for d in docs if d.replaced_by is None]
    return State(
        actions,
        sorted((d.upn, d.kind, d.path) for d in current),
        sorted((d.upn, d.kind, d.path) for d in docs),
        {d.path: d.sha256 for d in current},
        sorted(messages),
    )


def _assert_hashes_match_files(config: Path, state: State) -> None:
    for path, digest in state.hashes.items():
        if path.endswith(".pdf"):
            assert file_sha256(config.parent / path) == digest, path
        else:
            assert (config.parent / path).is_file(), path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> State:
    """The ledger after one uninterrupted run (without LibreOffice)."""
    config = _school(tmp_path_factory.mktemp("reference") / "school")
    r = _mergekit("run", "--config", str(config))
    assert r.returncode == 0, r.stdout + r.stderr
    state = _ledger_state(config)
    assert len(state.documents) == 3
    return state


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _school(tmp_path_factory.mktemp("template") / "school").parent


def test_two_runs_at_once_make_each_document_once(
    template: Path, tmp_path: Path, reference: State
) -> None:
    with racers(2, tmp_path / "go") as race:
        for trial in range(TRIALS):
            _two_runs(race, template, tmp_path / f"t{trial}", trial, reference)


def _two_runs(race: Racers, template: Path, folder: Path, trial: int, reference: State) -> None:
    shutil.copytree(template, folder)
    config = folder / "mergekit.toml"
    results = race.race(["run", "--config", str(config)], ["run", "--config", str(config)])
    for r in results:
        # The second either waited and found nothing new, or was told who holds the lock.
        assert r.returncode == 0 or "is in use by" in r.stderr, (trial, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        assert "unexpected error" not in r.stderr
        assert "restore the ledger" not in r.stderr
    state = _ledger_state(config)
    dupes = [k for k, n in Counter(state.all_documents).items() if n > 1]
    assert not dupes, f"trial {trial}: documents recorded twice: {dupes}"
    assert state.documents == reference.documents, trial
    assert state.actions == reference.actions, trial
    assert state.messages == reference.messages, trial
    assert not ledger_lock_path(config.parent / "mergekit-ledger.sqlite").exists()


@pytest.mark.parametrize(
    "point",
    [
        "run:after-list-actions",
        "documents:after-word-files",
        "documents:after-manifest",
        "documents:mid-recording",
        "documents:after-recording",
        "run:before-email",
    ],
)
def test_a_run_killed_at_a_step_finishes_when_run_again(
    point: str, template: Path, tmp_path: Path, reference: State
) -> None:
    assert point in POINTS
    folder = tmp_path / "school"
    shutil.copytree(template, folder)
    config = folder / "mergekit.toml"
    killed = _mergekit("run", "--config", str(config), env={ENV: point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    # The killed run's lock is left behind; the rerun takes it over (its process is gone).
    assert ledger_lock_path(config.parent / "mergekit-ledger.sqlite").exists()
    again = _mergekit("run", "--config", str(config))
    assert again.returncode == 0, again.stdout + again.stderr
    state = _ledger_state(config)
    assert state.actions == reference.actions
    assert state.documents == reference.documents
    assert state.all_documents == reference.all_documents, "a document was made twice"
    assert state.messages == reference.messages
    manifest = (folder / RUN / "manifest.csv").read_text(encoding="utf-8").splitlines()
    assert len(manifest) == 1 + 3


@needs_soffice
@pytest.mark.parametrize("point", ["documents:after-pdfs", "documents:after-recording"])
def test_killed_before_the_print_pack_the_rerun_makes_it(point: str, tmp_path: Path) -> None:
    config = _school(tmp_path / "school", extra="")
    killed = _mergekit("run", "--config", str(config), env={ENV: point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    run = config.parent / RUN
    assert not (run / "print-pack.pdf").exists()
    again = _mergekit("run", "--config", str(config))
    assert again.returncode == 0, again.stdout + again.stderr
    pack = run / "print-pack.pdf"
    assert pack.is_file()
    state = _ledger_state(config)
    kinds = Counter(kind for _, kind, _ in state.documents)
    assert kinds == {"docx": 3, "pdf": 3}
    assert state.all_documents == state.documents, "a document was recorded twice"
    _assert_hashes_match_files(config, state)
    for pdf in (run / "pdf").glob("*.pdf"):
        assert pack.stat().st_mtime_ns >= pdf.stat().st_mtime_ns


def test_every_crash_point_is_in_the_code_and_killed_at_by_a_test() -> None:
    """POINTS lists every crash_point() in mergekit, and each is used by a kill test here or
    in tests/transfer/test_offroll_crash.py (a new step without a kill test fails this)."""
    root = Path(__file__).resolve().parents[2]
    in_code = set()
    for path in (root / "mergekit").rglob("*.py"):
        in_code |= set(re.findall(r'crash_point\("([^"]+)"\)', path.read_text(encoding="utf-8")))
    assert in_code == set(POINTS)
    kill_tests = (Path(__file__), root / "tests" / "transfer" / "test_offroll_crash.py")
    tests = [p.read_text(encoding="utf-8") for p in kill_tests]
    untested = [p for p in POINTS if not any(f'"{p}"' in t for t in tests)]
    assert not untested, f"no kill test for {untested}"


@needs_soffice
@pytest.mark.parametrize("point", ["documents:after-recording", "run:before-email"])
def test_a_sending_run_killed_before_its_email_sends_each_once_when_run_again(
    point: str, tmp_path: Path
) -> None:
    """`run --send` killed after the documents but before the outbox: nothing reached the
    (real, loopback) server; the rerun sends every message once, and a third run none."""
    with SmtpServer() as server:
        mail = (
            f'[mail]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n'
            'from = "Attendance Office <attendance@example.org>"\n'
        )
        config = write_school(tmp_path / "school", standard_kids()[:3], mail)
        send = ("run", "--config", str(config), "--send", "--limit", "all")
        killed = _mergekit(*send, env={ENV: point})
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        assert server.count() == 0
        again = _mergekit(*send)
        assert again.returncode == 0, again.stdout + again.stderr
        ids = server.message_ids()
        assert ids, again.stdout
        assert len(set(ids)) == len(ids), "a message was sent twice"
        third = _mergekit(*send)
        assert third.returncode == 0, third.stdout + third.stderr
        assert server.count() == len(ids), "the third run sent again"
    with Ledger.open(config.parent / "mergekit-ledger.sqlite") as ledger:
        states = Counter(r[0] for r in ledger.conn.execute("SELECT state FROM messages"))
    assert states == {"sent": len(ids)}
