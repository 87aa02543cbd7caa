"""Forms made the way outside tools make them (issue 16): an indirect field list, comb
fields, values too long for their box, same-named radio halves, hidden and calculated
fields. Each form is built here with reportlab and pypdf."""

from __future__ import annotations

from pathlib import Path

import pytest
from form_builders import make_fields_indirect, rewrite, text_form
from pdf_tools import pdftotext
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from mergekit.pdf.forms import fill_form, inspect_form

pytestmark = pytest.mark.poppler


def _names(pdf: Path) -> list[str]:
    return [f.name for f in inspect_form(pdf).fields]


# ---------------------------------------------------------------------------------------------
# 1. /AcroForm /Fields as an indirect object


def test_an_indirect_field_list_survives_an_editable_fill(tmp_path: Path) -> None:
    blank = text_form(tmp_path / "plain.pdf", surname={}, forename={"y": 600})
    form = rewrite(blank, tmp_path / "indirect.pdf", make_fields_indirect)
    raw = PdfReader(form).root_object["/AcroForm"].get_object().raw_get("/Fields")
    assert isinstance(raw, IndirectObject)  # the form really is made that way

    out = tmp_path / "filled.pdf"
    fill_form(form, {"surname": "Okafor", "forename": "Ada"}, out)

    assert _names(out) == _names(form) == ["surname", "forename"]
    fields = PdfReader(out).get_fields() or {}
    assert fields["surname"]["/V"] == "Okafor"
    assert "Okafor" in pdftotext(out)


def test_pdf_fields_lists_the_same_fields_on_a_filled_editable_copy(tmp_path: Path) -> None:
    blank = Path(__file__).resolve().parents[2] / "templates" / "pdf" / "cme_referral.pdf"
    out = tmp_path / "filled.pdf"
    fill_form(blank, {"pupil_surname": "Okafor", "looked_after": "YES"}, out)
    before = [(f.name, f.kind, f.pages) for f in inspect_form(blank).fields]
    assert [(f.name, f.kind, f.pages) for f in inspect_form(out).fields] == before
