"""Google Workspace tokens with google-auth: a service account with domain-wide delegation
acting as the sender, or a person signing in once in a browser (installed app, PKCE, a
loopback redirect: `mergekit mail login`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.mail.transports import Fatal, Unreachable
from mergekit.mail.transports.oauth import (
    GMAIL_SCOPE,
    GOOGLE_TOKEN_URI,
    KEYRING_GOOGLE_USER,
    KeptSignIn,
    keyring_get,
    permission,
)


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
        text = keyring_get(m.keyring_service, KEYRING_GOOGLE_USER) or ""
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
