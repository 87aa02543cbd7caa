"""Drawing a pack: names in scripts the bundled font lacks are drawn in a system font that has
them (fontconfig), and characters no usable font draws are named on the pack, not dropped."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from mergekit.core.calendar import SchoolCalendar
from mergekit.core.config import load_config
from mergekit.evidence.draw import draw_pack
from mergekit.evidence.gather import LedgerRecords, gather
from mergekit.evidence.text import fallback_for, markup
from mergekit.read.tracking import read_tracking

TODAY = date(2026, 11, 27)
ZUZANNA = "L331499918012"


def test_characters_the_bundled_font_has_stay_in_it() -> None:
    assert markup("Zuzanna Wiśniewska & <Ltd>") == "Zuzanna Wiśniewska &amp; &lt;Ltd&gt;"


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig is not installed")
def test_hebrew_is_put_in_a_fallback_font() -> None:
    text = markup("Noa כהן")
    assert text.startswith("Noa ")
    assert '<font name="MK-' in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_a_pupil_with_a_non_latin_name_gets_a_pack(example_school: Path, tmp_path: Path) -> None:
    settings = load_config(example_school)
    data = read_tracking(settings).data
    pupil = replace(data.pupils[ZUZANNA], forename="Sara", surname="כהן")
    calendar = SchoolCalendar.from_settings(settings.calendar)
    ev = gather(settings, calendar, data, pupil, date(2026, 9, 1), TODAY, LedgerRecords())
    pdf, pages = draw_pack(ev, settings, calendar, data, TODAY, ())
    assert pages >= 5
    out = tmp_path / "pack.pdf"
    out.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Sara" in text
    drawn = "כהן" in text or "ןהכ" in text  # poppler may give right-to-left text either way
    if fallback_for("כ") is not None:  # a TrueType font here has Hebrew: it is drawn
        assert drawn
    else:
        assert "no installed font could draw these characters" in " ".join(text.split())


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig is not installed")
def test_a_name_in_one_script_stays_one_font_run_with_its_spaces() -> None:
    text = markup("Pupil: محمد علي and Noa")
    assert text.count('<font name="MK-') == 1
    assert "محمد علي</font> and Noa" in text


@pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("fc-match") is None,
    reason="poppler-utils or fontconfig is not installed",
)
def test_arabic_names_are_drawn_joined_in_right_to_left_order(tmp_path: Path) -> None:
    from reportlab.platypus import SimpleDocTemplate

    from mergekit.evidence.draw import _styles
    from mergekit.evidence.text import paragraph, register_fonts

    register_fonts()
    out = tmp_path / "name.pdf"
    SimpleDocTemplate(str(out)).build([paragraph(markup("Pupil: محمد علي"), _styles().body)])
    shown = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    # HarfBuzz picks the joined (initial/medial/final) forms, which pdftotext reports as
    # Arabic presentation forms; unshaped text would be the isolated letters U+0600-U+06FF.
    joined = [ch for ch in shown if 0xFE70 <= ord(ch) <= 0xFEFF]
    assert len(joined) >= 7
    assert "\u0645\u062d" not in shown  # not the logical letters one by one
    # right to left: محمد (first in logical order) is drawn to the right of علي
    arabic = "".join(ch for ch in shown if 0xFE70 <= ord(ch) <= 0xFEFF or ch == " ").split()
    assert arabic == ["ﻋﻠﻲ", "ﻣﺤﻤﺪ"]
