"""The attendance chart as reportlab vector graphics: the shapes :func:`mergekit.merge.chart.layout`
places, drawn as PDF paths and text (nothing rasterised), so the chart prints sharp and its
labels stay searchable."""

from __future__ import annotations

from typing import Any

from mergekit.merge.chart import Bar, ChartSpec, Label, Line, layout


def chart_drawing(spec: ChartSpec, width: float, height: float, font: str) -> Any:
    """A reportlab ``Drawing`` (a platypus flowable) of the chart."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.graphics.shapes import Line as RLine
    from reportlab.lib.colors import Color

    d = Drawing(width, height)
    for s in layout(spec, width, height):
        if isinstance(s, Bar):
            d.add(Rect(s.x, s.y, s.w, s.h, fillColor=Color(*s.colour), strokeColor=None))
        elif isinstance(s, Line):
            d.add(
                RLine(
                    s.x1,
                    s.y1,
                    s.x2,
                    s.y2,
                    strokeColor=Color(*s.colour),
                    strokeWidth=s.width,
                    strokeDashArray=list(s.dash) or None,
                )
            )
        elif isinstance(s, Label):
            d.add(
                String(
                    s.x,
                    s.y,
                    s.text,
                    fontName=font,
                    fontSize=s.size,
                    fillColor=Color(*s.colour),
                    textAnchor=s.anchor,
                )
            )
    return d
