"""Microsoft 365 tokens with MSAL for Python: client credentials (an app registration, with a
secret or a certificate) and device-code sign-in (`mergekit mail login`); what each AADSTS
refusal means for the IT admin."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.mail.transports import Fatal, Unreachable
from mergekit.mail.transports.oauth import (
    APP_SCOPES,
    DELEGATED_SCOPES,
    KEYRING_CACHE_USER,
    MICROSOFT_LOGIN,
    KeptSignIn,
    Purpose,
    keyring_get,
    permission,
)

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


def client_credential(settings: Settings, env: Mapping[str, str]) -> str | dict[str, str]:
    """The app's secret, or its certificate (private key and thumbprint): the environment,
    else the OS keyring. Raises MailError naming both places when there is neither."""
    m = settings.mail
    cert_file = env.get(m.client_certificate_env, "") if m.client_certificate_env else ""
    if cert_file:
        return _certificate(Path(cert_file), m.client_certificate_env)
    secret = env.get(m.client_secret_env, "") if m.client_secret_env else ""
    secret = secret or keyring_get(m.keyring_service, m.client_id) or ""
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
    except ValueError as e:
        text = str(e)
        advice = aadsts_advice(text)
        if not advice and re.search(r"authority|OIDC|tenant", text, re.IGNORECASE):
            # Discovery failed: Microsoft answers 400 (AADSTS90002) for a tenant it does not know.
            advice = (
                "Microsoft does not know this tenant - check [mail] tenant_id (the Directory "
                "(tenant) ID)" + (" and authority_url" if _custom_authority(settings) else "")
            )
        raise Fatal(f"Microsoft sign-in at {authority(settings)} failed: {advice or text}") from e


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
