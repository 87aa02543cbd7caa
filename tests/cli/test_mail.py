"""`mergekit mail test` and `mergekit mail login`, against aiosmtpd and the Graph / sign-in
stand-ins on loopback: what a school IT admin sees for each failure they meet."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from graph_server import CLIENT_ID, CLIENT_SECRET, SENDER, TENANT, StandIn
from smtp_server import CertFiles, School, SmtpServer, make_certificate, make_school, pupils

from mergekit.cli import main

TOKEN = "token-for-the-test"


def mail(school: School, *args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner(env={"MERGEKIT_OAUTH_TOKEN": TOKEN, **(env or {})}).invoke(
        main, ["mail", *args, "--config", str(school.config)]
    )


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CertFiles:
    cert = make_certificate(tmp_path / "tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    return cert


@pytest.fixture
def standin(tls: CertFiles) -> Iterator[StandIn]:
    with StandIn(cert=tls, accepted_tokens={TOKEN}) as s:
        yield s


def graph_school(root: Path, standin: StandIn, **mail: Any) -> School:
    values: dict[str, Any] = {
        "transport": "graph",
        "auth": "oauth2",
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "authority_url": standin.authority,
        "graph_url": standin.graph_url,
    }
    return make_school(root, pupils(1), **{**values, **mail})


def test_mail_test_signs_in_over_smtp_xoauth2_and_sends_nothing(tmp_path: Path) -> None:
    with SmtpServer(xoauth2_user=SENDER, xoauth2_tokens={TOKEN}) as server:
        school = make_school(tmp_path / "s", pupils(1), port=server.port, auth="oauth2")
        result = mail(school, "test")
        assert result.exit_code == 0, result.output
        assert server.count() == 0
        assert len(server.xoauth2_seen) == 1
    assert "ok   Sign in: connected and signed in" in result.output
    assert "Nothing was sent" in result.output
    assert not (school.ledger).exists() or "messages" not in school.ledger.read_bytes().decode(
        "latin-1"
    )


def test_mail_test_send_sends_one_message_to_the_sender_or_the_given_address(
    tmp_path: Path,
) -> None:
    with SmtpServer(xoauth2_user=SENDER, xoauth2_tokens={TOKEN}) as server:
        school = make_school(tmp_path / "s", pupils(1), port=server.port, auth="oauth2")
        result = mail(school, "test", "--send")
        assert result.exit_code == 0, result.output
        again = mail(school, "test", "--send", "--to", "it.admin@example.org")
        assert again.exit_code == 0, again.output
        got = server.messages()
    assert [m.rcpt_tos for m in got] == [(SENDER,), ("it.admin@example.org",)]
    assert str(got[0].message["Subject"]) == "mergekit test message"
    assert "sent to it.admin@example.org" in again.output


def test_to_without_send_is_a_usage_error(tmp_path: Path) -> None:
    school = make_school(tmp_path / "s", pupils(1))
    result = mail(school, "test", "--to", "a@example.org")
    assert result.exit_code == 2


def test_smtp_auth_disabled_for_the_tenant_is_explained(tmp_path: Path) -> None:
    with SmtpServer(auth_disabled=True) as server:
        school = make_school(tmp_path / "s", pupils(1), port=server.port, auth="oauth2")
        result = mail(school, "test")
    assert result.exit_code == 1
    assert "FAIL Sign in" in result.output
    assert "535 5.7.139" in result.output
    assert "SMTP AUTH is turned off for this tenant or mailbox" in result.output


def test_smtp_auth_disabled_with_a_password_login_is_explained_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpServer(auth_disabled=True) as server:
        school = make_school(tmp_path / "s", pupils(1), port=server.port, username=SENDER)
        result = mail(school, "test", env={"MERGEKIT_SMTP_PASSWORD": "pw"})
    assert result.exit_code == 1
    # aiosmtpd offers only XOAUTH2 here, so a password login is refused before any reply
    # code; the point is that the output is an explanation, not a traceback.
    assert "FAIL Sign in" in result.output


def test_graph_403_names_the_permission_to_grant(tmp_path: Path, standin: StandIn) -> None:
    standin.forbidden = True
    school = graph_school(tmp_path / "s", standin)
    result = mail(school, "test", "--send")
    assert result.exit_code == 1
    assert "ok   Sign in" in result.output
    assert "FAIL Test message" in result.output
    assert "ErrorAccessDenied" in result.output
    assert "Microsoft Graph application permission Mail.Send with admin consent" in result.output


def test_graph_401_with_a_given_token_says_it_was_refused(tmp_path: Path, standin: StandIn) -> None:
    school = graph_school(tmp_path / "s", standin)
    result = mail(school, "test", "--send", env={"MERGEKIT_OAUTH_TOKEN": "expired"})
    assert result.exit_code == 1
    assert "InvalidAuthenticationToken" in result.output
    assert "Mail.Send" in result.output


def test_wrong_tenant_id_is_named(tmp_path: Path, standin: StandIn) -> None:
    school = graph_school(
        tmp_path / "s",
        standin,
        tenant_id="wrong-tenant",
        authority_url=f"{standin.base}/wrong-tenant",
    )
    result = mail(
        school, "test", env={"MERGEKIT_OAUTH_TOKEN": None, "MERGEKIT_OAUTH_CLIENT_SECRET": "x"}
    )
    assert result.exit_code == 1
    assert "FAIL Settings" in result.output
    assert "check [mail] tenant_id" in result.output


def test_wrong_client_id_is_named(tmp_path: Path, standin: StandIn) -> None:
    school = graph_school(tmp_path / "s", standin, client_id="00000000-0000-0000-0000-000000000bad")
    result = mail(
        school,
        "test",
        env={"MERGEKIT_OAUTH_TOKEN": None, "MERGEKIT_OAUTH_CLIENT_SECRET": CLIENT_SECRET},
    )
    assert result.exit_code == 1
    assert "FAIL Sign in" in result.output
    assert "AADSTS700016" in result.output
    assert "check [mail] client_id" in result.output


def test_clock_far_off_is_reported(tmp_path: Path, standin: StandIn) -> None:
    standin.clock_offset = 3600.0
    school = graph_school(tmp_path / "s", standin)
    result = mail(school, "test")
    assert result.exit_code == 1
    assert "FAIL Clock: this computer's clock is 60 minutes behind localhost's" in result.output


def test_device_code_login_prints_the_code_once_and_keeps_tokens_owner_only(
    tmp_path: Path, standin: StandIn
) -> None:
    school = graph_school(tmp_path / "s", standin, oauth_flow="device_code")
    env: dict[str, str | None] = {"MERGEKIT_OAUTH_TOKEN": None}
    result = mail(school, "login", env=env)
    assert result.exit_code == 0, result.output
    assert result.output.count("enter the code NGPA-2026") == 1
    assert f"Signed in as {SENDER}" in result.output
    cache = school.root / "mergekit-token-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    [device] = standin.calls("/oauth2/v2.0/devicecode")
    assert "https://graph.microsoft.com/Mail.Send" in device.form()["scope"]
    # Sending uses the kept sign-in: no code again, the delegated token on the request.
    sent = CliRunner(env=env).invoke(main, ["send", "--config", str(school.config), "--send"])
    assert sent.exit_code == 0, sent.output
    assert standin.count() == 1
    [call] = standin.calls("/sendMail")
    # (MSAL may renew it with the kept refresh token: still no person needed.)
    assert call.headers["authorization"] in {f"Bearer {t}" for t in standin.issued}
    assert len(standin.calls("/oauth2/v2.0/devicecode")) == 1


def test_device_code_send_without_login_says_to_sign_in(tmp_path: Path, standin: StandIn) -> None:
    school = graph_school(tmp_path / "s", standin, oauth_flow="device_code")
    result = mail(school, "test", env={"MERGEKIT_OAUTH_TOKEN": None})
    assert result.exit_code == 1
    assert "run: mergekit mail login" in result.output


def test_login_with_client_credentials_needs_no_sign_in(tmp_path: Path, standin: StandIn) -> None:
    school = graph_school(tmp_path / "s", standin)
    result = mail(school, "login")
    assert result.exit_code == 1
    assert 'oauth_flow = "device_code"' in result.output


def test_google_installed_app_login_in_a_browser_then_send_with_the_kept_sign_in(
    tmp_path: Path, standin: StandIn
) -> None:
    import json
    import os
    import subprocess
    import sys
    import urllib.request

    from graph_server import GOOGLE_CLIENT_ID

    client = tmp_path / "client_secret.json"
    client.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": GOOGLE_CLIENT_ID,
                    "client_secret": "GOCSPX-not-real",
                    "auth_uri": f"{standin.base}/google/auth",
                    "token_uri": standin.google_token_uri,
                    "redirect_uris": ["http://localhost"],
                }
            }
        ),
        encoding="utf-8",
    )
    with SmtpServer(xoauth2_user=SENDER) as server:
        original = standin.issue

        def issue() -> str:
            token = original()
            server.xoauth2_tokens.add(token)
            return token

        standin.issue = issue  # type: ignore[method-assign]
        school = make_school(
            tmp_path / "s",
            pupils(1),
            port=server.port,
            auth="oauth2",
            oauth_provider="google",
            oauth_flow="installed_app",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERGEKIT_")}
        env["MERGEKIT_GOOGLE_KEY"] = str(client)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mergekit",
                "mail",
                "login",
                "--no-browser",
                "--config",
                str(school.config),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            lines = []
            while not any(line.startswith("https://") for line in lines):
                line = proc.stdout.readline()
                assert line, proc.stderr.read() if proc.stderr else ""
                lines.append(line)
            url = next(line for line in lines if line.startswith("https://")).strip()
            assert "login_hint=attendance%40northgate.example.org" in url
            # The person's browser: Google's page, then back to mergekit on loopback.
            with urllib.request.urlopen(url, timeout=10) as page:
                assert b"signed in" in page.read()
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 0, err
        assert f"Signed in as {SENDER}" in out
        cache = school.root / "mergekit-token-cache.json"
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600
        assert "google-refresh-1" in cache.read_text(encoding="utf-8")
        sent = CliRunner(env={"MERGEKIT_OAUTH_TOKEN": None}).invoke(
            main, ["send", "--config", str(school.config), "--send"]
        )
        assert sent.exit_code == 0, sent.output
        assert server.count() == 1
    refresh = [
        c for c in standin.calls("/google/token") if c.form()["grant_type"] == "refresh_token"
    ]
    assert len(refresh) == 1  # the send renewed the token with the kept refresh token
