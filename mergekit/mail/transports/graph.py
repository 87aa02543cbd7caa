"""The Microsoft Graph transport: ``POST {graph_url}/users/{sender}/sendMail`` with the message
as MIME (base64, ``Content-Type: text/plain``), so what Graph sends is the .eml in the outbox.

Graph answers 202 when it has the message. 429 and 503 mean "later" (``Retry-After`` says
how long); 401 is an expired token, refreshed once and the message tried again; 403 is a
missing permission, which stops the batch; any other 4xx is a permanent failure for that one
message, with Graph's own error text. When the answer is lost after the request went out (or
is a 5xx that says nothing about the message) nobody can tell whether Graph has it: the
message is "unknown", for a person to settle after looking in Sent Items.

One HTTPS connection is kept for the batch (opened again after a drop). Plain http is allowed
only to this computer (a test server), as with plain SMTP.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote, urlsplit

from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.mail.transports import Fatal, Outcome, Unreachable
from mergekit.mail.transports.oauth import TokenSource, permission, token_source
from mergekit.mail.transports.smtp import is_loopback

IDLE_SECONDS = 20.0  # a connection unused this long is opened anew


def security_problem(settings: Settings) -> str:
    """Why a real send to [mail] graph_url would be refused ('' when it would not)."""
    parts = urlsplit(settings.mail.graph_url.strip())
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        return (
            f"{settings.where('mail.graph_url')}: [mail] graph_url = "
            f"{settings.mail.graph_url!r} would send pupils' data unencrypted: plain http is "
            "allowed only to this computer - use https://graph.microsoft.com/v1.0"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{settings.where('mail.graph_url')}: graph_url must be an http(s) address"
    return ""


@dataclass(frozen=True)
class GraphTransport:
    url: str  # graph_url without a trailing slash
    mailbox: str  # the sender's address: /users/{mailbox}/sendMail
    tokens: TokenSource
    timeout: float
    data_timeout: float
    permission: str

    @property
    def where(self) -> str:
        return f"Microsoft Graph at {self.url}"

    def open(self) -> GraphSession:
        return GraphSession(self)


def transport_for(settings: Settings, env: Mapping[str, str]) -> GraphTransport:
    """Check [mail] for a real send through Graph; raises MailError saying what to change."""
    m = settings.mail
    problem = security_problem(settings)
    if problem:
        raise MailError(problem)
    mailbox = parseaddr(m.from_)[1]
    if "@" not in mailbox:
        raise MailError(
            f"{settings.where('mail.from')}: [mail] from = {m.from_!r} is not an address - "
            "Graph sends from this mailbox"
        )
    if m.auth != "oauth2":
        raise MailError(f'{settings.where("mail.auth")}: transport = "graph" needs auth = "oauth2"')
    return GraphTransport(
        m.graph_url.strip().rstrip("/"),
        mailbox,
        token_source(settings, env, "graph"),
        m.timeout_seconds,
        m.data_timeout_seconds,
        permission(settings, "graph"),
    )


def graph_error(body: bytes) -> str:
    """Graph's error text: ``{"error": {"code": ..., "message": ...}}``, else the body."""
    text = body.decode("utf-8", "replace")
    try:
        err = json.loads(text).get("error", {})
        code, message = str(err.get("code", "")), str(err.get("message", ""))
        if code or message:
            return f"{code}: {message}".strip(": ")
    except (ValueError, AttributeError):
        pass
    return " ".join(text.split())[:300]


def retry_after(value: str | None) -> float:
    """Retry-After in seconds (Graph sends a number; a date is read as one minute)."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return 60.0


def with_bcc(data: bytes, bcc: Sequence[str]) -> bytes:
    """Graph takes the recipients from the MIME headers: the log copy goes as a Bcc header,
    which Exchange removes from what the family receives."""
    if not bcc:
        return data
    return f"Bcc: {', '.join(bcc)}\r\n".encode("ascii") + data


class GraphSession:
    def __init__(self, transport: GraphTransport) -> None:
        self.t = transport
        parts = urlsplit(transport.url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = parts.path.rstrip("/")
        self.conn: http.client.HTTPConnection | None = None
        self.token: str | None = None
        self.used = 0.0

    def __enter__(self) -> GraphSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self._drop()

    def sign_in(self) -> None:
        """A token for Mail.Send (Graph has no way to check the permission without sending)."""
        self.token = self.t.tokens.token()

    def _drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()
            self.conn = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.https:
                self.conn = http.client.HTTPSConnection(
                    self.host,
                    self.port,
                    timeout=self.t.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.t.timeout)
            try:
                self.conn.connect()
            except ssl.SSLCertVerificationError as e:
                self._drop()
                raise Fatal(
                    f"{self.t.where}: the certificate cannot be trusted ({e.verify_message}) - "
                    "check [mail] graph_url; if your IT team uses its own certificate "
                    "authority, point SSL_CERT_FILE at its certificate"
                ) from e
            except OSError as e:
                self._drop()
                raise Unreachable(f"cannot connect to {self.t.where}: {e}") from e
        return self.conn

    def post(self, body: bytes) -> tuple[int, Mapping[str, str], bytes] | str:
        """One sendMail request: (status, headers, body), or the reason there is no answer
        once the request went out (the message is then unknown). Raises Unreachable when the
        request could not be sent at all."""
        url = f"{self.path}/users/{quote(self.t.mailbox, safe='@')}/sendMail"
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "text/plain",
            "Content-Length": str(len(body)),
        }
        if self.conn is not None and time.monotonic() - self.used > IDLE_SECONDS:
            self._drop()  # servers close idle connections: never send into a stale one
        for fresh in (False, True):
            conn = self._connect()
            try:
                conn.request("POST", url, body=body, headers=headers)
            except OSError as e:
                # A kept-alive connection the server had closed: nothing was taken. Once.
                self._drop()
                if not fresh:
                    continue
                raise Unreachable(f"connection to {self.t.where} lost: {e}") from e
            try:
                assert conn.sock is not None
                conn.sock.settimeout(self.t.data_timeout)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                # The request went out: whatever happened next, Graph may have the message,
                # so it is never sent again from here.
                self._drop()
                return (
                    f"no answer from {self.t.where} within {self.t.data_timeout:g} s of "
                    f"handing over the message ({str(e) or type(e).__name__})"
                )
            with contextlib.suppress(OSError):
                if conn.sock is not None:
                    conn.sock.settimeout(self.t.timeout)
            self.used = time.monotonic()
            if resp.will_close:
                self._drop()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        raise Unreachable(f"connection to {self.t.where} lost")  # pragma: no cover

    def transmit(self, sender: str, to: Sequence[str], bcc: Sequence[str], data: bytes) -> Outcome:
        body = base64.b64encode(with_bcc(data, bcc))
        if self.token is None:
            self.token = self.t.tokens.token()
        refreshed = False
        while True:
            answer = self.post(body)
            if isinstance(answer, str):
                return Outcome("unknown", answer)
            status, headers, text = answer
            if status == 202:
                return Outcome("sent", accepted=tuple(to))
            reason = f"Graph {status} {graph_error(text)}"
            if status == 401 and not refreshed:
                fresh = self.t.tokens.refresh()
                if fresh is not None:
                    self.token = fresh
                    refreshed = True
                    continue
            if status in (401, 403):
                raise Fatal(
                    f"{self.t.where} refused to send as {self.t.mailbox} with the token from "
                    f"{self.t.tokens.describe} ({reason}) - the IT admin must grant "
                    f"{self.t.permission}"
                )
            if status in (429, 503):
                return Outcome(
                    "temporary", reason, retry_after=retry_after(headers.get("retry-after"))
                )
            if 400 <= status < 500:
                return Outcome("permanent", reason)
            # 500, 502, 504...: the answer does not say whether Graph took the message.
            return Outcome("unknown", f"{reason} (Graph may or may not have sent it)")
