"""Two people pressing send on the same school at the same moment, trial after trial, against
a real SMTP server on loopback: every message reaches the server once and the ledger marks it
sent once. The school's lock makes the second sender wait, or say who is sending."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

from racers import racers
from smtp_server import SmtpServer, make_school, pupils

# The count for two at once: 20 trials (each racer started once: tests/racers.py).
TRIALS = int(os.environ.get("MERGEKIT_CONCURRENCY_TRIALS", "20"))
N = 12


def test_two_real_sends_at_once_deliver_each_message_once(tmp_path: Path) -> None:
    with SmtpServer() as server, racers(2, tmp_path / "go") as race:
        for trial in range(TRIALS):
            school = make_school(tmp_path / f"t{trial}", pupils(N), port=server.port)
            before = server.count()
            send = ["send", "--config", str(school.config), "--send", "--limit", "all"]
            results = race.race(send, send)
            ids = server.message_ids()[before:]
            assert len(ids) == N, f"trial {trial}: {len(ids)} of {N} messages arrived"
            assert len(set(ids)) == N, f"trial {trial}: a message was sent twice"
            conn = sqlite3.connect(school.ledger)
            try:
                states = Counter(r[0] for r in conn.execute("SELECT state FROM messages"))
            finally:
                conn.close()
            assert states == {"sent": N}, (trial, states)
            # Each said what happened: one sent them all; the other, after waiting, found them
            # already sent, or was told who was sending.
            outcomes = sorted(_outcome(r.stdout, r.stderr) for r in results)
            assert outcomes in (["nothing left", "sent all"], ["refused", "sent all"]), (
                trial,
                [(r.stdout[-500:], r.stderr) for r in results],
            )


def _outcome(stdout: str, stderr: str) -> str:
    if f"Sent {N}, failed 0, unknown 0; 0 still to send." in stdout:
        return "sent all"
    if f"Already sent, not sent again: {N}" in stdout and "Sent 0, failed 0" in stdout:
        return "nothing left"
    if "is in use by" in stderr:
        return "refused"
    return "unclear"
