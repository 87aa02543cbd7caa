"""The issue's "done when": every outbox message delivered exactly once with auth = "oauth2"
and MERGEKIT_OAUTH_TOKEN, through Graph and through SMTP (XOAUTH2 only), surviving a SIGKILL
part-way and a rerun, with the one message in flight settled as a person would."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from graph_server import StandIn
from smtp_server import School, SmtpServer, make_school, pupils

from mergekit.cli import main

pytestmark = pytest.mark.slow

N = 200
TOKEN = "token-issued-by-the-schools-it-team"
USER = "attendance@northgate.example.org"


def states(school: School) -> Counter[str]:
    conn = sqlite3.connect(school.ledger)
    try:
        return Counter(r[0] for r in conn.execute("SELECT state FROM messages"))
    finally:
        conn.close()


def unknown_ids(school: School) -> list[str]:
    conn = sqlite3.connect(school.ledger)
    try:
        return [r[0] for r in conn.execute("SELECT message_id FROM messages WHERE state='unknown'")]
    finally:
        conn.close()


def mergekit(school: School, *args: str) -> list[str]:
    return [sys.executable, "-m", "mergekit", "send", "--config", str(school.config), *args]


def kill_then_rerun(school: School, count: Callable[[], int], ids: Callable[[], list[str]]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERGEKIT_")}
    env["MERGEKIT_OAUTH_TOKEN"] = TOKEN
    proc = subprocess.Popen(
        mergekit(school, "--send", "--limit", "all"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 120
        while count() < 40 and time.monotonic() < end:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    time.sleep(0.2)
    before = count()
    assert 40 <= before < N, f"the kill landed after {before} messages"
    left = states(school)
    assert left["sending"] <= 1

    runner = CliRunner(env={"MERGEKIT_OAUTH_TOKEN": TOKEN})
    rerun = runner.invoke(main, mergekit(school, "--send", "--limit", "all")[3:])
    assert rerun.exit_code == 0, rerun.output[-2000:]
    assert states(school)["sending"] == 0
    for mid in unknown_ids(school):
        # What staff do: look in Sent Items; mark it sent if it is there, else resend it.
        if mid in ids():
            settle = runner.invoke(main, mergekit(school, "--mark-sent", mid)[3:])
        else:
            settle = runner.invoke(
                main, mergekit(school, "--send", "--limit", "all", "--resend-unknown")[3:]
            )
        assert settle.exit_code == 0, settle.output[-2000:]
    assert states(school) == {"sent": N}
    got = Counter(ids())
    assert len(got) == N
    assert max(got.values()) == 1, [m for m, n in got.items() if n > 1]


def test_graph_sigkill_part_way_then_rerun_delivers_each_exactly_once(tmp_path: Path) -> None:
    with StandIn(accepted_tokens={TOKEN}, reply_delay=0.02) as standin:
        school = make_school(
            tmp_path / "s",
            pupils(N),
            transport="graph",
            auth="oauth2",
            graph_url=standin.graph_url,
        )
        kill_then_rerun(school, standin.count, standin.message_ids)
        assert all(
            c.headers["authorization"] == f"Bearer {TOKEN}" for c in standin.calls("/sendMail")
        )


def test_smtp_xoauth2_sigkill_part_way_then_rerun_delivers_each_exactly_once(
    tmp_path: Path,
) -> None:
    with SmtpServer(reply_delay=0.02, xoauth2_user=USER, xoauth2_tokens={TOKEN}) as server:
        school = make_school(tmp_path / "s", pupils(N), port=server.port, auth="oauth2")
        kill_then_rerun(school, server.count, server.message_ids)
        assert {m.login for m in server.messages()} == {USER}
