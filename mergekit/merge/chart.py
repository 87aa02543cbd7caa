"""The picture of one pupil's attendance: weekly attendance % over the academic year, the
school's threshold line and the dates of the warning letters.

One layout, two outputs: :func:`layout` places every line, bar and label in points (y up, as
in PDF), :func:`chart_png` rasterises those shapes for a Word letter (``{{ attendance_chart }}``,
:class:`ChartImage`), and :mod:`mergekit.evidence.chart` draws the same shapes as vectors in
the evidence pack. The numbers come from the marks only (whole sessions, as the rules count);
a week without a possible session has no bar.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Literal

from mergekit.core.attendance import POSSIBLE, PRESENT
from mergekit.core.calendar import week_start
from mergekit.core.resources import bundled

_WEEK = timedelta(days=7)
FONT_PATH = ("templates", "pdf", "fonts", "DejaVuSans-mergekit.ttf")

# Colours as RGB 0-1 (PDF) - the PNG scales them to 0-255.
RGB = tuple[float, float, float]
INK: RGB = (0.15, 0.15, 0.15)
GRID: RGB = (0.85, 0.85, 0.85)
AT_OR_ABOVE: RGB = (0.30, 0.60, 0.35)
BELOW: RGB = (0.80, 0.30, 0.25)
THRESHOLD: RGB = (0.10, 0.30, 0.70)
LETTER: RGB = (0.45, 0.20, 0.55)


@dataclass(frozen=True, slots=True)
class WeekPoint:
    """One school week: the Monday it starts and its whole-session counts."""

    start: date
    possible: int
    present: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.present / self.possible if self.possible else None


def weekly_attendance(
    marks: Mapping[date, tuple[str, str]], start: date, end: date
) -> list[WeekPoint]:
    """Every week (Monday) from the week of ``start`` to the week of ``end``, with the
    sessions possible and present dated start..end in it."""
    counts: dict[date, list[int]] = {}
    for d, pair in marks.items():
        if start <= d <= end:
            c = counts.setdefault(week_start(d), [0, 0])
            for code in pair:
                if code in POSSIBLE:
                    c[0] += 1
                    c[1] += code in PRESENT
    out: list[WeekPoint] = []
    monday = week_start(start)
    while monday <= end:
        possible, present = counts.get(monday, (0, 0))
        out.append(WeekPoint(monday, possible, present))
        monday += _WEEK
    return out


@dataclass(frozen=True)
class ChartSpec:
    """What the chart shows: the weeks, the threshold %, and the letters (date, label)."""

    weeks: tuple[WeekPoint, ...]
    threshold: float = 90.0
    letters: tuple[tuple[date, str], ...] = ()
    title: str = "Weekly attendance"


def chart_spec(
    marks: Mapping[date, tuple[str, str]],
    start: date,
    end: date,
    threshold: float,
    letters: Iterable[tuple[date, str]] = (),
) -> ChartSpec:
    return ChartSpec(
        tuple(weekly_attendance(marks, start, end)),
        threshold,
        tuple(sorted((d, label) for d, label in letters if start <= d <= end)),
    )


# ---------------------------------------------------------------------------------------------
# Layout: shapes in points, y up


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: RGB = INK
    width: float = 0.5
    dash: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    colour: RGB


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float  # baseline
    text: str
    size: float
    anchor: Literal["start", "middle", "end"] = "start"
    colour: RGB = INK


Shape = Line | Bar | Label


def layout(spec: ChartSpec, width: float, height: float, *, small: bool = False) -> list[Shape]:
    """The chart's shapes in a ``width`` x ``height`` point box (origin bottom left)."""
    size = 6.5 if small else 8.0
    left, right, bottom, top = size * 3.6, size * 1.2, size * 2.6, size * 2.4
    pw, ph = width - left - right, height - bottom - top
    shapes: list[Shape] = [Label(left, height - size * 1.3, spec.title, size * 1.15)]

    def y_of(pct: float) -> float:
        return bottom + ph * max(0.0, min(100.0, pct)) / 100.0

    for step in (0, 25, 50, 75, 100):
        y = y_of(step)
        shapes.append(Line(left, y, left + pw, y, GRID, 0.4))
        shapes.append(Label(left - 3, y - size / 3, f"{step}%", size, "end"))
    n = max(1, len(spec.weeks))
    slot = pw / n
    first = spec.weeks[0].start if spec.weeks else date.min
    every = max(1, round(n / (5 if small else 10)))
    for i, w in enumerate(spec.weeks):
        x = left + i * slot
        pct = w.percent
        if pct is not None:
            colour = AT_OR_ABOVE if pct >= spec.threshold else BELOW
            h = max(0.6, y_of(pct) - bottom)
            shapes.append(Bar(x + slot * 0.15, bottom, slot * 0.7, h, colour))
            if pct < 8:  # a bar too short to see: say its value
                shapes.append(
                    Label(
                        x + slot / 2, bottom + h + 1.5, f"{pct:.0f}%", size * 0.85, "middle", colour
                    )
                )
        if i % every == 0:
            shapes.append(
                Label(x + slot / 2, bottom - size * 1.2, f"{w.start:%d/%m}", size, "middle")
            )
    shapes.append(Line(left, bottom, left + pw, bottom, INK, 0.6))
    shapes.append(Line(left, bottom, left, bottom + ph, INK, 0.6))
    ty = y_of(spec.threshold)
    shapes.append(Line(left, ty, left + pw, ty, THRESHOLD, 1.0, (3.0, 2.0)))
    shapes.append(
        Label(left + pw, ty + 2, f"threshold {spec.threshold:g}%", size * 0.9, "end", THRESHOLD)
    )
    for d, label in spec.letters:
        x = left + ((d - first).days / 7.0) * slot
        if not left <= x <= left + pw:
            continue
        shapes.append(Line(x, bottom, x, bottom + ph, LETTER, 0.8, (1.0, 1.5)))
        shapes.append(Label(x + 1.5, bottom + ph + 2, label, size * 0.9, "start", LETTER))
    return shapes


# ---------------------------------------------------------------------------------------------
# The raster copy for Word letters


def chart_png(spec: ChartSpec, width: float, height: float, dpi: int = 200) -> bytes:
    """The small chart as PNG bytes (``width`` x ``height`` points at ``dpi``)."""
    from PIL import Image, ImageDraw, ImageFont

    scale = dpi / 72.0
    w_px, h_px = round(width * scale), round(height * scale)
    img = Image.new("RGB", (w_px, h_px), "white")
    pen = ImageDraw.Draw(img)
    fonts: dict[int, ImageFont.FreeTypeFont] = {}

    def font(size: float) -> ImageFont.FreeTypeFont:
        px = max(6, round(size * scale))
        if px not in fonts:
            fonts[px] = ImageFont.truetype(str(bundled(*FONT_PATH)), px)
        return fonts[px]

    def rgb(c: RGB) -> tuple[int, int, int]:
        return (round(c[0] * 255), round(c[1] * 255), round(c[2] * 255))

    def pt(x: float, y: float) -> tuple[float, float]:
        return x * scale, (height - y) * scale

    for s in layout(spec, width, height, small=True):
        if isinstance(s, Bar):
            x0, y1 = pt(s.x, s.y)
            x1, y0 = pt(s.x + s.w, s.y + s.h)
            pen.rectangle((x0, y0, x1, y1), fill=rgb(s.colour))
        elif isinstance(s, Line):
            lw = max(1, round(s.width * scale))
            if s.dash:
                _dashed(pen, pt(s.x1, s.y1), pt(s.x2, s.y2), s.dash, scale, rgb(s.colour), lw)
            else:
                pen.line((pt(s.x1, s.y1), pt(s.x2, s.y2)), fill=rgb(s.colour), width=lw)
        else:
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[s.anchor]
            pen.text(pt(s.x, s.y), s.text, fill=rgb(s.colour), font=font(s.size), anchor=anchor)
    buf = io.BytesIO()
    # zlib level 6 without Pillow's `optimize` (level 9 and a search over filters): 7 ms
    # instead of 20 for each letter's chart, for a file 4% larger (15 kB).
    img.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def _dashed(
    pen: object,
    a: tuple[float, float],
    b: tuple[float, float],
    dash: Sequence[float],
    scale: float,
    colour: tuple[int, int, int],
    width: int,
) -> None:
    from PIL import ImageDraw

    assert isinstance(pen, ImageDraw.ImageDraw)
    (x1, y1), (x2, y2) = a, b
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    if not length:
        return
    on, off = dash[0] * scale, (dash[1] if len(dash) > 1 else dash[0]) * scale
    pos = 0.0
    while pos < length:
        end = min(length, pos + on)
        pen.line(
            (
                (x1 + (x2 - x1) * pos / length, y1 + (y2 - y1) * pos / length),
                (x1 + (x2 - x1) * end / length, y1 + (y2 - y1) * end / length),
            ),
            fill=colour,
            width=width,
        )
        pos = end + off


# ---------------------------------------------------------------------------------------------
# The image field of Word templates

CHART_REL_ID = "rIdMergekitChart"
CHART_MEDIA = "word/media/mergekit_attendance_chart.png"
_EMU_PER_POINT = 12700


@dataclass
class ChartImage:
    """``{{ attendance_chart }}``: the small chart as an inline picture. The PNG is drawn only
    when a template prints the field (:mod:`mergekit.merge.render` adds the picture to the
    document); in a PDF form or plain text it reads as a short description."""

    spec: ChartSpec
    width: float = 430.0  # points: the text width of an A4 letter, about 15 cm
    height: float = 105.0
    used: bool = field(default=False, compare=False)

    @cached_property
    def png(self) -> bytes:
        return chart_png(self.spec, self.width, self.height)

    def __str__(self) -> str:
        shown = [w for w in self.spec.weeks if w.possible]
        return f"[chart of weekly attendance, {len(shown)} weeks]"

    def __html__(self) -> str:
        """The run-level XML Jinja writes in place of the tag (autoescaping calls this)."""
        self.used = True
        cx, cy = round(self.width * _EMU_PER_POINT), round(self.height * _EMU_PER_POINT)
        return (
            '</w:t></w:r><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="1" name="Attendance chart" '
            f'descr="{self}"/><wp:cNvGraphicFramePr><a:graphicFrameLocks '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" noChangeAspect="1"/>'
            "</wp:cNvGraphicFramePr><a:graphic "
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData '
            'uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic '
            'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr>'
            '<pic:cNvPr id="0" name="attendance_chart.png"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{CHART_REL_ID}"/><a:stretch><a:fillRect/>'
            '</a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/>'
            f'<a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
            "</a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline>"
            '</w:drawing></w:r><w:r><w:t xml:space="preserve">'
        )
