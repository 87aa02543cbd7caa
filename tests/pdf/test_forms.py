"""Filling PDF forms: what a viewer shows (poppler's pdftotext / pdftoppm), the form's own
values, flattening, merging copies, mappings and the forms mergekit must refuse."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pdf_tools import NAME, ink, pdftotext, poppler, school, widget_rects
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from mergekit.cli import main
from mergekit.core.config import load_config
from mergekit.core.errors import FormFieldError
from mergekit.merge.fields import build_context
from mergekit.pdf.font import bundled_font
from mergekit.pdf.forms import (
    bundled_form,
    check_mapping,
    fill_action_form,
    fill_bundled_form,
    fill_configured_form,
    fill_form,
    inspect_form,
    list_fields,
    mapped_values,
    merge_filled,
    prepare_for_pack,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates" / "pdf"
CME = TEMPLATES / "cme_referral.pdf"
RFR = TEMPLATES / "remove_from_roll.pdf"

pytestmark = pytest.mark.poppler


# ---------------------------------------------------------------------------------------------
# What a viewer shows (poppler)


def words(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) in PDF points from the top-left, as poppler lays out."""
    args = [poppler("pdftotext"), "-bbox", "-enc", "UTF-8", "-f", str(page), "-l", str(page)]
    html = subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True).stdout
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html.decode("utf-8"),
    )
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in found]


# ---------------------------------------------------------------------------------------------
# A pupil (synthetic) and the merge fields mergekit would give the forms


@pytest.fixture
def settings(example_school: Path) -> Any:
    return load_config(example_school)


def context(settings: Any, **pupil_changes: Any) -> dict[str, Any]:
    data, pupil = school(**pupil_changes)
    return build_context(settings, data, pupil, date(2026, 11, 27))


# ---------------------------------------------------------------------------------------------
# The bundled templates


def test_referral_template_has_named_fields_for_every_section() -> None:
    fields = {f.name: f for f in list_fields(CME)}
    assert len(fields) >= 40
    assert all(re.fullmatch(r"[a-z0-9_]+", name) for name in fields)
    assert fields["pupil_forename"].kind == "text"
    assert fields["pupil_address"].multiline
    assert fields["looked_after"].export_values == ("YES", "NO")
    # Export values other than "Yes", so filling must read each box's own value.
    exports = {v for f in fields.values() for v in f.export_values}
    assert {"YES", "On", "1"} <= exports
    assert {p for f in fields.values() for p in f.pages} == {1, 2, 3, 4}


def test_bundled_mappings_name_real_pdf_fields_and_real_merge_fields(settings: Any) -> None:
    ctx = context(settings)
    for action in ("cme_referral", "remove_from_roll"):
        pdf, mapping = bundled_form(action)
        check_mapping(pdf, list(mapping))  # raises if a PDF field is missing
        values = mapped_values(ctx, mapping)  # raises if a mergekit field is unknown
        assert values  # and there is something to fill


@pytest.mark.slow
def test_template_script_rebuilds_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    if not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").is_file():
        pytest.skip("DejaVu Sans is not installed (Debian package fonts-dejavu-core)")
    script = ROOT / "scripts" / "make_pdf_templates.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    for name in (
        "cme_referral.pdf",
        "cme_referral.json",
        "remove_from_roll.pdf",
        "remove_from_roll.json",
        "fonts/DejaVuSans-mergekit.ttf",
    ):
        assert (tmp_path / name).read_bytes() == (TEMPLATES / name).read_bytes(), name


# ---------------------------------------------------------------------------------------------
# Filling the bundled forms: what the viewer shows


@pytest.mark.parametrize("flatten", [False, True], ids=["editable", "flattened"])
def test_filled_referral_shows_the_pupils_details_on_the_page(
    settings: Any, tmp_path: Path, flatten: bool
) -> None:
    out = fill_bundled_form(
        "cme_referral", context(settings), tmp_path / "cme.pdf", flatten=flatten
    )
    page1 = pdftotext(out, 1)
    for value in (
        "Zoë",
        "Łukasz",
        "Nguyễn",
        "4 May 2013",
        "K331261200001",
        "Year 8 / 8RT",
        "Northgate Park Academy",
        "Minh Nguyễn",
        "27 November 2026",
        "12 Long Road",
    ):
        assert value in page1, value
    everything = pdftotext(out)
    for value in (
        "Mrs Thảo Nguyễn",
        "07700 900123",
        "thao@example.org",
        "Sam O'Neill",
        "cme@example.gov.uk",
    ):
        assert value in everything, value


def test_check_boxes_use_each_boxs_own_export_value(settings: Any, tmp_path: Path) -> None:
    out = fill_bundled_form("cme_referral", context(settings), tmp_path / "cme.pdf")
    fields = PdfReader(out).get_fields()
    assert fields is not None
    assert fields["looked_after"]["/V"] == "/YES"
    assert fields["speaks_english"]["/V"] == "/NO"  # DfE proficiency A: new to English
    assert fields["parent1_interpreter"]["/V"] == "/YES"
    assert fields["parent2_interpreter"].get("/V") in (None, "/Off")  # no second parent
    kids = {
        next(iter(k.get_object()["/AP"]["/N"].keys() - {"/Off"})): k.get_object()["/AS"]
        for k in fields["looked_after"]["/Kids"]
    }
    assert kids == {"/YES": "/YES", "/NO": "/Off"}
    fill_form(
        CME,
        {"check_fsm": True, "reason_left_uk": "yes", "leaving_father": "YES"},
        tmp_path / "ticks.pdf",
    )
    got = PdfReader(tmp_path / "ticks.pdf").get_fields()
    assert got is not None
    assert [got[n]["/V"] for n in ("check_fsm", "reason_left_uk", "leaving_father")] == [
        "/On",
        "/Yes",
        "/1",
    ]


@pytest.mark.parametrize("flatten", [False, True], ids=["editable", "flattened"])
def test_a_ticked_box_is_drawn_ticked(tmp_path: Path, flatten: bool) -> None:
    (page, _, yes_rect), (_, _, no_rect) = widget_rects(CME, "looked_after")
    yes = fill_form(CME, {"looked_after": "YES"}, tmp_path / "yes.pdf", flatten=flatten).path
    no = fill_form(CME, {"looked_after": "NO"}, tmp_path / "no.pdf", flatten=flatten).path
    blank = fill_form(CME, {"looked_after": ""}, tmp_path / "blank.pdf", flatten=flatten).path
    assert ink(yes, page, yes_rect) > ink(blank, page, yes_rect) + 20
    assert ink(no, page, no_rect) > ink(blank, page, no_rect) + 20
    assert ink(yes, page, no_rect) == pytest.approx(ink(blank, page, no_rect), abs=1)
    assert ink(no, page, yes_rect) == pytest.approx(ink(blank, page, yes_rect), abs=1)


def test_yes_no_boxes_exporting_y_and_n_take_yes_and_no(tmp_path: Path) -> None:
    (page, _, y_rect), (_, _, n_rect) = widget_rects(RFR, "cme_advice_sought")
    out = fill_form(
        RFR, {"cme_advice_sought": "NO", "enquiries_made": True}, tmp_path / "rfr.pdf"
    ).path
    blank = fill_form(RFR, {}, tmp_path / "blank.pdf").path
    assert ink(out, page, n_rect) > ink(blank, page, n_rect) + 20
    assert ink(out, page, y_rect) == pytest.approx(ink(blank, page, y_rect), abs=1)
    fields = PdfReader(out).get_fields()
    assert fields is not None
    assert (fields["cme_advice_sought"]["/V"], fields["enquiries_made"]["/V"]) == ("/N", "/Y")


def test_values_are_stored_in_the_form_with_appearances_in_the_embedded_font(
    tmp_path: Path,
) -> None:
    out = fill_form(
        CME, {"pupil_surname": NAME, "pupil_upn": "K331261200001"}, tmp_path / "cme.pdf"
    ).path
    reader = PdfReader(out)
    acro = reader.trailer["/Root"]["/AcroForm"]
    assert acro["/NeedAppearances"] is False or acro["/NeedAppearances"] == BooleanObject(False)
    fields = reader.get_fields()
    assert fields is not None
    assert fields["pupil_surname"]["/V"] == NAME  # stored as UTF-16, read back exactly
    widget = fields["pupil_surname"].indirect_reference.get_object()
    ap = widget["/AP"]["/N"].get_object()
    font = ap["/Resources"]["/Font"]["/MkF"].get_object()
    assert font["/Subtype"] == "/Type0"
    assert font["/Encoding"] == "/Identity-H"
    assert "/ToUnicode" in font
    assert "/FontFile2" in font["/DescendantFonts"][0].get_object()["/FontDescriptor"]


def test_multiline_value_wraps_inside_its_box(tmp_path: Path) -> None:
    text = (
        "Zoë has not attended since the half term holiday. Neighbours say the family may "
        "have moved to Łódź; her brother Minh Nguyễn also stopped attending. Home visits on "
        "three days found nobody in and the post piling up behind the door."
    )
    out = fill_form(CME, {"welfare_concerns": text}, tmp_path / "cme.pdf").path
    ((page, _, rect),) = widget_rects(CME, "welfare_concerns")
    page_h = float(PdfReader(out).pages[page - 1].mediabox.height)
    inside = [
        w
        for w in words(out, page)
        if rect[0] - 1 <= w[1]
        and w[3] <= rect[2] + 1
        and page_h - rect[3] - 1 <= w[2]
        and w[4] <= page_h - rect[1] + 1
    ]
    assert [w[0] for w in inside] == text.split()  # every word, in order, inside the box
    assert len({round(w[2]) for w in inside}) >= 2  # on more than one line


def test_a_long_single_line_value_is_shrunk_to_fit_its_box(tmp_path: Path) -> None:
    long_name = "Zoë-Anastazja Łukasz Nguyễn-Wójcik de la Cruz"
    out = fill_form(CME, {"pupil_forename": long_name}, tmp_path / "cme.pdf").path
    ((page, _, rect),) = widget_rects(CME, "pupil_forename")
    shown = [w for w in words(out, page) if w[0] in long_name.split()]
    assert [w[0] for w in shown] == long_name.split()
    assert max(w[3] for w in shown) <= rect[2] + 0.5  # nothing runs past the right edge


def test_a_value_too_long_even_when_shrunk_is_clipped_to_its_box(tmp_path: Path) -> None:
    endless = " ".join(["Featherstonehaugh"] * 12)
    out = fill_form(CME, {"pupil_forename": endless}, tmp_path / "cme.pdf").path
    blank = fill_form(CME, {}, tmp_path / "blank.pdf").path
    ((page, _, rect),) = widget_rects(CME, "pupil_forename")
    gap = (rect[2] + 0.5, rect[1], rect[2] + 7.5, rect[3])  # between this box and the next
    inside = (rect[0], rect[1], rect[2], rect[3])
    assert ink(out, page, inside) > ink(blank, page, inside) + 5
    assert ink(out, page, gap, dpi=288) == pytest.approx(ink(blank, page, gap, dpi=288), abs=0.5)


def test_the_bundled_font_draws_names_from_many_languages() -> None:
    names = "Zoë Łukasz Nguyễn Şükrü Đorđe Siobhán Ó Dálaigh Дмитрий Σοφία Ağça Kővári’s №1"
    assert bundled_font().missing(names) == ""


def test_decomposed_accents_are_drawn_as_the_composed_letters(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", NAME)
    assert decomposed != NAME
    out = fill_form(CME, {"pupil_surname": decomposed}, tmp_path / "cme.pdf").path
    assert NAME in pdftotext(out, 1)


def test_characters_no_font_has_are_reported(tmp_path: Path) -> None:
    # A private-use character: no font mergekit, the form or this computer has draws it.
    report = fill_form(CME, {"pupil_alias": "Zoë \U000f0001"}, tmp_path / "cme.pdf")
    assert any("pupil_alias" in n and "\\U000f0001" in n for n in report.notes)  # escaped
    assert not any("Zoë" in n for n in report.notes)


# ---------------------------------------------------------------------------------------------
# Flattening


def test_flattened_copy_has_no_form_left_and_keeps_the_values_on_the_page(
    settings: Any, tmp_path: Path
) -> None:
    out = fill_bundled_form("cme_referral", context(settings), tmp_path / "flat.pdf", flatten=True)
    reader = PdfReader(out)
    assert "/AcroForm" not in reader.trailer["/Root"]
    for page in reader.pages:
        annots = [a.get_object() for a in page.get("/Annots", [])]
        assert not [a for a in annots if a.get("/Subtype") == "/Widget"]
    assert list_fields(out) == []
    assert "Nguyễn" in pdftotext(out, 1)
    (page, _, rect), _ = widget_rects(CME, "looked_after")
    blank = fill_form(CME, {}, tmp_path / "blank.pdf", flatten=True).path
    assert ink(out, page, rect) > ink(blank, page, rect) + 20  # the tick is in the page


# ---------------------------------------------------------------------------------------------
# Merging copies


def test_merged_copies_each_show_their_own_pupil(settings: Any, tmp_path: Path) -> None:
    names = [("Zoë", "Nguyễn"), ("Amara", "Okafor"), ("Jakub", "Wiśniewski")]
    files = []
    for i, (forename, surname) in enumerate(names):
        ctx = context(settings, forename=forename, surname=surname, upn=f"K33126120001{i}")
        files.append(fill_bundled_form("remove_from_roll", ctx, tmp_path / f"rfr{i}.pdf"))
    merged = merge_filled(files, tmp_path / "pack.pdf")
    reader = PdfReader(merged)
    assert len(reader.pages) == 3
    for number, (forename, surname) in enumerate(names, start=1):
        text = pdftotext(merged, number)
        assert f"{forename} Łukasz {surname}" in text
        others = [n for n in names if n != (forename, surname)]
        assert not any(f"{f} Łukasz {s}" in text for f, s in others)
    # Every copy keeps its own field names and values, so no viewer mixes them up.
    fields = list_fields(merged)
    assert len(fields) == 3 * len(list_fields(RFR))
    assert len({f.name for f in fields}) == len(fields)
    values = {f.name: f.value for f in fields}
    for i, (forename, surname) in enumerate(names):
        assert values[f"rfr{i}.name"] == f"{forename} Łukasz {surname}"
    assert merged.stat().st_size < 3 * files[0].stat().st_size  # the font is stored once


def test_prepare_for_pack_renames_a_copys_fields(settings: Any, tmp_path: Path) -> None:
    out = fill_bundled_form("remove_from_roll", context(settings), tmp_path / "rfr.pdf")
    reader = PdfReader(out)
    writer = PdfWriter()
    prepare_for_pack(writer, reader, "doc.1")
    writer.append(reader)
    buf = io.BytesIO()
    writer.write(buf)
    (tmp_path / "pack.pdf").write_bytes(buf.getvalue())
    assert {f.name for f in list_fields(tmp_path / "pack.pdf")} == {
        f"doc_1.{f.name}" for f in list_fields(RFR)
    }


# ---------------------------------------------------------------------------------------------
# Mappings


def test_mapping_fills_rows_beyond_the_pupils_siblings_with_nothing(settings: Any) -> None:
    values = mapped_values(
        context(settings),
        {
            "a": "siblings.1.name",
            "b": "siblings.3.name",
            "c": "{council.cme_team}, {council.name}",
            "d": "{pupil.aliases}, {pupil.forename}",
            "e": "pupil.flags.looked_after",
        },
    )
    assert values == {
        "a": "Minh Nguyễn",
        "b": "",
        "c": "Children Missing Education Team, Exampleshire City Council",
        "d": "Zoë",
        "e": True,
    }


def test_mapping_an_unknown_mergekit_field_names_the_closest(settings: Any) -> None:
    with pytest.raises(FormFieldError, match=r"'pupil\.forname'.*'pupil\.forename'"):
        mapped_values(context(settings), {"pupil_forename": "pupil.forname"})


def test_filling_a_field_the_pdf_lacks_names_the_closest_real_fields(tmp_path: Path) -> None:
    with pytest.raises(FormFieldError, match=r"'pupil_surnme'.*'pupil_surname'"):
        fill_form(CME, {"pupil_surnme": "Nguyễn"}, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_config_mapping_error_points_at_the_config_line(
    example_school: Path, tmp_path: Path
) -> None:
    shutil.copy(RFR, example_school.parent / "council_form.pdf")
    with example_school.open("a", encoding="utf-8") as f:
        f.write(
            '\n[forms.council]\nfile = "council_form.pdf"\naction = "remove_from_roll"\n'
            'fields = { "nmae" = "pupil.legal_name" }\n'
        )
    settings = load_config(example_school)
    with pytest.raises(
        FormFieldError,
        match=r"mergekit\.toml line \d+: \[forms\.council\].*"
        r"'nmae'.*'name'",
    ):
        fill_configured_form(settings, "council", context(settings), tmp_path / "x.pdf")


def test_a_council_form_in_the_config_is_used_for_its_action(
    example_school: Path, tmp_path: Path
) -> None:
    shutil.copy(RFR, example_school.parent / "council_form.pdf")
    with example_school.open("a", encoding="utf-8") as f:
        f.write(
            '\n[forms.council]\nfile = "council_form.pdf"\naction = "remove_from_roll"\n'
            'fields = { "name" = "{pupil.surname}, {pupil.forename}", "upn" = "pupil.upn" }\n'
        )
    settings = load_config(example_school)
    report = fill_action_form(settings, "remove_from_roll", context(settings), tmp_path / "rfr.pdf")
    assert report.filled == ("name", "upn")
    text = pdftotext(report.path)
    assert "Nguyễn, Zoë" in text
    assert "K331261200001" in text
    # No council form for the referral: the bundled one is used.
    other = fill_action_form(settings, "cme_referral", context(settings), tmp_path / "cme.pdf")
    assert "pupil_forename" in other.filled


def test_a_check_box_given_a_value_it_cannot_export_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormFieldError, match=r"looked_after.*'YES', 'NO'.*'Amara'"):
        fill_form(CME, {"looked_after": "Amara"}, tmp_path / "x.pdf")


# ---------------------------------------------------------------------------------------------
# Forms that must be refused, or repaired


def _copy_with(
    tmp_path: Path, name: str, change: Any, password: str | None = None, owner: str = "owner"
) -> Path:
    writer = PdfWriter(clone_from=RFR)
    change(writer)
    if password is not None:
        writer.encrypt(user_password=password, owner_password=owner, algorithm="AES-256")
    out = tmp_path / name
    with out.open("wb") as f:
        writer.write(f)
    return out


def test_a_password_mergekit_does_not_know_is_refused_clearly(tmp_path: Path) -> None:
    locked = _copy_with(tmp_path, "locked.pdf", lambda w: None, password="s3cret")
    with pytest.raises(FormFieldError, match="protected by a password"):
        inspect_form(locked)
    with pytest.raises(FormFieldError, match="protected by a password"):
        fill_form(locked, {"name": NAME}, tmp_path / "out.pdf")


def test_an_empty_password_is_opened_and_the_copy_filled(tmp_path: Path) -> None:
    locked = _copy_with(tmp_path, "owner_only.pdf", lambda w: None, password="")
    report = fill_form(locked, {"name": NAME}, tmp_path / "out.pdf")
    assert any("empty password" in n for n in report.notes)
    assert not PdfReader(report.path).is_encrypted
    assert NAME in pdftotext(report.path)


def test_an_xfa_only_form_is_refused_saying_so(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): ArrayObject([TextStringObject("template"), TextStringObject("")]),
        }
    )
    writer.root_object[NameObject("/NeedsRendering")] = BooleanObject(True)
    path = tmp_path / "xfa.pdf"
    with path.open("wb") as f:
        writer.write(f)
    with pytest.raises(FormFieldError, match="XFA-only"):
        fill_form(path, {}, tmp_path / "out.pdf")
    result = CliRunner().invoke(main, ["pdf", "fields", str(path)])
    assert result.exit_code == 1
    assert "XFA-only" in result.output


def test_an_xfa_hybrid_is_filled_and_its_xfa_removed(tmp_path: Path) -> None:
    def add_xfa(w: PdfWriter) -> None:
        acro = w.root_object["/AcroForm"].get_object()
        acro[NameObject("/XFA")] = ArrayObject(
            [TextStringObject("template"), TextStringObject("<xdp/>")]
        )

    hybrid = _copy_with(tmp_path, "hybrid.pdf", add_xfa)
    assert inspect_form(hybrid).xfa
    report = fill_form(hybrid, {"name": NAME}, tmp_path / "out.pdf")
    assert any("XFA" in n for n in report.notes)
    assert "/XFA" not in PdfReader(report.path).trailer["/Root"]["/AcroForm"]
    assert NAME in pdftotext(report.path)


def test_a_field_missing_from_the_field_list_is_found_on_its_page(tmp_path: Path) -> None:
    def drop_name(w: PdfWriter) -> None:
        fields = w.root_object["/AcroForm"]["/Fields"]
        keep = [f for f in fields if f.get_object().get("/T") != "name"]
        w.root_object["/AcroForm"].get_object()[NameObject("/Fields")] = ArrayObject(keep)

    orphan = _copy_with(tmp_path, "orphan.pdf", drop_name)
    found = {f.name: f for f in list_fields(orphan)}
    assert "missing from the form's field list" in found["name"].note
    report = fill_form(orphan, {"name": NAME}, tmp_path / "out.pdf")
    assert NAME in pdftotext(report.path)
    assert "name" in {f.name for f in list_fields(report.path) if not f.note}


def test_a_field_with_no_widget_is_reported_not_a_crash(tmp_path: Path) -> None:
    def add_ghost(w: PdfWriter) -> None:
        ghost = w._add_object(
            DictionaryObject(
                {
                    NameObject("/FT"): NameObject("/Tx"),
                    NameObject("/T"): TextStringObject("ghost"),
                    NameObject("/Ff"): NumberObject(0),
                }
            )
        )
        w.root_object["/AcroForm"]["/Fields"].append(ghost)

    ghostly = _copy_with(tmp_path, "ghost.pdf", add_ghost)
    ghost = {f.name: f for f in list_fields(ghostly)}["ghost"]
    assert ghost.pages == ()
    assert "no widget" in ghost.note
    report = fill_form(ghostly, {"ghost": "boo", "name": NAME}, tmp_path / "out.pdf")
    assert any("ghost" in n and "no page" in n for n in report.notes)
    assert {f.name: f.value for f in list_fields(report.path)}["ghost"] == "boo"


def test_a_file_that_is_not_a_pdf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "form.pdf"
    fake.write_text("Dear parent,", encoding="utf-8")
    with pytest.raises(FormFieldError, match="not a PDF"):
        list_fields(fake)


# ---------------------------------------------------------------------------------------------
# The command line


def test_pdf_fields_lists_names_types_pages_and_export_values() -> None:
    result = CliRunner().invoke(main, ["pdf", "fields", str(RFR)])
    assert result.exit_code == 0, result.output
    assert "remove_from_roll.pdf: 1 page, 17 fields" in result.output
    line = next(x for x in result.output.splitlines() if x.strip().startswith("cme_advice"))
    assert re.search(r"cme_advice_sought\s+checkbox\s+1\s+ticks as Y / N", line)
    as_json = CliRunner().invoke(main, ["pdf", "fields", "--json", str(CME)])
    assert as_json.exit_code == 0
    data = json.loads(as_json.output)
    assert data["pages"] == 4
    forename = next(f for f in data["fields"] if f["name"] == "pupil_forename")
    assert (forename["type"], forename["pages"]) == ("text", [1])


def _write_tracking(folder: Path) -> str:
    from openpyxl import Workbook

    upn = "K331261200001"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Pupils"
    ws.append(
        [
            "UPN",
            "Legal Surname",
            "Legal Forename",
            "Middle Names",
            "DOB",
            "Year",
            "Reg Group",
            "Address Line 1",
            "Postcode",
            "Looked After",
            "First Language",
        ]
    )
    ws.append(
        [
            upn,
            "Nguyễn",
            "Zoë",
            "Łukasz",
            date(2013, 5, 4),
            8,
            "8RT",
            "12 Long Road",
            "ZZ1 2AB",
            "Y",
            "Vietnamese",
        ]
    )
    cs = wb.create_sheet("Contacts")
    cs.append(
        [
            "UPN",
            "Priority",
            "Contact Name",
            "Relationship",
            "Parental Responsibility",
            "Lives With Pupil",
            "Mobile",
        ]
    )
    cs.append([upn, 1, "Mrs Thảo Nguyễn", "Mother", "Y", "Y", "07700 900123"])
    wb.save(folder / "tracking.xlsx")
    return upn


def test_pdf_fill_fills_a_bundled_form_for_a_pupil(example_school: Path, tmp_path: Path) -> None:
    upn = _write_tracking(example_school.parent)
    out = tmp_path / "zoe.pdf"
    result = CliRunner().invoke(
        main,
        [
            "pdf",
            "fill",
            "cme_referral",
            "--upn",
            upn,
            "--config",
            str(example_school),
            "--out",
            str(out),
            "--flatten",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "flattened" in result.output
    text = pdftotext(out)
    assert "Zoë" in text
    assert "Mrs Thảo Nguyễn" in text
    default = CliRunner().invoke(
        main, ["pdf", "fill", "remove_from_roll", "--upn", upn, "--config", str(example_school)]
    )
    assert default.exit_code == 0, default.output
    made = example_school.parent / "out" / "2026-11-27" / "pdf"
    assert [p.name for p in made.iterdir()] == [f"Y08_8RT_Nguyễn_Zoë_{upn}_remove_from_roll.pdf"]


def test_pdf_fill_with_an_unknown_upn_suggests_the_closest(example_school: Path) -> None:
    upn = _write_tracking(example_school.parent)
    result = CliRunner().invoke(
        main,
        ["pdf", "fill", "cme_referral", "--upn", upn[:-1] + "9", "--config", str(example_school)],
    )
    assert result.exit_code == 1
    assert "no pupil with UPN" in result.output
    assert upn in result.output
    assert "Traceback" not in result.output


def test_pdf_fill_of_an_unmapped_pdf_explains_the_mapping(
    example_school: Path, tmp_path: Path
) -> None:
    _write_tracking(example_school.parent)
    form = tmp_path / "council.pdf"
    shutil.copy(RFR, form)
    result = CliRunner().invoke(
        main, ["pdf", "fill", str(form), "--upn", "K331261200001", "--config", str(example_school)]
    )
    assert result.exit_code == 1
    assert "[forms.NAME]" in result.output
