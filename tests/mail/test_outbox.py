"""Sending through a real SMTP server on 127.0.0.1: the ledger's state machine, refusals and
retries, TLS, AUTH and where the password comes from."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from smtp_server import (
    DAY,
    CertFiles,
    Contact,
    School,
    SmtpServer,
    make_certificate,
    make_school,
    pupils,
)

from mergekit.cli import main
from mergekit.core.errors import MailError
from mergekit.core.model import Action
from mergekit.core.workspace import open_workspace
from mergekit.day.send import send_day
from mergekit.mail.outbox import deliver
from mergekit.mail.transports.smtp import is_loopback
from mergekit.read.tracking import read_tracking

USER = "attendance@northgate.example.org"
SECRET = "correct horse battery staple"


def send(school: School, *args: str) -> Result:
    return CliRunner().invoke(main, ["send", "--config", str(school.config), *args])


def rows(school: School) -> list[sqlite3.Row]:
    conn = sqlite3.connect(school.ledger)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM messages ORDER BY id").fetchall()
    finally:
        conn.close()


def states(school: School) -> dict[str, str]:
    return {r["upn"]: r["state"] for r in rows(school)}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as s:
        yield s


@pytest.fixture
def cert(tmp_path: Path) -> CertFiles:
    return make_certificate(tmp_path / "tls")


@pytest.fixture
def school(tmp_path: Path, server: SmtpServer) -> School:
    return make_school(tmp_path / "school", pupils(6), port=server.port)


# ---------------------------------------------------------------------------------------------
# The state machine


def test_dry_run_queues_each_message_once_however_often_it_runs(
    school: School, server: SmtpServer
) -> None:
    for _ in range(3):
        result = send(school)
        assert result.exit_code == 0, result.output
    assert len(rows(school)) == 6
    assert set(states(school).values()) == {"queued"}
    assert len(list((school.run_dir / "outbox").glob("*.eml"))) == 6
    assert server.count() == 0


def test_message_id_fixed_at_queue_time_is_the_one_sent(school: School, server: SmtpServer) -> None:
    assert send(school).exit_code == 0
    queued = {r["upn"]: r["message_id"] for r in rows(school)}
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    received = {m.message_id for m in server.messages()}
    assert received == set(queued.values())


def test_real_send_defaults_to_one_message_then_the_rest_with_limit_all(
    school: School, server: SmtpServer
) -> None:
    first = send(school, "--send")
    assert first.exit_code == 0, first.output
    assert server.count() == 1
    assert "5 more messages waiting" in first.output
    assert "mergekit send --send --limit all" in first.output
    rest = send(school, "--send", "--limit", "all")
    assert rest.exit_code == 0, rest.output
    assert server.count() == 6
    assert "Already sent, not sent again: 1" in rest.output
    again = send(school, "--send", "--limit", "all")
    assert again.exit_code == 0
    assert server.count() == 6
    assert "Already sent, not sent again: 6" in again.output


def test_limit_n_sends_at_most_n(school: School, server: SmtpServer) -> None:
    assert send(school, "--send", "--limit", "4").exit_code == 0
    assert server.count() == 4
    assert sorted(states(school).values()) == ["queued", "queued", "sent", "sent", "sent", "sent"]


def test_message_left_sending_by_a_crash_is_reported_unknown_and_not_resent(
    school: School, server: SmtpServer
) -> None:
    assert send(school).exit_code == 0
    crashed = rows(school)[2]
    with sqlite3.connect(school.ledger) as conn:
        # What a process killed between "sending" and "sent" leaves behind.
        conn.execute("UPDATE messages SET state = 'sending' WHERE id = ?", (crashed["id"],))
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert "Interrupted last time" in result.output
    assert crashed["message_id"] in result.output
    assert "--resend-unknown" in result.output
    assert crashed["message_id"] not in server.message_ids()
    assert server.count() == 5
    assert states(school)[crashed["upn"]] == "unknown"
    # Reported again on every run until someone decides.
    later = send(school, "--send", "--limit", "all")
    assert "1 message(s) may or may not have been sent" in later.output
    assert server.count() == 5
    resent = send(school, "--send", "--limit", "all", "--resend-unknown")
    assert resent.exit_code == 0, resent.output
    assert server.count() == 6
    assert sorted(server.message_ids()) == sorted(r["message_id"] for r in rows(school))
    assert set(states(school).values()) == {"sent"}


def test_sent_message_moves_to_outbox_sent_and_history_shows_who_and_when(
    school: School, server: SmtpServer
) -> None:
    assert send(school, "--send", "--limit", "all").exit_code == 0
    outbox = school.run_dir / "outbox"
    assert list(outbox.glob("*.eml")) == []
    assert len(list((outbox / "sent").glob("*.eml"))) == 6
    p = school.pupils[0]
    row = next(r for r in rows(school) if r["upn"] == p.upn)
    assert row["sent_at"]
    history = CliRunner().invoke(main, ["history", p.upn, "--config", str(school.config)])
    assert history.exit_code == 0, history.output
    assert "email sent" in history.output
    assert row["message_id"] in history.output
    assert p.contacts[0].email in history.output


# ---------------------------------------------------------------------------------------------
# Refusals and retries


def test_permanent_refusal_is_listed_and_temporary_one_succeeds_on_retry(
    school: School, server: SmtpServer
) -> None:
    by_index = school.pupils
    permanent, temporary, half = by_index[1], by_index[3], by_index[2]  # half has two contacts
    server.reject_permanently(permanent.contacts[0].email)
    server.reject_temporarily(temporary.contacts[0].email, 2)
    server.reject_permanently(half.contacts[1].email)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1, result.output  # a failure is not a success
    got = {m.message_id: m for m in server.messages()}
    assert len(got) == 5  # everyone but the permanently refused one
    s = states(school)
    assert s[permanent.upn] == "failed"
    assert s[temporary.upn] == "sent"
    assert s[half.upn] == "sent"
    temp_row = next(r for r in rows(school) if r["upn"] == temporary.upn)
    assert temp_row["attempts"] == 3
    assert [c for a, c in server.refusals if a == temporary.contacts[0].email] == ["451", "451"]
    failures = read_csv(school.run_dir / "failures.csv")
    assert {(f["upn"], f["recipients"].split("<")[-1].rstrip(">")) for f in failures} == {
        (permanent.upn, permanent.contacts[0].email),
        (half.upn, half.contacts[1].email),
    }
    assert all("550" in f["reason"] for f in failures)
    printed = read_csv(school.run_dir / "print-list.csv")
    assert {(p["upn"], p["contact"]) for p in printed} == {
        (permanent.upn, permanent.contacts[0].name),
        (half.upn, half.contacts[1].name),
    }
    # The half-refused message went to the one who accepted it, and the ledger says so.
    half_row = next(r for r in rows(school) if r["upn"] == half.upn)
    assert half.contacts[1].email not in half_row["recipients"]
    assert half.contacts[0].email in half_row["recipients"]


def test_rerun_retries_failed_message_and_clears_it_from_failures_csv(
    school: School, server: SmtpServer
) -> None:
    target = school.pupils[0]
    server.reject_permanently(target.contacts[0].email)
    assert send(school, "--send", "--limit", "all").exit_code == 1
    assert len(read_csv(school.run_dir / "failures.csv")) == 1
    dry = send(school)
    assert dry.exit_code == 0  # a dry run fails nothing, but says what happened last time
    assert "Last try:   permanent failure: " in dry.output
    assert "To send this 1 message, run:" in dry.output
    server.permanent.clear()  # the school fixed the address with the provider
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert server.count() == 6
    assert read_csv(school.run_dir / "failures.csv") == []


def test_temporary_refusal_that_never_clears_fails_after_the_configured_retries(
    tmp_path: Path, server: SmtpServer
) -> None:
    school = make_school(tmp_path / "s", pupils(2), port=server.port, retries=2)
    stuck = school.pupils[0]
    server.reject_temporarily(stuck.contacts[0].email, 100)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1
    assert server.count() == 1
    row = next(r for r in rows(school) if r["upn"] == stuck.upn)
    assert (row["state"], row["attempts"]) == ("failed", 3)
    assert "gave up after 3 tries" in row["last_error"]
    # A temporary failure is not a reason to post the letter: it is retried next time.
    assert read_csv(school.run_dir / "print-list.csv") == []


def test_server_going_away_stops_the_batch_and_leaves_the_rest_queued(
    tmp_path: Path,
) -> None:
    server = SmtpServer().start()
    port = server.port
    server.stop()  # nothing listens there now
    school = make_school(tmp_path / "s", pupils(3), port=port, retries=1)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1
    assert "Stopped: cannot connect to 127.0.0.1" in result.output
    assert set(states(school).values()) == {"queued"}


# ---------------------------------------------------------------------------------------------
# Where and how it connects


def test_plain_smtp_to_a_non_loopback_host_is_refused_before_anything_happens(
    tmp_path: Path,
) -> None:
    school = make_school(tmp_path / "s", pupils(2), host="smtp.example.org", port=25)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1
    assert 'security = "none" would send pupils\' data unencrypted to smtp.example.org' in (
        result.output
    )
    assert not school.ledger.exists() or rows(school) == []


def test_dry_run_with_plain_smtp_to_a_remote_host_warns_what_a_send_would_refuse(
    tmp_path: Path,
) -> None:
    school = make_school(tmp_path / "s", pupils(1), host="10.1.2.3")
    result = send(school)
    assert result.exit_code == 0
    assert "a real send would be refused" in result.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("smtp.example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_starttls_with_auth_sends_encrypted_and_logged_in(
    tmp_path: Path, cert: CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    monkeypatch.setenv("MERGEKIT_SMTP_PASSWORD", SECRET)
    with SmtpServer(tls="starttls", cert=cert, auth=(USER, SECRET)) as server:
        school = make_school(
            tmp_path / "s", pupils(3), port=server.port, security="starttls", username=USER
        )
        result = send(school, "--send", "--limit", "all")
        assert result.exit_code == 0, result.output
        got = server.messages()
    assert len(got) == 3
    assert all(m.tls and m.login == USER for m in got)


def test_implicit_tls_with_auth_sends(
    tmp_path: Path, cert: CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    monkeypatch.setenv("MERGEKIT_SMTP_PASSWORD", SECRET)
    with SmtpServer(tls="ssl", cert=cert, auth=(USER, SECRET)) as server:
        school = make_school(
            tmp_path / "s", pupils(2), port=server.port, security="ssl", username=USER
        )
        result = send(school, "--send", "--limit", "all")
        assert result.exit_code == 0, result.output
        got = server.messages()
    assert len(got) == 2
    assert all(m.tls and m.login == USER for m in got)


def test_untrusted_certificate_stops_the_send_and_nothing_goes(
    tmp_path: Path, cert: CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_certificate(tmp_path / "other-ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(other.cert))  # trusts a different certificate
    with SmtpServer(tls="ssl", cert=cert) as server:
        school = make_school(tmp_path / "s", pupils(2), port=server.port, security="ssl")
        result = send(school, "--send", "--limit", "all")
        assert server.count() == 0
    assert result.exit_code == 1
    assert "certificate cannot be trusted" in result.output
    assert set(states(school).values()) == {"queued"}


def test_starttls_required_but_not_offered_is_refused(tmp_path: Path, server: SmtpServer) -> None:
    school = make_school(tmp_path / "s", pupils(1), port=server.port, security="starttls")
    result = send(school, "--send")
    assert result.exit_code == 1
    assert "does not offer STARTTLS" in result.output
    assert server.count() == 0


def test_wrong_password_stops_with_a_clear_error_and_a_rerun_sends(
    tmp_path: Path, cert: CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    monkeypatch.setenv("MERGEKIT_SMTP_PASSWORD", "wrong")
    with SmtpServer(tls="starttls", cert=cert, auth=(USER, SECRET)) as server:
        school = make_school(
            tmp_path / "s", pupils(2), port=server.port, security="starttls", username=USER
        )
        bad = send(school, "--send", "--limit", "all")
        assert bad.exit_code == 1
        assert f"refused the login for '{USER}'" in bad.output
        assert set(states(school).values()) == {"queued"}
        monkeypatch.setenv("MERGEKIT_SMTP_PASSWORD", SECRET)
        good = send(school, "--send", "--limit", "all")
        assert good.exit_code == 0, good.output
        assert server.count() == 2


class _MemoryKeyring:
    """A keyring backend holding passwords in a dict, for the keyring test only."""

    def __init__(self, passwords: dict[tuple[str, str], str]) -> None:
        import keyring.backend

        class Backend(keyring.backend.KeyringBackend):
            priority = 1  # type: ignore[assignment]

            def get_password(self, service: str, username: str) -> str | None:
                return passwords.get((service, username))

            def set_password(self, service: str, username: str, password: str) -> None:
                passwords[(service, username)] = password

            def delete_password(self, service: str, username: str) -> None:
                passwords.pop((service, username), None)

        self.backend: Any = Backend()


@pytest.fixture
def keyring_with() -> Iterator[dict[tuple[str, str], str]]:
    import keyring

    passwords: dict[tuple[str, str], str] = {}
    before = keyring.get_keyring()
    keyring.set_keyring(_MemoryKeyring(passwords).backend)
    try:
        yield passwords
    finally:
        keyring.set_keyring(before)


def test_password_comes_from_the_os_keyring_when_the_variable_is_unset(
    tmp_path: Path, cert: CertFiles, monkeypatch: pytest.MonkeyPatch, keyring_with: dict[Any, str]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    keyring_with[("mergekit", USER)] = SECRET
    with SmtpServer(tls="starttls", cert=cert, auth=(USER, SECRET)) as server:
        school = make_school(
            tmp_path / "s", pupils(1), port=server.port, security="starttls", username=USER
        )
        result = send(school, "--send")
        assert result.exit_code == 0, result.output
        assert server.count() == 1


def test_password_is_never_read_from_the_config_file(
    tmp_path: Path, cert: CertFiles, monkeypatch: pytest.MonkeyPatch, keyring_with: dict[Any, str]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    with SmtpServer(tls="starttls", cert=cert, auth=(USER, SECRET)) as server:
        school = make_school(
            tmp_path / "s",
            pupils(1),
            port=server.port,
            security="starttls",
            username=USER,
            password=SECRET,  # what a user might try; mergekit must ignore it
        )
        result = send(school, "--send")
        assert server.connections == 0
    assert result.exit_code == 1
    assert "unknown key 'password' in [mail]" in result.output
    assert "needs a password, and there is none" in result.output
    assert "MERGEKIT_SMTP_PASSWORD" in result.output


# ---------------------------------------------------------------------------------------------
# Day-1 notices from the plan


def test_day1_notice_from_the_real_plan_goes_to_the_social_worker_once_and_is_recorded(
    tmp_path: Path, server: SmtpServer
) -> None:
    vulnerable = pupils(1, action="", start=40)[0]
    from dataclasses import replace

    vulnerable = replace(
        vulnerable,
        looked_after=True,
        absent_today=True,
        social_worker_email="sam.worker@example.gov.uk",
    )
    school = make_school(tmp_path / "s", [vulnerable, *pupils(1)], port=server.port)
    result = send(school, "--send", "--limit", "all", "--only", "vulnerable_day1_contact")
    assert result.exit_code == 0, result.output
    [got] = server.messages()
    assert got.rcpt_tos[0] == "sam.worker@example.gov.uk"
    assert vulnerable.full_name in got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert vulnerable.surname not in str(got.message["Subject"])
    with sqlite3.connect(school.ledger) as conn:
        recorded = conn.execute(
            "SELECT stage FROM actions WHERE upn = ? AND action = 'vulnerable_day1_contact'",
            (vulnerable.upn,),
        ).fetchall()
    assert recorded == [(DAY.isoformat(),)]
    again = send(school, "--send", "--limit", "all")
    assert again.exit_code == 0, again.output
    assert server.count() == 2  # the letter only; the notice is not sent again


def test_library_call_with_a_given_plan_needs_no_planner(
    tmp_path: Path, server: SmtpServer
) -> None:
    p = pupils(1, action="", start=50)[0]
    from dataclasses import replace

    p = replace(p, social_worker_email="sw@example.gov.uk", key_worker_email="kw@example.org")
    school = make_school(tmp_path / "s", [p], port=server.port)
    notice = Action(p.upn, p.full_name, "vulnerable_day1_contact", "absent", DAY.isoformat(), "")
    ws = open_workspace(school.config)
    data = read_tracking(ws.settings).data
    report = deliver(ws, send=True, data=data, plan=[notice], env={}, limit=None)
    assert [e.state for e in report.listed] == ["sent"]
    [got] = server.messages()
    assert got.rcpt_tos == ("sw@example.gov.uk", "kw@example.org", "sent-log@northgate.example.org")


def test_missing_run_folder_is_a_clear_error(tmp_path: Path) -> None:
    school = make_school(tmp_path / "s", pupils(1))
    with pytest.raises(MailError, match=r"no such run folder"):
        send_day(open_workspace(school.config), run_dir=tmp_path / "nope")


def test_contact_flagged_no_contact_never_receives_the_letter(
    tmp_path: Path, server: SmtpServer
) -> None:
    p = pupils(1)[0]
    from dataclasses import replace

    p = replace(
        p,
        contacts=(
            Contact("Ann Reid", "ann@example.org", "Ms", 1),
            Contact("Barred Reid", "barred@example.org", "Mr", 2, no_contact=True),
        ),
    )
    school = make_school(tmp_path / "s", [p], port=server.port)
    assert send(school, "--send").exit_code == 0
    [got] = server.messages()
    assert "barred@example.org" not in got.rcpt_tos
    assert b"barred@example.org" not in got.data


def test_corrected_address_replaces_the_unsent_draft_instead_of_adding_a_second(
    tmp_path: Path, server: SmtpServer
) -> None:
    from dataclasses import replace

    specs = pupils(2)
    school = make_school(tmp_path / "s", specs, port=server.port)
    assert send(school).exit_code == 0
    fixed = replace(specs[0], contacts=(Contact("Parent Fixed", "fixed@example.org", "Ms", 1),))
    school = make_school(tmp_path / "s", [fixed, specs[1]], port=server.port)
    assert send(school).exit_code == 0
    mine = [r for r in rows(school) if r["upn"] == fixed.upn]
    assert len(mine) == 1
    assert "fixed@example.org" in mine[0]["recipients"]
    assert send(school, "--send", "--limit", "all").exit_code == 0
    assert sorted(a for m in server.messages() for a in m.rcpt_tos if "fixed" in a) == [
        "fixed@example.org"
    ]
    assert server.count() == 2


def test_second_send_at_the_same_time_is_refused(school: School, server: SmtpServer) -> None:
    import fcntl

    lock = school.ledger.with_name(school.ledger.name + ".send-lock")
    with lock.open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # what a running `mergekit send` holds
        result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1
    assert "another `mergekit send` is using this ledger" in result.output
    assert server.count() == 0
    assert send(school, "--send", "--limit", "all").exit_code == 0  # and free again after


def test_only_a_lock_held_elsewhere_refuses_not_a_file_system_that_cannot_lock() -> None:
    """flock fails with EWOULDBLOCK when another process holds it, but with ENOLCK on NFS
    without its lock service: there the school's lock file guards, and sending goes on."""
    import errno

    from mergekit.mail.outbox import lock_held

    assert lock_held(OSError(errno.EWOULDBLOCK, "Resource temporarily unavailable"))
    assert lock_held(OSError(errno.EACCES, "Permission denied"))
    for code in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
        assert not lock_held(OSError(code, "no locks here"))
