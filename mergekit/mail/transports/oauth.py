"""OAuth 2.0 tokens for sending (``[mail] auth = "oauth2"``): where a token comes from, how it is
refreshed once when the server says it has expired, and what a refusal means for the school's
IT admin.

* ``MERGEKIT_OAUTH_TOKEN`` in the environment, when set, is the token as it is (IT teams that
  issue tokens themselves; tests). It cannot be refreshed.
* Microsoft (``oauth_provider = "microsoft"``), with MSAL for Python:
  ``client_credentials``: an app registration signs in as itself, with a client secret or a
  certificate from the environment or the OS keyring (never mergekit.toml);
  ``device_code``: a person signs in once with ``mergekit mail login`` and the tokens are kept in
  the OS keyring or a file only its owner can read (``[mail] token_cache``).
* Google (``oauth_provider = "google"``), with google-auth: ``service_account``, a service
  account with domain-wide delegation acting as the sender (``subject``); ``installed_app``, a
  person signs in once in a browser (``mergekit mail login``, PKCE, a loopback redirect) and
  the refresh token is kept like Microsoft's.

Nothing here prints: a refusal is a :class:`~mergekit.mail.transports.Fatal` whose text names the
setting to check and the permission to grant.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol

from mergekit.core.atomic import write_or_explain
from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.mail.transports import Fatal, Unreachable

TOKEN_ENV = "MERGEKIT_OAUTH_TOKEN"
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GMAIL_SCOPE = "https://mail.google.com/"
# App-only (client credentials): the resource's ".default" scope carries the application
# permissions the admin granted. Delegated (device code): the one permission by name.
APP_SCOPES = {
    "graph": "https://graph.microsoft.com/.default",
    "smtp": "https://outlook.office365.com/.default",
}
DELEGATED_SCOPES = {
    "graph": "https://graph.microsoft.com/Mail.Send",
    "smtp": "https://outlook.office.com/SMTP.Send",
}
KEYRING_CACHE_USER = "oauth-token-cache"
KEYRING_GOOGLE_USER = "google-service-account"

Purpose = Literal["smtp", "graph"]


def permission(settings: Settings, purpose: Purpose) -> str:
    """What the IT admin must grant for this transport and sign-in, in their words."""
    m = settings.mail
    if m.oauth_provider == "google":
        return (
            f"domain-wide delegation of the scope {GMAIL_SCOPE} to the service account's "
            "client ID (Google Admin console > Security > API controls)"
        )
    if purpose == "graph":
        if m.oauth_flow == "device_code":
            return "the delegated Microsoft Graph permission Mail.Send"
        return (
            "the Microsoft Graph application permission Mail.Send with admin consent (and, if "
            "an application access policy limits the app, the sender's mailbox in it)"
        )
    if m.oauth_flow == "device_code":
        return "the delegated permission SMTP.Send (Office 365 Exchange Online)"
    return (
        "the Office 365 Exchange Online application permission SMTP.SendAsApp with admin "
        "consent, the app's service principal registered in Exchange and given the sender's "
        "mailbox (SMTP AUTH must also be on for that mailbox)"
    )


class TokenSource(Protocol):
    """Where the batch's token comes from."""

    @property
    def describe(self) -> str: ...

    def token(self) -> str: ...

    def refresh(self) -> str | None:
        """A new token after the server refused the last one, or None when there is no way
        to get one (a token given in the environment)."""


# ---------------------------------------------------------------------------------------------
# A token given as it is


@dataclass(frozen=True)
class GivenToken:
    value: str = field(repr=False)

    @property
    def describe(self) -> str:
        return f"the token in {TOKEN_ENV}"

    def token(self) -> str:
        return self.value

    def refresh(self) -> str | None:
        return None


# ---------------------------------------------------------------------------------------------
# Microsoft: MSAL


# AADSTS codes a school's IT admin meets, and what to do about each.
_AADSTS = {
    90002: "the tenant does not exist - check [mail] tenant_id (Entra admin centre > Overview)",
    90023: "the tenant is not valid - check [mail] tenant_id",
    700016: (
        "no app with this client ID in that tenant - check [mail] client_id (the app's "
        "Application (client) ID) and tenant_id"
    ),
    7000215: "the client secret is wrong - copy the secret's Value (not its ID) again",
    7000222: "the client secret has expired - make a new one in the app registration",
    700024: "the computer's clock is off: the signed request is out of its time range",
    700027: "the certificate is not one the app registration knows, or the clock is off",
    65001: "nobody has given admin consent for the app's permissions yet",
    50076: "the sign-in needs multi-factor authentication - sign in again: mergekit mail login",
    70008: "the sign-in has expired - sign in again: mergekit mail login",
}


def aadsts_advice(text: str) -> str:
    """The advice for the first AADSTS code found in an answer from Microsoft's sign-in."""
    for m in re.finditer(r"AADSTS(\d+)", text):
        advice = _AADSTS.get(int(m.group(1)))
        if advice:
            return advice
    return ""


def authority(settings: Settings) -> str:
    m = settings.mail
    if m.authority_url.strip():
        return m.authority_url.strip().rstrip("/")
    return f"{MICROSOFT_LOGIN}/{m.tenant_id.strip()}"


def _custom_authority(settings: Settings) -> bool:
    return bool(settings.mail.authority_url.strip())


def _keyring_get(service: str, user: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        found = keyring.get_password(service, user)
    except KeyringError:
        return None
    return str(found) if found else None


def client_credential(settings: Settings, env: Mapping[str, str]) -> str | dict[str, str]:
    """The app's secret, or its certificate (private key and thumbprint): the environment,
    else the OS keyring. Raises MailError naming both places when there is neither."""
    m = settings.mail
    cert_file = env.get(m.client_certificate_env, "") if m.client_certificate_env else ""
    if cert_file:
        return _certificate(Path(cert_file), m.client_certificate_env)
    secret = env.get(m.client_secret_env, "") if m.client_secret_env else ""
    secret = secret or _keyring_get(m.keyring_service, m.client_id) or ""
    if not secret:
        raise MailError(
            f'{settings.where("mail.client_id")}: [mail] oauth_flow = "client_credentials" '
            f"needs the app's client secret or certificate, and there is neither: set "
            f"{m.client_secret_env or 'MERGEKIT_OAUTH_CLIENT_SECRET'} (or store it once with: "
            f"keyring set {m.keyring_service} {m.client_id or 'CLIENT_ID'}), or set "
            f"{m.client_certificate_env or 'MERGEKIT_OAUTH_CERTIFICATE'} to a PEM file with the "
            "certificate and its private key (never put a secret in mergekit.toml)"
        )
    return secret


def _certificate(path: Path, env_name: str) -> dict[str, str]:
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise MailError(
            f"{path}: cannot read the certificate {env_name} names ({e.strerror}) - point "
            f"{env_name} at the PEM file holding the app's certificate and private key"
        ) from e
    if b"PRIVATE KEY" not in pem or b"CERTIFICATE" not in pem:
        raise MailError(
            f"{path}: {env_name} must name one PEM file holding both the certificate and its "
            "private key (-----BEGIN CERTIFICATE----- and -----BEGIN PRIVATE KEY-----)"
        )
    text = pem.decode("ascii")
    start = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    # MSAL works out the SHA-256 thumbprint from the certificate and signs with PS256, as
    # Entra ID expects today.
    return {"private_key": text, "public_certificate": text[start:end] + "\n"}


def _msal_failure(result: Mapping[str, Any], settings: Settings, purpose: Purpose) -> Fatal:
    text = " ".join(str(result.get(k, "")) for k in ("error", "error_description")).strip()
    first = text.splitlines()[0] if text else "no token and no reason given"
    advice = aadsts_advice(text)
    if not advice and result.get("error") in ("invalid_scope", "unauthorized_client"):
        advice = f"the app needs {permission(settings, purpose)}"
    return Fatal(
        f"Microsoft sign-in at {authority(settings)} refused the token for client_id "
        f"{settings.mail.client_id!r}: {first}"
        + (
            f" - {advice}"
            if advice
            else f" - check [mail] tenant_id and client_id; the app "
            f"needs {permission(settings, purpose)}"
        )
    )


def _msal_call(settings: Settings, purpose: Purpose, call: Callable[[], Any]) -> Any:
    """An MSAL call, its network and discovery failures turned into Unreachable / Fatal."""
    import requests

    try:
        return call()
    except requests.exceptions.SSLError as e:
        raise Fatal(
            f"{authority(settings)}: the sign-in server's certificate cannot be trusted ({e}) "
            "- if your IT team uses its own certificate authority, point REQUESTS_CA_BUNDLE "
            "at its certificate"
        ) from e
    except requests.exceptions.RequestException as e:
        raise Unreachable(f"cannot reach Microsoft sign-in at {authority(settings)}: {e}") from e
    except ValueError as e:  # discovery failed: an unknown tenant answers 400 here
        text = str(e)
        advice = aadsts_advice(text) or (
            "check [mail] tenant_id (the Directory (tenant) ID)"
            + (" and authority_url" if _custom_authority(settings) else "")
        )
        raise Fatal(f"Microsoft sign-in at {authority(settings)} failed: {advice}") from e


class MicrosoftApp:
    """Client credentials: the app registration signs in as itself (app-only)."""

    def __init__(self, settings: Settings, env: Mapping[str, str], purpose: Purpose) -> None:
        import msal

        self.settings = settings
        self.purpose = purpose
        m = settings.mail
        if not m.tenant_id.strip() and not _custom_authority(settings):
            raise MailError(
                f"{settings.where('mail.tenant_id')}: [mail] tenant_id is empty - copy the "
                "app registration's Directory (tenant) ID into it"
            )
        if not m.client_id.strip():
            raise MailError(
                f"{settings.where('mail.client_id')}: [mail] client_id is empty - copy the "
                "app registration's Application (client) ID into it"
            )
        credential = client_credential(settings, env)
        custom = _custom_authority(settings)
        self.app = _msal_call(
            settings,
            purpose,
            lambda: msal.ConfidentialClientApplication(
                m.client_id.strip(),
                client_credential=credential,
                authority=authority(settings),
                validate_authority=not custom,
                instance_discovery=False if custom else None,
                timeout=m.timeout_seconds,
            ),
        )

    @property
    def describe(self) -> str:
        return f"Microsoft app {self.settings.mail.client_id} (client credentials)"

    def token(self) -> str:
        scope = APP_SCOPES[self.purpose]
        result = _msal_call(
            self.settings, self.purpose, lambda: self.app.acquire_token_for_client([scope])
        )
        if "access_token" not in result:
            raise _msal_failure(result, self.settings, self.purpose)
        return str(result["access_token"])

    def refresh(self) -> str | None:
        self.app.remove_tokens_for_client()  # MSAL would hand back the cached one
        return self.token()


# -- device code: a person signs in once ----------------------------------------------------


class KeptSignIn:
    """A signed-in person's tokens, kept in the OS keyring (service [mail] keyring_service),
    else in the file [mail] token_cache, readable by its owner only."""

    def __init__(self, settings: Settings, user: str) -> None:
        self.settings = settings
        self.user = user
        self.file = settings.base / settings.mail.token_cache

    def read(self) -> str | None:
        found = _keyring_get(self.settings.mail.keyring_service, self.user)
        if found is None and self.file.is_file():
            found = self.file.read_text(encoding="utf-8")
        return found or None

    def write(self, data: str) -> str:
        """Keep ``data``; says where."""
        try:
            import keyring
            from keyring.errors import KeyringError

            try:
                keyring.set_password(self.settings.mail.keyring_service, self.user, data)
            except KeyringError:
                pass
            else:
                self.file.unlink(missing_ok=True)
                return f"the OS keyring (service {self.settings.mail.keyring_service})"
        except ImportError:  # pragma: no cover - keyring is a dependency
            pass
        if not self.file.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        with contextlib.suppress(OSError):
            os.chmod(self.file, 0o600)
        write_or_explain(
            self.file,
            data.encode("utf-8"),
            MailError,
            "cannot keep the sign-in",
            "check the folder is writable",
        )
        return f"{self.file} (readable by you only)"


class TokenCache:
    """MSAL's token cache, kept by :class:`KeptSignIn`."""

    def __init__(self, settings: Settings) -> None:
        import msal

        self.kept = KeptSignIn(settings, f"{KEYRING_CACHE_USER}:{settings.mail.client_id}")
        self.cache = msal.SerializableTokenCache()
        found = self.kept.read()
        if found:
            self.cache.deserialize(found)

    def save(self) -> str:
        """Keep the cache if MSAL changed it; says where."""
        if not self.cache.has_state_changed:
            return ""
        return self.kept.write(self.cache.serialize())


def _public_app(settings: Settings, cache: TokenCache, purpose: Purpose) -> Any:
    import msal

    m = settings.mail
    if not m.client_id.strip():
        raise MailError(
            f"{settings.where('mail.client_id')}: [mail] client_id is empty - copy the app "
            "registration's Application (client) ID into it"
        )
    custom = _custom_authority(settings)
    return _msal_call(
        settings,
        purpose,
        lambda: msal.PublicClientApplication(
            m.client_id.strip(),
            authority=authority(settings),
            validate_authority=not custom,
            instance_discovery=False if custom else None,
            token_cache=cache.cache,
            timeout=m.timeout_seconds,
        ),
    )


def device_login(
    settings: Settings, purpose: Purpose, show: Callable[[str], None]
) -> tuple[str, str]:
    """`mergekit mail login`: start a device-code sign-in, hand its instructions (the code and
    the web address) to ``show`` once, wait for the person, keep the tokens. Returns who signed
    in and where the tokens are kept."""
    cache = TokenCache(settings)
    app = _public_app(settings, cache, purpose)
    scopes = [DELEGATED_SCOPES[purpose]]
    flow = _msal_call(settings, purpose, lambda: app.initiate_device_flow(scopes=scopes))
    if "user_code" not in flow:
        raise _msal_failure(flow, settings, purpose)
    show(str(flow.get("message") or f"Go to {flow['verification_uri']}, enter {flow['user_code']}"))
    result = _msal_call(settings, purpose, lambda: app.acquire_token_by_device_flow(flow))
    if "access_token" not in result:
        raise _msal_failure(result, settings, purpose)
    who = str((result.get("id_token_claims") or {}).get("preferred_username", ""))
    return who, cache.save()


class MicrosoftSignedIn:
    """Device code: the tokens `mergekit mail login` kept, refreshed by MSAL."""

    def __init__(self, settings: Settings, purpose: Purpose) -> None:
        self.settings = settings
        self.purpose = purpose
        self.cache = TokenCache(settings)
        self.app = _public_app(settings, self.cache, purpose)

    @property
    def describe(self) -> str:
        return f"the sign-in kept by mergekit mail login (client {self.settings.mail.client_id})"

    def _silent(self, force: bool) -> str:
        accounts = self.app.get_accounts()
        if not accounts:
            raise Fatal(
                "nobody has signed in for sending yet - run: mergekit mail login "
                f"(it signs in as the mailbox {parseaddr(self.settings.mail.from_)[1]} once)"
            )
        scopes = [DELEGATED_SCOPES[self.purpose]]
        result = _msal_call(
            self.settings,
            self.purpose,
            lambda: self.app.acquire_token_silent(scopes, account=accounts[0], force_refresh=force),
        )
        self.cache.save()
        if not result or "access_token" not in result:
            raise Fatal(
                "the sign-in kept by mergekit mail login has expired or was revoked - sign in "
                "again: mergekit mail login"
            )
        return str(result["access_token"])

    def token(self) -> str:
        return self._silent(False)

    def refresh(self) -> str | None:
        return self._silent(True)


# ---------------------------------------------------------------------------------------------
# Google: a service account with domain-wide delegation


def _google_key(settings: Settings, env: Mapping[str, str]) -> dict[str, Any]:
    m = settings.mail
    named = env.get(m.google_key_env, "") if m.google_key_env else ""
    if named:
        try:
            text = Path(named).read_text(encoding="utf-8")
        except OSError as e:
            raise MailError(
                f"{named}: cannot read the service account key {m.google_key_env} names "
                f"({e.strerror}) - point it at the JSON key file downloaded from Google Cloud"
            ) from e
    else:
        text = _keyring_get(m.keyring_service, KEYRING_GOOGLE_USER) or ""
    if not text:
        raise MailError(
            f'{settings.where("mail.oauth_flow")}: [mail] oauth_flow = "service_account" '
            f"needs the service account's JSON key: set {m.google_key_env or 'MERGEKIT_GOOGLE_KEY'}"
            f" to the key file, or store its text once with: keyring set {m.keyring_service} "
            f"{KEYRING_GOOGLE_USER} (never put it in mergekit.toml)"
        )
    try:
        info = json.loads(text)
    except ValueError as e:
        raise MailError(
            f"{named or 'the keyring'}: the service account key is not JSON - download the "
            "key again (Google Cloud > IAM > Service accounts > Keys > Add key > JSON)"
        ) from e
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise MailError(
            f'{named or "the keyring"}: this is not a service account key ("type": '
            '"service_account") - download a JSON key for the service account'
        )
    return info


class GoogleServiceAccount:
    """The service account acting as the sender (domain-wide delegation)."""

    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        from google.oauth2 import service_account

        self.settings = settings
        info = dict(_google_key(settings, env))
        info["token_uri"] = settings.mail.authority_url.strip() or info.get(
            "token_uri", GOOGLE_TOKEN_URI
        )
        self.sender = parseaddr(settings.mail.from_)[1]
        try:
            from_info = service_account.Credentials.from_service_account_info
            self.credentials = from_info(  # type: ignore[no-untyped-call]
                info, scopes=[GMAIL_SCOPE], subject=self.sender
            )
        except (ValueError, KeyError) as e:
            raise MailError(
                f"the service account key cannot be used ({e}) - download a new JSON key"
            ) from e
        self.client_id = str(info.get("client_id", ""))

    @property
    def describe(self) -> str:
        return f"Google service account {self.credentials.service_account_email}"

    def _fetch(self) -> str:
        import google.auth.exceptions
        from google.auth.transport.requests import Request

        try:
            self.credentials.refresh(Request())
        except google.auth.exceptions.TransportError as e:
            raise Unreachable(f"cannot reach Google's token endpoint: {e}") from e
        except google.auth.exceptions.RefreshError as e:
            text = str(e)
            if "iat" in text or "exp" in text or "timeframe" in text:
                advice = "the computer's clock is off - set it right (sync with internet time)"
            elif "unauthorized_client" in text:
                advice = (
                    f"the IT admin must grant {permission(self.settings, 'smtp')} "
                    f"(client ID {self.client_id})"
                )
            elif "invalid_grant" in text:
                advice = (
                    f"Google refused to act as {self.sender}: check [mail] from is a user of "
                    "the domain, and the delegation "
                    f"({permission(self.settings, 'smtp')})"
                )
            else:
                advice = f"the IT admin must grant {permission(self.settings, 'smtp')}"
            raise Fatal(f"Google refused the token: {text} - {advice}") from e
        return str(self.credentials.token)

    def token(self) -> str:
        if self.credentials.valid:
            return str(self.credentials.token)
        return self._fetch()

    def refresh(self) -> str | None:
        return self._fetch()


# -- Google: a person signs in once with a browser (installed app) ---------------------------


GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
KEYRING_GOOGLE_SIGN_IN = "google-sign-in"


def _google_client(settings: Settings, env: Mapping[str, str]) -> dict[str, str]:
    """The OAuth client (type Desktop app) JSON that [mail] google_key_env names."""
    m = settings.mail
    named = env.get(m.google_key_env, "") if m.google_key_env else ""
    if not named:
        raise MailError(
            f'{settings.where("mail.oauth_flow")}: [mail] oauth_flow = "installed_app" needs '
            f"the OAuth client's JSON file (Google Cloud > APIs & Services > Credentials > "
            f"Create credentials > OAuth client ID > Desktop app > Download JSON): set "
            f"{m.google_key_env or 'MERGEKIT_GOOGLE_KEY'} to its path"
        )
    try:
        info = json.loads(Path(named).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MailError(
            f"{named}: cannot read the OAuth client JSON ({e}) - download it again"
        ) from e
    client = info.get("installed") if isinstance(info, dict) else None
    if not isinstance(client, dict) or not client.get("client_id"):
        raise MailError(
            f'{named}: this is not a Desktop app OAuth client (no "installed" section) - create '
            "an OAuth client ID of type Desktop app and download its JSON"
        )
    return {
        "client_id": str(client["client_id"]),
        "client_secret": str(client.get("client_secret", "")),
        "auth_uri": str(client.get("auth_uri") or GOOGLE_AUTH_URI),
        "token_uri": settings.mail.authority_url.strip()
        or str(client.get("token_uri") or GOOGLE_TOKEN_URI),
    }


def google_login(
    settings: Settings,
    env: Mapping[str, str],
    show: Callable[[str], None],
    *,
    wait_seconds: float = 300.0,
) -> tuple[str, str]:
    """`mergekit mail login` for Google's installed-app flow: hand ``show`` the address to open
    in a browser on this computer, wait for Google to send the browser back to a one-off
    loopback address with the code (PKCE), exchange it, keep the refresh token."""
    import hashlib
    import secrets
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, urlencode, urlsplit

    import requests

    client = _google_client(settings, env)
    sender = parseaddr(settings.mail.from_)[1]
    verifier = secrets.token_urlsafe(64)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
        .rstrip(b"=")
        .decode("ascii")
    )
    state = secrets.token_urlsafe(24)
    got: dict[str, str] = {}
    done = threading.Event()

    class Back(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if query.get("state") != state:
                self.send_error(400, "not the sign-in mergekit started")
                return
            got.update(query)
            text = b"mergekit: signed in. You can close this window."
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            done.set()

    server = HTTPServer(("127.0.0.1", 0), Back)
    redirect = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        show(
            client["auth_uri"]
            + "?"
            + urlencode(
                {
                    "client_id": client["client_id"],
                    "redirect_uri": redirect,
                    "response_type": "code",
                    "scope": GMAIL_SCOPE,
                    "access_type": "offline",
                    "prompt": "consent",
                    "login_hint": sender,
                    "state": state,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                }
            )
        )
        if not done.wait(wait_seconds):
            raise MailError(
                f"nobody signed in within {wait_seconds / 60:g} minutes - run mergekit mail "
                "login again and open the address it prints in a browser on this computer"
            )
    finally:
        server.shutdown()
        server.server_close()
    if "code" not in got:
        raise Fatal(
            f"Google did not sign in: {got.get('error', 'no code')} - sign in as {sender} and "
            "allow mergekit to send email"
        )
    try:
        resp = requests.post(
            client["token_uri"],
            data={
                "code": got["code"],
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "redirect_uri": redirect,
                "grant_type": "authorization_code",
                "code_verifier": verifier,
            },
            timeout=settings.mail.timeout_seconds,
        )
    except requests.exceptions.RequestException as e:
        raise Unreachable(f"cannot reach Google's token endpoint: {e}") from e
    answer = (
        resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    )
    if resp.status_code != 200 or "refresh_token" not in answer:
        raise Fatal(
            f"Google refused the sign-in ({resp.status_code} {answer.get('error', '')} "
            f"{answer.get('error_description', '')}) - sign in again as {sender}".replace("  ", " ")
        )
    kept = KeptSignIn(settings, KEYRING_GOOGLE_SIGN_IN).write(
        json.dumps({"refresh_token": answer["refresh_token"], **client})
    )
    return sender, kept


class GoogleSignedIn:
    """Installed app: the refresh token `mergekit mail login` kept, renewed by google-auth."""

    def __init__(self, settings: Settings) -> None:
        from google.oauth2.credentials import Credentials

        self.settings = settings
        text = KeptSignIn(settings, KEYRING_GOOGLE_SIGN_IN).read()
        if not text:
            raise MailError(
                "nobody has signed in for sending yet - run: mergekit mail login (it signs "
                f"in as {parseaddr(settings.mail.from_)[1]} once, in a browser)"
            )
        kept = json.loads(text)
        self.credentials = Credentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=kept["refresh_token"],
            token_uri=settings.mail.authority_url.strip() or kept["token_uri"],
            client_id=kept["client_id"],
            client_secret=kept["client_secret"],
            scopes=[GMAIL_SCOPE],
        )

    @property
    def describe(self) -> str:
        return "the Google sign-in kept by mergekit mail login"

    def _fetch(self) -> str:
        import google.auth.exceptions
        from google.auth.transport.requests import Request

        try:
            self.credentials.refresh(Request())  # type: ignore[no-untyped-call]
        except google.auth.exceptions.TransportError as e:
            raise Unreachable(f"cannot reach Google's token endpoint: {e}") from e
        except google.auth.exceptions.RefreshError as e:
            raise Fatal(
                f"Google refused the kept sign-in ({e}) - sign in again: mergekit mail login"
            ) from e
        return str(self.credentials.token)

    def token(self) -> str:
        if self.credentials.valid:
            return str(self.credentials.token)
        return self._fetch()

    def refresh(self) -> str | None:
        return self._fetch()


# ---------------------------------------------------------------------------------------------


def token_source(settings: Settings, env: Mapping[str, str], purpose: Purpose) -> TokenSource:
    """The token source [mail] describes (MERGEKIT_OAUTH_TOKEN first, when set)."""
    given = env.get(TOKEN_ENV, "").strip()
    if given:
        return GivenToken(given)
    m = settings.mail
    if m.oauth_provider == "google":
        if m.oauth_flow == "installed_app":
            return GoogleSignedIn(settings)
        return GoogleServiceAccount(settings, env)
    if m.oauth_flow == "device_code":
        return MicrosoftSignedIn(settings, purpose)
    return MicrosoftApp(settings, env, purpose)


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64 (smtplib encodes it)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def xoauth2_b64(user: str, token: str) -> str:
    return base64.b64encode(xoauth2(user, token).encode("utf-8")).decode("ascii")
