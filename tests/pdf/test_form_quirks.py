"""Forms made the way outside tools make them (issue 16): an indirect field list, comb
fields, values too long for their box, same-named radio halves, hidden and calculated
fields. Each form is built here with reportlab and pypdf."""

from __future__ import annotations

from pathlib import Path

import pytest
from form_builders import (
    hide_and_calculate,
    make_fields_indirect,
    rewrite,
    split_radio_form,
    text_form,
)
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


# ---------------------------------------------------------------------------------------------
# 2. Comb fields follow /Q


def _word_boxes(pdf: Path) -> list[tuple[str, float, float]]:
    """(word, xMin, xMax) in points as poppler lays the first page out."""
    import re
    import subprocess

    from pdf_tools import poppler

    args = [poppler("pdftotext"), "-bbox", "-enc", "UTF-8", "-f", "1", "-l", "1", str(pdf), "-"]
    html = subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8")
    found = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)<', html)
    return [(w, float(a), float(b)) for a, b, w in found]


@pytest.mark.parametrize(("q", "first_box"), [(0, 0), (1, 3), (2, 6)])
def test_a_comb_field_places_its_value_by_its_alignment(
    tmp_path: Path, q: int, first_box: int
) -> None:
    from pypdf.generic import NameObject, NumberObject

    blank = text_form(tmp_path / "comb.pdf", upn={"fieldFlags": "comb", "maxlen": 10})

    def align(writer: object) -> None:
        from form_builders import acroform

        for ref in acroform(writer)["/Fields"]:  # type: ignore[arg-type]
            ref.get_object()[NameObject("/Q")] = NumberObject(q)

    form = rewrite(blank, tmp_path / f"comb-q{q}.pdf", align)
    out = tmp_path / "filled.pdf"
    fill_form(form, {"upn": "ABCD"}, out)

    letters = [(w, x0, x1) for w, x0, x1 in _word_boxes(out) if w in "ABCD"]
    assert [w for w, _, _ in letters] == ["A", "B", "C", "D"]  # one letter per box
    cell = 300 / 10
    for i, (_w, x0, x1) in enumerate(letters):
        box = int(((x0 + x1) / 2 - 72) // cell)
        assert box == first_box + i


# ---------------------------------------------------------------------------------------------
# 5. A radio group split into two same-named fields


def _states(pdf: Path) -> dict[str, str]:
    """On-state of each radio widget -> its /AS, read back with pypdf."""
    out = {}
    for annot in PdfReader(pdf).pages[0]["/Annots"]:
        a = annot.get_object()
        on = next(k[1:] for k in a["/AP"]["/N"] if k != "/Off")
        out[on] = str(a.get("/AS", "/Off"))[1:]
    return out


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Yes", {"Yes": "Yes", "No": "Off"}),
        ("No", {"Yes": "Off", "No": "No"}),
        ("YES", {"Yes": "Yes", "No": "Off"}),
        (True, {"Yes": "Yes", "No": "Off"}),
        (False, {"Yes": "Off", "No": "No"}),
    ],
)
def test_same_named_radio_halves_fill_as_one_group(
    tmp_path: Path, value: str | bool, expected: dict[str, str]
) -> None:
    form = split_radio_form(tmp_path / "split.pdf", tmp_path)
    raw = PdfReader(form).root_object["/AcroForm"]["/Fields"]
    assert [str(f.get_object()["/T"]) for f in raw] == ["consent", "consent"]  # two fields
    info = {f.name: f for f in inspect_form(form).fields}
    assert info["consent"].export_values == ("Yes", "No")

    for flatten in (False, True):
        out = tmp_path / f"filled-{flatten}.pdf"
        fill_form(form, {"consent": value}, out, flatten=flatten)
        if not flatten:
            assert _states(out) == expected
            values = {
                str(f.get_object().get("/V"))
                for f in PdfReader(out).root_object["/AcroForm"]["/Fields"]
            }
            assert values == {"/" + next(k for k, v in expected.items() if v != "Off")}


# ---------------------------------------------------------------------------------------------
# 7. `pdf fields`: hidden and calculated fields


def test_pdf_fields_marks_hidden_and_calculated_fields(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from mergekit.cli import main

    blank = text_form(tmp_path / "plain.pdf", name={}, secret={"y": 600}, total={"y": 500})
    form = rewrite(blank, tmp_path / "calc.pdf", lambda w: hide_and_calculate(w, "secret", "total"))
    info = {f.name: f for f in inspect_form(form).fields}
    assert (info["name"].hidden, info["secret"].hidden, info["total"].hidden) == (
        False,
        True,
        False,
    )
    assert [n for n, f in info.items() if f.calculated] == ["total"]

    shown = CliRunner().invoke(main, ["pdf", "fields", str(form)])
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0]: line for line in shown.output.splitlines() if line.startswith("  ")}
    assert "HIDDEN" in lines["secret"]
    assert "HIDDEN" not in lines["name"]
    assert "CALCULATED" in lines["total"]
    assert "calculated by the form's own scripts (total)" in shown.output
    assert "does not recompute" in shown.output

    as_json = CliRunner().invoke(main, ["pdf", "fields", "--json", str(form)])
    fields = {f["name"]: f for f in json.loads(as_json.output)["fields"]}
    assert fields["secret"]["hidden"] is True
    assert fields["total"]["calculated"] is True
    assert fields["name"]["hidden"] is fields["name"]["calculated"] is False


def test_a_form_without_scripts_has_no_calculated_note(tmp_path: Path) -> None:
    form = text_form(tmp_path / "plain.pdf", name={})
    assert not any("calculated" in n for n in inspect_form(form).notes)


# ---------------------------------------------------------------------------------------------
# 3. Values too long for their box


LONG = "Alexandria-Konstantina Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh"


def test_a_long_value_in_a_multiline_field_wraps_and_shows_every_word(tmp_path: Path) -> None:
    form = text_form(
        tmp_path / "lines.pdf", note={"fieldFlags": "multiline", "height": 60, "width": 200}
    )
    out = tmp_path / "filled.pdf"
    report = fill_form(form, {"note": LONG}, out)
    assert report.cut == ()
    shown = "".join(pdftotext(out).split())
    assert "".join(LONG.split()) in shown.replace("-", "-")  # every letter, over several lines
    assert len([ln for ln in pdftotext(out).splitlines() if ln.strip()]) >= 2


@pytest.mark.parametrize("q", [0, 1, 2])
def test_a_value_too_long_for_a_single_line_box_is_reported_with_what_was_cut(
    tmp_path: Path, q: int
) -> None:
    from form_builders import acroform
    from pypdf.generic import NameObject, NumberObject

    blank = text_form(tmp_path / "short.pdf", surname={"width": 60, "height": 14})

    def align(writer: object) -> None:
        for ref in acroform(writer)["/Fields"]:  # type: ignore[arg-type]
            ref.get_object()[NameObject("/Q")] = NumberObject(q)

    form = rewrite(blank, tmp_path / "aligned.pdf", align)
    out = tmp_path / "filled.pdf"
    report = fill_form(form, {"surname": LONG}, out)

    assert len(report.cut) == 1
    warning = report.cut[0]
    assert warning.startswith("surname: ")
    assert warning in report.notes
    shown = pdftotext(out).strip()
    assert shown
    assert LONG.startswith(shown)  # the start shows, whatever the alignment
    lost = LONG[len(shown) :]
    assert f"{lost!r} was cut off" in warning
    fields = PdfReader(out).get_fields() or {}
    assert fields["surname"]["/V"] == LONG  # the form still holds the whole value


def test_a_multiline_box_too_small_for_every_line_reports_the_lines_cut(tmp_path: Path) -> None:
    form = text_form(
        tmp_path / "lines.pdf",
        note={"fieldFlags": "multiline", "height": 30, "width": 120, "maxlen": 1000},
    )
    out = tmp_path / "filled.pdf"
    text = " ".join(f"line{i:02d}" for i in range(80))
    report = fill_form(form, {"note": text}, out)
    assert len(report.cut) == 1
    shown = pdftotext(out).split()
    assert shown == text.split()[: len(shown)]
    assert f"{' '.join(text.split()[len(shown) :])!r} was cut off" in report.cut[0]


def test_a_value_that_fits_once_shrunk_is_drawn_whole_not_reported_cut(tmp_path: Path) -> None:
    """The shrinking stops at the size whose lines the drawing can place inside the box (the
    first baseline an ascent under the top, the last descent above the bottom border): a
    count of lines times the leading said 8 pt fitted four lines in a 39.5 pt box, and the
    fourth was then drawn through the border and reported cut (the CME referral's
    suggested reason on the example school)."""
    form = text_form(
        tmp_path / "lines.pdf",
        note={
            "fieldFlags": "multiline",
            "height": 39.5,
            "width": 511,
            "fontSize": 9,
            "maxlen": 1000,
        },
    )
    text = " ".join(f"word{i:03d}" for i in range(48))
    out = tmp_path / "filled.pdf"
    report = fill_form(form, {"note": text}, out)
    assert report.cut == ()
    assert pdftotext(out).split() == text.split()


def test_a_value_that_fits_is_not_reported(tmp_path: Path) -> None:
    form = text_form(tmp_path / "plain.pdf", surname={})
    report = fill_form(form, {"surname": "Okafor"}, tmp_path / "filled.pdf")
    assert report.cut == ()


def test_indirect_kids_and_resources_fill_and_keep_every_field(tmp_path: Path) -> None:
    from form_builders import make_everything_indirect, reportlab_form

    def draw(form: object) -> None:
        form.textfield(name="surname", x=72, y=760, width=300, height=22)  # type: ignore[attr-defined]
        for i, value in enumerate(("Yes", "No")):
            form.radio(name="consent", value=value, x=72 + 100 * i, y=700, size=18)  # type: ignore[attr-defined]

    blank = reportlab_form(tmp_path / "blank.pdf", draw)
    form = rewrite(blank, tmp_path / "indirect.pdf", make_everything_indirect)
    group = PdfReader(form).root_object["/AcroForm"]["/Fields"][1].get_object()
    assert isinstance(group.raw_get("/Kids"), IndirectObject)

    out = tmp_path / "filled.pdf"
    fill_form(form, {"surname": "Okafor", "consent": "No"}, out)
    before = [(f.name, f.kind, f.export_values) for f in inspect_form(form).fields]
    assert [(f.name, f.kind, f.export_values) for f in inspect_form(out).fields] == before
    assert before == [("surname", "text", ()), ("consent", "radio", ("Yes", "No"))]
    values = {f.name: f.value for f in inspect_form(out).fields}
    assert values == {"surname": "Okafor", "consent": "No"}
