"""An .xlsx/.xlsm opened for writing a few cells: its sheets, new worksheets, widened tables,
and saving the whole package atomically.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from mergekit.core.errors import WriteBackError
from mergekit.core.ooxml import Relationship, rels_name
from mergekit.read.sheets import lock_file
from mergekit.transfer.xlsx import protected
from mergekit.transfer.xlsx.package import _open_package, _Package, _write_package
from mergekit.transfer.xlsx.parts import SheetInfo, _apply, _read_rels, _Styles
from mergekit.transfer.xlsx.save import _atomic_bytes, _atomic_write, make_backup
from mergekit.transfer.xlsx.worksheet import Worksheet
from mergekit.transfer.xlsx.xmlbytes import (
    _ATTRS,
    _CT_WORKSHEET,
    _FULL_CHECK_BYTES,
    _OLE_MAGIC,
    _REL_NS,
    _RESAVE,
    _ROOT,
    _RT_OFFICE_DOCUMENT,
    _RT_STYLES,
    _RT_TABLE,
    _RT_WORKSHEET,
    _STRICT,
    _WRITABLE,
    MAIN_NS,
    _attrs,
    _check_xml,
    _esc,
    _fail,
    _range,
    _range_text,
    _root_prefix,
    _set_attr,
    _tag,
    _unesc,
)


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

    def __init__(
        self,
        path: Path,
        data: bytes,
        pkg: _Package,
        stamp: tuple[int, int],
        password: str | None = None,
    ) -> None:
        self.path = path
        self._data = data  # the file's bytes as read (encrypted, when it is protected)
        self._password = password  # set when the workbook is protected: saved protected again
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
        if data.startswith(_OLE_MAGIC) and protected.is_encrypted_package(data):
            # Decrypted in memory only; save() encrypts again with the same password.
            plain, password = protected.decrypt(path, data)
            pkg = _open_package(path, plain)
            return cls(path, data, pkg, (st.st_size, st.st_mtime_ns), password)
        if data.startswith(_OLE_MAGIC):
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

    def _find_workbook(self) -> tuple[str, list[Relationship]]:
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
        rels_part = rels_name(self.workbook_part)
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
        self._rels.append(Relationship(rid, _RT_WORKSHEET, part, False))
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
        if self._password is not None:
            plain = io.BytesIO()
            _write_package(self._pkg, plain, parts, added, on_part)
            sealed = protected.encrypt(self.path, plain.getvalue(), self._password, set(changed))
            _atomic_bytes(self.path, sealed)
            return SaveResult(self.path, backup, changed)
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
