"""One worksheet's XML, edited as bytes row by row: only the rows that receive a cell are
rebuilt, new rows inserted in order, ``<dimension>`` widened; nothing else is touched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from mergekit.read.sheets import column_letter
from mergekit.transfer.xlsx.parts import SheetInfo, _apply
from mergekit.transfer.xlsx.xmlbytes import (
    _RESAVE,
    _STYLE_SEARCH_ROWS,
    CellValue,
    _attrs,
    _check_xml,
    _esc,
    _fail,
    _range,
    _range_text,
    _root_prefix,
    _set_attr,
    _tag,
    _xstring,
    split_ref,
)

if TYPE_CHECKING:
    from mergekit.transfer.xlsx.workbook import XlsxWorkbook

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
