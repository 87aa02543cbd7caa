"""The zip package, read and rewritten at the byte level: every part that is not edited is
copied as its original compressed bytes, in the original order.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mergekit.core.errors import WriteBackError
from mergekit.transfer.xlsx.xmlbytes import _RESAVE, _fail

# ---------------------------------------------------------------------------------------------
# The zip package, read and rewritten at the byte level

_EOCD = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_ZIP64_LOCATOR = b"PK\x06\x07"


@dataclass
class _Member:
    name: str
    start: int  # offset of its local header
    end: int  # where its bytes end (next member or the central directory)
    central: bytes  # its raw central-directory record
    info: zipfile.ZipInfo


@dataclass
class _Package:
    data: bytes
    members: list[_Member]
    eocd: bytes  # the end-of-central-directory record, comment included
    zf: zipfile.ZipFile

    def __post_init__(self) -> None:
        # Part names are case-insensitive in a package (OPC); zip names are not.
        self.names = {m.name.casefold(): m.name for m in self.members}

    def actual(self, name: str) -> str:
        return self.names.get(name.casefold(), name)

    def read(self, name: str) -> bytes:
        return self.zf.read(self.actual(name))

    def has(self, name: str) -> bool:
        return name.casefold() in self.names


def _open_package(path: Path, data: bytes) -> _Package:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise _fail(
            path,
            "not a workbook (the file is damaged or is not an Excel file) - open it in Excel, "
            "save it as .xlsx, and run again",
        ) from e
    end = data.rfind(_EOCD, max(0, len(data) - 65557))
    if end < 0 or data.rfind(_ZIP64_LOCATOR, max(0, end - 20), end) >= 0:
        raise _fail(
            path, "the workbook uses the ZIP64 format - open it in Excel, save it, and run again"
        )
    _, _, _, count, total, cd_size, cd_offset, _ = struct.unpack("<IHHHHIIH", data[end : end + 22])
    if count != total or cd_offset + cd_size != end or 0xFFFFFFFF in (cd_size, cd_offset):
        raise _fail(
            path, "the workbook's zip layout is unusual - open it in Excel, save it, and run again"
        )
    infos = zf.infolist()
    records: list[bytes] = []
    pos = cd_offset
    for _ in range(total):
        if data[pos : pos + 4] != _CENTRAL:
            raise _fail(path, "the workbook's zip directory is damaged - restore it from a backup")
        n, m, k = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        records.append(data[pos : pos + 46 + n + m + k])
        pos += 46 + n + m + k
    if len(records) != len(infos):
        raise _fail(path, "the workbook's zip directory is damaged - restore it from a backup")
    offsets = sorted(struct.unpack("<I", r[42:46])[0] for r in records)
    members: list[_Member] = []
    for info, record in zip(infos, records, strict=True):
        if info.flag_bits & 0x1:
            raise _fail(
                path, "the workbook is encrypted - remove the password in Excel and run again"
            )
        (start,) = struct.unpack("<I", record[42:46])
        if start == 0xFFFFFFFF or data[start : start + 4] != _LOCAL:
            raise _fail(
                path,
                "the workbook's zip layout is unusual - open it in Excel, save it, and run again",
            )
        later = [o for o in offsets if o > start]
        members.append(
            _Member(info.filename, start, later[0] if later else cd_offset, record, info)
        )
    return _Package(data, members, data[end:], zf)


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


def _dos_time(when: float) -> tuple[int, int]:
    t = time.localtime(when)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), (
        (max(t.tm_year, 1980) - 1980) << 9
    ) | (t.tm_mon << 5) | t.tm_mday


def _write_package(
    pkg: _Package,
    out: BinaryIO,
    replaced: dict[str, bytes],
    added: Sequence[tuple[str, bytes]],
    on_part: Callable[[str], None] | None,
) -> None:
    """The package with some parts replaced and some appended; every other part's bytes
    (compressed data included) copied as they are."""
    central: list[bytes] = []
    offset = 0
    for m in pkg.members:
        record = m.central
        if m.name in replaced:
            local = pkg.data[m.start : m.end]
            n, k = struct.unpack("<HH", local[26:30])
            name, extra = local[30 : 30 + n], _strip_zip64(local[30 + n : 30 + n + k])
            (flags, method) = struct.unpack("<HH", local[6:10])
            content = replaced[m.name]
            body = _compress(content, method, _LEVELS[(flags >> 1) & 3])
            crc = zlib.crc32(content)
            flags &= ~0x0008  # sizes are in the header, no data descriptor follows
            header = (
                local[:6]
                + struct.pack("<HH", flags, method)
                + local[10:14]
                + struct.pack("<IIIHH", crc, len(body), len(content), len(name), len(extra))
            )
            chunk = header + name + extra + body
            cn, ck, cc = struct.unpack("<HHH", record[28:34])
            c_extra = _strip_zip64(record[46 + cn : 46 + cn + ck])
            record = (
                record[:8]
                + struct.pack("<HH", flags, method)
                + record[12:16]
                + struct.pack("<IIIHHH", crc, len(body), len(content), cn, len(c_extra), cc)
                + record[34:42]
                + struct.pack("<I", offset)
                + record[46 : 46 + cn]
                + c_extra
                + record[46 + cn + ck :]
            )
        else:
            chunk = pkg.data[m.start : m.end]
            record = record[:42] + struct.pack("<I", offset) + record[46:]
        out.write(chunk)
        central.append(record)
        offset += len(chunk)
        if on_part is not None:
            on_part(m.name)
    stamp = pkg.members[0].central[12:16] if pkg.members else struct.pack("<HH", *_dos_time(0))
    for part_name, content in added:
        raw_name = part_name.encode("utf-8")
        flags = 0x0800 if not raw_name.isascii() else 0
        body = _compress(content, zipfile.ZIP_DEFLATED)
        crc = zlib.crc32(content)
        fixed = (
            struct.pack("<HH", flags, 8)
            + stamp
            + struct.pack("<IIIHH", crc, len(body), len(content), len(raw_name), 0)
        )
        chunk = _LOCAL + struct.pack("<H", 20) + fixed + raw_name + body
        central.append(
            _CENTRAL
            + struct.pack("<HH", 20, 20)
            + fixed
            + struct.pack("<HHHII", 0, 0, 0, 0, offset)
            + raw_name
        )
        out.write(chunk)
        offset += len(chunk)
        if on_part is not None:
            on_part(part_name)
    directory = b"".join(central)
    out.write(directory)
    eocd = pkg.eocd
    out.write(
        eocd[:8]
        + struct.pack("<HHII", len(central), len(central), len(directory), offset)
        + eocd[20:]
    )


# The zip "option" bits say how hard the writer compressed: normal, maximum, fast, super fast
# (Excel writes super fast); the edited part is compressed likewise. "Normal" is zlib level 3:
# within 10% of level 6's size at a third of the time on a 50,000-row sheet.
_LEVELS = (3, 9, 3, 1)


def _compress(content: bytes, method: int, level: int = 6) -> bytes:
    if method == zipfile.ZIP_STORED:
        return content
    if method != zipfile.ZIP_DEFLATED:
        raise WriteBackError(
            f"a part is compressed with method {method}, which mergekit does not write - " + _RESAVE
        )
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(content) + c.flush()
