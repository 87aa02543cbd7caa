"""The workbook's zip package: read through ``core.zippackage`` (every part that is not edited
is copied as its original compressed bytes, in the original order), with the workbook writer's
own messages for layouts it cannot copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mergekit.core.errors import WriteBackError
from mergekit.core.zippackage import StoredPart, ZipLayoutError, ZipPackage, ZipWriter, read_package
from mergekit.transfer.xlsx.xmlbytes import _RESAVE, _fail

_LAYOUT_ADVICE = {
    "not a zip": "not a workbook (the file is damaged or is not an Excel file) - open it in "
    "Excel, save it as .xlsx, and run again",
    "zip64": "the workbook uses the ZIP64 format - open it in Excel, save it, and run again",
    "unusual": "the workbook's zip layout is unusual - open it in Excel, save it, and run again",
    "damaged": "the workbook's zip directory is damaged - restore it from a backup",
    "encrypted": "the workbook is encrypted - remove the password in Excel and run again",
    "method": "a part is compressed in a way mergekit does not write - " + _RESAVE,
}


@dataclass
class _Package:
    zip: ZipPackage
    path: Path

    @property
    def members(self) -> list[StoredPart]:
        return self.zip.parts

    def actual(self, name: str) -> str:
        part = self.zip.get(name)
        return part.name if part is not None else name

    def read(self, name: str) -> bytes:
        try:
            return self.zip.read(name)
        except ZipLayoutError as e:
            raise _fail(self.path, f"{name} cannot be read ({e}) - restore it from a backup") from e

    def has(self, name: str) -> bool:
        return self.zip.has(name)


def _open_package(path: Path, data: bytes) -> _Package:
    try:
        return _Package(read_package(data), path)
    except ZipLayoutError as e:
        raise _fail(path, _LAYOUT_ADVICE[e.reason]) from e


def _write_package(
    pkg: _Package,
    out: BinaryIO,
    replaced: dict[str, bytes],
    added: Sequence[tuple[str, bytes]],
    on_part: Callable[[str], None] | None,
) -> None:
    """The package with some parts replaced and some appended; every other part's bytes
    (compressed data included) copied as they are."""
    writer = ZipWriter(out)
    try:
        for part in pkg.members:
            if part.name in replaced:
                writer.replace(part, replaced[part.name])
            else:
                writer.copy(part)
            if on_part is not None:
                on_part(part.name)
        # New parts carry the first part's time, as Excel gives every part one time.
        stamp = pkg.members[0].central[12:16] if pkg.members else None
        for name, content in added:
            writer.add(name, content, stamp=stamp)
            if on_part is not None:
                on_part(name)
    except ZipLayoutError as e:
        raise WriteBackError(f"{pkg.path.name}: {_LAYOUT_ADVICE[e.reason]}") from e
    writer.close(pkg.zip.eocd)
