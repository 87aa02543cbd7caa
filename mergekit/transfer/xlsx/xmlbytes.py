"""The bytes of OOXML parts: cell references, namespaces, and reading and editing XML as
bytes (attributes, escapes, the root element) so that nothing is ever re-serialised.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from xml.parsers import expat

from mergekit.core.errors import WriteBackError
from mergekit.read.sheets import column_letter

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
