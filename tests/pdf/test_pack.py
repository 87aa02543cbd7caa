"""The print pack: cover sheet counts, hand-out order, filled forms that keep their own pupil on
every page, and `mergekit pack` on a run folder."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter
from stdnum.gb import upn as stdnum_upn

from mergekit.cli import main
from mergekit.core.errors import MergekitError
from mergekit.pdf.pack import PackItem, build_pack

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext is not installed: apt-get install poppler-utils",
)

RUN_DATE = date(2026, 11, 27)


def upn(n: int) -> str:
    body = f"33026{n:06d}"
    return stdnum_upn.calc_check_digit(body) + body


def letter_pdf(path: Path, name: str, pages: int = 1) -> Path:
    """A letter to one pupil: their name on every page."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for n in range(1, pages + 1):
        c.drawString(72, 760, f"Dear parent or carer of {name}")
        c.drawString(72, 740, f"Page {n} of {pages}")
        c.showPage()
    c.save()
    return path


def blank_form(path: Path) -> Path:
    """A one-page fillable form: two text fields and a check box."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.drawString(72, 780, "Children Missing Education referral")
    c.drawString(72, 750, "Pupil:")
    c.acroForm.textfield(name="pupil_name", x=150, y=742, width=300, height=20, value="")
    c.drawString(72, 720, "UPN:")
    c.acroForm.textfield(name="upn", x=150, y=712, width=300, height=20, value="")
    c.acroForm.checkbox(name="social_worker", x=150, y=680, size=14, checked=False)
    c.showPage()
    c.save()
    return path


def filled_form(blank: Path, target: Path, name: str, number: str) -> Path:
    writer = PdfWriter(clone_from=PdfReader(blank))
    writer.update_page_form_field_values(
        writer.pages[0], {"pupil_name": name, "upn": number}, auto_regenerate=False
    )
    writer.write(target)
    return target


def page_texts(pdf: Path) -> list[str]:
    out = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    pages = out.split("\f")
    return [" ".join(p.split()) for p in (pages[:-1] if not pages[-1].strip() else pages)]


# Pupils given out of order: (forename, surname, year, reg group, action, pages)
PUPILS = [
    ("Isla", "MacLeod", 9, "9KM", "pa_letter_2", 2),
    ("Amelia", "Hartley", 7, "7RB", "pa_letter_1", 1),
    ("Noah", "Fitzgerald", 9, "9AB", "pa_letter_1", 1),
    ("Grace", "Adeyemi", 9, "9KM", "pa_letter_1", 1),
    ("Oliver", "Adeyemi", 9, "9KM", "pa_letter_3", 1),
    ("Priya", "Ramanathan", 11, "11T", "pa_letter_1", 3),
]
# The order staff hand them out: year, reg group, surname, forename.
HANDOUT = [
    "Amelia Hartley",
    "Noah Fitzgerald",
    "Grace Adeyemi",
    "Oliver Adeyemi",
    "Isla MacLeod",
    "Priya Ramanathan",
]


def letter_items(folder: Path) -> list[PackItem]:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for n, (fore, sur, year, reg, action, pages) in enumerate(PUPILS):
        pdf = letter_pdf(folder / f"{sur}_{fore}.pdf", f"{fore} {sur}", pages)
        items.append(PackItem(upn(n), action, pdf, year, reg, sur, fore))
    return items


# ---------------------------------------------------------------------------------------------


def test_letters_follow_handout_order_after_a_cover_with_counts(tmp_path: Path) -> None:
    items = letter_items(tmp_path / "pdf")
    out = build_pack(
        items,
        tmp_path / "pack.pdf",
        run_date=RUN_DATE,
        school_name="Northgate Park Academy",
        duplex=False,
    )
    texts = page_texts(out)

    cover = texts[0]
    assert "Northgate Park Academy" in cover
    assert "Friday 27 November 2026" in cover
    assert "6 documents (6 letters, 0 forms), 9 pages after this cover" in cover
    assert "Print SINGLE-SIDED: this pack has no blank pages between documents." in cover
    assert "[pdf] duplex = true" in cover
    assert "Attendance warning letter 1 4" in cover
    assert "Attendance warning letter 2 1" in cover
    assert "Attendance warning letter 3 1" in cover
    assert "Year 9 9KM 3" in cover
    assert "Year 9 9AB 1" in cover
    assert "Year 7 7RB 1" in cover
    assert "Year 11 11T 1" in cover
    # Year 9's reg groups in order: 9AB before 9KM; Year 11 after Year 9 (numbers, not text).
    assert cover.index("Year 7 7RB") < cover.index("Year 9 9AB") < cover.index("Year 9 9KM")
    assert cover.index("Year 9 9KM") < cover.index("Year 11 11T")

    owners = []
    for text in texts[1:]:
        named = [n for n in HANDOUT if n in text]
        assert len(named) == 1, text
        owners.append(named[0])
    pages = {f"{fore} {sur}": p for fore, sur, *_, p in PUPILS}
    expected = [name for name in HANDOUT for _ in range(pages[name])]
    assert owners == expected
    assert len(texts) == 1 + sum(pages.values())


@pytest.mark.parametrize("duplex", [True, False])
def test_every_document_has_a_bookmark_at_its_first_page(tmp_path: Path, duplex: bool) -> None:
    items = letter_items(tmp_path / "pdf")
    out = build_pack(
        items, tmp_path / "pack.pdf", run_date=RUN_DATE, school_name="School", duplex=duplex
    )
    reader = PdfReader(out)
    marks = [(o.title, reader.get_destination_page_number(o)) for o in reader.outline]
    assert [t.split(" (")[0] for t, _ in marks] == [
        "Hartley, Amelia",
        "Fitzgerald, Noah",
        "Adeyemi, Grace",
        "Adeyemi, Oliver",
        "MacLeod, Isla",
        "Ramanathan, Priya",
    ]
    texts = page_texts(out)
    for (title, page), name in zip(marks, HANDOUT, strict=True):
        assert name in texts[page], title
    assert "Attendance warning letter 3" in marks[3][0]


def test_filled_forms_come_last_and_each_shows_its_own_pupil(tmp_path: Path) -> None:
    blank = blank_form(tmp_path / "blank.pdf")
    forms = [
        ("Zoë Łukasz Nguyễn", 10, "10C", "cme_referral"),
        ("Kacper Wiśniewski", 8, "8B", "cme_referral"),
        ("Amelia Hartley", 7, "7RB", "remove_from_roll"),
    ]
    items = letter_items(tmp_path / "letters")
    for n, (name, year, reg, action) in enumerate(forms, start=50):
        pdf = filled_form(blank, tmp_path / f"form{n}.pdf", name, upn(n))
        fore, sur = name.split(" ", 1)
        items.append(PackItem(upn(n), action, pdf, year, reg, sur, fore))

    out = build_pack(
        items, tmp_path / "pack.pdf", run_date=RUN_DATE, school_name="School", duplex=False
    )

    texts = page_texts(out)
    form_pages = texts[-3:]
    # CME referrals together (hand-out order within them), then the Remove From Roll form.
    order = ["Kacper Wiśniewski", "Zoë Łukasz Nguyễn", "Amelia Hartley"]
    numbers = {
        "Zoë Łukasz Nguyễn": upn(50),
        "Kacper Wiśniewski": upn(51),
        "Amelia Hartley": upn(52),
    }
    for text, name in zip(form_pages, order, strict=True):
        assert "Children Missing Education referral" in text
        assert numbers[name] in text, f"{name}'s page shows {text}"
        others = [v for k, v in numbers.items() if k != name]
        assert not any(o in text for o in others), text
    assert "Children Missing Education referral form 2" in texts[0]
    assert "Remove From Roll checklist 1" in texts[0]
    # Every copy's fields have their own names, each holding its own pupil's values.
    fields = PdfReader(out).get_fields() or {}
    names = sorted(str(v.get("/V")) for k, v in fields.items() if k.endswith(".pupil_name"))
    assert names == sorted(n for n, *_ in forms)
    values = [str(v.get("/V")) for k, v in fields.items() if k.endswith(".upn")]
    assert sorted(values) == sorted(numbers.values())


def test_merging_forms_without_renaming_would_clash(tmp_path: Path) -> None:
    """Why the pack renames fields: a plain merge leaves two fields called pupil_name, and a
    viewer shows one value for both."""
    blank = blank_form(tmp_path / "blank.pdf")
    a = filled_form(blank, tmp_path / "a.pdf", "Amelia Hartley", upn(1))
    b = filled_form(blank, tmp_path / "b.pdf", "Noah Fitzgerald", upn(2))
    plain = PdfWriter()
    plain.append(PdfReader(a))
    plain.append(PdfReader(b))
    plain.write(tmp_path / "plain.pdf")
    plain_fields = PdfReader(tmp_path / "plain.pdf").get_fields() or {}
    assert len([k for k in plain_fields if k.endswith("pupil_name")]) == 1  # clash

    items = [
        PackItem(upn(1), "cme_referral", a, 7, "7A", "Hartley", "Amelia"),
        PackItem(upn(2), "cme_referral", b, 7, "7A", "Fitzgerald", "Noah"),
    ]
    out = build_pack(items, tmp_path / "pack.pdf", run_date=RUN_DATE, school_name="School")
    pack_fields = PdfReader(out).get_fields() or {}
    assert len([k for k in pack_fields if k.endswith("pupil_name")]) == 2


def test_by_default_every_document_starts_on_a_fresh_sheet_and_the_cover_says_so(
    tmp_path: Path,
) -> None:
    items = letter_items(tmp_path / "pdf")
    out = build_pack(items, tmp_path / "pack.pdf", run_date=RUN_DATE, school_name="School")
    texts = page_texts(out)
    assert texts[1] == ""  # the back of the cover
    sheets = [texts[i : i + 2] for i in range(2, len(texts), 2)]
    for front, back in sheets:
        owners = {n for n in HANDOUT if n in front or n in back}
        assert len(owners) == 1, (front, back)
        assert front, "a sheet never starts with a blank page"
    assert len(texts) % 2 == 0
    # The back of the cover, and one after each letter of 1, 1, 1, 1 and 3 pages.
    assert (
        "6 documents (6 letters, 0 forms), 15 pages after this cover (6 of them blank)"
        in (texts[0])
    )
    assert "Print DOUBLE-SIDED: every document starts on a new sheet." in texts[0]
    assert "`mergekit pack --simplex`" in texts[0]


def test_cover_copes_with_letters_outside_windows_1252(tmp_path: Path) -> None:
    items = letter_items(tmp_path / "pdf")[:1]
    out = build_pack(
        items, tmp_path / "pack.pdf", run_date=RUN_DATE, school_name="Ysgol Ŵyn (Bro) Académie"
    )
    assert "Ysgol Wyn (Bro) Académie" in page_texts(out)[0]


def test_pack_is_replaced_whole_and_a_protected_pdf_is_refused(tmp_path: Path) -> None:
    items = letter_items(tmp_path / "pdf")
    target = tmp_path / "pack.pdf"
    target.write_bytes(b"old pack")
    protected = tmp_path / "protected.pdf"
    writer = PdfWriter(clone_from=PdfReader(items[0].pdf))
    writer.encrypt("a long password here", algorithm="AES-256")
    writer.write(protected)
    bad = [*items, PackItem(upn(9), "pa_letter_1", protected, 8, "8A", "Zed", "Zak")]
    with pytest.raises(MergekitError, match="password-protected"):
        build_pack(bad, target, run_date=RUN_DATE, school_name="School")
    assert target.read_bytes() == b"old pack"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------------------------------------
# `mergekit pack`


def _school(tmp_path: Path) -> Path:
    """A school folder: config (LibreOffice deliberately unavailable), tracking workbook."""
    from openpyxl import Workbook

    folder = tmp_path / "school"
    folder.mkdir()
    (folder / "mergekit.toml").write_text(
        '[school]\nname = "Northgate Park Academy"\n\n[files]\ntracking = "tracking.xlsx"\n'
        'output = "out"\n\n[pdf]\nsoffice = "/nonexistent/soffice"\n',
        encoding="utf-8",
    )
    wb = Workbook()
    ws = wb.active
    ws.title = "Pupils"
    ws.append(["UPN", "Surname", "Forename", "DOB", "Year", "Reg Group"])
    for n, (fore, sur, year, reg, *_rest) in enumerate(PUPILS):
        ws.append([upn(n), sur, fore, date(2026 - year - 5, 3, 1), year, reg])
    wb.save(folder / "tracking.xlsx")
    return folder


def _run_folder(school: Path, *, with_pdfs: bool = True) -> Path:
    run = school / "out" / RUN_DATE.isoformat()
    (run / "docx").mkdir(parents=True)
    (run / "pdf").mkdir()
    rows = []
    for n, (fore, sur, year, reg, action, pages) in enumerate(PUPILS):
        stem = f"Y{year:02d}_{reg}_{sur}_{fore}_{upn(n)}_{action}"
        (run / "docx" / f"{stem}.docx").write_bytes(b"PK")
        if with_pdfs:
            letter_pdf(run / "pdf" / f"{stem}.pdf", f"{fore} {sur}", pages)
        rows.append([upn(n), action, f"docx/{stem}.docx", "0" * 64, "Parent"])
    with (run / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["upn", "action", "file", "sha256", "recipients"])
        w.writerows(rows)
    return run


def test_pack_command_builds_the_run_folders_pack_without_libreoffice(tmp_path: Path) -> None:
    school = _school(tmp_path)
    run = _run_folder(school)
    result = CliRunner().invoke(
        main, ["pack", "--config", str(school / "mergekit.toml"), "--today", "2026-11-27"]
    )
    assert result.exit_code == 0, result.output
    pack = run / "print-pack.pdf"
    assert (
        f"Print pack: {pack} (6 letters, 0 forms, 16 pages with the cover; print it "
        "double-sided)" in result.output
    )
    texts = page_texts(pack)
    owners = [next(n for n in HANDOUT if n in t) for t in texts[1:] if t]
    assert list(dict.fromkeys(owners)) == HANDOUT
    assert "Year 9 9KM 3" in texts[0]


@pytest.mark.parametrize("how", ["--simplex", "setting"])
def test_pack_command_makes_a_single_sided_pack_when_asked(tmp_path: Path, how: str) -> None:
    school = _school(tmp_path)
    run = _run_folder(school)
    config = school / "mergekit.toml"
    args = ["pack", "--config", str(config), "--today", "2026-11-27"]
    if how == "setting":
        config.write_text(config.read_text(encoding="utf-8") + "duplex = false\n", encoding="utf-8")
    else:
        args.append("--simplex")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "10 pages with the cover; print it single-sided" in result.output
    texts = page_texts(run / "print-pack.pdf")
    assert all(texts), "no blank pages"
    assert "Print SINGLE-SIDED" in texts[0]


def test_pack_command_warns_about_letters_edited_after_their_pdf(tmp_path: Path) -> None:
    import os

    school = _school(tmp_path)
    run = _run_folder(school)
    edited = next((run / "docx").glob("*Hartley*.docx"))
    later = edited.stat().st_mtime + 60
    os.utime(edited, (later, later))
    result = CliRunner().invoke(
        main, ["pack", "--config", str(school / "mergekit.toml"), "--today", "2026-11-27"]
    )
    assert result.exit_code == 0, result.output
    assert "1 Word documents were changed after their PDFs were made" in result.output
    assert edited.name in result.output


def test_pack_command_without_a_run_or_pdfs_says_what_to_run(tmp_path: Path) -> None:
    school = _school(tmp_path)
    config = str(school / "mergekit.toml")
    result = CliRunner().invoke(main, ["pack", "--config", config, "--today", "2026-11-27"])
    assert result.exit_code == 1
    assert "no run folder for 27/11/2026" in result.output
    assert "run `mergekit letters --pdf` first" in result.output
    assert "Traceback" not in result.output

    _run_folder(school, with_pdfs=False)
    result = CliRunner().invoke(main, ["pack", "--config", config, "--today", "2026-11-27"])
    assert result.exit_code == 1
    assert "6 PDFs are missing" in result.output
    assert "run `mergekit letters --pdf` first" in result.output

    result = CliRunner().invoke(main, ["pack", "--config", config, "--today", "2026-11-30"])
    assert result.exit_code == 1
    assert "the latest run folder is 2026-11-27: pass --today 2026-11-27" in result.output
