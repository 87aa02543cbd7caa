"""Zip packages (.docx, .xlsx) read and written at the byte level.

Both the Word renderer and the .xlsx writer rewrite a few parts of a package and keep every
other part exactly as stored: its compressed bytes are copied, never decompressed and
compressed again, and the parts keep their order. That needs what ``zipfile`` does not give:
each part's raw local record and central-directory record. This module reads them, checks the
layout is one that can be copied safely, and writes the new package.

It raises ``ZipLayoutError`` with a short reason; each caller turns it into its own error with
its own advice (the workbook writer says "save it in Excel", the renderer re-packs the file).
"""

from __future__ import annotations

import bisect
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

_EOCD = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_ZIP64_LOCATOR = b"PK\x06\x07"
_UTF8_NAME = 0x0800
_DATA_DESCRIPTOR = 0x0008

# The zip "option" bits (general-purpose flags 1-2) say how hard the writer compressed: normal,
# maximum, fast, super fast (Excel writes super fast). A replaced part is compressed likewise.
# "Normal" is zlib level 3: within 10% of level 6's size at a third of the time on a
# 50,000-row sheet.
_LEVELS = (3, 9, 3, 1)


class ZipLayoutError(Exception):
    """The package cannot be copied part by part. ``reason`` is one of: "not a zip", "zip64",
    "unusual" (gaps, prefixes or offsets this module does not rewrite), "damaged",
    "encrypted", "method" (compressed with something other than deflate)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class StoredPart:
    """One part as stored: its local record (header, name, extra, data and any data
    descriptor) and its central-directory record."""

    name: str
    local: memoryview
    central: bytes
    info: zipfile.ZipInfo

    @property
    def raw(self) -> bytes:
        """The compressed data alone."""
        n, k = struct.unpack("<HH", self.local[26:30])
        start = 30 + n + k
        return bytes(self.local[start : start + self.info.compress_size])

    def content(self) -> bytes:
        """The part's bytes, decompressed and checked against its CRC."""
        method = self.info.compress_type
        if method == zipfile.ZIP_STORED:
            data = self.raw
        elif method == zipfile.ZIP_DEFLATED:
            try:
                data = zlib.decompress(self.raw, -15)
            except zlib.error as e:
                raise ZipLayoutError("damaged", f"{self.name}: {e}") from e
        else:
            raise ZipLayoutError("method", f"{self.name} uses compression method {method}")
        if zlib.crc32(data) != self.info.CRC:
            raise ZipLayoutError("damaged", f"{self.name}: CRC mismatch")
        return data


@dataclass
class ZipPackage:
    data: bytes
    parts: list[StoredPart]
    eocd: bytes  # the end-of-central-directory record, comment included
    _names: dict[str, StoredPart] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Part names are case-insensitive in a package (OPC); zip names are not.
        self._names = {p.name.casefold(): p for p in self.parts}

    def get(self, name: str) -> StoredPart | None:
        return self._names.get(name.casefold())

    def has(self, name: str) -> bool:
        return name.casefold() in self._names

    def read(self, name: str) -> bytes:
        """A part's content; KeyError when there is no such part."""
        part = self.get(name)
        if part is None:
            raise KeyError(name)
        return part.content()


def read_package(data: bytes) -> ZipPackage:
    """The package's parts as stored. Raises ZipLayoutError when the layout cannot be copied
    part by part (see its reasons)."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise ZipLayoutError("not a zip", str(e)) from e
    end = data.rfind(_EOCD, max(0, len(data) - 65557))
    if end < 0 or data.rfind(_ZIP64_LOCATOR, max(0, end - 20), end) >= 0:
        raise ZipLayoutError("zip64")
    _, _, _, count, total, cd_size, cd_offset, _ = struct.unpack("<IHHHHIIH", data[end : end + 22])
    if count != total or cd_offset + cd_size != end or 0xFFFFFFFF in (cd_size, cd_offset):
        raise ZipLayoutError("unusual", "the central directory is not where the end record says")
    records: list[bytes] = []
    pos = cd_offset
    for _ in range(total):
        if data[pos : pos + 4] != _CENTRAL:
            raise ZipLayoutError("damaged", "the central directory")
        n, m, k = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        records.append(data[pos : pos + 46 + n + m + k])
        pos += 46 + n + m + k
    if len(records) != len(infos):
        raise ZipLayoutError("damaged", "the central directory's count")
    # Each part's bytes run to the next part's start (or the directory): any data descriptor
    # after its data is kept with it.
    offsets = sorted(struct.unpack("<I", r[42:46])[0] for r in records)
    view = memoryview(data)
    parts: list[StoredPart] = []
    for info, record in zip(infos, records, strict=True):
        if info.flag_bits & 0x1:
            raise ZipLayoutError("encrypted", info.filename)
        (start,) = struct.unpack("<I", record[42:46])
        if start == 0xFFFFFFFF or data[start : start + 4] != _LOCAL:
            raise ZipLayoutError("unusual", f"{info.filename}'s local header")
        i = bisect.bisect_right(offsets, start)
        end_of_part = offsets[i] if i < len(offsets) else cd_offset
        parts.append(StoredPart(info.filename, view[start:end_of_part], record, info))
    return ZipPackage(data, parts, data[end:])


def repack(data: bytes) -> bytes:
    """A package in the plain layout ``read_package`` accepts, through ``zipfile`` (for files
    written by unusual tools: ZIP64, a prefix, gaps). Raises ZipLayoutError when it cannot be
    read at all."""
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                if info.flag_bits & 0x1:
                    raise ZipLayoutError("encrypted", info.filename)
                copy = zipfile.ZipInfo(info.filename, info.date_time)
                copy.compress_type = zipfile.ZIP_DEFLATED
                copy.external_attr = info.external_attr
                dst.writestr(copy, src.read(info), compresslevel=6)
    except (zipfile.BadZipFile, ValueError, EOFError, zlib.error, NotImplementedError) as e:
        raise ZipLayoutError("damaged", str(e)) from e
    return out.getvalue()


def _dos_stamp(date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """A zip header's (time, date) fields for ``date_time`` (years before 1980 clamp)."""
    year, month, day, hour, minute, second = date_time
    return struct.pack(
        "<HH",
        (hour << 11) | (minute << 5) | (second // 2),
        ((max(year, 1980) - 1980) << 9) | (month << 5) | day,
    )


# New parts carry a fixed time, so the same inputs make the same bytes (hashes in the ledger).
_FIXED_STAMP = _dos_stamp((2026, 1, 1, 0, 0, 0))


def _compress(content: bytes, method: int, level: int = 6) -> bytes:
    if method == zipfile.ZIP_STORED:
        return content
    if method != zipfile.ZIP_DEFLATED:
        raise ZipLayoutError("method", f"compression method {method}")
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(content) + c.flush()


def _strip_zip64(extra: bytes) -> bytes:
    """Extra fields without the ZIP64 one (sizes in it would no longer be true)."""
    out = b""
    pos = 0
    while pos + 4 <= len(extra):
        kind, size = struct.unpack("<HH", extra[pos : pos + 4])
        if kind != 0x0001:
            out += extra[pos : pos + 4 + size]
        pos += 4 + size
    return out


class ZipWriter:
    """Writes a package part by part: stored parts copied byte for byte, replaced parts with
    their original headers (time, attributes, extra fields) and new content, new parts
    appended. ``close`` writes the central directory."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._offset = 0
        self._central: list[bytes] = []

    def _write(self, chunk: bytes | memoryview, record: bytes) -> None:
        self._out.write(chunk)
        self._central.append(record[:42] + struct.pack("<I", self._offset) + record[46:])
        self._offset += len(chunk)

    def copy(self, part: StoredPart) -> None:
        self._write(part.local, part.central)

    def replace(
        self, part: StoredPart, content: bytes, method: int | None = None, level: int | None = None
    ) -> None:
        """``part`` with new content. By default compressed as the original was (its method,
        and its level as its option bits say)."""
        local, record = part.local, part.central
        n, k = struct.unpack("<HH", local[26:30])
        name, extra = bytes(local[30 : 30 + n]), _strip_zip64(bytes(local[30 + n : 30 + n + k]))
        flags, old_method = struct.unpack("<HH", local[6:10])
        method = old_method if method is None else method
        if level is None:
            level = _LEVELS[(flags >> 1) & 3]
        body = _compress(content, method, level)
        crc = zlib.crc32(content)
        flags &= ~_DATA_DESCRIPTOR  # sizes are in the header: no data descriptor follows
        # A part that was stored and is now deflated needs version 2.0 to extract.
        (needed,) = struct.unpack("<H", local[4:6])
        needed = max(needed, 20 if method == zipfile.ZIP_DEFLATED else 10)
        header = (
            bytes(local[:4])
            + struct.pack("<HHH", needed, flags, method)
            + bytes(local[10:14])
            + struct.pack("<IIIHH", crc, len(body), len(content), len(name), len(extra))
        )
        cn, ck, cc = struct.unpack("<HHH", record[28:34])
        c_extra = _strip_zip64(record[46 + cn : 46 + cn + ck])
        central = (
            record[:6]
            + struct.pack("<HHH", needed, flags, method)
            + record[12:16]
            + struct.pack("<IIIHHH", crc, len(body), len(content), cn, len(c_extra), cc)
            + record[34:46]
            + record[46 : 46 + cn]
            + c_extra
            + record[46 + cn + ck :]
        )
        self._write(header + name + extra + body, central)

    def add(self, name: str, content: bytes, level: int = 6, stamp: bytes | None = None) -> None:
        """A new deflated part; ``stamp`` is its (time, date) fields (as ``_dos_stamp`` makes them),
        a fixed date by default."""
        raw_name = name.encode("utf-8")
        flags = 0 if raw_name.isascii() else _UTF8_NAME
        body = _compress(content, zipfile.ZIP_DEFLATED, level)
        fixed = (
            struct.pack("<HH", flags, zipfile.ZIP_DEFLATED)
            + (stamp or _FIXED_STAMP)
            + struct.pack("<IIIHH", zlib.crc32(content), len(body), len(content), len(raw_name), 0)
        )
        self._write(
            _LOCAL + struct.pack("<H", 20) + fixed + raw_name + body,
            _CENTRAL
            + struct.pack("<HH", 20, 20)
            + fixed
            + struct.pack("<HHHII", 0, 0, 0, 0, 0)
            + raw_name,
        )

    def close(self, eocd: bytes | None = None) -> None:
        """The central directory and end record (``eocd``: the original's, to keep its
        comment)."""
        directory = b"".join(self._central)
        self._out.write(directory)
        n = len(self._central)
        tail = eocd if eocd is not None else _EOCD + bytes(18)
        self._out.write(
            tail[:8] + struct.pack("<HHII", n, n, len(directory), self._offset) + tail[20:]
        )
