"""Reading back filled PDFs in tests: the text a viewer shows (pdftotext), whether a field has
ink, where its widgets are; and the sample pupil whose name every font must draw."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from mergekit.core.model import Address, Contact, Person, Pupil, SchoolData

NAME = "Zoë Łukasz Nguyễn"


def pdftotext(pdf: Path, page: int | None = None, layout: bool = False) -> str:
    args = [poppler("pdftotext"), "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    if layout:
        args.append("-layout")
    done = subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True)
    assert done.stderr == b"", done.stderr.decode()  # poppler complains about broken files
    return done.stdout.decode("utf-8")


def ink(
    pdf: Path,
    page: int,
    rect: tuple[float, ...],
    dpi: int = 144,
    annotations: bool = True,
) -> float:
    """Mean darkness (0 white .. 255 black) inside a rectangle given in PDF points."""
    w, h, pixels = render_gray(pdf, page, dpi, annotations)
    page_h = h * 72 / dpi
    scale = dpi / 72
    x0, y0, x1, y1 = rect
    # Stay inside the box's own border so only what is drawn in it counts.
    cols = range(int(x0 * scale) + 3, int(x1 * scale) - 3)
    rows = range(int((page_h - y1) * scale) + 3, int((page_h - y0) * scale) - 3)
    values = [255 - pixels[r * w + c] for r in rows for c in cols]
    return sum(values) / len(values)


def widget_rects(pdf: Path, field: str) -> list[tuple[int, str, tuple[float, float, float, float]]]:
    """(1-based page, on-state, rect) of each widget of a field, read with pypdf."""
    reader = PdfReader(pdf)
    out = []
    for number, page in enumerate(reader.pages, start=1):
        for annot in page.get("/Annots", []):
            a = annot.get_object()
            node = a
            names = []
            while node is not None:
                if "/T" in node:
                    names.append(str(node["/T"]))
                node = node.get("/Parent")
                node = node.get_object() if node is not None else None
            if ".".join(reversed(names)) != field:
                continue
            states = [k[1:] for k in a["/AP"]["/N"] if k != "/Off"] if "/AP" in a else []
            r = [float(x) for x in a["/Rect"]]
            out.append((number, states[0] if states else "", (r[0], r[1], r[2], r[3])))
    return out


def school(**pupil_changes: Any) -> tuple[SchoolData, Pupil]:
    pupil = Pupil(
        upn="K331261200001",
        forename="Zoë",
        middle_names="Łukasz",
        surname="Nguyễn",
        dob=date(2013, 5, 4),
        gender="F",
        year=8,
        reg_group="8RT",
        ethnicity="Any other Asian background",
        first_language="Vietnamese",
        english_proficiency="A - New to English",
        address=Address(("12 Long Road", "Exampleton"), "ZZ1 2AB"),
        flags=frozenset({"looked_after"}),
        social_worker=Person("Sam O'Neill", "sw@example.gov.uk", "01632 960 111"),
    )
    pupil = replace(pupil, **pupil_changes)
    sibling = Pupil(
        upn="K331261200002", forename="Minh", surname="Nguyễn", dob=date(2015, 2, 1), year=6
    )
    mother = Contact(
        upn=pupil.upn,
        name="Mrs Thảo Nguyễn",
        title="Mrs",
        surname="Nguyễn",
        relationship="Mother",
        parental_responsibility=True,
        lives_with_pupil=True,
        address=Address(("12 Long Road", "Exampleton"), "ZZ1 2AB"),
        mobile="07700 900123",
        email="thao@example.org",
        home_language="Vietnamese",
        interpreter_needed=True,
    )
    data = SchoolData(
        pupils={pupil.upn: pupil, sibling.upn: sibling},
        contacts={pupil.upn: (mother,), sibling.upn: (replace(mother, upn=sibling.upn),)},
    )
    return data, pupil


def poppler(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is missing: install poppler-utils to check what viewers show")
    return exe


def render_gray(
    pdf: Path, page: int, dpi: int = 72, annotations: bool = True
) -> tuple[int, int, bytes]:
    """The page as an 8-bit grey image (width, height, pixels), as a viewer would draw it."""
    args = [poppler("pdftoppm"), "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page)]
    if not annotations:
        args.append("-hide-annotations")
    done = subprocess.run([*args, str(pdf)], capture_output=True, check=True)
    assert done.stderr == b"", done.stderr.decode()
    data = done.stdout
    # PGM: P5 <w> <h> <max> then the pixels.
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert m is not None
    return int(m.group(1)), int(m.group(2)), data[m.end() :]


BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


def plain(text: str) -> str:
    """pdftotext's output without the embedding marks it wraps right-to-left text in."""
    return text.translate(BIDI_MARKS)


def drawn_text(pdf: Path, field: str) -> str:
    """The characters of a field's appearance in the order it draws them (left to right:
    visual order), each glyph read back through its font's ToUnicode map."""
    reader = PdfReader(pdf)
    out = []
    for page in reader.pages:
        for annot in page.get("/Annots", []):
            a = annot.get_object()
            if str(a.get("/T", a.get("/Parent", {}).get("/T", ""))) != field:
                continue
            ap = a["/AP"]["/N"].get_object()
            fonts = ap["/Resources"]["/Font"]
            current: dict[int, str] = {}
            content = ap.get_data().decode("latin-1")
            for m in re.finditer(r"/([A-Za-z0-9]+) [\d.]+ Tf|<([0-9A-F]+)> Tj", content):
                if m.group(1):
                    cmap = fonts["/" + m.group(1)].get_object()["/ToUnicode"].get_object()
                    text = cmap.get_data().decode("latin-1")
                    current = {
                        int(c, 16): bytes.fromhex(u).decode("utf-16-be")
                        for c, u in re.findall(r"<([0-9A-F]{4})> <([0-9A-F]+)>", text)
                    }
                    continue
                hexes = m.group(2)
                out += [current.get(int(hexes[i : i + 4], 16), "") for i in range(0, len(hexes), 4)]
    return "".join(out)


def drawn_glyphs(pdf: Path, field: str) -> list[tuple[str, int, bool]]:
    """(font's BaseFont, code, the glyph has an outline) for every glyph the field's
    appearance draws, read back from the embedded font programs with fontTools - so a value
    drawn as .notdef boxes (or with a glyph the font lacks) shows as False."""
    import io

    from fontTools.cffLib import CFFFontSet
    from fontTools.ttLib import TTFont

    reader = PdfReader(pdf)
    out: list[tuple[str, int, bool]] = []
    for page in reader.pages:
        for annot in page.get("/Annots", []):
            a = annot.get_object()
            names, node = [], a
            while node is not None:
                if "/T" in node:
                    names.append(str(node["/T"]))
                node = node.get("/Parent")
                node = node.get_object() if node is not None else None
            if ".".join(reversed(names)) != field:
                continue
            ap = a["/AP"]["/N"].get_object()
            fonts = ap["/Resources"]["/Font"]
            content = ap.get_data().decode("latin-1")
            current = ""
            for m in re.finditer(r"/([A-Za-z0-9]+) [\d.]+ Tf|<([0-9A-F]+)> Tj", content):
                if m.group(1):
                    current = m.group(1)
                    continue
                font = fonts["/" + current].get_object()
                cid = font["/DescendantFonts"][0].get_object()
                desc = cid["/FontDescriptor"].get_object()
                base = str(font["/BaseFont"])
                hexes = m.group(2)
                codes = [int(hexes[i : i + 4], 16) for i in range(0, len(hexes), 4)]
                if "/FontFile2" in desc:
                    tt = TTFont(io.BytesIO(desc["/FontFile2"].get_object().get_data()))
                    order = tt.getGlyphOrder()
                    glyf = tt["glyf"]
                    for c in codes:
                        g = glyf[order[c]] if c < len(order) else None
                        out.append((base, c, g is not None and g.numberOfContours != 0))
                else:
                    data = desc["/FontFile3"].get_object().get_data()
                    cff = CFFFontSet()
                    cff.decompile(io.BytesIO(data), None)
                    top = cff[cff.fontNames[0]]
                    strings = top.CharStrings
                    for c in codes:
                        name = f"cid{c:05d}"
                        ok = name in strings
                        if ok:
                            cs = strings[name]
                            cs.decompile()
                            ok = any(
                                isinstance(op, str) and op.endswith(("lineto", "curveto"))
                                for op in cs.program
                            )
                        out.append((base, c, ok))
    return out
