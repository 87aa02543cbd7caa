"""Writing a file whole or not at all: every file mergekit makes goes through here.

Data at rest: what mergekit writes holds pupils' names, addresses and attendance, so files are
owner-only (:data:`FILE_MODE`, 0600) and the folders mergekit makes owner-only
(:data:`DIR_MODE`, 0700), whatever the umask. A file is written to a temporary file in its
destination folder, named ``.mergekit-tmp-<host>-<pid>-<random>-<name>`` (:func:`temp_name`),
then renamed over the real name; the temporary file is removed on every exit path Python sees
(errors, Ctrl+C). One left by a process that was killed is removed by the next mergekit that
writes in that folder: :func:`clean_stale_temps` removes those whose process (on this host) is
gone, or that are older than :data:`STALE_TEMP_SECONDS` (another host's, on a shared drive).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from mergekit.core.errors import MergekitError

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_PREFIX = ".mergekit-tmp-"
# A temp file this old is a crash's leftover even when its process cannot be checked (another
# computer's, on a shared drive): no write takes an hour.
STALE_TEMP_SECONDS = 3600

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname().split(".")[0])[:20] or "host"
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-")
_cleaned: set[Path] = set()


def temp_name(name: str) -> str:
    """The name of a temporary file for ``name``: prefixed, with this host and process."""
    return f"{TEMP_PREFIX}{_HOST}-{os.getpid()}-{secrets.token_hex(4)}-{name}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is someone else's (PermissionError), or cannot be asked
        return True
    return True


def is_stale(path: Path, now: float | None = None) -> bool:
    """Whether ``path`` (a mergekit temp file or folder) was left by a crash: its process on
    this host has gone, or it is older than :data:`STALE_TEMP_SECONDS`."""
    m = _TEMP_NAME.match(path.name)
    if m is None:
        return False
    if m["host"] == _HOST and os.name == "posix" and not _alive(int(m["pid"])):
        return True
    try:
        age = (time.time() if now is None else now) - path.lstat().st_mtime
    except OSError:
        return False
    return age > STALE_TEMP_SECONDS


def clean_stale_temps(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the temp files and folders crashed mergekits left in ``folder``; the ones
    removed. A folder that cannot be listed is left alone (the write will say why)."""
    removed: list[Path] = []
    try:
        entries = [p for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]
    except OSError:
        return removed
    for p in entries:
        if not is_stale(p, now):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError:
            continue
        removed.append(p)
    return removed


def sweep_stale_temps(root: Path, *, days: int = 14, now: float | None = None) -> list[Path]:
    """:func:`clean_stale_temps` in ``root`` (the output folder), its run folders and their
    subfolders (docx/, pdf/, outbox/ ...), for a crash on an earlier day: only folders changed
    in the last ``days`` days are listed, so a year of run folders on a network drive stays
    quick."""
    now = time.time() if now is None else now
    recent = now - days * 86400
    removed = clean_stale_temps(root, now)
    try:
        runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return removed
    for run in runs:
        try:
            folders = [run, *(p for p in run.iterdir() if p.is_dir() and not p.is_symlink())]
            folders += [p for f in folders[1:] for p in f.iterdir() if p.is_dir()]
        except OSError:
            continue
        for folder in folders:
            try:
                if folder.stat().st_mtime < recent:
                    continue
            except OSError:
                continue
            removed += clean_stale_temps(folder, now)
    return removed


def clean_once(folder: Path) -> None:
    """:func:`clean_stale_temps` the first time this process writes in ``folder``."""
    key = folder.absolute()
    if key not in _cleaned:
        _cleaned.add(key)
        clean_stale_temps(folder)


def make_dirs(folder: Path) -> None:
    """``mkdir -p`` where every folder made is owner-only (:data:`DIR_MODE`) whatever the
    umask; folders that already exist (the school's own) are left as they are."""
    missing: list[Path] = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(d, DIR_MODE)
    if not folder.is_dir():
        folder.mkdir()  # raises the OSError saying why (a file in the way)


def own_file(path: Path) -> None:
    """Make an existing file mergekit owns (the ledger) owner-only; a file system that cannot
    (a network share) keeps its own rules."""
    with contextlib.suppress(OSError):
        if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
            os.chmod(path, FILE_MODE)


def write_atomic_with(
    path: Path,
    write: Callable[[BinaryIO], None],
    *,
    sync: bool = False,
    mode: int | None = FILE_MODE,
    check: Callable[[Path], None] | None = None,
) -> None:
    """Write ``path`` by calling ``write`` on a temporary file in its folder, then renaming
    it over, so a reader never sees half a file. ``mode``: the new file's permissions
    (owner-only); None keeps those of the file replaced (a school's own workbook), else
    owner-only. ``sync`` forces the bytes (and the rename) to disk; ``check`` may inspect the
    finished temp file and raise. Errors reach the caller; the temporary file is removed."""
    make_dirs(path.parent)
    clean_once(path.parent)
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = FILE_MODE
    tmp = path.parent / temp_name(path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), 0o600)
            write(fh)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        if check is not None:
            check(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        _fsync_dir(path.parent)


def write_atomic(
    path: Path, data: bytes, *, sync: bool = False, mode: int | None = FILE_MODE
) -> None:
    """Write ``data`` via a temporary file in the same folder and rename (see
    :func:`write_atomic_with`); owner-only unless ``mode`` says otherwise."""

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    write_atomic_with(path, write, sync=sync, mode=mode)


@contextlib.contextmanager
def private_temp_dir(near: Path | None = None) -> Iterator[Path]:
    """An owner-only scratch folder (letters being converted, a PDF being encrypted), in
    ``near`` or the system temp folder, removed on every exit path; one a crash left is
    removed by the next mergekit to make one there."""
    parent = Path(tempfile.gettempdir()) if near is None else near
    if near is not None:
        make_dirs(near)
    clean_once(parent)
    tmp = Path(tempfile.mkdtemp(prefix=temp_name(""), dir=parent))
    try:
        os.chmod(tmp, DIR_MODE)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_or_explain(
    path: Path,
    data: bytes,
    error: type[MergekitError],
    what: str,
    hint: str,
    *,
    sync: bool = True,
    catch: type[OSError] = OSError,
) -> None:
    """:func:`write_atomic`, turning a failure into ``error("<path>: <what> (<why>) - <hint>")``
    for staff: every writer says where, what went wrong and what to do in the same words."""
    try:
        write_atomic(path, data, sync=sync)
    except catch as e:
        raise error(f"{path}: {what} ({e.strerror}) - {hint}") from e
