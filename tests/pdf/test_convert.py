"""Word letters to PDF with real LibreOffice: every letter's PDF holds exactly its own pages and
its own pupil, combined conversion looks the same as converting each letter alone, and a
missing, failing or hanging LibreOffice gives a clear error."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import realworld
from pypdf import PdfReader

from mergekit.core.errors import ConversionError
from mergekit.pdf.convert import convert_letters, docx_to_pdf
from mergekit.pdf.soffice import find_soffice

HAVE_SOFFICE = shutil.which("soffice") is not None
needs_soffice = pytest.mark.skipif(
    not HAVE_SOFFICE,
    reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui",
)
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext is not installed: apt-get install poppler-utils",
)

# Invented pupils; a few names need glyphs beyond Latin-1.
PUPILS = [
    "Amelia Hartley",
    "Zoë Łukasz Nguyễn",
    "Oliver O'Brien",
    "Priya Ramanathan",
    "Kacper Wiśniewski",
    "Grace Adeyemi",
    "Noah Fitzgerald",
    "Isla MacLeod",
]


# ---------------------------------------------------------------------------------------------
# Building letters: a template made with python-docx, then one .docx per pupil with the
# placeholders replaced in its XML (what docxtpl does, without its per-letter cost).


def _png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x20\x60\xa0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_template(path: Path, *, school: str, serif: bool = False, logo: bool = True) -> Path:
    """A letter template: letterhead (with a logo) in the header, the pupil's name in the
    footer with a page number, a numbered list, a table, and a slot for extra pages."""
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    if serif:
        doc.styles["Normal"].font.name = "DejaVu Serif"
        doc.styles["Normal"].font.size = Pt(12)
    section = doc.sections[0]
    head = section.header.paragraphs[0]
    if logo:
        image = path.with_suffix(".png")
        image.write_bytes(_png())
        head.add_run().add_picture(str(image), width=Cm(1))
    head.add_run(f" {school}")
    foot = section.footer.paragraphs[0]
    foot.add_run("About PUPIL_NAME - page ")
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        run = foot.add_run()
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.text = text
        run._r.append(element)
    doc.add_paragraph("Dear parent or carer of PUPIL_NAME,")
    doc.add_paragraph("We are writing about attendance.", style="List Number")
    doc.add_paragraph("Please contact the school office.", style="List Number")
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Pupil"
    table.cell(0, 1).text = "PUPIL_NAME"
    doc.add_paragraph("EXTRA_SLOT")
    doc.add_paragraph(f"Yours sincerely, {school}")
    doc.save(str(path))
    return path


_EXTRA = re.compile(rb"<w:p>(?:(?!<w:p>).)*?EXTRA_SLOT.*?</w:p>", re.S)


def _escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").encode()


def make_letter(template: Path, target: Path, name: str, pages: int = 1) -> Path:
    """One pupil's letter from the template; ``pages`` > 1 adds page breaks with the pupil's
    name on every page."""
    extra = b"".join(
        b'<w:p><w:r><w:br w:type="page"/></w:r><w:r><w:t xml:space="preserve">Page '
        + str(n).encode()
        + b" continued for "
        + _escape(name)
        + b"</w:t></w:r></w:p>"
        for n in range(2, pages + 1)
    )
    with (
        zipfile.ZipFile(template) as src,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename in ("word/document.xml", "word/footer1.xml"):
                data = data.replace(b"PUPIL_NAME", _escape(name))
                data = _EXTRA.sub(lambda _m: extra or b"<w:p/>", data)
            out.writestr(info, data)
    return target


def make_letters(folder: Path, names: list[str], *, templates: int = 2) -> list[Path]:
    """Letters for ``names`` alternating between ``templates`` different templates; every
    third letter runs to two pages."""
    folder.mkdir(parents=True, exist_ok=True)
    made = [
        make_template(folder / f"template{t}.docx", school=f"School {t}", serif=t % 2 == 1)
        for t in range(templates)
    ]
    letters = []
    for i, name in enumerate(names):
        stem = f"Y09_9KM_{i:04d}_{re.sub(r'[^A-Za-z]+', '-', name)}_pa_letter_1"
        pages = 2 if i % 3 == 0 else 1
        letters.append(make_letter(made[i % templates], folder / f"{stem}.docx", name, pages))
    return letters


def page_texts(pdf: Path) -> list[str]:
    """The text of each page as poppler sees it."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    pages = out.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def assert_own_pupil_only(pdf: Path, name: str, others: list[str], pages: int) -> None:
    texts = page_texts(pdf)
    assert len(texts) == pages, f"{pdf.name}: {len(texts)} pages, expected {pages}"
    for number, text in enumerate(texts, start=1):
        flat = " ".join(text.split())
        assert name in flat, f"{pdf.name} page {number} lacks {name}: {flat[:200]}"
        strangers = [o for o in others if o != name and o in flat]
        assert not strangers, f"{pdf.name} page {number} shows {strangers}"


# ---------------------------------------------------------------------------------------------


@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_each_letter_pdf_has_its_own_pages_and_pupil_only(tmp_path: Path) -> None:
    letters = make_letters(tmp_path / "docx", PUPILS)
    # Lock files left beside the letters by Word or a crashed LibreOffice must not matter.
    (tmp_path / "docx" / f".~lock.{letters[0].name}#").write_text("x,user,host;")
    (tmp_path / "docx" / f"~${letters[1].name[2:]}").write_bytes(b"\0" * 162)
    seen: list[tuple[int, int]] = []

    report = convert_letters(letters, tmp_path / "pdf", progress=lambda d, t: seen.append((d, t)))

    assert report.combined == len(PUPILS)  # two templates, each its own combined document
    assert report.soffice_runs == 1
    assert report.notes == ()
    assert [p.name for p in report.pdfs] == [f"{p.stem}.pdf" for p in letters]
    for i, (pdf, name) in enumerate(zip(report.pdfs, PUPILS, strict=True)):
        assert_own_pupil_only(pdf, name, PUPILS, pages=2 if i % 3 == 0 else 1)
    # Page numbers restart for every letter.
    first_pages = [" ".join(page_texts(p)[0].split()) for p in report.pdfs]
    assert all("page 1" in t for t in first_pages)
    assert seen[0] == (0, len(PUPILS))
    assert seen[-1] == (len(PUPILS), len(PUPILS))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_two_libreoffice_processes_side_by_side_share_the_work(tmp_path: Path) -> None:
    letters = make_letters(tmp_path / "docx", PUPILS)
    report = convert_letters(letters, tmp_path / "pdf", workers=2, chunk_size=2)
    assert report.soffice_runs == 2
    assert report.combined == len(PUPILS)
    for i, (pdf, name) in enumerate(zip(report.pdfs, PUPILS, strict=True)):
        assert_own_pupil_only(pdf, name, PUPILS, pages=2 if i % 3 == 0 else 1)


@pytest.mark.libreoffice
@needs_soffice
def test_combined_conversion_renders_like_converting_each_letter_alone(tmp_path: Path) -> None:
    """Pixel for pixel: numbered lists restart, headers with a logo, footers with the pupil's
    name and page number, and a letter's second page all come out as a lone conversion."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed: apt-get install poppler-utils")
    letters = make_letters(tmp_path / "docx", PUPILS[:6])
    together = convert_letters(letters, tmp_path / "together")
    alone = convert_letters(letters, tmp_path / "alone", combine=False)
    assert together.combined == 6
    assert alone.combined == 0
    for a, b in zip(together.pdfs, alone.pdfs, strict=True):
        assert _render(a) == _render(b), f"{a.name} differs from converting it alone"


@pytest.mark.libreoffice
@needs_soffice
def test_a_letter_that_spills_onto_a_blank_page_does_so_combined_too(tmp_path: Path) -> None:
    """A page filled exactly, then the empty paragraph Word documents end with: alone it
    spills onto a second, blank page; combined it must too, wherever it sits in the batch."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed: apt-get install poppler-utils")
    from docx import Document
    from docx.shared import Pt

    letters = []
    for n in range(3):
        doc = Document()
        for line in range(18):  # 18 lines of exactly half an inch fill the 9-inch text area
            para = doc.add_paragraph(f"{PUPILS[n]} line {line + 1}")
            para.paragraph_format.line_spacing = Pt(36)
            para.paragraph_format.space_before = Pt(0)
            para.paragraph_format.space_after = Pt(0)
        doc.add_paragraph()
        letters.append(tmp_path / f"full{n}.docx")
        doc.save(str(letters[-1]))
    together = convert_letters(letters, tmp_path / "together")
    alone = convert_letters(letters, tmp_path / "alone", combine=False)
    assert together.combined == 3
    for a, b in zip(together.pdfs, alone.pdfs, strict=True):
        assert len(PdfReader(b).pages) == 2  # the premise: alone, it spills
        assert _render(a) == _render(b), f"{a.name} differs from converting it alone"


def _render(pdf: Path) -> list[bytes]:
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(prefix)], check=True)
    images = sorted(pdf.parent.glob(f"{prefix.name}-*.pgm"))
    return [i.read_bytes() for i in images]


@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_letters_that_cannot_be_combined_are_converted_alone_and_reported(
    tmp_path: Path,
) -> None:
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    letters = make_letters(tmp_path / "docx", PUPILS[:3], templates=1)
    # A "Page X of Y" field would count the whole combined document.
    counted = Document()
    counted.add_paragraph("Dear parent or carer of Grace Adeyemi,")
    para = counted.add_paragraph("Pages: ")
    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), " NUMPAGES ")
    para._p.append(simple)
    counted.save(str(tmp_path / "docx" / "counted.docx"))
    # Not a .docx at all: LibreOffice still converts it, on its own.
    rtf = tmp_path / "docx" / "note.rtf"
    rtf.write_text(r"{\rtf1\ansi Dear parent or carer of Noah Fitzgerald\par}", encoding="ascii")
    files = [*letters, tmp_path / "docx" / "counted.docx", rtf]

    report = convert_letters(files, tmp_path / "pdf")

    assert report.combined == 3
    assert report.single == 2
    joined = "\n".join(report.notes)
    assert "counted.docx" in joined
    assert "NUMPAGES" in joined
    assert "note.rtf" in joined
    names = [*PUPILS[:3], "Grace Adeyemi", "Noah Fitzgerald"]
    for pdf, name in zip(report.pdfs, names, strict=True):
        assert_own_pupil_only(pdf, name, names, pages=len(page_texts(pdf)))
    assert page_texts(report.pdfs[0]).__len__() == 2


@pytest.mark.libreoffice
@pytest.mark.realworld
@needs_soffice
def test_real_world_word_files_convert_combined_or_alone(tmp_path: Path) -> None:
    """Word files nobody here wrote (images in headers, odd/even headers, footnotes,
    comments): two copies of each convert, and each copy looks like its lone conversion."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed: apt-get install poppler-utils")
    sources = realworld("docx")
    files = []
    for source in sources:
        for copy in (1, 2):
            target = tmp_path / "in" / f"{source.stem}__{copy}.docx"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, target)
            files.append(target)
    together = convert_letters(files, tmp_path / "together")
    alone = convert_letters(files, tmp_path / "alone", combine=False)
    assert together.combined > len(files) // 2
    assert any("footnotes" in n for n in together.notes)
    assert any("comments" in n for n in together.notes)
    for a, b in zip(together.pdfs, alone.pdfs, strict=True):
        assert _render(a) == _render(b), f"{a.name} differs from converting it alone"


@pytest.mark.slow
@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_200_letters_every_page_shows_only_its_own_pupil(tmp_path: Path) -> None:
    names = [f"Pupil{i:03d} {surname}" for i, surname in enumerate(_SURNAMES * 20)]
    letters = make_letters(tmp_path / "docx", names)
    pdfs = docx_to_pdf(letters, tmp_path / "pdf")
    assert len(pdfs) == 200
    pattern = re.compile(r"Pupil\d{3}")
    for i, (pdf, name) in enumerate(zip(pdfs, names, strict=True)):
        texts = page_texts(pdf)
        assert len(texts) == (2 if i % 3 == 0 else 1), pdf.name
        for number, text in enumerate(texts, start=1):
            assert set(pattern.findall(text)) == {name.split()[0]}, f"{pdf.name} p{number}"
            assert name in " ".join(text.split()), f"{pdf.name} p{number}"


_SURNAMES = [
    "Adams",
    "Bello",
    "Chowdhury",
    "Dubois",
    "Evans",
    "Frost",
    "Gill",
    "Hughes",
    "Iqbal",
    "Jones",
]


# ---------------------------------------------------------------------------------------------
# When LibreOffice is missing, fails or hangs


def test_missing_soffice_names_the_install_command(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such" / "soffice")
    with pytest.raises(ConversionError) as caught:
        find_soffice(missing)
    text = str(caught.value)
    assert missing in text
    assert "sudo apt-get install libreoffice-writer-nogui" in text
    assert "https://www.libreoffice.org/download/" in text


def test_conversion_without_soffice_stops_before_writing_anything(tmp_path: Path) -> None:
    letter = tmp_path / "letter.docx"
    letter.write_bytes(b"PK")  # never opened: LibreOffice is checked first
    out = tmp_path / "pdf"
    with pytest.raises(ConversionError, match="apt-get install libreoffice-writer-nogui"):
        docx_to_pdf([letter], out, soffice=str(tmp_path / "soffice"))
    assert not out.exists()


def test_missing_letter_and_clashing_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="no such file"):
        docx_to_pdf([tmp_path / "gone.docx"], tmp_path / "pdf")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.docx").write_bytes(b"PK")
    (tmp_path / "b" / "X.docx").write_bytes(b"PK")
    with pytest.raises(ConversionError, match="both would be saved as"):
        docx_to_pdf([tmp_path / "a" / "x.docx", tmp_path / "b" / "X.docx"], tmp_path / "pdf")


@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_a_damaged_letter_is_named_and_the_others_still_convert(tmp_path: Path) -> None:
    letters = make_letters(tmp_path / "docx", PUPILS[:4], templates=1)
    damaged = tmp_path / "docx" / "damaged.docx"
    with zipfile.ZipFile(letters[0]) as src, zipfile.ZipFile(damaged, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(
                info, data[: len(data) // 2] if info.filename == "word/document.xml" else data
            )
    with pytest.raises(ConversionError) as caught:
        convert_letters([*letters, damaged], tmp_path / "pdf")
    text = str(caught.value)
    assert text.startswith(f"{damaged}: LibreOffice could not convert it to PDF")
    assert "1 of 5 documents could not be converted" in text
    for letter, name in zip(letters, PUPILS, strict=False):
        pdf = tmp_path / "pdf" / f"{letter.stem}.pdf"
        assert_own_pupil_only(pdf, name, PUPILS, pages=len(page_texts(pdf)))
    assert len(list((tmp_path / "pdf").glob("*.pdf"))) == 4


@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_letters_are_converted_one_by_one_when_the_pdf_lacks_the_marks(tmp_path: Path) -> None:
    """A LibreOffice that exports no bookmarks (it ignores both the export option and the
    profile setting): the combined PDF cannot be cut safely, so its letters are converted one
    by one, and the report says so."""
    real = shutil.which("soffice")
    wrapper = _fake_soffice(
        tmp_path,
        "from urllib.parse import unquote, urlparse\n"
        "args = sys.argv[1:]\n"
        "args[args.index('--convert-to') + 1] = 'pdf'\n"
        "profile = next(a for a in args if a.startswith('-env:UserInstallation='))\n"
        "path = pathlib.Path(unquote(urlparse(profile.split('=', 1)[1]).path))\n"
        "(path / 'user' / 'registrymodifications.xcu').unlink(missing_ok=True)\n"
        f"os.execv({real!r}, [{real!r}, *args])",
    )
    letters = make_letters(tmp_path / "docx", PUPILS[:4], templates=1)
    report = convert_letters(letters, tmp_path / "pdf", soffice=str(wrapper))
    assert report.combined == 0
    assert report.single == 4
    assert report.soffice_runs == 2
    assert any("did not mark where each letter starts" in n for n in report.notes)
    for i, (pdf, name) in enumerate(zip(report.pdfs, PUPILS, strict=False)):
        assert_own_pupil_only(pdf, name, PUPILS, pages=2 if i % 3 == 0 else 1)


@pytest.mark.libreoffice
@needs_soffice
@needs_poppler
def test_older_libreoffice_gets_the_export_settings_from_the_profile(tmp_path: Path) -> None:
    """LibreOffice before 7.4 ignores options given with --convert-to; the private profile
    carries the same settings, so letters are still combined and cut correctly."""
    real = shutil.which("soffice")
    wrapper = _fake_soffice(
        tmp_path,
        "args = sys.argv[1:]\n"
        "args[args.index('--convert-to') + 1] = 'pdf'\n"
        f"os.execv({real!r}, [{real!r}, *args])",
    )
    letters = make_letters(tmp_path / "docx", PUPILS[:4], templates=1)
    report = convert_letters(letters, tmp_path / "pdf", soffice=str(wrapper))
    assert report.combined == 4
    assert report.soffice_runs == 1
    for i, (pdf, name) in enumerate(zip(report.pdfs, PUPILS, strict=False)):
        assert_own_pupil_only(pdf, name, PUPILS, pages=2 if i % 3 == 0 else 1)


def test_a_docx_that_is_not_a_zip_is_refused_not_converted_as_text(tmp_path: Path) -> None:
    fake = _fake_soffice(tmp_path, "sys.exit(0)")
    junk = tmp_path / "letter.docx"
    junk.write_text("Dear parent, this was saved as plain text", encoding="utf-8")
    with pytest.raises(ConversionError, match="is not a Word document"):
        convert_letters([junk], tmp_path / "pdf", soffice=str(fake))
    assert not (tmp_path / "pdf").exists()


def _fake_soffice(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-soffice"
    script.write_text(f"#!{sys.executable}\nimport sys, os, time, pathlib\n{body}\n")
    script.chmod(0o755)
    return script


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return "gone"
    return re.search(r"State:\s+(\w)", status).group(1)  # type: ignore[union-attr]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see the processes")
def test_hanging_libreoffice_is_killed_with_its_children_and_reported(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    fake = _fake_soffice(
        tmp_path,
        "import subprocess\n"
        "child = subprocess.Popen(['sleep', '120'])\n"
        f"pathlib.Path({str(pids)!r}).write_text(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(120)",
    )
    letters = make_letters(tmp_path / "docx", PUPILS[:2], templates=1)
    with pytest.raises(ConversionError) as caught:
        convert_letters(letters, tmp_path / "pdf", soffice=str(fake), timeout=2)
    text = str(caught.value)
    assert "did not finish" in text
    assert "2 s" in text
    assert letters[0].name in text  # names the letters it was working on
    assert "convert_timeout_seconds" in text
    for pid in map(int, pids.read_text().split()):
        assert _state(pid) in ("gone", "Z"), f"process {pid} still running"
    assert not list((tmp_path / "pdf").glob("*.pdf"))


def test_libreoffice_failing_on_a_letter_names_that_letter(tmp_path: Path) -> None:
    fake = _fake_soffice(tmp_path, "print('Error: source file could not be loaded')\nsys.exit(1)")
    letters = make_letters(tmp_path / "docx", PUPILS[:3], templates=1)
    with pytest.raises(ConversionError) as caught:
        convert_letters(letters, tmp_path / "pdf", soffice=str(fake), timeout=30)
    text = str(caught.value)
    assert text.startswith(str(letters[0]))
    assert "source file could not be loaded" in text
    assert "3 of 3 documents could not be converted" in text
    assert "open each in Word or LibreOffice" in text


def test_output_saved_under_another_name_is_still_found(tmp_path: Path) -> None:
    """Some LibreOffice builds change the output name (case, suffixes); the lone PDF whose
    name starts with the input's is taken."""
    from pypdf import PdfWriter

    blank = tmp_path / "blank.pdf"
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(blank)
    fake = _fake_soffice(
        tmp_path,
        "args = sys.argv[1:]\n"
        "out = pathlib.Path(args[args.index('--outdir') + 1])\n"
        "for a in args:\n"
        "    if a.endswith('.docx'):\n"
        f"        (out / (pathlib.Path(a).stem + ' (1).PDF')).write_bytes("
        f"pathlib.Path({str(blank)!r}).read_bytes())",
    )
    letter = make_letters(tmp_path / "docx", PUPILS[:1], templates=1)[0]
    report = convert_letters([letter], tmp_path / "pdf", soffice=str(fake), timeout=30)
    assert report.pdfs[0].read_bytes() == blank.read_bytes()
    assert report.pdfs[0].name == f"{letter.stem}.pdf"
