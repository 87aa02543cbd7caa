"""Forms that need a person: made by mergekit, completed by staff, emailed only once released.

The CME referral, the Remove From Roll checklist and the planned-move form carry what only a
person can add (the concerns, the checks made, the head teacher's signature), so ``mergekit
send`` holds them: they are never emailed, whatever ``--limit`` says, until someone who has
completed and checked the PDF in the run folder's ``pdf/`` releases it, in one of two ways:

- ``mergekit send --release UPN`` (that pupil's held forms of the run) or ``--release FILE``;
- ``Y`` in the Release column of the run folder's ``release.xlsx``, with the name of who
  completed and checked it. The column is blank when mergekit writes it, a blank or an ``N``
  is never a release, a ``Y`` without a name is not one either, and a ``Y`` that has been acted
  on is cleared when the workbook is written again (its Status then says "released").

A release reads the PDF as it is saved at that moment and records its SHA-256 in the ledger
(``documents``, kind ``released``); the email attaches exactly those bytes. A PDF saved again
after its release is held again until it is released again.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import date, datetime
from pathlib import Path

from mergekit.core.actions import ACTION_TITLES, HELD_ACTIONS
from mergekit.core.atomic import write_atomic
from mergekit.core.errors import MailError
from mergekit.core.ledger import Ledger
from mergekit.core.runfolder import (
    MANIFEST,
    PDF_DIR,
    RELEASE_XLSX,
    document_pdf,
    file_sha256,
    read_manifest,
)
from mergekit.plan.xlsxprint import lay_out
from mergekit.plan.xlsxstyle import choice_list, help_sheet, style_header, workbook_bytes
from mergekit.read.sheets import column_letter
from mergekit.read.values import text

RELEASED_KIND = "released"
BY_COMMAND = "mergekit send --release"

SHEET = "Forms to release"
HEADERS = (
    "UPN",
    "Pupil",
    "Year",
    "Reg group",
    "Form",
    "PDF to complete",
    "Status",
    "Completed and checked by",
    "Release (Y)",
)
_WIDTHS = (14, 18, 5, 7, 22, 44, 36, 18, 9)  # one landscape A4 page wide
_DOCUMENT, _STATUS, _CHECKED_BY, _RELEASE = 5, 6, 7, 8  # column indexes in HEADERS
_NOTE = (
    "Forms mergekit will not email until a person has completed and checked them. Open the "
    "PDF (click its name), complete it in a PDF editor and save it in the same place; then "
    "write your name and Y, save this workbook and run mergekit send."
)
_HOW_TO = (
    "How to release a form",
    "",
    "1. Open the PDF named in 'PDF to complete' (it is in the run folder's pdf/ folder).",
    "2. Complete and check it in a PDF editor (the Remove From Roll checklist: the head "
    "teacher signs it). Save it in the same place, under the same name.",
    "3. On the Forms to release sheet, write who completed and checked it, and Y in "
    "'Release (Y)'. Save this workbook (keep the .xlsx format).",
    "4. Run mergekit send (a dry run shows the email), then mergekit send --send.",
    "",
    "A blank or N in 'Release (Y)' never releases a form, and neither does a Y without a name.",
    "The email attaches the PDF exactly as it was saved when mergekit read your Y. If you "
    "save the PDF again afterwards, the form is held again: write Y again to release it.",
    "Instead of this workbook you can run: mergekit send --release UPN (or the PDF's name).",
)


@dataclass(frozen=True, slots=True)
class HeldDocument:
    """A form of the run that needs a person: its manifest row and its PDF."""

    upn: str
    action: str
    document: str  # pdf/<stem>.pdf inside the run folder
    path: Path


@dataclass(frozen=True, slots=True)
class Release:
    """A person released this version of a form (the latest release of a document wins)."""

    document: str
    sha256: str
    at: str  # ISO timestamp
    how: str  # "mergekit send --release" or "release.xlsx: checked by <name>"

    @property
    def when(self) -> str:
        try:
            return f"{datetime.fromisoformat(self.at):%d/%m/%Y %H:%M}"
        except ValueError:
            return self.at


@dataclass(frozen=True, slots=True)
class SheetEntry:
    """One row of release.xlsx as staff left it."""

    document: str
    checked_by: str
    release: str  # the Release cell as written
    cell: str  # where the Release cell is, e.g. "Forms to release!I4"


@dataclass(frozen=True)
class Releases:
    """The releases that hold for a run folder, and what this command released."""

    by_document: Mapping[str, Release]
    now: tuple[Release, ...]
    notes: tuple[str, ...]
    documents: tuple[HeldDocument, ...]
    sheet: Mapping[str, SheetEntry] | None  # None: release.xlsx could not be read


def held_documents(run: Path) -> list[HeldDocument]:
    """The run's forms that need a person and have a PDF, in manifest (hand-out) order."""
    if not (run / MANIFEST).is_file():
        return []
    out: list[HeldDocument] = []
    for row in read_manifest(run):
        if row.action in HELD_ACTIONS and row.file:
            pdf = document_pdf(run, row.file)
            if pdf.is_file():
                out.append(HeldDocument(row.upn, row.action, pdf.relative_to(run).as_posix(), pdf))
    return out


# ---------------------------------------------------------------------------------------------
# Which documents a --release names


def resolve(
    requests: Sequence[str], documents: Sequence[HeldDocument], run: Path, cwd: Path
) -> list[HeldDocument]:
    """The held documents that ``--release UPN|FILE`` values name. Every value that names none
    is reported together in one MailError, and nothing is released then."""
    chosen: dict[str, HeldDocument] = {}
    problems: list[str] = []
    for raw in requests:
        value = raw.strip()
        found = _by_upn(value, documents) or _by_file(value, documents, run, cwd)
        if found:
            chosen.update((d.document, d) for d in found)
        else:
            problems.append(_not_found(value, run))
    if problems:
        listed = "\n".join(
            f"  {d.upn} {ACTION_TITLES.get(d.action, d.action)}: {d.document}" for d in documents
        )
        held = (
            f"\nForms of {run} that need a person:\n{listed}"
            if documents
            else f"\nNo form of {run} needs a person."
        )
        raise MailError("\n".join(problems) + held + "\nNothing was released.")
    return list(chosen.values())


def _by_upn(value: str, documents: Sequence[HeldDocument]) -> list[HeldDocument]:
    upn = "".join(value.split()).upper()
    return [d for d in documents if d.upn == upn]


def _by_file(
    value: str, documents: Sequence[HeldDocument], run: Path, cwd: Path
) -> list[HeldDocument]:
    given = Path(value.replace("\\", "/"))
    names = {given, given.with_name(given.name + ".pdf")} if given.suffix == "" else {given}
    places: set[Path] = set()
    for name in names:
        if name.is_absolute():
            places.add(name)
        else:
            places.update((cwd / name, run / name, run / PDF_DIR / name))
    wanted = {_resolved(p) for p in places}
    return [d for d in documents if _resolved(d.path) in wanted]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _not_found(value: str, run: Path) -> str:
    if value.lower().endswith(".docx"):
        return (
            f"--release {value}: that is the Word version - the email attaches the PDF in "
            f"{run / PDF_DIR}: complete and save that PDF, then release it (or the pupil's UPN)"
        )
    return (
        f"--release {value}: no form held in this run has that UPN or file - give a UPN or "
        "the PDF's name as listed below"
    )


# ---------------------------------------------------------------------------------------------
# The ledger


def _shown(path: Path, base: Path) -> str:
    """The path as the ledger's documents table writes it: relative to mergekit.toml's folder."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def recorded(ledger: Ledger, documents: Sequence[HeldDocument], base: Path) -> dict[str, Release]:
    """The latest release of each document, by its path in the run folder."""
    by_shown = {_shown(d.path, base): d.document for d in documents}
    out: dict[str, Release] = {}
    rows = ledger.conn.execute(
        "SELECT d.path, d.sha256, d.created_at, r.command FROM documents d "
        "JOIN runs r ON r.id = d.run_id WHERE d.kind = ? ORDER BY d.id",
        (RELEASED_KIND,),
    )
    for r in rows:
        document = by_shown.get(r["path"])
        if document is not None:
            out[document] = Release(document, r["sha256"], r["created_at"], r["command"])
    return out


def _record(
    ledger: Ledger,
    day: date,
    folder: Path,
    base: Path,
    chosen: Sequence[tuple[HeldDocument, str]],
    before: Mapping[str, Release],
) -> list[Release]:
    """Record each (document, how) as released with the SHA-256 of the PDF as it is now,
    unless that very version is already released. One ledger run per way of releasing."""
    made: list[Release] = []
    runs: dict[str, int] = {}
    for doc, how in chosen:
        try:
            digest = file_sha256(doc.path)
        except OSError as e:
            raise MailError(
                f"{doc.path}: cannot read it ({e.strerror}) - close it in the PDF editor "
                "and release it again"
            ) from e
        old = before.get(doc.document)
        if old is not None and old.sha256 == digest:
            continue
        if how not in runs:
            runs[how] = ledger.start_run(how, day, _shown(folder, base))
        row = ledger.conn.execute(
            "SELECT id FROM actions WHERE upn = ? AND action = ? ORDER BY (day = ?) DESC, id DESC",
            (doc.upn, doc.action, day.isoformat()),
        ).fetchone()
        ledger.record_document(
            runs[how],
            doc.upn,
            RELEASED_KIND,
            _shown(doc.path, base),
            digest,
            int(row["id"]) if row else None,
        )
        made.append(Release(doc.document, digest, datetime.now().astimezone().isoformat(), how))
    return made


def apply_releases(
    ledger: Ledger,
    *,
    run: Path,
    day: date,
    base: Path,
    requests: Sequence[str] = (),
    cwd: Path | None = None,
) -> Releases:
    """Record what ``--release`` and release.xlsx release now, and return every release that
    holds for the run folder. Unknown ``--release`` values stop everything (MailError); a row of
    release.xlsx that cannot count is a note and releases nothing."""
    documents = held_documents(run)
    asked = resolve(requests, documents, run, cwd or Path.cwd()) if requests else []
    sheet, notes = read_sheet(run / RELEASE_XLSX)
    from_sheet, more = sheet_requests(sheet or {}, documents)
    notes.extend(more)
    chosen = [(d, BY_COMMAND) for d in asked] + [
        (d, f"{RELEASE_XLSX}: checked by {who}") for d, who in from_sheet
    ]
    before = recorded(ledger, documents, base)
    now = _record(ledger, day, run, base, chosen, before)
    latest = {**before, **{r.document: r for r in now}}
    return Releases(latest, tuple(now), tuple(notes), tuple(documents), sheet)


# ---------------------------------------------------------------------------------------------
# release.xlsx


def read_sheet(path: Path) -> tuple[dict[str, SheetEntry] | None, list[str]]:
    """Every row of release.xlsx by document (an empty dict when there is no such file), and
    notes; None when the file exists but cannot be read (it is then left as it is)."""
    from openpyxl import load_workbook

    if not path.is_file():
        return {}, []
    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        return None, [
            f"{path}: cannot be read as an Excel workbook ({e}) - no form was released from "
            "it and it was not rewritten; save it as .xlsx, or delete it and mergekit will "
            "write it again"
        ]
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    found = _header(rows)
    if found is None:
        return None, [
            f"{path}: no sheet with the columns 'PDF to complete' and 'Release (Y)' - no form "
            "was released from it and it was not rewritten; delete it and mergekit will "
            "write it again"
        ]
    top, cols = found
    letter = column_letter(cols["release"])
    out: dict[str, SheetEntry] = {}
    for number, values in enumerate(rows[top + 1 :], start=top + 2):

        def cell(key: str, row: tuple[object, ...] = values) -> str:
            i = cols[key]
            return text(row[i]) if 0 <= i < len(row) else ""

        document = cell("document").replace("\\", "/")
        if document:
            out[document] = SheetEntry(
                document, cell("checked_by"), cell("release"), f"{ws.title}!{letter}{number}"
            )
    return out, []


def _header(rows: Sequence[tuple[object, ...]]) -> tuple[int, dict[str, int]] | None:
    """(index of the header row, column of each field) within the first ten rows."""
    for top, values in enumerate(rows[:10]):
        names = [text(v).casefold() for v in values]
        if "pdf to complete" in names and "release (y)" in names:
            checked = "completed and checked by"
            return top, {
                "document": names.index("pdf to complete"),
                "checked_by": names.index(checked) if checked in names else -1,
                "release": names.index("release (y)"),
            }
    return None


def sheet_requests(
    sheet: Mapping[str, SheetEntry], documents: Sequence[HeldDocument]
) -> tuple[list[tuple[HeldDocument, str]], list[str]]:
    """(document, who checked it) for every row with Y and a name; notes for rows that ask
    for something mergekit cannot do (those release nothing)."""
    by_document = {d.document: d for d in documents}
    out: list[tuple[HeldDocument, str]] = []
    notes: list[str] = []
    for entry in sheet.values():
        answer = entry.release.casefold()
        if answer in ("", "n", "no"):
            continue
        where = f"{RELEASE_XLSX}: {entry.cell}"
        if answer not in ("y", "yes"):
            notes.append(
                f"{where}: {entry.release!r} is not Y - write Y to release {entry.document}, "
                "or leave it blank (not released)"
            )
        elif not entry.checked_by:
            notes.append(
                f"{where}: Y, but 'Completed and checked by' is empty - write the name of who "
                f"completed and checked {entry.document} (not released)"
            )
        elif entry.document not in by_document:
            notes.append(
                f"{where}: {entry.document} is not a form held in this run folder (not released)"
            )
        else:
            out.append((by_document[entry.document], entry.checked_by))
    return out, notes


@dataclass(frozen=True, slots=True)
class SheetRow:
    upn: str
    pupil: str
    year: str
    reg_group: str
    form: str
    document: str
    status: str
    checked_by: str
    release: str


def status_text(
    release: Release | None, held_again: bool, state: str | None, problem: str = ""
) -> str:
    """The Status cell of a form: held, held again, released (waiting), sent, or why not."""
    if problem:
        return f"not emailed: {problem}"
    if release is None:
        return "held: complete and check the PDF, then release it"
    if held_again:
        return (
            f"held again: the PDF was saved after its release on {release.when} - check it, "
            "then release it again"
        )
    if state == "sent":
        return f"sent (released {release.when})"
    if state == "unknown":
        return f"released {release.when}; sending was interrupted - see mergekit send"
    return f"released {release.when}, waiting to be sent (mergekit send --send)"


def write_sheet(path: Path, rows: Iterable[SheetRow]) -> str:
    """Write release.xlsx atomically; '' or why it could not be written (open in Excel)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has one sheet
    ws.title = SHEET
    ws.append([_NOTE])
    ws["A1"].font = Font(italic=True)
    ws.append(list(HEADERS))
    style_header(ws[2])
    for r in rows:
        ws.append(list(astuple(r)))
        ws.cell(ws.max_row, _DOCUMENT + 1).hyperlink = r.document  # relative: opens the PDF
    lay_out(ws, _WIDTHS, header_rows=2, title="Forms to complete and release", note_rows=1)
    for row in ws.iter_rows(min_row=3, min_col=_DOCUMENT + 1, max_col=_DOCUMENT + 1):
        for link in row:
            link.font = Font(name=link.font.name, size=link.font.sz, color="0563C1", u="single")
    release = column_letter(_RELEASE)
    choice_list(
        ws,
        f"{release}3:{release}{max(ws.max_row, 3)}",
        ("Y",),
        "Release",
        "Write Y once the form is completed and checked, or leave it blank.",
    )
    ws.freeze_panes = "C3"
    help_sheet(wb, "How to release", _HOW_TO, width=110)
    try:
        write_atomic(path, workbook_bytes(wb), sync=True)
    except OSError as e:
        return (
            f"{path}: not updated ({e.strerror}) - close it in Excel; the releases above were "
            "recorded"
        )
    return ""
