"""200 messages through a real SMTP server: all arrive, each to the right family with the right
letter, and a sending process killed with SIGKILL part-way never makes a duplicate."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from smtp_server import School, SmtpServer, make_school, pupils

from mergekit.cli import main

pytestmark = pytest.mark.slow

N = 200
UPN_RE = re.compile(r"UPN ([A-Z0-9]{13})")


def mergekit_exe() -> list[str]:
    return [sys.executable, "-m", "mergekit"]


def attachment_upn(data: bytes) -> str:
    import io

    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    m = UPN_RE.search(text)
    assert m, text
    return m.group(1)


def states(school: School) -> Counter[str]:
    conn = sqlite3.connect(school.ledger)
    try:
        return Counter(r[0] for r in conn.execute("SELECT state FROM messages"))
    finally:
        conn.close()


def test_200_messages_arrive_complete_each_to_its_own_pupils_contacts(tmp_path: Path) -> None:
    with SmtpServer() as server:
        school = make_school(tmp_path / "school", pupils(N), port=server.port)
        result = CliRunner().invoke(
            main, ["send", "--config", str(school.config), "--send", "--limit", "all"]
        )
        assert result.exit_code == 0, result.output[-2000:]
        got = server.messages()
    assert len(got) == N
    assert len({m.message_id for m in got}) == N
    by_upn = school.by_upn()
    seen: set[str] = set()
    for received in got:
        msg = received.message
        [att] = list(msg.iter_attachments())
        upn = attachment_upn(att.get_content())
        pupil = by_upn[upn]
        seen.add(upn)
        # The letter, the subject, the body and the recipients all belong to one pupil.
        assert pupil.forename in str(msg["Subject"])
        body = msg.get_body(("plain",))
        assert body is not None
        assert pupil.full_name in body.get_content()
        family = {c.email for c in pupil.contacts}
        assert set(received.rcpt_tos) == family | {"sent-log@northgate.example.org"}
        assert {a.addr_spec for a in msg["To"].addresses} == family
        assert msg["Bcc"] is None
    assert seen == set(by_upn)


def test_sigkill_part_way_then_rerun_delivers_each_message_exactly_once(tmp_path: Path) -> None:
    # The server takes each message 20 ms before it says so: the kill almost always lands
    # after the server has a message and before the sender has recorded it as sent.
    with SmtpServer(reply_delay=0.02) as server:
        school = make_school(tmp_path / "school", pupils(N), port=server.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERGEKIT_")}
        proc = subprocess.Popen(
            [*mergekit_exe(), "send", "--config", str(school.config), "--send", "--limit", "all"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert server.wait_for(40, timeout=120), "the sender never got going"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        time.sleep(0.2)  # let the server finish any transaction in flight
        before = server.count()
        assert 40 <= before < N, f"the kill landed after {before} messages"
        left = states(school)
        server.reply_delay = 0.0
        assert left["sending"] <= 1  # at most the one in flight

        rerun = CliRunner().invoke(
            main, ["send", "--config", str(school.config), "--send", "--limit", "all"]
        )
        assert rerun.exit_code == 0, rerun.output[-2000:]
        after = states(school)
        assert after["sending"] == 0
        if left["sending"]:
            assert after["unknown"] == 1
            assert "Interrupted last time" in rerun.output
            conn = sqlite3.connect(school.ledger)
            [mid] = [
                r[0] for r in conn.execute("SELECT message_id FROM messages WHERE state='unknown'")
            ]
            conn.close()
            # What staff do: look in the sent-log mailbox; resend only if it is not there.
            if mid not in server.message_ids():
                resent = CliRunner().invoke(
                    main,
                    [
                        "send",
                        "--config",
                        str(school.config),
                        "--send",
                        "--limit",
                        "all",
                        "--resend-unknown",
                    ],
                )
                assert resent.exit_code == 0, resent.output[-2000:]
        ids = server.message_ids()
    counts = Counter(ids)
    assert len(ids) == N, f"{len(ids)} delivered"
    assert max(counts.values()) == 1, [m for m, n in counts.items() if n > 1]
