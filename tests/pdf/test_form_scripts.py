"""Form values in every script a pupil's name is written in (issues 16.4 and 17.5): CJK,
Arabic, Hebrew and emoji are drawn - by the form's own embedded font when it has the
characters, else by an installed font (fontconfig) - shaped, in right-to-left order, with
real glyphs (read back from the embedded font programs), and searchable."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from form_builders import embed_cjk_font, installed_font, rewrite, text_form
from pdf_tools import drawn_glyphs, drawn_text, pdftotext, plain, school
from pypdf import PdfReader

from mergekit.core.config import load_config
from mergekit.merge.fields import build_context
from mergekit.pdf.font import bundled_font, system_font_for
from mergekit.pdf.forms import fill_bundled_form, fill_form

pytestmark = pytest.mark.poppler

ARABIC = "محمد عبد الرحمن"
HEBREW = "דוד כהן"
EMOJI = "Zoë 😀👍"
CJK = "王小明"

PACKAGES = {ARABIC: "fonts-noto-core", HEBREW: "fonts-noto-core", EMOJI: "fonts-symbola"}


def _needs_fonts(text: str, package: str) -> None:
    lacking = [c for c in text if not c.isspace() and ord(c) > 0x24F and system_font_for(c) is None]
    if lacking:
        pytest.skip(f"no installed font has {lacking!r} (Debian: {package})")


def _outlined(pdf: Path, field: str) -> list[tuple[str, int, bool]]:
    """The glyphs the field draws, each asserted to have an outline (spaces aside)."""
    glyphs = drawn_glyphs(pdf, field)
    assert glyphs, f"{field} draws nothing"
    space = bundled_font().glyph_of[" "]
    drawn = [g for g in glyphs if not ("MKDJVU" in g[0] and g[1] == space)]
    assert all(ok for _, _, ok in drawn), [g for g in drawn if not g[2]]
    return drawn


# ---------------------------------------------------------------------------------------------
# The bundled CME referral and Remove From Roll forms (issue 17.5)


@pytest.fixture
def settings(example_school: Path) -> Any:
    return load_config(example_school)


@pytest.mark.parametrize(
    ("action", "field"), [("cme_referral", "pupil_surname"), ("remove_from_roll", "name")]
)
@pytest.mark.parametrize("surname", [ARABIC, HEBREW, EMOJI])
def test_bundled_forms_draw_arabic_hebrew_and_emoji_names(
    settings: Any, tmp_path: Path, action: str, field: str, surname: str
) -> None:
    _needs_fonts(surname, PACKAGES[surname])
    data, pupil = school(surname=surname, forename="Sam", middle_names="")
    context = build_context(settings, data, pupil, date(2026, 11, 27))
    for flatten in (False, True):
        out = fill_bundled_form(action, context, tmp_path / f"{action}.pdf", flatten=flatten)
        text = plain(pdftotext(out, 1))
        assert surname in text  # right order: poppler reads visual RTL back as logical
        if not flatten:
            glyphs = _outlined(out, field)
            fonts = {f for f, _, _ in glyphs}
            assert any("MKDJVU" not in f for f in fonts)  # an installed font drew part


def test_arabic_is_shaped_joined_letters_not_isolated_ones(tmp_path: Path) -> None:
    _needs_fonts(ARABIC, "fonts-noto-core")
    form = text_form(tmp_path / "form.pdf", name={})
    out = fill_form(form, {"name": "محمد"}, tmp_path / "filled.pdf").path
    glyphs = [g for g in _outlined(out, "name") if "MKDJVU" not in g[0]]
    font = system_font_for("م")
    assert font is not None
    isolated = {font.glyph_order.index(font.cmap[ord(c)]) for c in "محمد"}
    # Joined forms (initial, medial, final) are other glyphs than the letters' own.
    assert {code for _, code, _ in glyphs} - isolated
    assert plain(pdftotext(out)).strip() == "محمد"


def test_mixed_left_to_right_and_right_to_left_text_keeps_each_word_in_order(
    tmp_path: Path,
) -> None:
    _needs_fonts(ARABIC, "fonts-noto-core")
    form = text_form(tmp_path / "form.pdf", name={"width": 400})
    from bidi import get_display  # python-bidi's Rust implementation, as the reference

    cases = {
        "Ahmed محمد (Sam)": get_display("Ahmed محمد (Sam)"),
        "דוד כהן 12": get_display("דוד כהן 12"),
        "Sam عبد الرحمن": get_display("Sam عبد الرحمن"),
        # A right-to-left line: the bracket pair stays round "Sam", and brackets in
        # right-to-left text are mirrored (python-bidi's get_display does not mirror).
        "محمد (Sam) Ahmed": "Ahmed (Sam) دمحم",
    }
    for value, visual in cases.items():
        out = fill_form(form, {"name": value}, tmp_path / "filled.pdf").path
        # Drawn left to right in the visual order of the Unicode bidi algorithm.
        assert drawn_text(out, "name") == visual, value
        _outlined(out, "name")


def test_latin_names_stay_in_the_bundled_font_alone(tmp_path: Path) -> None:
    form = text_form(tmp_path / "form.pdf", name={})
    out = fill_form(form, {"name": "Zoë Łukasz Nguyễn"}, tmp_path / "filled.pdf").path
    assert {f for f, _, _ in _outlined(out, "name")} == {"/MKDJVU+DejaVuSans"}


# ---------------------------------------------------------------------------------------------
# CJK: the form's own font first (issue 16.4)


def _cjk_form(tmp_path: Path) -> Path:
    if installed_font(CJK[0]) is None:
        pytest.skip("no CJK font installed to build the form with (Debian: fonts-noto-cjk)")
    blank = text_form(tmp_path / "plain.pdf", name={"width": 300})
    return rewrite(blank, tmp_path / "cjk.pdf", lambda w: embed_cjk_font(w, "name", CJK))


def test_cjk_is_drawn_with_the_forms_own_embedded_font(tmp_path: Path) -> None:
    form = _cjk_form(tmp_path)
    for flatten in (False, True):
        out = tmp_path / f"filled-{flatten}.pdf"
        report = fill_form(form, {"name": CJK}, out, flatten=flatten)
        assert report.notes == ()
        assert plain(pdftotext(out)).strip() == CJK
        if not flatten:
            assert {f for f, _, _ in _outlined(out, "name")} == {"/ABCDEF+FormCJK"}
            # nothing new embedded: the form's font did it all
            reader = PdfReader(out)
            fonts = {str(o.get_object().get("/BaseFont")) for o in _font_objects(reader)}
            assert not any("Noto" in f for f in fonts)


def _font_objects(reader: PdfReader) -> list[Any]:
    out = []
    for i in range(1, len(reader.xref_objStm) + sum(len(v) for v in reader.xref.values()) + 50):
        try:
            obj = reader.get_object(i)
        except Exception:
            continue
        if hasattr(obj, "get") and obj.get("/Type") == "/Font":
            out.append(obj)
    return out


def test_cjk_the_forms_font_lacks_comes_from_an_installed_font(tmp_path: Path) -> None:
    form = _cjk_form(tmp_path)
    _needs_fonts("李", "fonts-noto-cjk")
    value = CJK + "李"  # 李 is not in the form's subset
    out = tmp_path / "filled.pdf"
    report = fill_form(form, {"name": value}, out)
    assert report.notes == ()  # covered: no warning
    assert plain(pdftotext(out)).strip() == value
    glyphs = _outlined(out, "name")
    assert [f for f, _, _ in glyphs][:3] == ["/ABCDEF+FormCJK"] * 3
    assert "FormCJK" not in glyphs[3][0]


def test_cjk_on_a_form_without_a_cjk_font_comes_from_an_installed_font(tmp_path: Path) -> None:
    _needs_fonts(CJK, "fonts-noto-cjk")
    form = text_form(tmp_path / "form.pdf", name={})
    out = tmp_path / "filled.pdf"
    report = fill_form(form, {"name": f"{CJK} Wang"}, out, flatten=True)
    assert report.notes == ()
    assert plain(pdftotext(out)).strip() == f"{CJK} Wang"
