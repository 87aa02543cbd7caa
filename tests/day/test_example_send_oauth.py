"""Issue 12's "done when", on the example school: after `mergekit demo`, `mergekit send --send
--limit all` with auth = "oauth2" and MERGEKIT_OAUTH_TOKEN delivers every outbox message once,
through a Graph stand-in and through an SMTP server that accepts only XOAUTH2 with that token,
surviving a SIGKILL part-way and a rerun."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import needs_soffice
from graph_server import StandIn
from smtp_server import SmtpServer

from mergekit.cli import main

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]
TOKEN = "token-from-the-it-team"
USER = "attendance@northgate.example.org"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mergekit demo` once for the module: the example school's day, its emails queued."""
    out = tmp_path_factory.mktemp("demo-oauth") / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def school_with(demo: Path, tmp_path: Path, **mail: object) -> Path:
    folder = Path(shutil.copytree(demo, tmp_path / "demo"))
    config = folder / "mergekit.toml"
    lines = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in mail.items())
    text = config.read_text(encoding="utf-8").replace("[mail]\n", "[mail]\n" + lines, 1)
    config.write_text(text, encoding="utf-8")
    return config


def states(config: Path) -> Counter[str]:
    conn = sqlite3.connect(config.parent / "mergekit-ledger.sqlite")
    try:
        return Counter(r[0] for r in conn.execute("SELECT state FROM messages"))
    finally:
        conn.close()


def unknown_ids(config: Path) -> list[str]:
    conn = sqlite3.connect(config.parent / "mergekit-ledger.sqlite")
    try:
        return [r[0] for r in conn.execute("SELECT message_id FROM messages WHERE state='unknown'")]
    finally:
        conn.close()


def send(config: Path, *args: str) -> Result:
    return CliRunner(env={"MERGEKIT_OAUTH_TOKEN": TOKEN}).invoke(
        main, ["send", "--config", str(config), *args]
    )


def kill_rerun_settle(config: Path, count: Callable[[], int], ids: Callable[[], list[str]]) -> None:
    queued = states(config)["queued"]
    assert queued >= 10, states(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERGEKIT_")}
    env["MERGEKIT_OAUTH_TOKEN"] = TOKEN
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mergekit",
            "send",
            "--config",
            str(config),
            "--send",
            "--limit",
            "all",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 120
        while count() < 4 and time.monotonic() < end:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    time.sleep(0.5)
    assert 4 <= count() < queued, f"the kill landed after {count()} of {queued}"
    rerun = send(config, "--send", "--limit", "all")
    assert rerun.exit_code == 0, rerun.output[-2000:]
    for mid in unknown_ids(config):
        # A person looks in the Sent Items: there -> --mark-sent; not there -> resend.
        if mid in ids():
            settled = send(config, "--mark-sent", mid)
        else:
            settled = send(config, "--send", "--limit", "all", "--resend-unknown")
        assert settled.exit_code == 0, settled.output[-2000:]
    assert states(config) == {"sent": queued}
    got = Counter(ids())
    assert len(got) == queued
    assert max(got.values()) == 1


@needs_soffice
def test_example_school_through_graph_with_the_env_token_exactly_once_across_a_kill(
    demo: Path, tmp_path: Path
) -> None:
    with StandIn(accepted_tokens={TOKEN}, reply_delay=0.15) as standin:
        config = school_with(
            demo, tmp_path, transport="graph", auth="oauth2", graph_url=standin.graph_url
        )
        kill_rerun_settle(config, standin.count, standin.message_ids)


@needs_soffice
def test_example_school_through_smtp_xoauth2_only_exactly_once_across_a_kill(
    demo: Path, tmp_path: Path
) -> None:
    with SmtpServer(reply_delay=0.15, xoauth2_user=USER, xoauth2_tokens={TOKEN}) as server:
        config = school_with(demo, tmp_path, auth="oauth2")
        text = config.read_text(encoding="utf-8").replace("port = 8025", f"port = {server.port}")
        config.write_text(text, encoding="utf-8")
        kill_rerun_settle(config, server.count, server.message_ids)
        assert {m.login for m in server.messages()} == {USER}
