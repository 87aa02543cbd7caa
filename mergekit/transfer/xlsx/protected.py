"""Password-protected workbooks ("Encrypt with Password") written back still protected.

The package is decrypted in memory, patched like any other, checked, encrypted again with the
same password, and only then written (atomically, through :mod:`.save`): decrypted bytes never
reach the disk, not even a temp file, and the day's backup is the original encrypted file.
"""

from __future__ import annotations

import io
from pathlib import Path

from mergekit.core.errors import WorkbookError, WriteBackError
from mergekit.read.sheets import decrypt_workbook, workbook_password
from mergekit.transfer.xlsx.save import verify_package
from mergekit.transfer.xlsx.xmlbytes import _fail


def is_encrypted_package(data: bytes) -> bool:
    """An OLE file holding an encrypted OOXML package (``data`` starts with the OLE magic)."""
    return "EncryptedPackage".encode("utf-16-le") in data or b"EncryptedPackage" in data


def decrypt(path: Path, data: bytes) -> tuple[bytes, str]:
    """The decrypted package and the password that opened it; a missing or wrong password is
    the same clear error as on reading (saying where the password comes from), raised as the
    writer's WriteBackError."""
    password = workbook_password(path) or ""
    try:
        plain = decrypt_workbook(path, password, data=data)
    except WorkbookError as e:
        raise WriteBackError(str(e)) from None
    return plain, password


def encrypt(path: Path, plain: bytes, password: str, changed: set[str]) -> bytes:
    """The checked package ``plain``, encrypted with ``password``; checked again by decrypting
    it, so what is written is known to open with the same password."""
    from msoffcrypto.format.ooxml import OOXMLFile

    verify_package(plain, path, changed)
    out = io.BytesIO()
    try:
        OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    except Exception as e:
        raise _fail(
            path,
            f"could not protect the new copy with the password ({type(e).__name__}); nothing "
            "was written",
        ) from None
    sealed = out.getvalue()
    try:
        again = decrypt_workbook(path, password, data=sealed)
    except Exception:
        again = b""
    if again != plain:
        raise _fail(path, "the new protected copy did not check out; nothing was written")
    return sealed
