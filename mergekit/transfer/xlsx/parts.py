"""The workbook's own parts: relationships (which part is which sheet) and ``styles.xml``
(which cell formats show dates, and a date format appended when one is needed).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mergekit.core.ooxml import Relationship, relationships, rels_name
from mergekit.transfer.xlsx.package import _Package
from mergekit.transfer.xlsx.xmlbytes import (
    _BUILTIN_DATE_IDS,
    DATE_FORMAT_CODE,
    _attrs,
    _fail,
    _root_prefix,
    _set_attr,
    _tag,
    _unesc,
)


def _read_rels(pkg: _Package, part: str, path: Path) -> list[Relationship]:
    name = rels_name(part)
    if not pkg.has(name):
        return []
    try:
        root = ET.fromstring(pkg.read(name))
    except ET.ParseError as e:
        raise _fail(
            path, f"{name} is damaged ({e}) - open the workbook in Excel, save it, and run again"
        ) from e
    return relationships(root, part)


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
