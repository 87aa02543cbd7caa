"""Backups and atomic replacement: the copy kept before the first write of each day, and the
new package written to a temp file, flushed, re-opened and CRC-checked, then renamed over.
"""

from __future__ import annotations

import contextlib
import io
import time
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import BinaryIO

from mergekit.core.atomic import (
    FILE_MODE,
    STALE_TEMP_SECONDS,
    clean_stale_temps,
    make_dirs,
    write_atomic_with,
)
from mergekit.core.errors import WriteBackError
from mergekit.transfer.xlsx.xmlbytes import _fail


def backup_name(path: Path, day: date) -> str:
    return f"{path.stem} {day:%Y-%m-%d}{path.suffix}"


def make_backup(path: Path, data: bytes, folder: Path, day: date) -> Path | None:
    """Keep the original as it was before the first write of ``day``; None when the day's
    copy already exists."""
    target = folder / backup_name(path, day)
    if target.exists():
        return None
    try:
        make_dirs(folder)
        _atomic_bytes(target, data)
    except OSError as e:
        raise _fail(
            path,
            f"could not keep a backup copy in {folder} ({e.strerror or e}); nothing was "
            "written - check [files] backups in mergekit.toml",
        ) from e
    return target


def remove_stale_temps(path: Path, now: float | None = None) -> list[Path]:
    """Delete temp files a crashed mergekit left beside the workbook (see
    :func:`mergekit.core.atomic.clean_stale_temps`: its process gone, or older than
    :data:`~mergekit.core.atomic.STALE_TEMP_SECONDS`), so a write in progress elsewhere is
    left alone."""
    removed = clean_stale_temps(path.parent, now)
    # Those an earlier mergekit left, named ".<workbook>.mergekit-XXXX.tmp": removed when old.
    cutoff = (time.time() if now is None else now) - STALE_TEMP_SECONDS
    for p in path.parent.glob(f".{path.name}.mergekit-*.tmp"):
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < cutoff:
                p.unlink()
                removed.append(p)
    return removed


def _atomic_bytes(target: Path, data: bytes) -> None:
    def write(out: BinaryIO) -> None:
        out.write(data)

    _atomic_write(target, write, verify=None, mode=FILE_MODE)


def _atomic_write(
    target: Path,
    write: Callable[[BinaryIO], None],
    verify: set[str] | None,
    *,
    mode: int | None = None,
) -> None:
    """Write to a temp file beside ``target``, fsync, check, then rename over it. The
    replaced workbook keeps its own permissions (``mode`` None: it is the school's file, and
    colleagues may need it); a new file (a backup) is owner-only."""
    remove_stale_temps(target)

    def check(tmp: Path) -> None:
        if verify is not None:
            verify_package(tmp, target, verify)

    try:
        write_atomic_with(target, write, sync=True, mode=mode, check=check)
    except OSError as e:
        raise WriteBackError(
            f"{target.name}: could not be written ({e.strerror or e}); the file is as it "
            "was - check the folder is writable and has space, and run again"
        ) from e


def verify_package(package: Path | bytes, target: Path, changed: set[str]) -> None:
    """The new package (a temp file, or bytes in memory for a protected workbook) opens,
    every part's CRC matches, and nothing went missing."""
    try:
        source = io.BytesIO(package) if isinstance(package, bytes) else package
        with zipfile.ZipFile(source) as z:
            bad = z.testzip()
            names = z.namelist()
    except zipfile.BadZipFile as e:
        raise _fail(target, f"the new copy did not check out ({e}); nothing was written") from e
    if bad is not None or len(set(names)) != len(names) or not changed <= set(names):
        raise _fail(target, f"the new copy did not check out (part {bad}); nothing was written")
