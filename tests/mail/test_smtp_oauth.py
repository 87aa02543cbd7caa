"""SMTP with OAuth 2.0: AUTH XOAUTH2 against a real aiosmtpd server on loopback that accepts
nothing else (no LOGIN, no PLAIN) and only the one token; Microsoft's "SMTP AUTH disabled"."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from smtp_server import School, SmtpServer, make_school, pupils

from mergekit.cli import main
from mergekit.mail.transports.oauth import xoauth2_b64

USER = "attendance@northgate.example.org"
TOKEN = "eyJ0eXAiOiJKV1QiLCJub25jZSI6InRlc3QifQ.synthetic.token"


def send(school: School, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, ["send", "--config", str(school.config), *args])


def test_xoauth2_initial_response_is_the_sasl_string_in_base64() -> None:
    got = base64.b64decode(xoauth2_b64("a@example.org", "T0K"))
    assert got == b"user=a@example.org\x01auth=Bearer T0K\x01\x01"


@pytest.mark.slow
def test_200_messages_over_smtp_with_the_env_token_and_xoauth2_only(tmp_path: Path) -> None:
    with SmtpServer(xoauth2_user=USER, xoauth2_tokens={TOKEN}) as server:
        school = make_school(tmp_path / "s", pupils(200), port=server.port, auth="oauth2")
        result = send(school, "--send", "--limit", "all", env={"MERGEKIT_OAUTH_TOKEN": TOKEN})
        assert result.exit_code == 0, result.output[-2000:]
        got = server.messages()
    assert len(got) == 200
    assert max(Counter(m.message_id for m in got).values()) == 1
    assert {m.login for m in got} == {USER}
    # One connection, one sign-in, for the whole batch.
    assert server.xoauth2_seen == [f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01"]


def test_username_is_the_xoauth2_user_when_set(tmp_path: Path) -> None:
    with SmtpServer(xoauth2_user="sender@example.org", xoauth2_tokens={TOKEN}) as server:
        school = make_school(
            tmp_path / "s",
            pupils(1),
            port=server.port,
            auth="oauth2",
            username="sender@example.org",
        )
        result = send(school, "--send", env={"MERGEKIT_OAUTH_TOKEN": TOKEN})
        assert result.exit_code == 0, result.output
        assert server.count() == 1


def test_refused_token_stops_with_the_setting_and_the_permission_to_grant(tmp_path: Path) -> None:
    with SmtpServer(xoauth2_user=USER, xoauth2_tokens={"another-token"}) as server:
        school = make_school(tmp_path / "s", pupils(2), port=server.port, auth="oauth2")
        result = send(school, "--send", "--limit", "all", env={"MERGEKIT_OAUTH_TOKEN": TOKEN})
        assert server.count() == 0
    assert result.exit_code == 1
    assert "refused the token from the token in MERGEKIT_OAUTH_TOKEN" in result.output
    assert "SMTP.SendAsApp" in result.output
    # The token itself is never printed.
    assert TOKEN not in result.output


def test_smtp_auth_disabled_for_the_tenant_says_what_to_do(tmp_path: Path) -> None:
    with SmtpServer(auth_disabled=True) as server:
        school = make_school(tmp_path / "s", pupils(1), port=server.port, auth="oauth2")
        result = send(school, "--send", env={"MERGEKIT_OAUTH_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "535 5.7.139" in result.output
    assert "SMTP AUTH is turned off" in result.output
    assert 'transport = "graph"' in result.output


def test_oauth2_without_any_token_source_is_a_clear_error_before_connecting(
    tmp_path: Path,
) -> None:
    school = make_school(tmp_path / "s", pupils(1), auth="oauth2", client_id="abc", tenant_id="t")
    result = send(
        school, "--send", env={"MERGEKIT_OAUTH_TOKEN": "", "MERGEKIT_OAUTH_CLIENT_SECRET": ""}
    )
    assert result.exit_code == 1
    assert "needs the app's client secret or certificate" in result.output
    assert "MERGEKIT_OAUTH_CLIENT_SECRET" in result.output
