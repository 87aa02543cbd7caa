"""Where tokens come from: MSAL for Python (client credentials with a secret or a certificate)
and google-auth (a service account with domain-wide delegation), each the real library talking
to a token-endpoint stand-in on loopback over TLS; a token expiring mid-batch; refusals that
say which setting to check and what the IT admin must grant."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from graph_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    SENDER,
    TENANT,
    StandIn,
    certificate_thumbprint_x5t,
)
from smtp_server import CertFiles, School, SmtpServer, make_certificate, make_school, pupils

from mergekit.cli import main

NO_TOKEN: dict[str, str | None] = {"MERGEKIT_OAUTH_TOKEN": None}


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CertFiles:
    """A certificate for the stand-in, trusted the way an IT team's own CA would be: MSAL and
    google-auth (requests) through REQUESTS_CA_BUNDLE, the Graph client through SSL_CERT_FILE."""
    cert = make_certificate(tmp_path / "tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert.cert))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    return cert


@pytest.fixture
def standin(tls: CertFiles) -> Iterator[StandIn]:
    with StandIn(cert=tls) as s:
        yield s


def ms_school(root: Path, standin: StandIn, n: int = 3, **mail: Any) -> School:
    values: dict[str, Any] = {
        "transport": "graph",
        "auth": "oauth2",
        "oauth_provider": "microsoft",
        "oauth_flow": "client_credentials",
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "authority_url": standin.authority,
        "graph_url": standin.graph_url,
    }
    values.update(mail)
    return make_school(root, pupils(n), **values)


def send(school: School, *args: str, env: dict[str, str | None] | None = None) -> Result:
    full = {**NO_TOKEN, "MERGEKIT_OAUTH_CLIENT_SECRET": CLIENT_SECRET, **(env or {})}
    return CliRunner(env=full).invoke(main, ["send", "--config", str(school.config), *args])


def states(school: School) -> list[str]:
    conn = sqlite3.connect(school.ledger)
    try:
        return [r[0] for r in conn.execute("SELECT state FROM messages ORDER BY id")]
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Microsoft: client credentials


def test_msal_client_credentials_with_a_secret_signs_in_once_for_the_batch(
    tmp_path: Path, standin: StandIn
) -> None:
    school = ms_school(tmp_path / "s", standin, 4)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert standin.count() == 4
    [token_call] = standin.calls("/oauth2/v2.0/token")
    form = token_call.form()
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == CLIENT_ID
    assert form["client_secret"] == CLIENT_SECRET
    assert form["scope"] == "https://graph.microsoft.com/.default"
    [issued] = standin.issued
    assert {c.headers["authorization"] for c in standin.calls("/sendMail")} == {f"Bearer {issued}"}
    # OpenID discovery at the overridden authority, not login.microsoftonline.com.
    assert standin.calls(f"/{TENANT}/v2.0/.well-known/openid-configuration")


def test_token_expiring_mid_batch_is_refreshed_once_and_the_message_retried(
    tmp_path: Path, standin: StandIn
) -> None:
    standin.expire_after = 3
    school = ms_school(tmp_path / "s", standin, 6)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert standin.count() == 6
    assert len(set(standin.message_ids())) == 6
    assert len(standin.issued) == 2  # the first token, and one refresh after the 401
    sends = standin.calls("/sendMail")
    assert len(sends) == 7  # the fourth message twice: refused (401), then sent
    assert states(school) == ["sent"] * 6


def test_msal_client_credentials_with_a_certificate_from_the_environment(
    tmp_path: Path, standin: StandIn
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mergekit test app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    pem = tmp_path / "app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert_pem
    )
    standin.client_cert_key = key.public_key()
    standin.client_cert_thumbprint = certificate_thumbprint_x5t(cert_pem)
    school = ms_school(tmp_path / "s", standin, 2)
    result = send(
        school,
        "--send",
        "--limit",
        "all",
        env={"MERGEKIT_OAUTH_CLIENT_SECRET": None, "MERGEKIT_OAUTH_CERTIFICATE": str(pem)},
    )
    assert result.exit_code == 0, result.output
    assert standin.count() == 2
    [token_call] = standin.calls("/oauth2/v2.0/token")
    form = token_call.form()
    assert "client_secret" not in form
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_wrong_tenant_id_is_named(tmp_path: Path, standin: StandIn) -> None:
    school = ms_school(
        tmp_path / "s",
        standin,
        1,
        tenant_id="not-our-tenant",
        authority_url=f"{standin.base}/not-our-tenant",
    )
    result = send(school, "--send")
    assert result.exit_code == 1
    assert "tenant_id" in result.output
    assert standin.count() == 0


def test_wrong_client_id_is_named_with_microsofts_code(tmp_path: Path, standin: StandIn) -> None:
    school = ms_school(tmp_path / "s", standin, 2, client_id="00000000-0000-0000-0000-00000000dead")
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1
    assert "AADSTS700016" in result.output
    assert "check [mail] client_id" in result.output
    assert states(school) == ["queued", "queued"]


def test_wrong_client_secret_says_so(tmp_path: Path, standin: StandIn) -> None:
    school = ms_school(tmp_path / "s", standin, 1)
    result = send(school, "--send", env={"MERGEKIT_OAUTH_CLIENT_SECRET": "wrong"})
    assert result.exit_code == 1
    assert "AADSTS7000215" in result.output
    assert "client secret is wrong" in result.output
    assert "wrong" not in result.output.replace("is wrong", "")  # the secret is never printed


def test_client_secret_never_comes_from_the_config_file(tmp_path: Path, standin: StandIn) -> None:
    school = ms_school(tmp_path / "s", standin, 1)
    text = school.config.read_text(encoding="utf-8")
    school.config.write_text(text + f'client_secret = "{CLIENT_SECRET}"\n', encoding="utf-8")
    result = send(school, "--send", env={"MERGEKIT_OAUTH_CLIENT_SECRET": None})
    assert result.exit_code == 1
    assert "needs the app's client secret or certificate" in result.output
    assert standin.count() == 0


def test_msal_token_for_smtp_xoauth2_uses_the_exchange_scope(
    tmp_path: Path, standin: StandIn
) -> None:
    with SmtpServer(xoauth2_user=SENDER) as server:
        school = ms_school(
            tmp_path / "s", standin, 2, transport="smtp", port=server.port, graph_url=None
        )
        # The server accepts whatever the token endpoint issues (and nothing else).
        original = standin.issue

        def issue() -> str:
            token = original()
            server.xoauth2_tokens.add(token)
            return token

        standin.issue = issue  # type: ignore[method-assign]
        result = send(school, "--send", "--limit", "all")
        assert result.exit_code == 0, result.output
        assert server.count() == 2
    [token_call] = standin.calls("/oauth2/v2.0/token")
    assert token_call.form()["scope"] == "https://outlook.office365.com/.default"


# ---------------------------------------------------------------------------------------------
# Google: a service account with domain-wide delegation


def google_key(tmp_path: Path, standin: StandIn) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = "mergekit-sender@northgate-school.iam.gserviceaccount.com"
    standin.google_public_key = key.public_key()
    standin.google_client_email = email
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "northgate-school",
                "private_key_id": "0123456789abcdef",
                "private_key": key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode("ascii"),
                "client_email": email,
                "client_id": "109876543210987654321",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        ),
        encoding="utf-8",
    )
    return path


def test_google_service_account_acts_as_the_sender_over_smtp_xoauth2(
    tmp_path: Path, standin: StandIn
) -> None:
    key = google_key(tmp_path, standin)
    with SmtpServer(xoauth2_user=SENDER) as server:
        original = standin.issue

        def issue() -> str:
            token = original()
            server.xoauth2_tokens.add(token)
            return token

        standin.issue = issue  # type: ignore[method-assign]
        school = make_school(
            tmp_path / "s",
            pupils(3),
            port=server.port,
            auth="oauth2",
            oauth_provider="google",
            oauth_flow="service_account",
            authority_url=standin.google_token_uri,
        )
        result = send(school, "--send", "--limit", "all", env={"MERGEKIT_GOOGLE_KEY": str(key)})
        assert result.exit_code == 0, result.output
        assert server.count() == 3
    [call] = standin.calls("/google/token")
    form = call.form()
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    from graph_server import jwt_parts

    _, claims, _, _ = jwt_parts(form["assertion"])
    assert claims["sub"] == SENDER  # domain-wide delegation: acting as the sender
    assert claims["scope"] == "https://mail.google.com/"
    # google-auth signs for Google's own audience and posts to the configured token_uri.
    assert claims["aud"] == "https://oauth2.googleapis.com/token"


def test_google_refusing_the_delegation_names_the_scope_to_grant(
    tmp_path: Path, standin: StandIn
) -> None:
    key = google_key(tmp_path, standin)
    standin.google_client_email = "someone-else@example.org"  # delegation not granted
    with SmtpServer(xoauth2_user=SENDER) as server:
        school = make_school(
            tmp_path / "s",
            pupils(1),
            port=server.port,
            auth="oauth2",
            oauth_provider="google",
            oauth_flow="service_account",
            authority_url=standin.google_token_uri,
        )
        result = send(school, "--send", env={"MERGEKIT_GOOGLE_KEY": str(key)})
        assert server.count() == 0
    assert result.exit_code == 1
    assert "https://mail.google.com/" in result.output
    assert "109876543210987654321" in result.output  # the client ID the admin needs


def test_unknown_flow_for_the_provider_is_a_config_error(tmp_path: Path) -> None:
    school = make_school(
        tmp_path / "s", pupils(1), auth="oauth2", oauth_provider="google", oauth_flow="device_code"
    )
    result = CliRunner().invoke(main, ["send", "--config", str(school.config)])
    assert result.exit_code == 1
    assert "oauth_flow = 'device_code' is not one for google" in result.output


def test_smtp_refused_token_is_refreshed_once_and_the_sign_in_retried(
    tmp_path: Path, standin: StandIn
) -> None:
    with SmtpServer(xoauth2_user=SENDER) as server:
        school = ms_school(
            tmp_path / "s", standin, 2, transport="smtp", port=server.port, graph_url=None
        )
        original = standin.issue

        def issue() -> str:
            token = original()
            if len(standin.issued) > 1:  # the first token has expired as far as the server knows
                server.xoauth2_tokens.add(token)
            return token

        standin.issue = issue  # type: ignore[method-assign]
        result = send(school, "--send", "--limit", "all")
        assert result.exit_code == 0, result.output
        assert server.count() == 2
    assert len(standin.issued) == 2
    assert [s.rsplit("Bearer ", 1)[1].rstrip("\x01") for s in server.xoauth2_seen] == standin.issued


@pytest.fixture
def memory_keyring() -> Iterator[dict[tuple[str, str], str]]:
    """A real keyring backend (keyring's own KeyringBackend) holding secrets in a dict."""
    import keyring
    import keyring.backend

    kept: dict[tuple[str, str], str] = {}

    class Backend(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return kept.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            kept[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            kept.pop((service, username), None)

    before = keyring.get_keyring()
    keyring.set_keyring(Backend())
    try:
        yield kept
    finally:
        keyring.set_keyring(before)


def test_client_secret_comes_from_the_keyring_when_the_variable_is_unset(
    tmp_path: Path, standin: StandIn, memory_keyring: dict[tuple[str, str], str]
) -> None:
    memory_keyring[("mergekit", CLIENT_ID)] = CLIENT_SECRET
    school = ms_school(tmp_path / "s", standin, 1)
    result = send(school, "--send", env={"MERGEKIT_OAUTH_CLIENT_SECRET": None})
    assert result.exit_code == 0, result.output
    assert standin.count() == 1


def test_device_code_sign_in_is_kept_in_the_keyring_when_there_is_one(
    tmp_path: Path, standin: StandIn, memory_keyring: dict[tuple[str, str], str]
) -> None:
    school = ms_school(tmp_path / "s", standin, 1, oauth_flow="device_code")
    login = CliRunner(env=NO_TOKEN).invoke(main, ["mail", "login", "--config", str(school.config)])
    assert login.exit_code == 0, login.output
    assert "kept in the OS keyring (service mergekit)" in login.output
    assert ("mergekit", f"oauth-token-cache:{CLIENT_ID}") in memory_keyring
    assert not (school.root / "mergekit-token-cache.json").exists()
    result = send(school, "--send")
    assert result.exit_code == 0, result.output
    assert standin.count() == 1
