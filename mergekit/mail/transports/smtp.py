"""The SMTP transport: checking the [mail] settings for a real send, the password, and the
conversation with the server (one connection for the whole batch, opened again after a drop).

Plain SMTP (no TLS) is allowed only to this computer; the password comes from an environment
variable or the OS keyring, never from mergekit.toml. With ``[mail] auth = "oauth2"`` the login
is ``AUTH XOAUTH2`` with a token (:mod:`mergekit.mail.transports.oauth`), refreshed once when the
server refuses it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Literal

from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.mail.transports import Fatal, Outcome, Unreachable
from mergekit.mail.transports.oauth import TokenSource, permission, token_source, xoauth2

# Microsoft 365's answer when SMTP AUTH is turned off for the tenant or the mailbox.
SMTP_AUTH_DISABLED = "5.7.139"


def smtp_auth_disabled(where: str, reply: str) -> str:
    return (
        f"{where}: Microsoft 365 refused the login ({reply}): SMTP AUTH is turned off for "
        "this tenant or mailbox - either the IT admin turns it on for the sender's mailbox "
        "(Microsoft 365 admin centre > Users > the mailbox > Mail > Manage email apps > "
        "Authenticated SMTP), or send through Microsoft Graph instead: [mail] transport = "
        '"graph", auth = "oauth2" (see the README: Set up email for Microsoft 365)'
    )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost. A name is not looked up: only these spellings count."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def security_problem(settings: Settings) -> str:
    """Why a real send with these settings would be refused ('' when it would not)."""
    m = settings.mail
    if m.security == "none" and not is_loopback(m.host):
        return (
            f'{settings.where("mail.security")}: [mail] security = "none" would send pupils\' '
            f"data unencrypted to {m.host}: plain SMTP is allowed only to this computer "
            '(127.0.0.1, ::1 or localhost) - use security = "starttls" (usually port 587) or '
            '"ssl" (usually port 465)'
        )
    if m.security not in ("starttls", "ssl", "none"):
        return f'{settings.where("mail.security")}: security must be "starttls", "ssl" or "none"'
    return ""


@dataclass(frozen=True)
class Transport:
    host: str
    port: int
    security: Literal["starttls", "ssl", "none"]
    username: str
    password: str = field(repr=False)
    timeout: float
    data_timeout: float = 600.0
    tokens: TokenSource | None = None  # auth = "oauth2": AUTH XOAUTH2 as ``oauth_user``
    oauth_user: str = ""
    permission: str = ""  # what the IT admin must grant when the token is refused

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self) -> SmtpSession:
        return SmtpSession(self)


def smtp_password(settings: Settings, env: Mapping[str, str]) -> str | None:
    """The SMTP password: the environment variable [mail] password_env names, else the OS
    keyring (service [mail] keyring_service, user [mail] username). Never mergekit.toml."""
    m = settings.mail
    if m.password_env and env.get(m.password_env):
        return env[m.password_env]
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            found = keyring.get_password(m.keyring_service, m.username)
        except KeyringError:
            return None
        return str(found) if found else None
    except ImportError:
        return None


def transport_for(settings: Settings, env: Mapping[str, str]) -> Transport:
    """Check the [mail] settings for a real send; raises MailError saying what to change."""
    m = settings.mail
    problem = security_problem(settings)
    if problem:
        raise MailError(problem)
    if not m.host.strip():
        raise MailError(f"{settings.where('mail.host')}: [mail] host is empty - set the server")
    password = ""
    if m.auth == "oauth2":
        return Transport(
            m.host.strip(),
            m.port,
            _security(m.security),
            m.username,
            "",
            m.timeout_seconds,
            m.data_timeout_seconds,
            tokens=token_source(settings, env, "smtp"),
            oauth_user=m.username.strip() or parseaddr(m.from_)[1],
            permission=permission(settings, "smtp"),
        )
    if m.username:
        found = smtp_password(settings, env)
        if not found:
            raise MailError(
                f"{settings.where('mail.username')}: [mail] username = {m.username!r} needs a "
                f"password, and there is none: the environment variable {m.password_env or '-'} "
                f"is not set and the OS keyring has nothing for service {m.keyring_service!r} - "
                f"set {m.password_env or 'MERGEKIT_SMTP_PASSWORD'} before sending, or store it "
                f"once with: keyring set {m.keyring_service} {m.username} "
                "(never put the password in mergekit.toml)"
            )
        password = found
    return Transport(
        m.host.strip(),
        m.port,
        _security(m.security),
        m.username,
        password,
        m.timeout_seconds,
        m.data_timeout_seconds,
    )


def _security(value: str) -> Literal["starttls", "ssl", "none"]:
    return "ssl" if value == "ssl" else "starttls" if value == "starttls" else "none"


def _kind(code: int) -> Literal["temporary", "permanent"]:
    """4xx means try again later; anything else unexpected is final."""
    return "temporary" if 400 <= code < 500 else "permanent"


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


class SmtpSession:
    """One connection reused for the whole batch, opened again after a drop."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            with contextlib.suppress(OSError):
                self.smtp.close()
            self.smtp = None

    def _drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
            self.smtp = None

    def sign_in(self) -> None:
        self.connect()

    def connect(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        t = self.t
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if t.security == "ssl":
                smtp = smtplib.SMTP_SSL(t.host, t.port, timeout=t.timeout, context=context)
            else:
                smtp = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
            try:
                smtp.ehlo()
                if t.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise Fatal(
                            f"{t.where}: the server does not offer STARTTLS, so mail to it would "
                            'not be encrypted - check [mail] host and port, or use security = "ssl"'
                            " if it expects TLS from the start (usually port 465)"
                        )
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if t.tokens is not None:
                    self._xoauth2(smtp, t.tokens)
                elif t.username:
                    smtp.login(t.username, t.password)
            except BaseException:
                with contextlib.suppress(OSError):
                    smtp.close()
                raise
        except ssl.SSLCertVerificationError as e:
            raise Fatal(
                f"{t.where}: the server's certificate cannot be trusted ({e.verify_message}) - "
                "check [mail] host; if your IT team uses its own certificate authority, point "
                "the SSL_CERT_FILE environment variable at its certificate"
            ) from e
        except ssl.SSLError as e:
            raise Fatal(
                f"{t.where}: the encrypted connection failed ({e.reason or e}) - check that "
                '[mail] security matches the port: "ssl" is usually 465, "starttls" 587'
            ) from e
        except smtplib.SMTPAuthenticationError as e:
            reply = _reply(e.smtp_code, e.smtp_error)
            if SMTP_AUTH_DISABLED in reply:
                raise Fatal(smtp_auth_disabled(t.where, reply)) from e
            raise Fatal(
                f"{t.where}: the server refused the login for {t.username!r} "
                f"({_reply(e.smtp_code, e.smtp_error)}) - check [mail] username and the password "
                "(Microsoft 365 and Google may need an app password or SMTP AUTH turned on)"
            ) from e
        except smtplib.SMTPNotSupportedError as e:
            raise Fatal(
                f"{t.where}: the server does not offer a login (AUTH) here - leave [mail] "
                "username empty if it needs none, or check host, port and security"
            ) from e
        except smtplib.SMTPResponseException as e:
            if 400 <= e.smtp_code < 500:
                raise Unreachable(_reply(e.smtp_code, e.smtp_error)) from e
            raise Fatal(
                f"{t.where}: the server refused the connection "
                f"({_reply(e.smtp_code, e.smtp_error)}) - check [mail] host, port and security"
            ) from e
        except (smtplib.SMTPException, OSError) as e:
            raise Unreachable(f"cannot connect to {t.where}: {str(e) or type(e).__name__}") from e
        self.smtp = smtp
        return smtp

    def _xoauth2(self, smtp: smtplib.SMTP, tokens: TokenSource) -> None:
        """AUTH XOAUTH2 with the token; a refused token is refreshed once and tried again."""
        t = self.t
        token = tokens.token()
        for again in (False, True):
            sasl = xoauth2(t.oauth_user, token)
            try:
                # A refusal comes as a 334 challenge (an error report): answer it with an
                # empty line and the server says 535.
                smtp.auth(
                    "XOAUTH2",
                    lambda challenge=None, s=sasl: "" if challenge is not None else s,
                    initial_response_ok=True,
                )
                return
            except smtplib.SMTPAuthenticationError as e:
                reply = _reply(e.smtp_code, e.smtp_error)
                if SMTP_AUTH_DISABLED in reply:
                    raise Fatal(smtp_auth_disabled(t.where, reply)) from e
                fresh = None if again else tokens.refresh()
                if fresh is None:
                    raise Fatal(
                        f"{t.where}: the server refused the token from {tokens.describe} for "
                        f"{t.oauth_user!r} ({reply}) - check [mail] from/username is the "
                        f"mailbox the token is for; the IT admin must grant {t.permission}"
                    ) from e
                token = fresh

    def transmit(self, sender: str, to: Sequence[str], bcc: Sequence[str], data: bytes) -> Outcome:
        """One SMTP transaction. The envelope is checked recipient by recipient before any text
        is sent, so a temporary refusal of one recipient never half-sends a message. A refused
        log copy (Bcc) is only a warning: the family's message still goes, once."""
        smtp = self.connect()
        warnings: list[str] = []
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                return self._refused_envelope(code, f"sender {sender}: {_reply(code, text)}")
            accepted: list[str] = []
            refused: list[tuple[str, str]] = []
            for addr in to:
                code, text = smtp.rcpt(addr)
                if code in (250, 251):
                    accepted.append(addr)
                elif 400 <= code < 500:
                    return self._refused_envelope(code, f"{addr}: {_reply(code, text)}")
                else:
                    refused.append((addr, _reply(code, text)))
            if not accepted:
                reasons = "; ".join(f"{a}: {r}" for a, r in refused)
                return self._refused_envelope(550, reasons)
            for addr in bcc:
                code, text = smtp.rcpt(addr)
                if code not in (250, 251):
                    warnings.append(f"log copy (Bcc) to {addr} refused: {_reply(code, text)}")
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self._drop()
            raise Unreachable(f"connection to {self.t.where} lost: {e}") from e
        sock = smtp.sock
        try:
            # A server may take minutes to confirm a message it is scanning: wait as long as
            # [mail] data_timeout_seconds before calling it unknown.
            if sock is not None:
                sock.settimeout(self.t.data_timeout)
            code, text = smtp.data(data)
        except smtplib.SMTPDataError as e:  # DATA itself refused: nothing was handed over
            self._reset()
            return Outcome(_kind(e.smtp_code), _reply(e.smtp_code, e.smtp_error))
        except (smtplib.SMTPException, OSError) as e:
            # The text may have reached the server before the line went dead.
            self._drop()
            return Outcome(
                "unknown",
                f"no answer from {self.t.where} within {self.t.data_timeout:g} s of handing "
                f"over the message ({str(e) or type(e).__name__})",
            )
        finally:
            if sock is not None and self.smtp is not None:
                with contextlib.suppress(OSError):
                    sock.settimeout(self.t.timeout)
        if code == 250:
            return Outcome(
                "sent", accepted=tuple(accepted), refused=tuple(refused), warnings=tuple(warnings)
            )
        return Outcome(_kind(code), _reply(code, text))

    def _refused_envelope(self, code: int, reason: str) -> Outcome:
        self._reset()
        return Outcome(_kind(code), reason)

    def _reset(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()
