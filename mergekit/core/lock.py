"""Locks that work on a shared network drive: one mergekit at a time per ledger, and per
workbook it writes.

A lock is a small file created with ``O_CREAT | O_EXCL`` (atomic on local disks, SMB and NFS),
holding who took it: user, host, process id, when, and for what. A second mergekit waits a
short while for it, then stops with a :class:`~mergekit.core.errors.LockedError` that names the
holder and what to do.

A lock left by a crash is *stale*: taken on this computer by a process that no longer runs, or
older than :data:`STALE_AFTER` (another computer's process cannot be asked). A stale lock is
taken over safely: it is first renamed aside (a rename succeeds for one taker only), checked to
be the very lock judged stale (else put back), and only then is a new one created with
``O_EXCL``, so two takers can never both win.

Locks are re-entrant within a process: ``mergekit run`` holds the ledger's lock for the whole
day, and the steps below it that take it again simply share it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import getpass
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from mergekit.core.errors import LockedError

WAIT_SECONDS = 10.0  # how long a second mergekit waits before saying who holds the lock
POLL_SECONDS = 0.1
STALE_AFTER = 2 * 60 * 60.0  # seconds: a lock this old is taken over whoever holds it

HoldContext = AbstractContextManager[None]
P = ParamSpec("P")
R = TypeVar("R")
W = TypeVar("W", bound="_HasSettings")

# path -> (token, depth) of the locks this process holds
_HELD: dict[str, tuple[str, int]] = {}


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lock, as its file says."""

    user: str
    host: str
    pid: int
    since: str  # ISO time, UTC
    what: str
    token: str

    @classmethod
    def read(cls, path: Path) -> Holder | None:
        """The lock's holder; None when there is no lock (or it vanished while being read).
        A file that cannot be parsed (being written this instant, or damaged) gives a holder
        with what is known: pid 0, time from the file."""
        try:
            raw = path.read_bytes()
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        try:
            d = json.loads(raw.decode("utf-8"))
            return cls(
                str(d["user"]),
                str(d["host"]),
                int(d["pid"]),
                str(d["since"]),
                str(d.get("what", "")),
                str(d["token"]),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            since = datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds")
            return cls("?", "?", 0, since, "", raw.hex()[:64])

    def age(self, now: float) -> float:
        try:
            return now - datetime.fromisoformat(self.since).timestamp()
        except ValueError:
            return 0.0

    def stale(self, now: float, host: str | None = None) -> bool:
        """Left by a crash: this computer's process is gone, or the lock is very old."""
        if self.age(now) > STALE_AFTER:
            return True
        if self.host == (host or _host()) and self.pid > 0:
            return not _alive(self.pid)
        return False

    def describe(self) -> str:
        try:
            when = datetime.fromisoformat(self.since).astimezone().strftime("%d/%m/%Y %H:%M:%S")
        except ValueError:
            when = self.since
        what = f", running `mergekit {self.what}`" if self.what else ""
        return f"{self.user}@{self.host} (process {self.pid}{what}) since {when}"


def _host() -> str:
    return socket.gethostname()


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a service account without one)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "?"


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows: os.kill(pid, 0) would end it
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    except OSError:
        return True
    return True


def _alive_windows(pid: int) -> bool:  # pragma: no cover - Windows
    import ctypes

    kernel32: Any = getattr(ctypes, "windll").kernel32  # noqa: B009 - absent off Windows
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return bool(kernel32.GetLastError() == 5)  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return not ok or code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def ledger_lock_path(ledger: Path) -> Path:
    """The school folder's lock: beside the ledger, guarding it."""
    return ledger.with_name(ledger.name + ".lock")


def workbook_lock_path(workbook: Path) -> Path:
    """The lock mergekit holds while it reads, changes and replaces a workbook."""
    return workbook.with_name(f".{workbook.name}.mergekit-lock")


@contextlib.contextmanager
def hold(
    path: Path,
    guarded: str,
    what: str = "",
    *,
    wait: float | None = None,
    clock: Callable[[], float] = time.time,
) -> Iterator[None]:
    """Hold the lock file ``path`` (guarding ``guarded``, named in messages) while inside.
    Waits up to ``wait`` seconds (default :data:`WAIT_SECONDS`) for another holder, then raises
    LockedError naming them. ``what``: the command, for the other user's message."""
    key = os.path.abspath(path)
    if key in _HELD:
        token, depth = _HELD[key]
        _HELD[key] = (token, depth + 1)
        try:
            yield
        finally:
            token, depth = _HELD[key]
            if depth > 1:
                _HELD[key] = (token, depth - 1)
            else:
                del _HELD[key]
                _release(path, token)
        return
    token = acquire(path, guarded, what, wait=WAIT_SECONDS if wait is None else wait, clock=clock)
    _HELD[key] = (token, 1)
    try:
        yield
    finally:
        del _HELD[key]
        _release(path, token)


def held_by_us(path: Path) -> bool:
    return os.path.abspath(path) in _HELD


def acquire(
    path: Path,
    guarded: str,
    what: str = "",
    *,
    wait: float = WAIT_SECONDS,
    clock: Callable[[], float] = time.time,
) -> str:
    """Take the lock (not re-entrant: use :func:`hold`); returns its token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    token = uuid.uuid4().hex
    while True:
        if _create(path, token, what, clock()):
            return token
        holder = Holder.read(path)
        if holder is None:
            continue  # released between our attempt and the read: try again at once
        if holder.stale(clock()):
            _take_over(path, holder)
            continue
        if time.monotonic() >= deadline:
            raise LockedError(
                f"{guarded} is in use by {holder.describe()} - wait for that mergekit to "
                f"finish and run this again. If it is no longer running (its computer "
                f"crashed), delete {path}; mergekit takes it over by itself after "
                f"{STALE_AFTER / 3600:g} hours"
            )
        time.sleep(POLL_SECONDS)


def _create(path: Path, token: str, what: str, now: float) -> bool:
    body = {
        "user": _user(),
        "host": _host(),
        "pid": os.getpid(),
        "since": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "what": what,
        "token": token,
    }
    data = json.dumps(body).encode("utf-8")
    # A reader that finds the file still empty (written this instant) cannot parse it and
    # treats it as held, never as stale, so it simply waits.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM) and path.exists():
            return False  # Windows: a lock being deleted this instant
        raise LockedError(
            f"{path}: cannot create the lock file ({e.strerror}) - check the folder can be "
            "written to"
        ) from e
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _take_over(path: Path, stale: Holder) -> None:
    """Move a stale lock aside. Only one taker's rename succeeds; if what was moved is not the
    lock judged stale (another taker replaced it in between), it is put back with a link,
    which fails rather than overwrite a lock created since."""
    aside = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:12]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # another taker moved it first
    moved = Holder.read(aside)
    if moved is not None and moved.token != stale.token:
        with contextlib.suppress(OSError):
            os.link(aside, path)  # fails if a lock exists again: theirs then stands
    with contextlib.suppress(OSError):
        os.unlink(aside)


def _release(path: Path, token: str) -> None:
    """Remove our lock (only if it is still ours: after a takeover it may not be)."""
    holder = Holder.read(path)
    if holder is not None and holder.token == token:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def school_lock(ledger: Path, what: str = "", *, wait: float | None = None) -> HoldContext:
    """The school folder's lock (beside its ledger), for a command that writes the ledger: held
    from reading what was done to recording what it did."""
    return hold(ledger_lock_path(ledger), f"the ledger {ledger}", what, wait=wait)


def workbook_lock(workbook: Path, what: str = "", *, wait: float | None = None) -> HoldContext:
    """A workbook's lock, held from reading it to replacing it."""
    return hold(workbook_lock_path(workbook), f"the workbook {workbook}", what, wait=wait)


class _HasLedger(Protocol):
    @property
    def ledger_path(self) -> Path: ...


class _HasSettings(Protocol):
    @property
    def settings(self) -> _HasLedger: ...


def with_school_lock(
    what: str,
) -> Callable[[Callable[Concatenate[W, P], R]], Callable[Concatenate[W, P], R]]:
    """Decorate a library function whose first argument is the Workspace: it runs holding the
    school's lock (re-entrant, so a step of `mergekit run` shares run's)."""

    def wrap(fn: Callable[Concatenate[W, P], R]) -> Callable[Concatenate[W, P], R]:
        @functools.wraps(fn)
        def inner(ws: W, /, *args: P.args, **kwargs: P.kwargs) -> R:
            with school_lock(ws.settings.ledger_path, what):
                return fn(ws, *args, **kwargs)

        return inner

    return wrap
