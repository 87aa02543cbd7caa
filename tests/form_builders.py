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
