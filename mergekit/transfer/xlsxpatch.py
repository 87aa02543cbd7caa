"""Writing a few cells into a user's .xlsx/.xlsm while changing nothing else in it.

openpyxl regenerates the whole package when it saves, and drops or rewrites much of what real
workbooks hold (``shared/research/roundtrip.md``). So this module never re-serialises anything:

* **Zip**: every part that is not edited is copied as its original *compressed* bytes (local
  header, data and data descriptor, verbatim), in the original order; the central directory
  records are copied with only the offset patched. An edited part gets a fresh local header
  with the original name, method, flags (less the data-descriptor bit), time and extra fields.
* **Sheet XML**: the target worksheet is edited as bytes, row by row. Only the ``<row>``
  elements that receive a cell are rebuilt (their start tag and every other cell kept
  byte-for-byte); new rows are inserted in ``r`` order; ``<dimension>`` is widened to cover
  them. Nothing else in the part (namespaces, ``extLst``, x14 validation, ``mc:`` content)
  is touched.
* **Text** is written as an inline string (``t="inlineStr"``), so ``sharedStrings.xml`` is
  never touched, and text starting with ``=``, ``+``, ``-`` or ``@`` stays text.
* **Dates** are Excel serial numbers (1900 or 1904 system, as the workbook says) in the
  column's own date style: the cell's style, else the nearest styled cell above it in the
  data, else the column's ``<col>`` style, whichever first is a date format. When none is,
  one ``dd/mm/yyyy`` number format and one cell format (a copy of the cell's own format with
  that number format) are appended to ``styles.xml``, and reused by later writes.
* **Tables** whose range ends on the row just above a new row (and has no totals row) are
  widened by that row, so the new leaver is inside the table. Nothing else changes: a sheet
  autofilter, conditional formats and validations keep their ranges (Excel widens a filter
  itself when it is next used).
* ``calcChain.xml`` never changes: a cell holding a formula is never overwritten (nor a cell
  hidden under a merge or inside an array formula).
* Not changed on purpose: ``workbook.xml`` (so no "recalculate on open" flag: formulas elsewhere
  that count the Off Roll rows show their new result when Excel next recalculates), sheet
  protection (mergekit writes the cells it is asked to, as the attendance officer would).

Saving is atomic: the new package goes to a temp file in the same folder, is flushed to disk,
re-opened and CRC-checked, then renamed over the original. A copy of the original is kept in
the backups folder before the first write of each day.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
import struct
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from xml.parsers import expat

from mergekit.core.errors import WriteBackError
from mergekit.read.sheets import column_letter, lock_file

CellValue = str | int | float | date

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_STRICT = b"http://purl.oclc.org/ooxml/"
_RT_OFFICE_DOCUMENT = _REL_NS + "/officeDocument"
_RT_WORKSHEET = _REL_NS + "/worksheet"
_RT_STYLES = _REL_NS + "/styles"
_RT_TABLE = _REL_NS + "/table"
_CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WRITABLE = (".xlsx", ".xlsm")
# A temp file of ours older than this was left by a crash (a write takes seconds).
STALE_TEMP_SECONDS = 600
DATE_FORMAT_CODE = "dd/mm/yyyy"
# Parts smaller than this are re-parsed whole after an edit (bigger sheets: the edited rows).
_FULL_CHECK_BYTES = 4_000_000
# How far up a column a new cell looks for a styled cell to copy.
_STYLE_SEARCH_ROWS = 1000
# Excel's built-in number formats that show a date (ids 27-36 and 50-58 in East Asian locales).
_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


_RESAVE = "open the workbook in Excel, save it, and run again"


def _fail(path: Path, what: str) -> WriteBackError:
    return WriteBackError(f"{path.name}: {what}")


# ---------------------------------------------------------------------------------------------
# Cell references


_REF = re.compile(r"^([A-Z]{1,3})([1-9][0-9]{0,6})$")


def split_ref(ref: str) -> tuple[int, int]:
    """'C12' -> (2, 12): 0-based column, 1-based row."""
    m = _REF.match(ref.upper())
    if not m:
        raise ValueError(f"{ref!r} is not a cell reference such as C12")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return col - 1, int(m.group(2))


def _range(ref: str) -> tuple[int, int, int, int]:
    """'B2:D9' -> (first col, first row, last col, last row); one cell is a range too."""
    first, _, last = ref.partition(":")
    c1, r1 = split_ref(first.replace("$", ""))
    c2, r2 = split_ref(last.replace("$", "")) if last else (c1, r1)
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def _range_text(c1: int, r1: int, c2: int, r2: int) -> str:
    a = f"{column_letter(c1)}{r1}"
    b = f"{column_letter(c2)}{r2}"
    return a if a == b else f"{a}:{b}"


# ---------------------------------------------------------------------------------------------
# Raw XML helpers (bytes in, bytes out: nothing is re-serialised)

_ATTRS = rb"(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*"
_ATTR = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.\-]*):)?([A-Za-z_][\w.\-]*)[\s/>]")


def _tag(prefix: bytes, local: bytes) -> re.Pattern[bytes]:
    """Start tag of one element: group 1 = attributes, group 2 = '/' when self-closing."""
    p = re.escape(prefix + b":") if prefix else b""
    return re.compile(b"<" + p + local + b"(" + _ATTRS + b")(/?)>")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(raw)
    }


def _set_attr(start_tag: bytes, name: bytes, value: bytes | None) -> bytes:
    """The start tag with one attribute changed, added (before the end) or removed (None)."""
    pattern = re.compile(rb"(\s+)" + re.escape(name) + rb"\s*=\s*(?:\"[^\"]*\"|'[^']*')")
    m = pattern.search(start_tag)
    if m:
        repl = b"" if value is None else m.group(1) + name + b'="' + value + b'"'
        return start_tag[: m.start()] + repl + start_tag[m.end() :]
    if value is None:
        return start_tag
    end = len(start_tag) - (2 if start_tag.endswith(b"/>") else 1)
    while start_tag[end - 1 : end].isspace():
        end -= 1
    return start_tag[:end] + b" " + name + b'="' + value + b'"' + start_tag[end:]


def _esc(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def _unesc(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" not in text:
        return text

    def entity(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}.get(name, m.group(0))

    return re.sub(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);", entity, text)


_XSTRING_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")


def _xstring(text: str) -> str:
    """Text as Excel stores it: a literal '_x0041_' keeps its underscore escaped, and
    characters XML cannot hold become '_xHHHH_' (what Excel itself writes)."""
    text = _XSTRING_ESCAPE.sub(r"_x005F_\1", text)
    return _NOT_XML.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _root_prefix(data: bytes, local: bytes, part: str, path: Path) -> bytes:
    """The prefix the part's root element uses for the main namespace (usually none)."""
    pos = 0
    while True:
        m = _ROOT.search(data, pos)
        if m is None:
            raise _fail(path, f"{part} has no <{local.decode()}> element - the file is damaged")
        if data[m.start() + 1 : m.start() + 2] in (b"?", b"!"):
            pos = m.end()
            continue
        if m.group(2) != local:
            raise _fail(path, f"{part} is not a {local.decode()} part - the file is damaged")
        return m.group(1) or b""


def _check_xml(data: bytes, part: str, path: Path) -> None:
    """The edited part must still be well-formed XML, or nothing is written."""
    parser = expat.ParserCreate(namespace_separator=" ")  # also catches unbound prefixes
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:  # a bug here, never the user's fault
        raise _fail(path, f"mergekit made invalid XML in {part} ({e}); nothing was written") from e


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


# ---------------------------------------------------------------------------------------------
# Relationships and the workbook part


@dataclass(frozen=True)
class _Rel:
    id: str
    type: str
    target: str  # resolved part name, no leading slash
    external: bool


def _rels_name(part: str) -> str:
    """'xl/workbook.xml' -> 'xl/_rels/workbook.xml.rels'; '' (the package) -> '_rels/.rels'."""
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def _resolve(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = [p for p in PurePosixPath(base_part).parent.parts if p not in ("", ".")]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _read_rels(pkg: _Package, part: str, path: Path) -> list[_Rel]:
    name = _rels_name(part)
    if not pkg.has(name):
        return []
    try:
        root = ET.fromstring(pkg.read(name))
    except ET.ParseError as e:
        raise _fail(
            path, f"{name} is damaged ({e}) - open the workbook in Excel, save it, and run again"
        ) from e
    rels = []
    for el in root:
        if el.tag.rsplit("}", 1)[-1] != "Relationship":
            continue
        external = el.get("TargetMode", "") == "External"
        target = el.get("Target", "")
        rels.append(
            _Rel(
                el.get("Id", ""),
                el.get("Type", ""),
                target if external else _resolve(part, target),
                external,
            )
        )
    return rels


@dataclass(frozen=True)
class SheetInfo:
    name: str
    part: str  # zip part name, e.g. xl/worksheets/sheet3.xml
    kind: str  # worksheet, chartsheet, dialogsheet, macrosheet


# ---------------------------------------------------------------------------------------------
# styles.xml


class _Styles:
    """Reads cell formats and number formats; appends a date format when one is needed."""

    def __init__(self, part: str, data: bytes, path: Path) -> None:
        self.part = part
        self.data = data
        self.path = path
        self.prefix = _root_prefix(data, b"styleSheet", part, path)
        pfx = self.prefix + b":" if self.prefix else b""
        self._pfx = pfx
        cell_xfs = _tag(self.prefix, b"cellXfs").search(data)
        if cell_xfs is None or cell_xfs.group(2):
            raise _fail(
                path,
                f"{part} has no cell formats - open the workbook in Excel, save it, and run again",
            )
        self.xfs_open = cell_xfs
        self.xfs_close = data.index(b"</" + pfx + b"cellXfs>", cell_xfs.end())
        self.xfs: list[bytes] = []
        xf = _tag(self.prefix, b"xf")
        pos = cell_xfs.end()
        while True:
            m = xf.search(data, pos, self.xfs_close)
            if m is None:
                break
            end = (
                m.end() if m.group(2) else data.index(b"</" + pfx + b"xf>", m.end()) + len(pfx) + 5
            )
            self.xfs.append(data[m.start() : end])
            pos = end
        self.formats: dict[int, str] = {}
        fmts = _tag(self.prefix, b"numFmts").search(data)
        self.fmts_open = fmts
        if fmts is not None and not fmts.group(2):
            close = data.index(b"</" + pfx + b"numFmts>", fmts.end())
            for m in _tag(self.prefix, b"numFmt").finditer(data, fmts.end(), close):
                a = _attrs(m.group(1))
                if b"numFmtId" in a:
                    self.formats[int(a[b"numFmtId"])] = _unesc(a.get(b"formatCode", b""))
        self.new_fmt: int | None = None
        self.new_xfs: list[bytes] = []

    def numfmt_of(self, xf_index: int) -> int:
        xfs = self.xfs + self.new_xfs
        if not 0 <= xf_index < len(xfs):
            return 0
        m = _tag(self.prefix, b"xf").match(xfs[xf_index])
        return int(_attrs(m.group(1)).get(b"numFmtId", b"0")) if m else 0

    def is_date(self, xf_index: int) -> bool:
        fmt = self.numfmt_of(xf_index)
        if fmt in _BUILTIN_DATE_IDS:
            return True
        code = self.formats.get(fmt)
        return code is not None and is_date_format(code)

    def date_xf(self, base: int) -> int:
        """A cell format like ``base`` but showing dd/mm/yyyy (found, else appended)."""
        fmt_id = self._date_numfmt()
        xfs = self.xfs + self.new_xfs
        source = xfs[base] if 0 <= base < len(xfs) else xfs[0]
        m = _tag(self.prefix, b"xf").match(source)
        assert m is not None  # every entry was found by this same pattern
        start = m.group(0)
        start = _set_attr(start, b"numFmtId", str(fmt_id).encode())
        start = _set_attr(start, b"applyNumberFormat", b"1")
        wanted = start + source[m.end() :]
        for i, existing in enumerate(xfs):
            if existing == wanted:
                return i
        self.new_xfs.append(wanted)
        return len(xfs)

    def _date_numfmt(self) -> int:
        for fid, code in self.formats.items():
            if code.split(";")[0].casefold().replace("\\", "") == DATE_FORMAT_CODE:
                return fid
        fid = max([163, *self.formats]) + 1
        self.formats[fid] = DATE_FORMAT_CODE
        self.new_fmt = fid
        return fid

    @property
    def changed(self) -> bool:
        return bool(self.new_xfs) or self.new_fmt is not None

    def render(self) -> bytes:
        data = self.data
        edits: list[tuple[int, int, bytes]] = []
        if self.new_xfs:
            start = self.xfs_open.group(0)
            count = str(len(self.xfs) + len(self.new_xfs)).encode()
            edits.append(
                (self.xfs_open.start(), self.xfs_open.end(), _set_attr(start, b"count", count))
            )
            edits.append((self.xfs_close, self.xfs_close, b"".join(self.new_xfs)))
        if self.new_fmt is not None:
            new = b'<%snumFmt numFmtId="%d" formatCode="%s"/>' % (
                self._pfx,
                self.new_fmt,
                DATE_FORMAT_CODE.encode(),
            )
            fmts = self.fmts_open
            if fmts is None:
                root = _tag(self.prefix, b"styleSheet").search(data)
                assert root is not None
                edits.append(
                    (
                        root.end(),
                        root.end(),
                        b'<%snumFmts count="1">%s</%snumFmts>' % (self._pfx, new, self._pfx),
                    )
                )
            elif fmts.group(2):
                edits.append(
                    (
                        fmts.start(),
                        fmts.end(),
                        b'<%snumFmts count="1">%s</%snumFmts>' % (self._pfx, new, self._pfx),
                    )
                )
            else:
                close = data.index(b"</" + self._pfx + b"numFmts>", fmts.end())
                count = str(len(self.formats)).encode()
                edits.append((fmts.start(), fmts.end(), _set_attr(fmts.group(0), b"count", count)))
                edits.append((close, close, new))
        return _apply(data, edits)


def is_date_format(code: str) -> bool:
    """Whether an Excel number format shows a date (d, m or y outside quotes and brackets,
    m only counting when it is not minutes beside h or s)."""
    section = code.split(";", maxsplit=1)[0].casefold()
    elapsed = re.search(r"\[(h+|m+|s+)\]", section) is not None  # [h]:mm is a duration
    section = re.sub(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]', "", section)
    if elapsed:
        return "d" in section or "y" in section
    if "d" in section or "y" in section:
        return True
    return "m" in section and "h" not in section and "s" not in section


def _apply(data: bytes, edits: Iterable[tuple[int, int, bytes]]) -> bytes:
    """Splice (start, end, replacement) edits into data; equal starts keep their order."""
    out: list[bytes] = []
    pos = 0
    for start, end, repl in sorted(edits, key=lambda e: (e[0], e[1])):
        out.append(data[pos:start])
        out.append(repl)
        pos = max(pos, end)
    out.append(data[pos:])
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# One worksheet's XML


@dataclass
class _Row:
    r: int
    start: int
    end: int
    tag_end: int  # end of the start tag
    empty: bool  # self-closing


@dataclass
class _Cell:
    col: int
    start: int
    end: int
    attrs: dict[bytes, bytes]
    inner: bytes


class Worksheet:
    """One worksheet being edited. Get it from :meth:`XlsxWorkbook.worksheet`."""

    def __init__(
        self, book: XlsxWorkbook, info: SheetInfo, data: bytes, first_data_row: int
    ) -> None:
        self.book = book
        self.info = info
        self.data = data
        self.first_data_row = first_data_row
        path = book.path
        if not data.lstrip(b"\xef\xbb\xbf").lstrip().startswith(b"<") or re.match(
            rb"\s*<\?xml[^>]*encoding=[\"'](?!utf-8)", data.lstrip(b"\xef\xbb\xbf"), re.IGNORECASE
        ):
            raise _fail(
                path,
                f"sheet '{info.name}' is not UTF-8 XML - {_RESAVE}",
            )
        self.prefix = _root_prefix(data, b"worksheet", info.part, path)
        self._pfx = self.prefix + b":" if self.prefix else b""
        sd = _tag(self.prefix, b"sheetData").search(data)
        if sd is None:
            raise _fail(path, f"sheet '{info.name}' has no cell data element - the file is damaged")
        self._sd = sd
        if sd.group(2):
            self._inner = (sd.end(), sd.end())
        else:
            close = data.index(b"</" + self._pfx + b"sheetData>", sd.end())
            self._inner = (sd.end(), close)
        if data.find(b"<!", *self._inner) >= 0:  # a comment or CDATA among the rows
            raise _fail(
                path,
                f"sheet '{info.name}' holds XML comments - {_RESAVE}",
            )
        start, stop = self._inner
        self._open_row = b"<" + self._pfx + b"row"
        self._close_row = b"</" + self._pfx + b"row>"
        self._row_tag = _tag(self.prefix, b"row")
        self._by_r: dict[int, _Row] = {}
        # Excel writes r="N" first on every row, in order, so a row is found by bisecting the
        # bytes; a sheet written otherwise is indexed by one full scan.
        numbered = data.count(self._open_row + b' r="', start, stop)
        self._all: list[_Row] | None = None
        if numbered != data.count(self._open_row, start, stop):
            self._all = self._scan_rows()
            for row in self._all:
                self._by_r.setdefault(row.r, row)
        self._cells: dict[int, list[_Cell]] = {}
        self.pending: dict[tuple[int, int], CellValue] = {}
        self._blocked = self._blocked_ranges()

    # -- reading ------------------------------------------------------------------------------

    def _scan_rows(self) -> list[_Row]:
        data = self.data
        start, stop = self._inner
        rows: list[_Row] = []
        pos = start
        last = 0
        while True:
            at = data.find(self._open_row, pos, stop)
            if at < 0:
                break
            m = self._row_tag.match(data, at, stop)
            if m is None:
                pos = at + 1
                continue
            a = _attrs(m.group(1))
            r = int(a[b"r"]) if b"r" in a else last + 1
            rows.append(self._make_row(r, at, m))
            last = r
            pos = rows[-1].end
        return rows

    def _make_row(self, r: int, at: int, m: re.Match[bytes]) -> _Row:
        if m.group(2):
            return _Row(r, at, m.end(), m.end(), True)
        end = self.data.index(self._close_row, m.end(), self._inner[1]) + len(self._close_row)
        return _Row(r, at, end, m.end(), False)

    def _row_at(self, at: int) -> _Row | None:
        m = self._row_tag.match(self.data, at, self._inner[1])
        if m is None:
            return None
        r = int(_attrs(m.group(1))[b"r"])
        row = self._by_r.get(r)
        if row is None or row.start != at:
            row = self._make_row(r, at, m)
            self._by_r.setdefault(r, row)
        return row

    def _next_row(self, pos: int, stop: int) -> _Row | None:
        """The first row whose start tag begins at or after pos (and before stop)."""
        while True:
            at = self.data.find(self._open_row, pos, stop)
            if at < 0:
                return None
            row = self._row_at(at)
            if row is not None:
                return row
            pos = at + 1

    def _prev_row(self, pos: int) -> _Row | None:
        """The last row starting before pos."""
        start = self._inner[0]
        while True:
            at = self.data.rfind(self._open_row, start, pos)
            if at < 0:
                return None
            row = self._row_at(at)
            if row is not None:
                return row
            pos = at

    def _locate(self, r: int) -> tuple[_Row | None, int]:
        """The first row numbered r or more (None when there is none), and the offset where a
        new row r goes."""
        end = self._inner[1]
        if self._all is not None:
            found = next((x for x in self._all if x.r >= r), None)
            return found, found.start if found is not None else end
        lo, hi = self._inner
        # Rows starting before lo are numbered below r; rows starting at hi or later, r or more.
        while hi - lo > 65536:
            mid = (lo + hi) // 2
            row = self._next_row(mid, hi)
            if row is None or row.r >= r:
                hi = mid
            else:
                lo = row.end
        found = self._next_row(lo, end)
        while found is not None and found.r < r:
            found = self._next_row(found.end, end)
        return found, found.start if found is not None else end

    def row(self, r: int) -> _Row | None:
        if r in self._by_r or self._all is not None:
            return self._by_r.get(r)
        found, _ = self._locate(r)
        return found if found is not None and found.r == r else None

    def rows_above(self, r: int) -> Iterator[_Row]:
        """Rows numbered below r, nearest first."""
        if self._all is not None:
            yield from sorted((x for x in self._all if x.r < r), key=lambda x: -x.r)
            return
        _, pos = self._locate(r)
        while (row := self._prev_row(pos)) is not None:
            yield row
            pos = row.start

    def cells(self, r: int) -> list[_Cell]:
        row = self.row(r)
        if row is None or row.empty:
            return []
        if r in self._cells:
            return self._cells[r]
        data = self.data
        open_c = b"<" + self._pfx + b"c"
        close_c = b"</" + self._pfx + b"c>"
        tag = _tag(self.prefix, b"c")
        out: list[_Cell] = []
        pos, stop = row.tag_end, row.end
        last = -1
        while True:
            at = data.find(open_c, pos, stop)
            if at < 0:
                break
            m = tag.match(data, at, stop)
            if m is None:
                pos = at + 1
                continue
            a = _attrs(m.group(1))
            col = split_ref(a[b"r"].decode())[0] if b"r" in a else last + 1
            if m.group(2):
                end, inner = m.end(), b""
            else:
                close = data.index(close_c, m.end(), stop)
                end, inner = close + len(close_c), data[m.end() : close]
            out.append(_Cell(col, at, end, a, inner))
            last = col
            pos = end
        self._cells[r] = out
        return out

    def cell(self, ref: str) -> _Cell | None:
        col, r = split_ref(ref)
        return next((c for c in self.cells(r) if c.col == col), None)

    def has_value(self, ref: str) -> bool:
        c = self.cell(ref)
        return c is not None and _has_value(c, self._pfx)

    def row_has_values(self, r: int) -> bool:
        return any(_has_value(c, self._pfx) for c in self.cells(r))

    @property
    def last_row(self) -> int:
        """The highest row number that has a <row> element (0 for an empty sheet)."""
        if self._all is not None:
            return max((x.r for x in self._all), default=0)
        row = self._prev_row(self._inner[1])
        return row.r if row is not None else 0

    def _blocked_ranges(self) -> list[tuple[tuple[int, int, int, int], str]]:
        """Ranges a write must not land in: merged cells (except their first cell) and
        array-formula ranges."""
        data = self.data
        out: list[tuple[tuple[int, int, int, int], str]] = []
        for m in _tag(self.prefix, b"mergeCell").finditer(data, self._inner[1]):
            ref = _attrs(m.group(1)).get(b"ref")
            if ref:
                out.append((_range(ref.decode()), f"inside merged cells {ref.decode()}"))
        if b'"array"' in data or b"'array'" in data:
            for m in _tag(self.prefix, b"f").finditer(data, *self._inner):
                a = _attrs(m.group(1))
                if a.get(b"t") == b"array" and b"ref" in a:
                    out.append(
                        (
                            _range(a[b"ref"].decode()),
                            f"inside the array formula {a[b'ref'].decode()}",
                        )
                    )
        return out

    # -- writing ------------------------------------------------------------------------------

    def set(self, ref: str, value: CellValue) -> None:
        """Write one value (text, number or date) into a cell when the workbook is saved."""
        col, r = split_ref(ref)
        where = f"sheet '{self.info.name}' cell {ref}"
        if isinstance(value, bool) or not isinstance(value, str | int | float | date):
            raise TypeError(f"{where}: cannot write {value!r}")
        if isinstance(value, datetime):
            raise TypeError(f"{where}: write a date, not a date and time")
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError(f"{where}: cannot write {value!r}")
        if isinstance(value, str) and not value:
            raise TypeError(f"{where}: cannot write empty text")
        c = self.cell(ref)
        if c is not None and _has_formula(c, self._pfx):
            raise _fail(
                self.book.path,
                f"{where} holds a formula; mergekit never overwrites formulas - move the formula "
                "or clear the cell, and run again",
            )
        for (c1, r1, c2, r2), why in self._blocked:
            if c1 <= col <= c2 and r1 <= r <= r2 and (col, r) != (c1, r1):
                raise _fail(
                    self.book.path, f"{where} is {why} - unmerge or clear them, and run again"
                )
        self.pending[(r, col)] = value

    def render(self) -> bytes:
        """The sheet XML with the pending writes; every other byte as it was."""
        if not self.pending:
            return self.data
        data = self.data
        edits: list[tuple[int, int, bytes]] = []
        by_row: dict[int, dict[int, CellValue]] = {}
        for (r, col), value in sorted(self.pending.items()):
            by_row.setdefault(r, {})[col] = value
        inserts: dict[int, list[bytes]] = {}
        fragments: list[bytes] = []  # each old and new row, checked to be whole elements
        for r, values in sorted(by_row.items()):
            row = self.row(r)
            if row is not None:
                rebuilt = self._rebuild_row(row, values)
                fragments += [data[row.start : row.end], rebuilt]
                edits.append((row.start, row.end, rebuilt))
                continue
            _, at = self._locate(r)
            cells = b"".join(self._cell_xml(r, col, v, None) for col, v in sorted(values.items()))
            new_row = b'<%srow r="%d">%s</%srow>' % (self._pfx, r, cells, self._pfx)
            fragments.append(new_row)
            inserts.setdefault(at, []).append(new_row)
        for at, chunks in inserts.items():
            edits.append((at, at, b"".join(chunks)))
        if self._sd.group(2):  # <sheetData/>: open it so rows can go inside
            sd = self._sd
            edits = [(s, e, x) for s, e, x in edits if (s, e) != (sd.end(), sd.end())]
            body = b"".join(b"".join(c) for c in inserts.values())
            opened = sd.group(0)[:-2].rstrip() + b">"
            edits.append((sd.start(), sd.end(), opened + body + b"</" + self._pfx + b"sheetData>"))
        edits.extend(self._dimension_edit(by_row))
        self._check_fragments(fragments)
        return _apply(data, edits)

    def _check_fragments(self, fragments: list[bytes]) -> None:
        """Every replaced and every new row is one well-formed element, so splicing one for
        the other leaves the part well-formed (parsing only these keeps a 50,000-row sheet
        fast). The root's namespace declarations are lent to them."""
        root = _tag(self.prefix, b"worksheet").search(self.data)
        decls = (
            re.findall(rb"\sxmlns(?::[\w.\-]+)?\s*=\s*(?:\"[^\"]*\"|'[^']*')", root.group(1))
            if root
            else []
        )
        wrapped = (
            b"<mergekit-check" + b"".join(decls) + b">" + b"".join(fragments) + b"</mergekit-check>"
        )
        _check_xml(wrapped, self.info.part, self.book.path)

    def _rebuild_row(self, row: _Row, values: dict[int, CellValue]) -> bytes:
        data = self.data
        start_tag = data[row.start : row.tag_end]
        cols = sorted(values)
        spans = _attrs(start_tag).get(b"spans")
        if spans and re.fullmatch(rb"\d+:\d+", spans):
            lo, hi = (int(x) for x in spans.split(b":"))
            lo, hi = min(lo, cols[0] + 1), max(hi, cols[-1] + 1)
            start_tag = _set_attr(start_tag, b"spans", b"%d:%d" % (lo, hi))
        if row.empty:
            start_tag = start_tag[:-2].rstrip() + b">"
            cells = b"".join(self._cell_xml(row.r, c, values[c], None) for c in cols)
            return start_tag + cells + b"</" + self._pfx + b"row>"
        existing = self.cells(row.r)
        out: list[bytes] = [start_tag]
        pos = row.tag_end
        todo = dict(values)
        for c in existing:
            for col in sorted(k for k in todo if k < c.col):
                out.append(data[pos : c.start])
                pos = c.start
                out.append(self._cell_xml(row.r, col, todo.pop(col), None))
            if c.col in todo:
                out.append(data[pos : c.start])
                out.append(self._cell_xml(row.r, c.col, todo.pop(c.col), c))
                pos = c.end
        # Remaining new cells go after the last cell (before the row's extLst, if any).
        tail_at = existing[-1].end if existing else row.tag_end
        out.append(data[pos:tail_at])
        out.extend(self._cell_xml(row.r, col, todo[col], None) for col in sorted(todo))
        out.append(data[tail_at : row.end])
        return b"".join(out)

    def _cell_xml(self, r: int, col: int, value: CellValue, old: _Cell | None) -> bytes:
        ref = f"{column_letter(col)}{r}".encode()
        attrs: list[tuple[bytes, bytes]] = [(b"r", ref)]
        if old is not None:  # keep the cell's own attributes except its type and metadata
            attrs = [
                (k, v) for k, v in old.attrs.items() if k not in (b"r", b"t", b"cm", b"vm", b"s")
            ]
            attrs.insert(0, (b"r", ref))
        style = self._style_for(r, col, old, isinstance(value, date))
        if style:
            attrs.insert(1, (b"s", str(style).encode()))
        p = self._pfx
        if isinstance(value, str):
            attrs.append((b"t", b"inlineStr"))
            text = _xstring(value)
            space = b' xml:space="preserve"' if text != text.strip() or "\n" in text else b""
            body = b"<%sis><%st%s>%s</%st></%sis>" % (p, p, space, _esc(text).encode("utf-8"), p, p)
        else:
            body = b"<%sv>%s</%sv>" % (p, self._number(value).encode(), p)
        head = b" ".join(k + b'="' + v + b'"' for k, v in attrs)
        return b"<%sc %s>%s</%sc>" % (p, head, body, p)

    def _number(self, value: int | float | date) -> str:
        if isinstance(value, date):
            epoch = date(1904, 1, 1) if self.book.date1904 else date(1899, 12, 30)
            return str((value - epoch).days)
        return str(value) if isinstance(value, int) else repr(value)

    def _style_for(self, r: int, col: int, old: _Cell | None, is_date: bool) -> int:
        """The cell's own style, else the nearest styled cell above (data rows only), else the
        column's style; for a date, the first of these that shows a date, else a dd/mm/yyyy
        copy of the first."""
        candidates: list[int] = []
        if old is not None and b"s" in old.attrs:
            candidates.append(int(old.attrs[b"s"]))
        # Rows without a cell in this column are skipped; the first cell found decides.
        for n, row in enumerate(self.rows_above(r)):
            if row.r < self.first_data_row or n > _STYLE_SEARCH_ROWS:
                break
            above = next((c for c in self.cells(row.r) if c.col == col), None)
            if above is not None:
                candidates.append(int(above.attrs.get(b"s", b"0")))
                break
        col_style = self._col_style(col)
        if col_style is not None:
            candidates.append(col_style)
        if not is_date:
            return candidates[0] if candidates else 0
        styles = self.book.styles()
        for s in candidates:
            if styles.is_date(s):
                return s
        return styles.date_xf(candidates[0] if candidates else 0)

    def _col_style(self, col: int) -> int | None:
        for m in _tag(self.prefix, b"col").finditer(self.data, 0, self._sd.start()):
            a = _attrs(m.group(1))
            try:
                lo, hi = int(a.get(b"min", b"0")), int(a.get(b"max", b"0"))
            except ValueError:
                continue
            if lo <= col + 1 <= hi and b"style" in a:
                return int(a[b"style"])
        return None

    def _dimension_edit(
        self, by_row: dict[int, dict[int, CellValue]]
    ) -> list[tuple[int, int, bytes]]:
        m = _tag(self.prefix, b"dimension").search(self.data, 0, self._sd.start())
        if m is None:
            return []
        ref = _attrs(m.group(1)).get(b"ref", b"").decode()
        cols = [c for v in by_row.values() for c in v]
        rows = list(by_row)
        try:
            c1, r1, c2, r2 = _range(ref)
            if ref in ("A1", "") and self.last_row == 0:
                c1, r1, c2, r2 = min(cols), min(rows), max(cols), max(rows)
        except ValueError:
            c1, r1, c2, r2 = min(cols), min(rows), max(cols), max(rows)
        new = _range_text(min(c1, *cols), min(r1, *rows), max(c2, *cols), max(r2, *rows))
        if new == ref:
            return []
        return [(m.start(), m.end(), _set_attr(m.group(0), b"ref", new.encode()))]

    def written_rows(self) -> dict[int, tuple[int, int]]:
        """row -> (first, last) column written, for widening tables."""
        out: dict[int, tuple[int, int]] = {}
        for r, col in self.pending:
            lo, hi = out.get(r, (col, col))
            out[r] = (min(lo, col), max(hi, col))
        return out


def _has_value(c: _Cell, pfx: bytes) -> bool:
    """A formula, an inline string or a non-empty <v> (a cell with only a style is empty)."""
    p = re.escape(pfx)
    if not c.inner.strip():
        return False
    if re.search(b"<" + p + rb"(?:f|is)[\s/>]", c.inner):
        return True
    m = re.search(b"<" + p + rb"v(?:\s[^>]*)?>(.*?)</" + p + b"v>", c.inner, re.DOTALL)
    return m is not None and m.group(1) != b""


def _has_formula(c: _Cell, pfx: bytes) -> bool:
    return re.search(b"<" + re.escape(pfx) + rb"f[\s/>]", c.inner) is not None


# ---------------------------------------------------------------------------------------------
# The workbook


@dataclass(frozen=True)
class SaveResult:
    path: Path
    backup: Path | None  # the day's backup, when this save made it
    changed_parts: tuple[str, ...]


class XlsxWorkbook:
    """An .xlsx/.xlsm opened for a surgical write.

    >>> book = XlsxWorkbook.open(path)
    >>> sheet = book.worksheet("Off Roll", first_data_row=4)
    >>> sheet.set("A12", "Jane Doe"); sheet.set("E12", date(2026, 11, 20))
    >>> book.save(backups=Path("backups"), day=date.today())
    """

    def __init__(self, path: Path, data: bytes, pkg: _Package, stamp: tuple[int, int]) -> None:
        self.path = path
        self._data = data
        self._pkg = pkg
        self._stamp = stamp
        self.stamp = stamp  # (size, mtime_ns) when read: callers can tell a later change
        self.workbook_part, self._rels = self._find_workbook()
        self._workbook_xml = pkg.read(self.workbook_part)
        if _STRICT in self._workbook_xml or any(
            r.type.startswith("http://purl.oclc.org") for r in self._rels
        ):
            raise _strict(path)
        self.date1904 = self._read_date1904()
        self.sheets = self._read_sheets()
        self._sheets: dict[str, Worksheet] = {}
        self._styles: _Styles | None = None
        self._replaced: dict[str, bytes] = {}
        self._added: list[tuple[str, bytes]] = []

    @classmethod
    def open(cls, path: Path) -> XlsxWorkbook:
        """Open for writing, refusing what cannot be written safely (with what to do)."""
        refuse_if_locked(path)
        if not path.exists():
            raise _fail(
                path, f"no such file ({path}) - check [files] transfer_list in mergekit.toml"
            )
        suffix = path.suffix.lower()
        if suffix == ".xls":
            raise _fail(
                path,
                "mergekit cannot write old-style .xls workbooks - open it in Excel, use File > "
                "Save As > Excel Workbook (.xlsx), point mergekit.toml at the new file, and run "
                "again",
            )
        if suffix not in _WRITABLE:
            raise _fail(
                path,
                f"mergekit writes only .xlsx and .xlsm workbooks, not {suffix or 'this file'} - "
                "save it from Excel as .xlsx",
            )
        st = path.stat()
        data = path.read_bytes()
        if data.startswith(_OLE_MAGIC):
            if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptedPackage" in data:
                raise _fail(
                    path,
                    "the workbook is protected with a password, so mergekit cannot write it - in "
                    "Excel use File > Info > Protect Workbook > Encrypt with Password, clear the "
                    "password, save, and run again",
                )
            raise _fail(
                path,
                "this is an old-style .xls file with an .xlsx name - open it in Excel and save "
                "it as .xlsx",
            )
        if not data.startswith(b"PK"):
            raise _fail(
                path,
                "not a workbook (the file's contents are not an Excel file) - check the file, "
                "or restore it from a backup",
            )
        pkg = _open_package(path, data)
        return cls(path, data, pkg, (st.st_size, st.st_mtime_ns))

    # -- structure ----------------------------------------------------------------------------

    def _find_workbook(self) -> tuple[str, list[_Rel]]:
        pkg = self._pkg
        if not pkg.has("[Content_Types].xml"):
            raise _fail(
                self.path, "not a workbook (a zip file, but not an Excel one) - check the file"
            )
        root_rels = _read_rels(pkg, "", self.path) if pkg.has("_rels/.rels") else []
        if any(r.type.startswith("http://purl.oclc.org") for r in root_rels):
            raise _strict(self.path)
        office = [r for r in root_rels if r.type == _RT_OFFICE_DOCUMENT and not r.external]
        if not office or not pkg.has(office[0].target):
            raise _fail(
                self.path, "not a workbook (a zip file, but not an Excel one) - check the file"
            )
        part = office[0].target
        return part, _read_rels(pkg, part, self.path)

    def _read_date1904(self) -> bool:
        m = re.search(rb"<(?:\w+:)?workbookPr\b(" + _ATTRS + rb")/?>", self._workbook_xml)
        return m is not None and _attrs(m.group(1)).get(b"date1904", b"0").lower() in (
            b"1",
            b"true",
        )

    def _read_sheets(self) -> list[SheetInfo]:
        by_id = {r.id: r for r in self._rels}
        out: list[SheetInfo] = []
        for m in re.finditer(rb"<(?:\w+:)?sheet\b(" + _ATTRS + rb")/?>", self._workbook_xml):
            a = _attrs(m.group(1))
            rid = next((v for k, v in a.items() if k.endswith(b":id") or k == b"id"), b"").decode()
            rel = by_id.get(rid)
            if rel is None:
                continue
            kind = rel.type.rsplit("/", 1)[-1]
            out.append(SheetInfo(_unesc(a.get(b"name", b"")), rel.target, kind))
        return out

    def sheet_info(self, name: str) -> SheetInfo:
        for s in self.sheets:
            if s.name == name:
                return s
        for s in self.sheets:
            if s.name.casefold() == name.casefold():
                return s
        names = ", ".join(repr(s.name) for s in self.sheets)
        raise _fail(
            self.path,
            f"no sheet called {name!r} (the sheets are {names}) - check [sheets] off_roll in "
            "mergekit.toml",
        )

    def worksheet(self, name: str, first_data_row: int = 1) -> Worksheet:
        """The worksheet to write into. ``first_data_row``: rows above it (titles, the header)
        never lend their style to a new cell."""
        info = self.sheet_info(name)
        if info.kind != "worksheet":
            what = {
                "chartsheet": "a chart sheet",
                "dialogsheet": "a dialog sheet",
                "macrosheet": "a macro sheet",
            }
            raise _fail(
                self.path,
                f"sheet '{info.name}' is {what.get(info.kind, info.kind)}, not a worksheet: it "
                "has no cells to write - choose the Off Roll worksheet in [sheets] off_roll",
            )
        if info.name not in self._sheets:
            data = self._replaced.get(info.part)
            if data is None:
                data = next((c for n, c in self._added if n == info.part), None)
            if data is None:
                if not self._pkg.has(info.part):
                    raise _fail(
                        self.path,
                        f"sheet '{info.name}' has no part {info.part} - the file is damaged",
                    )
                data = self._pkg.read(info.part)
            self._sheets[info.name] = Worksheet(self, info, data, first_data_row)
        sheet = self._sheets[info.name]
        sheet.first_data_row = first_data_row
        return sheet

    def styles(self) -> _Styles:
        if self._styles is None:
            rel = next((r for r in self._rels if r.type == _RT_STYLES and not r.external), None)
            if rel is None or not self._pkg.has(rel.target):
                raise _fail(
                    self.path,
                    f"the workbook has no styles part, so a date cannot be formatted - {_RESAVE}",
                )
            self._styles = _Styles(rel.target, self._pkg.read(rel.target), self.path)
        return self._styles

    def add_worksheet(self, name: str) -> SheetInfo:
        """Append an empty worksheet (a new part plus its entries in workbook.xml, the
        workbook's relationships and [Content_Types].xml)."""
        if not name or len(name) > 31 or re.search(r"[\[\]:*?/\\]", name) or name.startswith("'"):
            raise _fail(
                self.path,
                f"{name!r} is not a valid sheet name (at most 31 characters, none of []:*?/\\)",
            )
        if any(s.name.casefold() == name.casefold() for s in self.sheets):
            raise _fail(self.path, f"there is already a sheet called {name!r}")
        taken = {m.name.casefold() for m in self._pkg.members}
        taken |= {n.casefold() for n, _ in self._added}
        folder = str(PurePosixPath(self.workbook_part).parent)
        n = 1
        while f"{folder}/worksheets/sheet{n}.xml".casefold() in taken:
            n += 1
        part = f"{folder}/worksheets/sheet{n}.xml"
        rid_numbers = [int(m) for r in self._rels for m in re.findall(r"^rId(\d+)$", r.id)]
        rid = f"rId{max([0, *rid_numbers]) + 1}"
        # The new worksheet part.
        xml = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="' + MAIN_NS + b'" xmlns:r="' + _REL_NS.encode() + b'">'
            b'<dimension ref="A1"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            b'<sheetFormatPr defaultRowHeight="15"/><sheetData/>'
            b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            b'footer="0.3"/>'
            b"</worksheet>"
        )
        self._added.append((part, xml))
        # workbook.xml: one <sheet> at the end of <sheets>.
        wb = self._current(self.workbook_part)
        prefix = _root_prefix(wb, b"workbook", self.workbook_part, self.path)
        pfx = prefix + b":" if prefix else b""
        ids = [int(x) for x in re.findall(rb"<(?:\w+:)?sheet\b[^>]*?\ssheetId=\"(\d+)\"", wb)]
        close = wb.index(b"</" + pfx + b"sheets>")
        root = _ROOT.search(wb, wb.index(b"<" + pfx + b"workbook"))
        assert root is not None
        root_tag = wb[root.start() : wb.index(b">", root.start())]
        declared = re.search(
            rb'xmlns:([\w.\-]+)\s*=\s*["\']' + re.escape(_REL_NS.encode()), root_tag
        )
        rel_attr = (
            declared.group(1) + b':id="%s"' % rid.encode()
            if declared
            else b'xmlns:r="%s" r:id="%s"' % (_REL_NS.encode(), rid.encode())
        )
        entry = b'<%ssheet name="%s" sheetId="%d" %s/>' % (
            pfx,
            _esc(name, quote=True).encode("utf-8"),
            max([0, *ids]) + 1,
            rel_attr,
        )
        self._replaced[self.workbook_part] = wb[:close] + entry + wb[close:]
        # The workbook's relationships.
        rels_part = _rels_name(self.workbook_part)
        rels = self._current(rels_part)
        target = PurePosixPath(part).relative_to(folder) if folder != "." else PurePosixPath(part)
        close = rels.rindex(b"</Relationships>")
        rel = b'<Relationship Id="%s" Type="%s" Target="%s"/>' % (
            rid.encode(),
            _RT_WORKSHEET.encode(),
            str(target).encode(),
        )
        self._replaced[rels_part] = rels[:close] + rel + rels[close:]
        # [Content_Types].xml
        types = self._current("[Content_Types].xml")
        close = types.rindex(b"</Types>")
        override = b'<Override PartName="/%s" ContentType="%s"/>' % (
            part.encode(),
            _CT_WORKSHEET.encode(),
        )
        self._replaced["[Content_Types].xml"] = types[:close] + override + types[close:]
        info = SheetInfo(name, part, "worksheet")
        self.sheets.append(info)
        self._rels.append(_Rel(rid, _RT_WORKSHEET, part, False))
        return info

    def _current(self, part: str) -> bytes:
        return self._replaced.get(part) or self._pkg.read(part)

    # -- tables -------------------------------------------------------------------------------

    def _table_edits(self, sheet: Worksheet) -> dict[str, bytes]:
        """Tables on the sheet that end on the row just above a written row grow by it."""
        written = sheet.written_rows()
        if not written or b"tablePart" not in sheet.data:
            return {}
        out: dict[str, bytes] = {}
        for rel in _read_rels(self._pkg, sheet.info.part, self.path):
            if rel.type != _RT_TABLE or rel.external or not self._pkg.has(rel.target):
                continue
            data = self._pkg.read(rel.target)
            prefix = _root_prefix(data, b"table", rel.target, self.path)
            m = _tag(prefix, b"table").search(data)
            if m is None:
                continue
            a = _attrs(m.group(1))
            if int(a.get(b"totalsRowCount", b"0") or 0):
                continue
            c1, r1, c2, r2 = _range(a.get(b"ref", b"A1").decode())
            last = r2
            while last + 1 in written and written[last + 1][0] <= c2 and written[last + 1][1] >= c1:
                last += 1
            if last == r2:
                continue
            new_ref = _range_text(c1, r1, c2, last).encode()
            edits = [(m.start(), m.end(), _set_attr(m.group(0), b"ref", new_ref))]
            af = _tag(prefix, b"autoFilter").search(data, m.end())
            if af is not None:
                old = _attrs(af.group(1)).get(b"ref", b"")
                if old:
                    f1, g1, f2, _ = _range(old.decode())
                    edits.append(
                        (
                            af.start(),
                            af.end(),
                            _set_attr(af.group(0), b"ref", _range_text(f1, g1, f2, last).encode()),
                        )
                    )
            out[rel.target] = _apply(data, edits)
        return out

    # -- saving -------------------------------------------------------------------------------

    def save(
        self,
        *,
        backups: Path | None = None,
        day: date | None = None,
        on_part: Callable[[str], None] | None = None,
    ) -> SaveResult:
        """Write the changes atomically; first keep the day's backup in ``backups``."""
        parts = dict(self._replaced)
        added = list(self._added)
        for sheet in self._sheets.values():
            if not sheet.pending:
                continue
            content = sheet.render()
            if len(content) < _FULL_CHECK_BYTES:
                _check_xml(content, sheet.info.part, self.path)
            if any(n == sheet.info.part for n, _ in added):
                added = [(n, content if n == sheet.info.part else c) for n, c in added]
            else:
                parts[sheet.info.part] = content
            parts.update(self._table_edits(sheet))
        if self._styles is not None and self._styles.changed:
            content = self._styles.render()
            _check_xml(content, self._styles.part, self.path)
            parts[self._styles.part] = content
        for name in list(self._replaced):
            _check_xml(parts[name], name, self.path)
        parts = {self._pkg.actual(name): content for name, content in parts.items()}
        changed = tuple(sorted([*parts, *(n for n, _ in added)]))
        if not changed:
            return SaveResult(self.path, None, ())
        refuse_if_locked(self.path)
        st = self.path.stat()
        if (st.st_size, st.st_mtime_ns) != self._stamp:
            raise _fail(
                self.path,
                "the workbook was changed by someone else while mergekit was writing it - run "
                "again",
            )
        backup = (
            make_backup(self.path, self._data, backups, day)
            if backups is not None and day is not None
            else None
        )
        _atomic_write(
            self.path,
            lambda out: _write_package(self._pkg, out, parts, added, on_part),
            verify=set(changed),
        )
        return SaveResult(self.path, backup, changed)


def _strict(path: Path) -> WriteBackError:
    return _fail(
        path,
        'the workbook is saved as "Strict Open XML Spreadsheet", which mergekit cannot write '
        "safely - in Excel use File > Save As > Excel Workbook (.xlsx), and run again",
    )


def file_stamp(path: Path) -> tuple[int, int]:
    """(size, mtime in ns): compared before writing, so a change by someone else since the
    workbook was read is never overwritten."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def refuse_if_locked(path: Path) -> None:
    lock = lock_file(path)
    if lock is not None:
        raise _fail(
            path,
            f"the workbook is open in Excel ({lock.name} is beside it) - close the workbook in "
            "Excel and run again",
        )


# ---------------------------------------------------------------------------------------------
# Backups and atomic replacement


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
