"""The print pack: one PDF for the office with everything a run produced.

A cover sheet (school, run date, how many documents of each kind and for each reg group), then
every letter in the order staff hand them out (year, reg group, surname, forename, UPN), then
the forms, grouped by form. Filled PDF forms keep their fields, renamed per copy so that
viewers cannot mix them up: merged naively, copies of one form share field names and every
copy shows the first pupil's answers. The pack has a bookmark per document.

The cover is drawn directly as PDF text in Helvetica (a font every viewer has), so making a
pack needs neither LibreOffice nor a drawing library.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mergekit.core.actions import ACTION_TITLES, ACTIONS, FORMS
from mergekit.core.atomic import write_or_explain
from mergekit.core.config import Settings
from mergekit.core.errors import MergekitError
from mergekit.core.model import Pupil, handout_key
from mergekit.core.runfolder import (
    MANIFEST,
    PACK_NAME,
    ManifestRow,
    document_pdf,
    edited_after,
    read_manifest,
    run_dir,
)

if TYPE_CHECKING:
    from pypdf import PdfWriter


A4 = (595.28, 841.89)


class PackError(MergekitError):
    """The print pack cannot be made (no run folder, missing PDFs, unreadable PDF)."""


@dataclass(frozen=True)
class PackItem:
    """One document of the pack: whose it is, what it is, and its PDF."""

    upn: str
    action: str
    pdf: Path
    year: int | None
    reg_group: str
    surname: str
    forename: str

    @classmethod
    def of(cls, pupil: Pupil, action: str, pdf: Path) -> PackItem:
        """A pupil's document, placed by the tracking workbook's year, reg group and name."""
        return cls(
            pupil.upn, action, pdf, pupil.year, pupil.reg_group, pupil.surname, pupil.forename
        )

    @property
    def is_form(self) -> bool:
        return self.action in FORMS

    @property
    def handout_key(self) -> tuple[int, str, str, str, str]:
        """Year, reg group, surname, forename, UPN (as :attr:`Pupil.sort_key`)."""
        return handout_key(self.year, self.reg_group, self.surname, self.forename, self.upn)

    @property
    def label(self) -> str:
        who = f"{self.surname}, {self.forename}".strip(", ") or self.upn
        group = " ".join(p for p in (_year_text(self.year), self.reg_group) if p)
        title = ACTION_TITLES.get(self.action, self.action)
        return f"{who} ({group}) - {title}" if group else f"{who} - {title}"


def _action_rank(action: str) -> int:
    return ACTIONS.index(action) if action in ACTIONS else len(ACTIONS)


def pack_order(items: Sequence[PackItem]) -> list[PackItem]:
    """Letters in hand-out order (several letters for one pupil in policy order), then forms
    grouped by form and in hand-out order within each."""
    letters = sorted(
        (i for i in items if not i.is_form),
        key=lambda i: (i.handout_key, _action_rank(i.action), i.pdf.name),
    )
    forms = sorted(
        (i for i in items if i.is_form),
        key=lambda i: (_action_rank(i.action), i.handout_key, i.pdf.name),
    )
    return [*letters, *forms]


def _year_text(year: int | None) -> str:
    if year is None:
        return ""
    return "Reception" if year == 0 else f"Year {year}"


# ---------------------------------------------------------------------------------------------
# The cover sheet


@dataclass
class _Cover:
    """Lines of Helvetica text laid out down A4 pages."""

    pages: list[list[str]] = field(default_factory=lambda: [[]])
    y: float = A4[1] - 72

    def _ops(self) -> list[str]:
        return self.pages[-1]

    def need(self, height: float) -> None:
        if self.y - height < 60:
            self.pages.append([])
            self.y = A4[1] - 72

    def text(self, text: str, *, size: float = 11, bold: bool = False, x: float = 72) -> None:
        self.need(size * 1.5)
        self.y -= size * 1.5
        self._ops().append(_show(text, x, self.y, size, bold))

    def row(self, label: str, count: int, *, size: float = 11) -> None:
        """A label and a right-aligned number (all Helvetica digits are 0.556 em wide)."""
        self.need(size * 1.4)
        self.y -= size * 1.4
        number = str(count)
        right = A4[0] - 160
        self._ops().append(_show(_fit(label, size, right - 100), 90, self.y, size, False))
        self._ops().append(_show(number, right - 0.556 * size * len(number), self.y, size, False))

    def rule(self) -> None:
        self.need(8)
        self.y -= 6
        self._ops().append(f"0.5 w 72 {self.y:.2f} m {A4[0] - 72:.2f} {self.y:.2f} l S")

    def gap(self, height: float = 8) -> None:
        self.y -= height


def _fit(text: str, size: float, width: float) -> str:
    """Shorten text to roughly ``width`` points (Helvetica averages about 0.5 em a letter)."""
    most = max(4, int(width / (0.5 * size)))
    return text if len(text) <= most else text[: most - 1] + "…"


def _pdf_string(text: str) -> str:
    """A PDF literal string in WinAnsi (Windows-1252); letters outside it lose their accents
    (Ŵ becomes W) rather than vanishing."""
    out = []
    for ch in text:
        try:
            data = ch.encode("cp1252")
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore")
            data = plain or b"?"
        for byte in data:
            if byte in (0x28, 0x29, 0x5C):  # ( ) \
                out.append("\\" + chr(byte))
            elif 32 <= byte < 127:
                out.append(chr(byte))
            else:
                out.append(f"\\{byte:03o}")
    return "(" + "".join(out) + ")"


def _show(text: str, x: float, y: float, size: float, bold: bool) -> str:
    font = "F2" if bold else "F1"
    return f"BT /{font} {size:g} Tf {x:.2f} {y:.2f} Td {_pdf_string(text)} Tj ET"


def cover_lines(
    items: Sequence[PackItem],
    *,
    run_date: date,
    school_name: str,
    pages: int,
    duplex: bool = True,
    blanks: int = 0,
) -> _Cover:
    cover = _Cover()
    cover.text(school_name or "School", size=20, bold=True)
    cover.text(f"Print pack for {run_date:%A} {run_date.day} {run_date:%B %Y}", size=14)
    cover.gap(4)
    letters = sum(1 for i in items if not i.is_form)
    forms = len(items) - letters
    blank = f" ({blanks} of them blank)" if blanks else ""
    cover.text(
        f"{len(items)} documents ({letters} letters, {forms} forms), {pages} pages after this "
        f"cover{blank}",
        size=11,
    )
    cover.text(
        "Letters come first in hand-out order (year, reg group, surname, forename), then the "
        "forms, grouped by form.",
        size=9,
    )
    first, *rest = _MODE[duplex]
    cover.gap(4)
    cover.text(first, size=10, bold=True)
    for line in rest:
        cover.text(line, size=9)
    cover.gap(10)
    cover.text("Documents by action", size=13, bold=True)
    cover.rule()
    by_action = Counter(i.action for i in items)
    for action in sorted(by_action, key=_action_rank):
        cover.row(ACTION_TITLES.get(action, action), by_action[action])
    cover.gap(10)
    cover.text("Documents by reg group", size=13, bold=True)
    cover.rule()
    by_group = Counter((i.year, i.reg_group) for i in items)
    for year, group in sorted(by_group, key=lambda k: (k[0] if k[0] is not None else 99, k[1])):
        name = " ".join(p for p in (_year_text(year), group) if p) or "No reg group"
        cover.row(name, by_group[(year, group)])
    cover.gap(14)
    cover.text("Printed pages contain personal data: keep them secure and shred spares.", size=9)
    return cover


# What the cover says about how to print the pack: [duplex] -> lines (the first in bold).
_MODE: dict[bool, tuple[str, ...]] = {
    True: (
        "Print DOUBLE-SIDED: every document starts on a new sheet.",
        "A blank page follows each document with an odd number of pages, so no sheet carries "
        "two pupils.",
        "For a single-sided printer: set [pdf] duplex = false in mergekit.toml, or run "
        "`mergekit pack --simplex`.",
    ),
    False: (
        "Print SINGLE-SIDED: this pack has no blank pages between documents.",
        "Printed double-sided, one pupil's last page would share a sheet with the next pupil's "
        "first.",
        "For a double-sided printer: set [pdf] duplex = true in mergekit.toml (the default), "
        "or run `mergekit pack --duplex`.",
    ),
}


def _add_cover(writer: PdfWriter, cover: _Cover) -> None:
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    fonts = DictionaryObject()
    for key, base in (("/F1", "/Helvetica"), ("/F2", "/Helvetica-Bold")):
        font = DictionaryObject()
        font[NameObject("/Type")] = NameObject("/Font")
        font[NameObject("/Subtype")] = NameObject("/Type1")
        font[NameObject("/BaseFont")] = NameObject(base)
        font[NameObject("/Encoding")] = NameObject("/WinAnsiEncoding")
        fonts[NameObject(key)] = writer._add_object(font)
    font_ref = writer._add_object(fonts)
    count = len(cover.pages)
    for number, lines in enumerate(cover.pages, start=1):
        ops = (
            [*lines, _show(f"Cover {number} of {count}", 72, 40, 8, False)] if count > 1 else lines
        )
        page = writer.add_blank_page(*A4)
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        resources = DictionaryObject()
        resources[NameObject("/Font")] = font_ref
        page[NameObject("/Resources")] = resources
        page.compress_content_streams()


# ---------------------------------------------------------------------------------------------
# Building the pack


def build_pack(
    items: Sequence[PackItem],
    out: Path,
    *,
    run_date: date,
    school_name: str,
    duplex: bool = True,
) -> Path:
    """Write the print pack to ``out`` (atomically) and return its path. ``duplex`` (the
    default) adds a blank page after the cover and after every document with an odd number of
    pages, so double-sided printing never puts two pupils on one sheet; the cover says which
    way the pack is meant to be printed."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    ordered = pack_order(items)
    readers: list[tuple[PackItem, PdfReader]] = []
    pages = blanks = 0
    for item in ordered:
        try:
            reader = PdfReader(item.pdf)
            if reader.is_encrypted:
                raise PackError(
                    f"{item.pdf}: this PDF is password-protected, so it cannot go in the print "
                    "pack - make it again without a password (`mergekit letters --pdf`)"
                )
            count = len(reader.pages)
        except FileNotFoundError as e:
            raise PackError(
                f"{item.pdf}: the PDF is missing - run `mergekit letters --pdf` first"
            ) from e
        except (PyPdfError, OSError, ValueError) as e:
            raise PackError(
                f"{item.pdf}: cannot read this PDF ({e}) - make it again with "
                "`mergekit letters --pdf`"
            ) from e
        readers.append((item, reader))
        blanks += count % 2 if duplex else 0
        pages += count

    writer = PdfWriter()

    def cover_of(blanks: int) -> _Cover:
        return cover_lines(
            ordered,
            run_date=run_date,
            school_name=school_name,
            pages=pages + blanks,
            duplex=duplex,
            blanks=blanks,
        )

    cover = cover_of(blanks)
    back = duplex and len(cover.pages) % 2 == 1  # the back of the cover stays blank
    if back:
        cover = cover_of(blanks + 1)
    _add_cover(writer, cover)
    if back:
        writer.add_blank_page(*A4)
    from mergekit.pdf.forms import prepare_for_pack

    for number, (item, reader) in enumerate(readers, start=1):
        if _has_fields(reader):
            # Every copy's fields get their own top-level name (doc12.pupil_name ...), so no
            # two copies share a field and each page keeps its own pupil's values.
            prepare_for_pack(writer, reader, f"doc{number}")
        start = len(writer.pages)
        try:
            writer.append(reader, outline_item=item.label, import_outline=False)
        except (PyPdfError, ValueError, KeyError) as e:
            raise PackError(
                f"{item.pdf}: cannot add this PDF to the pack ({e}) - make it again with "
                "`mergekit letters --pdf`"
            ) from e
        if duplex and (len(writer.pages) - start) % 2:
            box = writer.pages[-1].mediabox
            writer.add_blank_page(float(box.width), float(box.height))
    writer.add_metadata(
        {
            "/Title": f"Print pack {run_date.isoformat()} - {school_name}",
            "/Creator": "mergekit",
        }
    )
    writer.page_mode = "/UseOutlines"
    # Letters converted together share their fonts byte for byte: store each once (a
    # 1,000-letter pack shrinks from about 14 MB to 2 MB).
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    _write_atomic(writer, out)
    return out


def _has_fields(reader: Any) -> bool:
    form = reader.root_object.get("/AcroForm")
    fields = form.get_object().get("/Fields") if form is not None else None
    return bool(fields is not None and fields.get_object())


def _write_atomic(writer: PdfWriter, out: Path) -> None:
    buf = io.BytesIO()
    writer.write(buf)
    write_or_explain(
        out,
        buf.getvalue(),
        PackError,
        "cannot write the print pack",
        "close it if it is open in a PDF viewer, and check the folder is writable",
    )


# ---------------------------------------------------------------------------------------------
# `mergekit pack`: the pack of a run folder


@dataclass(frozen=True)
class PackResult:
    path: Path
    items: tuple[PackItem, ...]
    pages: int  # including the cover
    edited: tuple[Path, ...] = ()  # Word files changed after their PDF was made
    notes: tuple[str, ...] = ()
    duplex: bool = True


_STEM = re.compile(r"^Y(?P<year>\d{2}|--)_(?P<reg>[^_]*)_(?P<surname>[^_]*)_(?P<forename>[^_]*)_")


def pack_run(
    settings: Settings,
    run_date: date,
    pupils_of: Callable[[], Mapping[str, Pupil]],
    *,
    duplex: bool | None = None,
) -> PackResult:
    """Build ``<output>/<run date>/print-pack.pdf`` from that run folder's manifest and PDFs,
    with each pupil's year, reg group and name from ``pupils_of()`` (the tracking workbook's
    pupils, read once the run folder is found); double-sided unless ``duplex`` (default:
    ``[pdf] duplex``) says otherwise."""
    duplex = settings.pdf.duplex if duplex is None else duplex
    run = run_dir(settings, run_date)
    hint = "run `mergekit letters --pdf` first"
    if not run.is_dir():
        latest = _latest_run(settings.output_dir)
        other = f"; the latest run folder is {latest}: pass --today {latest}" if latest else ""
        raise PackError(f"{run}: no run folder for {run_date:%d/%m/%Y} - {hint}{other}")
    manifest = run / MANIFEST
    if not manifest.is_file():
        raise PackError(f"{manifest}: no manifest in the run folder - {hint}")
    rows: dict[str, ManifestRow] = {}
    for r in read_manifest(run):
        if r.file:
            rows.setdefault(r.file, r)  # a document listed twice goes in the pack once
    if not rows:
        raise PackError(f"{manifest}: lists no documents - {hint}")
    pupils = pupils_of()
    items: list[PackItem] = []
    missing: list[str] = []
    edited: list[Path] = []
    notes: list[str] = []
    for row in rows.values():
        relative = Path(row.file)
        pdf = document_pdf(run, row.file)
        if not pdf.is_file():
            missing.append(str(pdf.relative_to(run)))
            continue
        source = run / relative
        if source.suffix.lower() == ".docx" and source.is_file() and edited_after(source, pdf):
            edited.append(source)
        upn = row.upn
        pupil = pupils.get(upn)
        if pupil is not None:
            items.append(PackItem.of(pupil, row.action, pdf))
            continue
        notes.append(
            f"{upn or relative.name}: not in the tracking workbook; placed by its file name"
        )
        items.append(_item_from_name(upn, row.action, pdf))
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise PackError(f"{run}: {len(missing)} PDFs are missing ({shown}) - {hint}")
    out = build_pack(
        items, run / PACK_NAME, run_date=run_date, school_name=settings.school.name, duplex=duplex
    )
    from pypdf import PdfReader

    return PackResult(
        out,
        tuple(pack_order(items)),
        len(PdfReader(out).pages),
        tuple(edited),
        tuple(notes),
        duplex,
    )


def _latest_run(output: Path) -> str:
    if not output.is_dir():
        return ""
    runs = sorted(p.name for p in output.iterdir() if p.is_dir() and _RUN.match(p.name))
    return runs[-1] if runs else ""


_RUN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _item_from_name(upn: str, action: str, pdf: Path) -> PackItem:
    """Year, reg group and name from a file name such as Y09_9KM_Smith_John_<UPN>_..."""
    m = _STEM.match(pdf.stem)
    if m is None:
        return PackItem(upn, action, pdf, None, "", pdf.stem, "")
    year_text = m["year"]
    year = int(year_text) if year_text.isdigit() else None
    return PackItem(
        upn,
        action,
        pdf,
        year,
        m["reg"],
        m["surname"].replace("-", " "),
        m["forename"].replace("-", " "),
    )
