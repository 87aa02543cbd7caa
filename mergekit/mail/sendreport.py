"""What `mergekit send` gets back: each message of the run with its ledger row, what was sent,
held, refused or left unknown, and the rows of the failures file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mergekit.mail.compose import (
    HeldForm,
    OutgoingMessage,
    PrintItem,
)
from mergekit.mail.release import (
    Release,
)

_REFUSED_RE = re.compile(r"^refused (\S+): (.*)$")
_WARNING_PREFIX = "log copy (Bcc)"


@dataclass(frozen=True, slots=True)
class Entry:
    """A message of this run and its ledger row."""

    message: OutgoingMessage
    row_id: int
    message_id: str
    state: str
    attempts: int = 0
    last_error: str = ""
    eml: Path | None = None
    size: int = 0
    sent_to: tuple[str, ...] = ()  # who it went to, when some recipients were refused

    @property
    def refused(self) -> list[tuple[str, str]]:
        """(address, reason) of recipients the server refused while taking the message."""
        return [
            (m.group(1), m.group(2))
            for line in self.last_error.splitlines()
            if (m := _REFUSED_RE.match(line))
        ]

    @property
    def warnings(self) -> list[str]:
        """What went wrong beside the family's delivery (a refused log copy): a warning."""
        return [line for line in self.last_error.splitlines() if line.startswith(_WARNING_PREFIX)]


@dataclass(frozen=True, slots=True)
class FailureRow:
    upn: str
    action: str
    recipients: str
    message_id: str
    reason: str


@dataclass(frozen=True)
class SendReport:
    run_dir: Path
    day: date
    dry_run: bool
    sender: str
    bcc: tuple[str, ...]
    listed: tuple[Entry, ...]  # written (dry run) or attempted (real send), in order
    waiting: tuple[Entry, ...]  # still to send after this command
    already_sent: tuple[Entry, ...]
    unknown: tuple[Entry, ...]  # state unknown and not resent
    recovered: tuple[str, ...]  # messages found interrupted at start-up (now unknown)
    print_items: tuple[PrintItem, ...]
    print_list: Path
    failures: tuple[FailureRow, ...]
    failures_path: Path | None
    notes: tuple[str, ...]
    stopped: str = ""  # why sending stopped before the end, if it did
    security_warning: str = ""  # what a real send would refuse (dry run only)
    held: tuple[HeldForm, ...] = ()  # forms waiting for a person: never sent until released
    released_now: tuple[Release, ...] = ()  # what this command released
    release_sheet: Path | None = None  # release.xlsx, when there are forms to release
    marked: tuple[Entry, ...] = ()  # unknown messages a person marked sent (--mark-sent)

    def _attempted(self, state: str) -> tuple[Entry, ...]:
        return () if self.dry_run else tuple(e for e in self.listed if e.state == state)

    @property
    def sent(self) -> tuple[Entry, ...]:
        return self._attempted("sent")

    @property
    def failed(self) -> tuple[Entry, ...]:
        """Failed in this send (a dry run fails nothing)."""
        return self._attempted("failed")

    @property
    def interrupted(self) -> tuple[Entry, ...]:
        """Attempted now, and it is not known whether the server has them."""
        return self._attempted("unknown")


Progress = Callable[[Entry, int, int], None]
