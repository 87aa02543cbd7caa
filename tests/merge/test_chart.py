"""The attendance chart: weekly figures counted from the marks, one layout for the PDF and the
letters, and `{{ attendance_chart }}` printing as a picture in the bundled letters 1-3."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
from docx import Document
from PIL import Image

from mergekit.core.actions import LETTERS
from mergekit.core.config import load_config
from mergekit.core.resources import bundled
from mergekit.documents.sample import sample_context
from mergekit.merge.chart import (
    AT_OR_ABOVE,
    BELOW,
    CHART_MEDIA,
    LETTER,
    THRESHOLD,
    Bar,
    ChartImage,
    Label,
    Line,
    chart_png,
    chart_spec,
    layout,
    weekly_attendance,
)
from mergekit.merge.render import compile_template

MON = date(2026, 9, 7)


def rgb(c: tuple[float, float, float]) -> tuple[int, ...]:
    return tuple(round(x * 255) for x in c)


def week(codes: list[tuple[str, str]], monday: date = MON) -> dict[date, tuple[str, str]]:
    return {monday + timedelta(days=i): pair for i, pair in enumerate(codes)}


def test_weekly_figures_are_whole_sessions_of_each_week() -> None:
    marks = {
        **week([("/", "\\")] * 5),
        **week([("/", "\\"), ("I", "I"), ("/", "O"), ("#", "#"), ("/", "\\")], MON + timedelta(7)),
    }
    weeks = weekly_attendance(marks, MON, MON + timedelta(days=20))
    assert [(w.start, w.possible, w.present) for w in weeks] == [
        (MON, 10, 10),
        (MON + timedelta(7), 8, 5),  # '#' is not a possible session
        (MON + timedelta(14), 0, 0),  # no marks: no bar
    ]
    assert weeks[1].percent == 62.5
    assert weeks[2].percent is None


def test_the_layout_has_a_bar_per_week_the_threshold_and_each_letter() -> None:
    marks = {**week([("/", "\\")] * 5), **week([("O", "O")] * 5, MON + timedelta(7))}
    spec = chart_spec(
        marks, MON, MON + timedelta(days=11), 90.0, [(MON + timedelta(8), "letter 1")]
    )
    shapes = layout(spec, 400, 200)
    bars = [s for s in shapes if isinstance(s, Bar)]
    assert len(bars) == 2
    assert bars[1].colour == BELOW
    assert any(isinstance(s, Label) and s.text == "0%" for s in shapes)
    threshold = [s for s in shapes if isinstance(s, Line) and s.colour == THRESHOLD]
    assert len(threshold) == 1
    assert any(isinstance(s, Label) and s.text == "threshold 90%" for s in shapes)
    assert [s.text for s in shapes if isinstance(s, Label) and s.colour == LETTER] == ["letter 1"]


def test_the_png_is_the_size_asked_and_draws_the_bars() -> None:
    marks = {**week([("/", "\\")] * 5), **week([("O", "O"), ("/", "\\")], MON + timedelta(7))}
    png = chart_png(chart_spec(marks, MON, MON + timedelta(days=11), 90.0), 300, 80, dpi=144)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == (600, 160)
    colours = {img.getpixel((x, y)) for x in range(img.width) for y in range(img.height)}
    assert rgb(AT_OR_ABOVE) in colours  # a bar at or above the threshold
    assert rgb(BELOW) in colours  # and one below it


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    settings = load_config(bundled("examples", "mergekit.toml"))
    return sample_context(settings, date(2026, 11, 27))


@pytest.mark.parametrize("letter", LETTERS)
def test_bundled_letters_print_the_chart_as_a_picture(letter: str, context: dict[str, Any]) -> None:
    data = compile_template(bundled("templates", "docx", f"{letter}.docx")).render(context)
    doc = Document(io.BytesIO(data))
    assert len(doc.inline_shapes) == 1
    blip = doc.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip
    part = doc.part.related_parts[blip.embed]
    assert part.partname == f"/{CHART_MEDIA}"
    assert part.content_type == "image/png"
    assert Image.open(io.BytesIO(part.blob)).format == "PNG"
    assert "[chart of weekly attendance" not in "\n".join(p.text for p in doc.paragraphs)


def test_a_template_without_the_field_gets_no_picture(context: dict[str, Any]) -> None:
    data = compile_template(bundled("templates", "docx", "planned_move.docx")).render(context)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert CHART_MEDIA not in names
    assert isinstance(context["attendance_chart"], ChartImage)


def test_in_plain_text_the_field_reads_as_a_description(context: dict[str, Any]) -> None:
    assert str(context["attendance_chart"]).startswith("[chart of weekly attendance, ")
