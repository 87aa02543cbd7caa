"""Opening workbooks of every kind schools have, read-only, and finding their header rows.

``.xlsx``, ``.xlsm``, ``.xls`` and ``.ods`` are read with python-calamine (fast, exact cached
values, never writes); ``.csv`` with the standard library. Nothing here writes to the file.

A workbook protected with a password ("Encrypt with Password") is decrypted in memory with
msoffcrypto-tool; the password comes from the environment variable
``MERGEKIT_WORKBOOK_PASSWORD``, else the OS keyring (service ``mergekit-workbook``, user the
file's name), never mergekit.toml. Before anything is decompressed, a zip package's declared
sizes are checked (:func:`check_package`): a zip bomb, a sheet of a million rows or a huge
shared-strings part is refused at once, with bounded memory.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mergekit.core.errors import WorkbookError
from mergekit.read.columns import SheetSpec, header_index, match_header, normalise

HEADER_SEARCH_ROWS = 10
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"

Row = Sequence[object]


@dataclass
class RawSheet:
    name: str
    rows: list[list[object]]
    first_row: int = 1  # Excel row number of rows[0]


@dataclass
class HeaderMatch:
    """A sheet's header row and which column holds which field."""

    sheet: RawSheet
    header_row: int  # index into sheet.rows
    columns: dict[str, int]  # field name -> 0-based column index
    headers: list[str]  # raw header text by column
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # field, kept, ignored

    @property
    def excel_header_row(self) -> int:
        return self.sheet.first_row + self.header_row

    def excel_row(self, index: int) -> int:
        return self.sheet.first_row + index


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def lock_file(path: Path) -> Path | None:
    """Excel's owner file (~$name.xlsx) beside the workbook while someone has it open."""
    for candidate in (path.with_name("~$" + path.name), path.with_name("~$" + path.name[2:])):
        if candidate != path and candidate.exists():
            return candidate
    return None


def read_workbook(path: Path) -> list[RawSheet]:
    """Every worksheet's cell values, or a WorkbookError that says what is wrong."""
    name = path.name
    if not path.exists():
        raise WorkbookError(f"{name}: no such file ({path}) - check [files] in mergekit.toml")
    if path.stat().st_size == 0:
        raise WorkbookError(
            f"{name}: the file is empty (0 bytes) - save the workbook from Excel "
            "again, or restore it from a backup"
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return [_read_csv(path)]
    with path.open("rb") as fh:
        head = fh.read(8)
    if suffix in (".xlsx", ".xlsm", ".xlsb", ".ods") and head.startswith(_OLE_MAGIC):
        if _is_encrypted_ooxml(path):
            return _read_calamine(path, decrypt_workbook(path))
        raise WorkbookError(
            f"{name}: this is an old-style .xls file with an .xlsx name - "
            "open it in Excel and save it as .xlsx"
        )
    if suffix in (".xlsx", ".xlsm", ".ods") and not head.startswith(_ZIP_MAGIC):
        raise WorkbookError(
            f"{name}: not an Excel workbook (the file's contents are not a "
            "spreadsheet) - export it again from the MIS as .xlsx"
        )
    if suffix == ".xls" and not head.startswith(_OLE_MAGIC):
        raise WorkbookError(f"{name}: not an Excel .xls file - export it again as .xlsx")
    if suffix not in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        raise WorkbookError(
            f"{name}: mergekit reads .xlsx, .xlsm, .xls, .ods and .csv files, "
            f"not {suffix or 'files without an extension'}"
        )
    if suffix in (".xlsx", ".xlsm", ".ods"):
        check_package(path, path)
    return _read_calamine(path)


PASSWORD_ENV = "MERGEKIT_WORKBOOK_PASSWORD"
KEYRING_SERVICE = "mergekit-workbook"

# Bounds on what a workbook may unpack to (a real school's tracker is a few tens of MB).
MAX_PART_BYTES = 512 * 1024 * 1024  # one part (a sheet, shared strings) uncompressed
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # the whole package uncompressed
MAX_SHARED_STRINGS_BYTES = 128 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for parts over 8 MB
MAX_ROWS = 500_000  # a sheet's declared rows (Excel's limit, 1,048,576, is refused)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


def workbook_password(path: Path, env: dict[str, str] | None = None) -> str | None:
    """The password of a protected workbook: MERGEKIT_WORKBOOK_PASSWORD, else the OS keyring
    (service mergekit-workbook, user the file's name). Never mergekit.toml."""
    found = (os.environ if env is None else env).get(PASSWORD_ENV)
    if found:
        return found
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        stored = keyring.get_password(KEYRING_SERVICE, path.name)
    except KeyringError:
        return None
    return str(stored) if stored else None


def decrypt_workbook(path: Path, password: str | None = None, data: bytes | None = None) -> bytes:
    """The decrypted .xlsx bytes of a password-protected workbook (``data``: its bytes, already
    read), or a WorkbookError that says how to give the password (or that it is wrong)."""
    import msoffcrypto
    from msoffcrypto.exceptions import InvalidKeyError

    password = password if password is not None else workbook_password(path)
    if not password:
        raise WorkbookError(
            f"{path.name}: the workbook is protected with a password, and none was given - set "
            f"the environment variable {PASSWORD_ENV}, or store it once with: keyring set "
            f"{KEYRING_SERVICE} {path.name} (never put the password in mergekit.toml)"
        )
    out = io.BytesIO()
    try:
        with io.BytesIO(data) if data is not None else path.open("rb") as fh:
            office = msoffcrypto.OfficeFile(fh)
            office.load_key(password=password)
            office.decrypt(out)
    except InvalidKeyError:
        raise WorkbookError(
            f"{path.name}: the workbook's password is wrong - check {PASSWORD_ENV} (or the "
            f"keyring entry {KEYRING_SERVICE} / {path.name}) against the password set in Excel"
        ) from None
    except Exception as e:
        raise WorkbookError(
            f"{path.name}: the protected workbook cannot be decrypted ({type(e).__name__}) - "
            "open it in Excel, save it again, and run again"
        ) from None
    plain = out.getvalue()
    check_package(path, io.BytesIO(plain))
    return plain


def check_package(path: Path, source: Path | io.BytesIO) -> None:
    """Refuse a zip package that would unpack to more than the bounds above, before any of
    it is decompressed (declared sizes, then each sheet's declared dimension)."""
    name = path.name
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as e:
        raise WorkbookError(
            f"{name}: cannot be read as a workbook ({e}) - open it in Excel, save it as .xlsx, "
            "and run again"
        ) from None
    with zf:
        total = 0
        for info in zf.infolist():
            size = info.file_size
            total += size
            ratio = size / max(info.compress_size, 1)
            big = size > MAX_PART_BYTES or (size > 8 * 1024 * 1024 and ratio > MAX_RATIO)
            strings = info.filename.endswith("sharedStrings.xml")
            if big or (strings and size > MAX_SHARED_STRINGS_BYTES):
                raise WorkbookError(
                    f"{name}: part {info.filename} would unpack to {size / 2**20:,.0f} MB "
                    f"({ratio:,.0f} times its stored size), far more than a school's workbook "
                    "holds - mergekit refuses it unread; export the workbook again from the MIS"
                )
            if total > MAX_TOTAL_BYTES:
                raise WorkbookError(
                    f"{name}: the workbook would unpack to more than "
                    f"{MAX_TOTAL_BYTES // 2**20:,} MB - mergekit refuses it unread; export it "
                    "again from the MIS, or split it"
                )
        for info in zf.infolist():
            if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", info.filename):
                continue
            with zf.open(info) as fh:
                head = fh.read(4096)
            m = _DIMENSION.search(head)
            if m and int(m.group(1)) > MAX_ROWS:
                raise WorkbookError(
                    f"{name}: {info.filename} declares {int(m.group(1)):,} rows, more than "
                    f"mergekit reads ({MAX_ROWS:,}) - delete the empty formatted rows below "
                    "the data (select them, Delete Sheet Rows), save, and run again"
                )


def is_encrypted(path: Path) -> bool:
    """A workbook protected with "Encrypt with Password" (an OLE file holding the package)."""
    with path.open("rb") as fh:
        if not fh.read(8).startswith(_OLE_MAGIC):
            return False
    return _is_encrypted_ooxml(path)


def _is_encrypted_ooxml(path: Path) -> bool:
    data = path.read_bytes()
    return "EncryptedPackage".encode("utf-16-le") in data or b"EncryptedPackage" in data


def _read_calamine(path: Path, data: bytes | None = None) -> list[RawSheet]:
    import python_calamine as calamine

    try:
        wb = (
            calamine.CalamineWorkbook.from_path(str(path))
            if data is None
            else calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        )
    except calamine.PasswordError as e:
        raise WorkbookError(
            f"{path.name}: the workbook is protected with a password - remove "
            "the password in Excel and run again"
        ) from e
    except Exception as e:  # calamine raises several error types for damaged files
        raise WorkbookError(
            f"{path.name}: cannot be read as a workbook ({e}) - open it in Excel, "
            "save it as .xlsx, and run again"
        ) from e
    sheets: list[RawSheet] = []
    try:
        for meta in wb.sheets_metadata:
            if str(meta.typ).rsplit(".", 1)[-1] != "WorkSheet":
                continue
            sheet = wb.get_sheet_by_name(meta.name)
            rows: list[list[object]] = sheet.to_python(skip_empty_area=False)  # type: ignore[assignment]
            sheets.append(RawSheet(meta.name, rows, 1))
    except Exception as e:
        raise WorkbookError(
            f"{path.name}: a sheet cannot be read ({e}) - open the workbook in "
            "Excel, save it, and run again"
        ) from e
    finally:
        wb.close()
    return sheets


def _read_csv(path: Path) -> RawSheet:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            content = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise WorkbookError(f"{path.name}: unreadable text encoding - save it as CSV UTF-8")
    delimiter = _delimiter(content)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    rows: list[list[object]] = [list(r) for r in reader]
    return RawSheet(path.stem, rows, 1)


def _delimiter(content: str) -> str:
    """Comma, semicolon (Excel in much of Europe) or tab: whichever the first lines use most
    outside quotes (csv.Sniffer is misled by quoted line breaks)."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    lines = 0
    for ch in content[:65536]:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
        elif not quoted and ch == "\n":
            lines += 1
            if lines >= 20:
                break
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else ","


def find_header(
    sheet: RawSheet,
    spec: SheetSpec,
    overrides: dict[str, str] | None = None,
) -> HeaderMatch | None:
    """The best header row for ``spec`` in the first rows of the sheet, if it has the
    signature columns."""
    index = header_index(spec, overrides)
    best: HeaderMatch | None = None
    for i, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        duplicates: list[tuple[str, int, int]] = []
        headers = [_cell_text(c) for c in row]
        for col, header in enumerate(headers):
            name = match_header(header, index, spec)
            if name is None:
                continue
            if name in columns:
                duplicates.append((name, columns[name], col))
                continue
            columns[name] = col
        if not all(any(f in columns for f in group) for group in spec.signature):
            continue
        if best is None or len(columns) > len(best.columns):
            best = HeaderMatch(sheet, i, columns, headers, duplicates)
    return best


def partial_header(
    sheet: RawSheet,
    spec: SheetSpec,
    overrides: dict[str, str] | None = None,
) -> HeaderMatch | None:
    """The row that looks most like ``spec``'s header even without the full signature (used to
    say which columns are missing)."""
    index = header_index(spec, overrides)
    best: HeaderMatch | None = None
    for i, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        headers = [_cell_text(c) for c in row]
        columns: dict[str, int] = {}
        for col, header in enumerate(headers):
            name = match_header(header, index, spec)
            if name is not None and name not in columns:
                columns[name] = col
        if columns and (best is None or len(columns) > len(best.columns)):
            best = HeaderMatch(sheet, i, columns, headers)
    return best


def suggest_header(names: Sequence[str], candidates: list[str]) -> str | None:
    """The sheet header most like any of a missing column's names ("did you mean")."""
    keyed = {normalise(c): c for c in candidates if c}
    best: tuple[float, str] | None = None
    for name in names:
        for found in difflib.get_close_matches(normalise(name), list(keyed), n=1, cutoff=0.6):
            score = difflib.SequenceMatcher(None, normalise(name), found).ratio()
            if best is None or score > best[0]:
                best = (score, keyed[found])
    return best[1] if best else None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())
