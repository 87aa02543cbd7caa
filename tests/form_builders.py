"""Fillable PDF forms made in the tests (reportlab draws them, pypdf bends them the way
council forms are bent), so each quirk mergekit handles has a form of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject


def reportlab_form(path: Path, draw: Callable[[Any], None]) -> Path:
    """A one-page A4 form whose fields ``draw(acroForm)`` adds (reportlab's AcroForm API)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    draw(c.acroForm)
    c.showPage()
    c.save()
    return path


def text_form(path: Path, **fields: dict[str, Any]) -> Path:
    """Text fields ``name=dict(x=..., y=..., width=..., height=..., fieldFlags=..., ...)``."""

    def draw(form: Any) -> None:
        y = 760
        for name, options in fields.items():
            opts = {"x": 72, "y": y, "width": 300, "height": 22, "borderWidth": 1}
            opts.update(options)
            form.textfield(name=name, value="", **opts)
            y -= 60

    return reportlab_form(path, draw)


def rewrite(src: Path, dst: Path, change: Callable[[PdfWriter], None]) -> Path:
    """A copy of ``src`` after ``change(writer)``."""
    writer = PdfWriter(clone_from=PdfReader(src))
    change(writer)
    with dst.open("wb") as f:
        writer.write(f)
    return dst


def acroform(writer: PdfWriter) -> DictionaryObject:
    obj = writer.root_object["/AcroForm"].get_object()
    assert isinstance(obj, DictionaryObject)
    return obj


def make_fields_indirect(writer: PdfWriter) -> None:
    """/AcroForm /Fields as a reference to an array, not the array itself (PDF allows it;
    some generators write it so)."""
    acro = acroform(writer)
    fields = acro["/Fields"]
    array = ArrayObject(list(fields))
    acro[NameObject("/Fields")] = writer._add_object(array)


def split_radio_form(path: Path, tmp: Path, name: str = "consent") -> Path:
    """A Yes/No radio group saved as two same-named fields, one per option (what some
    editors write when a group is copied and pasted)."""

    def draw(form: Any) -> None:
        form.radio(name=name, value="Yes", selected=False, x=72, y=700, size=18)
        form.radio(name=name, value="No", selected=False, x=172, y=700, size=18)

    blank = reportlab_form(tmp / "radio-group.pdf", draw)

    def split(writer: PdfWriter) -> None:
        fields = acroform(writer)["/Fields"]
        group = fields[0].get_object()  # type: ignore[index]
        first, second = group["/Kids"]
        other = DictionaryObject({k: v for k, v in group.items() if k != "/Kids"})
        other[NameObject("/Kids")] = ArrayObject([second])
        other_ref = writer._add_object(other)
        second.get_object()[NameObject("/Parent")] = other_ref
        group[NameObject("/Kids")] = ArrayObject([first])
        fields.append(other_ref)  # type: ignore[union-attr]

    return rewrite(blank, path, split)


def hide_and_calculate(writer: PdfWriter, hidden: str, calculated: str) -> None:
    """Hide field ``hidden`` (annotation flag Hidden) and make ``calculated`` computed by a
    JavaScript calculate action listed in /CO, as Acrobat writes a total."""
    from pypdf.generic import NumberObject, TextStringObject

    acro = acroform(writer)
    for ref in acro["/Fields"]:  # type: ignore[union-attr]
        node = ref.get_object()
        if node["/T"] == hidden:
            node[NameObject("/F")] = NumberObject(2 | 4)  # Hidden + Print
        if node["/T"] == calculated:
            script = DictionaryObject(
                {
                    NameObject("/S"): NameObject("/JavaScript"),
                    NameObject("/JS"): TextStringObject('AFSimple_Calculate("SUM", ["a"]);'),
                }
            )
            node[NameObject("/AA")] = DictionaryObject({NameObject("/C"): script})
            acro[NameObject("/CO")] = ArrayObject([ref])


def installed_font(ch: str) -> tuple[str, int] | None:
    """(file, face index) of an installed font fontconfig finds for ``ch``."""
    import shutil
    import subprocess

    fc = shutil.which("fc-list")
    if fc is None:
        return None
    found = subprocess.run(
        [fc, "--format", "%{file}|%{index}\n", f":charset={ord(ch):x}:outline=true"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    cff = [line for line in found if line.split("|")[0].endswith((".otf", ".ttc"))]
    if not (cff or found):
        return None
    file, index = (cff or found)[0].rsplit("|", 1)
    return file, int(index)


def embed_cjk_font(writer: PdfWriter, field: str, chars: str, resource: str = "FCJK") -> None:
    """Give the form its own embedded CJK font, as a council's Chinese-language form has: a
    CID-keyed CFF subset of an installed CJK font holding only ``chars``, a Type0 /
    Identity-H font in /AcroForm /DR with a ToUnicode map, and the field's /DA using it."""
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont
    from pypdf.generic import (
        DecodedStreamObject,
        FloatObject,
        NumberObject,
        StreamObject,
        TextStringObject,
    )

    where = installed_font(chars[0])
    assert where is not None, "no CJK font installed (Debian: fonts-noto-cjk)"
    tt = TTFont(where[0], fontNumber=where[1])
    cmap = tt.getBestCmap()
    options = subset.Options()
    options.layout_features = []
    options.desubroutinize = True
    sub = subset.Subsetter(options)
    sub.populate(glyphs=[cmap[ord(c)] for c in chars])
    sub.subset(tt)
    buf = io.BytesIO()
    tt.save(buf)
    tt = TTFont(io.BytesIO(buf.getvalue()))
    cff = tt.getTableData("CFF ")
    scale = 1000 / tt["head"].unitsPerEm
    cid_of = {c: int(tt.getBestCmap()[ord(c)][3:]) for c in chars}
    widths = ArrayObject()
    for c in chars:
        advance = tt["hmtx"][tt.getBestCmap()[ord(c)]][0]
        widths += [NumberObject(cid_of[c]), ArrayObject([NumberObject(round(advance * scale))])]

    program = StreamObject()
    program._data = cff
    program[NameObject("/Subtype")] = NameObject("/CIDFontType0C")
    lines = [f"<{cid_of[c]:04X}> <{ord(c):04X}>" for c in chars]
    cmap_text = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def "
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange "
        f"<0000> <FFFF> endcodespacerange {len(lines)} beginbfchar\n"
        + "\n".join(lines)
        + "\nendbfchar endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    to_unicode = DecodedStreamObject()
    to_unicode.set_data(cmap_text.encode("ascii"))
    base = NameObject("/ABCDEF+FormCJK")
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): base,
            NameObject("/Flags"): NumberObject(4),
            NameObject("/FontBBox"): ArrayObject([NumberObject(v) for v in (0, -120, 1000, 880)]),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): FloatObject(880),
            NameObject("/Descent"): FloatObject(-120),
            NameObject("/CapHeight"): FloatObject(700),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile3"): writer._add_object(program),
        }
    )
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType0"),
            NameObject("/BaseFont"): base,
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/W"): widths,
        }
    )
    type0 = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): base,
            NameObject("/Encoding"): NameObject("/Identity-H"),
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
            NameObject("/ToUnicode"): writer._add_object(to_unicode),
        }
    )
    acro = acroform(writer)
    dr = acro.setdefault(NameObject("/DR"), DictionaryObject()).get_object()
    fonts = dr.setdefault(NameObject("/Font"), DictionaryObject()).get_object()
    fonts[NameObject("/" + resource)] = writer._add_object(type0)
    for ref in acro["/Fields"]:  # type: ignore[union-attr]
        node = ref.get_object()
        if node["/T"] == field:
            node[NameObject("/DA")] = TextStringObject(f"/{resource} 12 Tf 0 g")


def make_everything_indirect(writer: PdfWriter) -> None:
    """/Fields, every /Kids array, /DR and /DA as references to objects."""
    acro = acroform(writer)
    make_fields_indirect(writer)
    for ref in acro["/Fields"]:  # type: ignore[union-attr]
        node = ref.get_object()
        if "/Kids" in node:
            node[NameObject("/Kids")] = writer._add_object(ArrayObject(list(node["/Kids"])))
    if "/DR" in acro:
        acro[NameObject("/DR")] = writer._add_object(acro["/DR"].get_object())
    if "/DA" in acro:
        acro[NameObject("/DA")] = writer._add_object(acro["/DA"].get_object())
