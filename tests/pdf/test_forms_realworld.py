"""Every fillable PDF in ../shared/realworld/pdf (Acrobat, LibreOffice, Word + PDFMaker,
InDesign, LaTeX, XFA hybrids, encrypted) is filled - and what a viewer shows is checked - or
refused with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REALWORLD, realworld
from pdf_tools import ink, pdftotext, widget_rects
from pypdf import PdfReader

from mergekit.core.errors import FormFieldError
from mergekit.pdf.forms import fill_form, inspect_form
from mergekit.pdf.reader import FormFieldInfo

pytestmark = [pytest.mark.realworld, pytest.mark.poppler]

NAME = "Zoë Łukasz Nguyễn"

# What mergekit must say about each form's quirks (words each note must contain). A form
# added to the folder later is still checked: filled, or refused with FormFieldError.
EXPECTED_NOTES: dict[str, tuple[str, ...]] = {
    "pypdf__FormTestFromOo.pdf": (),
    "pypdf__form_acrobatReader.pdf": (),
    "pypdf__libreoffice-form.pdf": (),
    "pypdf__pdflatex-forms.pdf": (),
    "pypdfform__cdc_icar_indesign.pdf": (),
    "pypdfform__irs_f1040_2024_xfa_hybrid.pdf": ("XFA hybrid",),
    "pypdfform__osha_form301_pdfmaker.pdf": (),
    "pypdfform__soda_pdf20_form.pdf": (),
    "pypdfform__state_dept_ds11_passport.pdf": (),
    "pypdfform__uscis_ar11_encrypted_xfa_hybrid.pdf": ("empty password", "XFA hybrid"),
    "pypdfform__uscis_i140_encrypted_xfa_hybrid.pdf": ("empty password", "XFA hybrid"),
    "pypdfform__uscis_i140_p8_needappearances.pdf": (
        "missing from the form's field list",
        "on no page",
    ),
    "pypdfform__word_sejda_template.pdf": ("on no page",),
}

NAMES = (
    sorted(p.name for p in (REALWORLD / "pdf").iterdir())
    if (REALWORLD / "pdf").is_dir()
    else sorted(EXPECTED_NOTES)
)


def _form(name: str) -> Path:
    files = {p.name: p for p in realworld("pdf")}  # skips, saying why, without the folder
    if name not in files:
        pytest.skip(f"{name} is no longer in {REALWORLD / 'pdf'}")
    return files[name]


def _values(fields: list[FormFieldInfo] | tuple[FormFieldInfo, ...]) -> dict[str, str | bool]:
    """A value for every field a user could fill: the name in text fields, the first
    export value of check boxes and radio groups, the first choice of lists."""
    values: dict[str, str | bool] = {}
    for f in fields:
        if f.read_only:
            continue
        if f.kind == "text":
            values[f.name] = NAME
        elif f.kind in ("checkbox", "radio") and f.export_values:
            values[f.name] = f.export_values[0]
        elif f.kind in ("combo", "list") and f.options:
            values[f.name] = f.options[0]
    return values


def _shows_whole_name(f: FormFieldInfo) -> bool:
    """Fields whose text a viewer shows as the whole name in one piece."""
    return (
        f.kind == "text"
        and not f.read_only
        and bool(f.pages)
        and not f.comb
        and (f.max_length is None or f.max_length >= len(NAME))
    )


@pytest.mark.parametrize("name", NAMES)
def test_realworld_form_is_filled_and_every_value_shows(name: str, tmp_path: Path) -> None:
    pdf = _form(name)
    if name not in EXPECTED_NOTES:
        try:
            inspect_form(pdf)
        except FormFieldError as refused:
            # A new form may be refused, but only with a reason staff can act on.
            reason = str(refused)
            assert reason.startswith(pdf.name)
            assert " - " in reason
            return
    info = inspect_form(pdf)
    for words in EXPECTED_NOTES.get(name, ()):
        assert any(words in note for note in info.notes), (words, info.notes)
    values = _values(info.fields)
    assert any(_shows_whole_name(f) for f in info.fields)
    for flatten in (False, True):
        report = fill_form(pdf, values, tmp_path / f"filled_{flatten}.pdf", flatten=flatten)
        # A box too small for the name even in 5 pt type shows its start, and the fill says
        # so naming the field (issue 16.3); every other box shows the whole name.
        cut = {f.name for f in info.fields if any(c.startswith(f.name + ": ") for c in report.cut)}
        visible = sum(1 for f in info.fields if _shows_whole_name(f) and f.name not in cut)
        text = pdftotext(report.path)  # also asserts poppler reads it without complaint
        assert text.count(NAME) >= visible, (flatten, text.count(NAME), visible)
        assert all(c in report.notes for c in report.cut)
        reader = PdfReader(report.path)
        assert not reader.is_encrypted
        acro = reader.trailer["/Root"].get("/AcroForm")
        if flatten:
            assert acro is None
        else:
            assert "/XFA" not in acro.get_object()
            stored = {f.name: f.value for f in inspect_form(report.path).fields}
            whole = [f.name for f in info.fields if _shows_whole_name(f)]
            assert all(stored[k] == NAME for k in whole)


def _first_box(
    info_fields: tuple[FormFieldInfo, ...], pdf: Path
) -> tuple[str, str, int, tuple[float, ...]]:
    for f in info_fields:
        if f.kind not in ("checkbox", "radio") or f.read_only or not f.pages:
            continue
        for page, state, rect in widget_rects(pdf, f.name):
            if state and rect[2] - rect[0] > 6 and rect[3] - rect[1] > 6:
                return f.name, state, page, rect
    pytest.skip(f"{pdf.name} has no check box or radio button on a page")


@pytest.mark.parametrize("name", NAMES)
def test_realworld_check_box_is_drawn_ticked(name: str, tmp_path: Path) -> None:
    pdf = _form(name)
    try:
        info = inspect_form(pdf)
    except FormFieldError:
        pytest.skip(f"{name} is refused (checked by the test above)")
    field, state, page, rect = _first_box(info.fields, pdf)
    for flatten in (False, True):
        ticked = fill_form(pdf, {field: state}, tmp_path / "on.pdf", flatten=flatten).path
        off = fill_form(pdf, {field: ""}, tmp_path / "off.pdf", flatten=flatten).path
        if not flatten:
            states = {w.get_object().get("/AS") for w in _widgets(ticked, page, rect)}
            assert states == {"/" + state}
            if ink(ticked, page, rect) == ink(ticked, page, rect, annotations=False):
                # poppler draws none of this form's check boxes, whatever their appearance
                # (seen with Word + Sejda forms); the flattened copy below is still checked.
                continue
        assert ink(ticked, page, rect) > ink(off, page, rect) + 5, (field, flatten)


def _widgets(pdf: Path, page: int, rect: tuple[float, ...]) -> list[object]:
    annots = PdfReader(pdf).pages[page - 1].get("/Annots", [])
    return [a for a in annots if [float(x) for x in a.get_object()["/Rect"]] == list(rect)]
