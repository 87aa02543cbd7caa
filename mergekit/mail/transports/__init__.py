"""Transports: how a message the outbox has built leaves the school.

The outbox (:mod:`mergekit.mail.outbox`) owns the exactly-once state machine: the ledger rows,
retries, back-off and what is reported. A transport owns only the conversation with one kind of
server, behind the small interface here, so the outbox never knows which one it talks to:

* a :class:`Connector` checked from the settings before anything is sent (``smtp.transport_for``);
* its :class:`Session`, opened once for the batch, whose ``transmit`` hands one message over and
  says what became of it (an :class:`Outcome`), or raises :class:`Fatal` (sending cannot go on:
  bad password, untrusted certificate) or :class:`Unreachable` (try again later).

``smtp`` speaks SMTP (a password or an OAuth 2.0 token: ``AUTH XOAUTH2``), ``graph`` Microsoft
Graph's sendMail; ``oauth`` is where their tokens come from (``microsoft``: MSAL, ``google``:
google-auth) and ``connect`` picks the transport ``[mail] transport`` names. Each may import
``mergekit.core`` and this package, nothing above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from mergekit.core.errors import MailError


class Fatal(MailError):
    """Sending cannot go on at all (bad password, certificate, no TLS on offer)."""


class Unreachable(Exception):
    """The server could not be reached or dropped the connection before the message text."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["sent", "temporary", "permanent", "unknown"]
    reason: str = ""
    accepted: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # permanently refused (address, reply)
    retry_after: float = 0.0  # "temporary": the server asked for this many seconds' wait
    warnings: tuple[str, ...] = ()  # "sent", but e.g. the log copy (Bcc) was refused


class Session(Protocol):
    """One open conversation with the server, for the whole batch."""

    def __enter__(self) -> Session: ...

    def __exit__(self, *exc: object) -> None: ...

    def sign_in(self) -> None:
        """Connect and sign in now, sending nothing (`mergekit mail test`)."""

    def transmit(
        self, sender: str, to: Sequence[str], bcc: Sequence[str], data: bytes
    ) -> Outcome: ...


class Connector(Protocol):
    """Where and how to connect, checked before the first message; opens the session."""

    @property
    def where(self) -> str: ...

    def open(self) -> Session: ...
