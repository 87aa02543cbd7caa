"""`mergekit mail test`: connect and sign in with the [mail] settings, sending nothing (or, with
``send_to``, one test message), and say what went wrong in words a school's IT admin can act
on. Nothing here touches the ledger or the outbox: the test message is about no pupil.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr, parsedate_to_datetime
from urllib.parse import urlsplit

from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.mail.compose import address_domain
from mergekit.mail.transports import Connector, Fatal, Unreachable
from mergekit.mail.transports.connect import connector_for
from mergekit.mail.transports.microsoft import authority
from mergekit.mail.transports.oauth import GOOGLE_TOKEN_URI, TOKEN_ENV

CLOCK_SLACK_SECONDS = 300  # tokens carry times; 5 minutes off is where sign-ins start failing


@dataclass(frozen=True)
class Step:
    label: str
    ok: bool
    detail: str = ""


@dataclass
class MailTest:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    def add(self, label: str, ok: bool, detail: str = "") -> None:
        self.steps.append(Step(label, ok, detail))


def _clock_url(settings: Settings) -> str:
    m = settings.mail
    if m.transport == "graph":
        return m.graph_url.strip()
    if m.oauth_provider == "google":
        return m.authority_url.strip() or GOOGLE_TOKEN_URI
    return authority(settings)


def clock_offset(url: str, timeout: float) -> float | None:
    """Seconds the server's clock (its HTTP Date header) is ahead of this computer's, or None
    when it cannot be asked."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("HEAD", parts.path or "/")
        resp = conn.getresponse()
        resp.read()
        date = resp.getheader("Date")
        now = time.time()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if not date:
        return None
    try:
        return parsedate_to_datetime(date).timestamp() - now
    except (TypeError, ValueError):
        return None


def _minutes(seconds: float) -> str:
    n = round(abs(seconds) / 60)
    return f"{n} minute{'s' * (n != 1)}"


def sample_message(settings: Settings, to: str) -> bytes:
    m = settings.mail
    msg = EmailMessage()
    msg["From"] = m.from_
    msg["To"] = to
    msg["Subject"] = "mergekit test message"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=address_domain(m.from_))
    msg.set_content(
        "This is a test message from mergekit (mergekit mail test --send).\n"
        "It shows the school's email settings work. It is about no pupil; nothing needs doing.\n"
    )
    return msg.as_bytes()


def run_mail_test(settings: Settings, env: Mapping[str, str], send_to: str | None) -> MailTest:
    """Check the settings, the clock, the connection and the sign-in; with ``send_to`` (an
    address, or "" for the sender itself) also send one test message."""
    m = settings.mail
    out = MailTest()
    sender = parseaddr(m.from_)[1]
    if "@" not in sender:
        out.add("Settings", False, f"{settings.where('mail.from')}: [mail] from is not an address")
        return out
    how = f"{m.transport}, auth {m.auth}"
    if m.auth == "oauth2":
        how += (
            f" (the token in {TOKEN_ENV})"
            if env.get(TOKEN_ENV, "").strip()
            else f" ({m.oauth_provider} {m.oauth_flow})"
        )
    try:
        connector: Connector = connector_for(settings, env)
    except MailError as e:
        out.add("Settings", False, str(e))
        return out
    out.add("Settings", True, f"{how}, sending as {sender} through {connector.where}")
    if m.auth == "oauth2":
        url = _clock_url(settings)
        offset = clock_offset(url, m.timeout_seconds)
        if offset is not None and abs(offset) > CLOCK_SLACK_SECONDS:
            out.add(
                "Clock",
                False,
                f"this computer's clock is {_minutes(offset)} "
                f"{'behind' if offset > 0 else 'ahead of'} {urlsplit(url).hostname}'s: sign-in "
                "tokens will be refused - set the clock right (Windows: Settings > Time & "
                "language > Date & time > Sync now)",
            )
    with connector.open() as session:
        try:
            session.sign_in()
        except (Fatal, Unreachable) as e:
            out.add("Sign in", False, str(e))
            return out
        out.add("Sign in", True, "connected and signed in")
        if send_to is None:
            return out
        to = send_to.strip() or sender
        try:
            outcome = session.transmit(sender, [to], [], sample_message(settings, to))
        except (Fatal, Unreachable) as e:
            out.add("Test message", False, str(e))
            return out
        if outcome.kind == "sent":
            out.add("Test message", True, f"sent to {to} - check it arrives")
        else:
            out.add("Test message", False, f"{outcome.kind}: {outcome.reason}")
    return out
