"""Issue 17.5, the email part, against a real SMTP server on loopback: the school's own log copy
(Bcc) being refused is a warning, never a failed delivery to the family; a slow server gets a
generous wait on DATA, and only after it is a message "unknown"."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from smtp_server import School, SmtpServer, make_school, pupils

from mergekit.cli import main

LOG = "sent-log@northgate.example.org"


def send(school: School, *args: str) -> Result:
    return CliRunner().invoke(main, ["send", "--config", str(school.config), *args])


def states(school: School) -> list[str]:
    conn = sqlite3.connect(school.ledger)
    try:
        return [r[0] for r in conn.execute("SELECT state FROM messages ORDER BY id")]
    finally:
        conn.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("how", ["permanently", "temporarily"])
def test_refused_log_copy_is_a_warning_and_the_families_get_their_letters_once(
    tmp_path: Path, how: str
) -> None:
    with SmtpServer() as server:
        if how == "permanently":
            server.reject_permanently(LOG)
        else:
            server.reject_temporarily(LOG, 1000)
        school = make_school(tmp_path / "s", pupils(5), port=server.port)
        result = send(school, "--send", "--limit", "all")
        assert result.exit_code == 0, result.output
        got = server.messages()
        assert len(got) == 5
        assert all(LOG not in m.rcpt_tos for m in got)
        again = send(school, "--send", "--limit", "all")
        assert server.count() == 5  # nothing sent twice
    assert states(school) == ["sent"] * 5
    # Not on the print list (families would get the letter twice), not a failure.
    assert read_csv(school.run_dir / "print-list.csv") == []
    assert read_csv(school.run_dir / "failures.csv") == []
    assert result.output.count(f"log copy (Bcc) to {LOG} refused") == 5
    assert "Sent 5, failed 0" in result.output
    assert "Already sent, not sent again: 5" in again.output


def test_slow_server_within_the_data_timeout_is_sent_not_unknown(tmp_path: Path) -> None:
    # The connection timeout is short; the server takes longer than it to say 250.
    with SmtpServer(reply_delay=1.2) as server:
        school = make_school(
            tmp_path / "s",
            pupils(2),
            port=server.port,
            timeout_seconds=0.5,
            data_timeout_seconds=30,
        )
        result = send(school, "--send", "--limit", "all")
        assert result.exit_code == 0, result.output
        assert server.count() == 2
    assert states(school) == ["sent", "sent"]


def test_no_answer_after_the_data_timeout_is_unknown_and_says_how_long_it_waited(
    tmp_path: Path,
) -> None:
    with SmtpServer(reply_delay=2.0) as server:
        school = make_school(
            tmp_path / "s",
            pupils(1),
            port=server.port,
            timeout_seconds=0.3,
            data_timeout_seconds=0.6,
        )
        result = send(school, "--send")
        assert server.count() == 1  # the server has it: exactly why it is unknown, not failed
    assert result.exit_code == 1
    assert states(school) == ["unknown"]
    assert "within 0.6 s of handing over the message" in result.output
