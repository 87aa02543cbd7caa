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

This module is what every source shares (the token given as it is, where a signed-in person's
tokens are kept, choosing the source); :mod:`~mergekit.mail.transports.microsoft` and
:mod:`~mergekit.mail.transports.google` are the providers.

Nothing here prints: a refusal is a :class:`~mergekit.mail.transports.Fatal` whose text names the
setting to check and the permission to grant.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from mergekit.core.atomic import write_or_explain
from mergekit.core.config import Settings
from mergekit.core.errors import MailError

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


def keyring_get(service: str, user: str) -> str | None:
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


class KeptSignIn:
    """A signed-in person's tokens, kept in the OS keyring (service [mail] keyring_service),
    else in the file [mail] token_cache, readable by its owner only."""

    def __init__(self, settings: Settings, user: str) -> None:
        self.settings = settings
        self.user = user
        self.file = settings.base / settings.mail.token_cache

    def read(self) -> str | None:
        found = keyring_get(self.settings.mail.keyring_service, self.user)
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


# ---------------------------------------------------------------------------------------------


def token_source(settings: Settings, env: Mapping[str, str], purpose: Purpose) -> TokenSource:
    """The token source [mail] describes (MERGEKIT_OAUTH_TOKEN first, when set)."""
    given = env.get(TOKEN_ENV, "").strip()
    if given:
        return GivenToken(given)
    m = settings.mail
    if m.oauth_provider == "google":
        from mergekit.mail.transports import google

        if m.oauth_flow == "installed_app":
            return google.GoogleSignedIn(settings)
        return google.GoogleServiceAccount(settings, env)
    from mergekit.mail.transports import microsoft

    if m.oauth_flow == "device_code":
        return microsoft.MicrosoftSignedIn(settings, purpose)
    return microsoft.MicrosoftApp(settings, env, purpose)


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64 (smtplib encodes it)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def xoauth2_b64(user: str, token: str) -> str:
    return base64.b64encode(xoauth2(user, token).encode("utf-8")).decode("ascii")
