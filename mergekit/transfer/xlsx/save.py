"""Backups and atomic replacement: the copy kept before the first write of each day, and the
new package written to a temp file, flushed, re-opened and CRC-checked, then renamed over.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import BinaryIO

from mergekit.core.errors import WriteBackError
from mergekit.transfer.xlsx.xmlbytes import STALE_TEMP_SECONDS, _fail


def backup_name(path: Path, day: date) -> str:
    return f"{path.stem} {day:%Y-%m-%d}{path.suffix}"


def make_backup(path: Path, data: bytes, folder: Path, day: date) -> Path | None:
    """Keep the original as it was before the first write of ``day``; None when the day's
    copy already exists."""
    target = folder / backup_name(path, day)
    if target.exists():
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_bytes(target, data)
    except OSError as e:
        raise _fail(
            path,
            f"could not keep a backup copy in {folder} ({e.strerror or e}); nothing was "
            "written - check [files] backups in mergekit.toml",
        ) from e
    return target


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.mergekit-"


def remove_stale_temps(path: Path, now: float | None = None) -> list[Path]:
    """Delete temp files a crashed mergekit left beside the workbook (older than
    :data:`STALE_TEMP_SECONDS`, so a write in progress elsewhere is left alone)."""
    now = time.time() if now is None else now
    removed = []
    for p in path.parent.glob(_temp_prefix(path) + "*.tmp"):
        try:
            if now - p.stat().st_mtime > STALE_TEMP_SECONDS:
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


def _atomic_bytes(target: Path, data: bytes) -> None:
    def write(out: BinaryIO) -> None:
        out.write(data)

    _atomic_write(target, write, verify=None)


def _atomic_write(target: Path, write: Callable[[BinaryIO], None], verify: set[str] | None) -> None:
    """Write to a temp file beside ``target``, fsync, check, then rename over it."""
    remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        if verify is not None:
            _verify_zip(tmp, target, verify)
        if target.exists():
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise WriteBackError(
                f"{target.name}: could not be written ({e.strerror or e}); the file is as it "
                "was - check the folder is writable and has space, and run again"
            ) from e
        raise
    _fsync_dir(target.parent)


def _verify_zip(tmp: Path, target: Path, changed: set[str]) -> None:
    """The written package opens, every part's CRC matches, and nothing went missing."""
    try:
        with zipfile.ZipFile(tmp) as z:
            bad = z.testzip()
            names = z.namelist()
    except zipfile.BadZipFile as e:
        raise _fail(target, f"the new copy did not check out ({e}); nothing was written") from e
    if bad is not None or len(set(names)) != len(names) or not changed <= set(names):
        raise _fail(target, f"the new copy did not check out (part {bad}); nothing was written")


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
