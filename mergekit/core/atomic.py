"""Writing a file whole or not at all: every file mergekit makes goes through here."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from mergekit.core.errors import MergekitError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Files get the permissions any new file would (the user's umask), or keep those of the file
# they replace: mkstemp's owner-only default would hide letters from colleagues on a shared
# drive.
_DEFAULT_MODE = 0o666 & ~_umask()


def write_atomic(path: Path, data: bytes, *, sync: bool = False) -> None:
    """Write via a temporary file in the same folder and rename, so a reader never sees half a
    file; ``sync`` also forces the bytes to disk first (for files that are records). Errors
    (OSError) reach the caller, who knows what to tell staff; the temporary file is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = _DEFAULT_MODE
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
