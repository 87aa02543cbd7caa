"""Appearance streams: what a filled form field looks like, drawn by mergekit itself.

Viewers disagree about regenerating a field's look from its value (Preview, Chrome and
mobile viewers often don't), so every value mergekit writes comes with its own drawing: the
text set in the bundled font, wrapped and sized to the box, and a vector tick for check
boxes (no ZapfDingbats font needed). These functions only build content-stream bytes; the
form module wraps them in XObjects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Face(Protocol):
    """What drawing needs of the fonts: the bundled font alone (:class:`TrueTypeFont`) or
    the fallback chain of one filled copy (:class:`mergekit.pdf.typeset.Typesetter`)."""

    @property
    def ascent(self) -> float: ...

    @property
    def descent(self) -> float: ...

    def width(self, text: str, size: float) -> float: ...

    def show(self, text: str, x: float, y: float, size: float) -> str: ...


FONT_RESOURCE = "MkF"  # the name of mergekit's font in every appearance's /Resources
MIN_SIZE = 5.0  # smallest font size mergekit shrinks text to before clipping it
AUTO_MAX = 12.0  # auto-sized text (DA size 0) never grows beyond this
LINE = 1.16  # line height as a multiple of the font size
HIGHLIGHT = "0.600 0.757 0.855 rg"  # selected entry of a list box (Acrobat's colour)


@dataclass(frozen=True)
class Box:
    """A widget's drawing area in its own (unrotated) space, and its border and background."""

    width: float
    height: float
    border_width: float = 0.0
    border: str = ""  # stroke colour operator, e.g. "0 0 0 RG"; "" = no border
    background: str = ""  # fill colour operator, e.g. "1 1 1 rg"; "" = transparent
    dashed: bool = False


@dataclass(frozen=True)
class TextStyle:
    """How a text or choice field sets its value (from /DA, /Q, /Ff and /MaxLen)."""

    size: float = 0.0  # 0 = automatic
    colour: str = "0 g"
    align: int = 0  # 0 left, 1 centred, 2 right
    multiline: bool = False
    comb: int = 0  # number of comb cells; 0 = an ordinary field


def _n(x: float) -> str:
    """A number as PDF writes it: short, no exponent."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def frame(box: Box) -> str:
    """Background and border, drawn under the text (outside the /Tx marked content)."""
    parts = []
    if box.background:
        parts.append(f"{box.background} 0 0 {_n(box.width)} {_n(box.height)} re f")
    if box.border and box.border_width > 0:
        bw = box.border_width
        dash = "[3] 0 d " if box.dashed else ""
        parts.append(
            f"{box.border} {dash}{_n(bw)} w {_n(bw / 2)} {_n(bw / 2)} "
            f"{_n(box.width - bw)} {_n(box.height - bw)} re S"
        )
    return "\n".join(parts)


def wrap(font: Face, text: str, size: float, width: float) -> list[str]:
    """Greedy word wrap to ``width`` points; explicit newlines kept; long words broken."""
    lines: list[str] = []
    space = font.width(" ", size)
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line: str | None = None
        line_w = 0.0
        for word in paragraph.split(" "):
            word_w = font.width(word, size)
            if line is not None:
                if line_w + space + word_w <= width:
                    line += " " + word
                    line_w += space + word_w
                    continue
                lines.append(line)
            rest = word
            while word_w > width and len(rest) > 1:
                # A word wider than the box: break it where it stops fitting.
                cut = len(rest) - 1
                while cut > 1 and font.width(rest[:cut], size) > width:
                    cut -= 1
                lines.append(rest[:cut])
                rest = rest[cut:]
                word_w = font.width(rest, size)
            line, line_w = rest, word_w
        lines.append(line or "")
    return lines


def text_appearance(font: Face, box: Box, style: TextStyle, text: str) -> tuple[str, str]:
    """Content stream of a text field (or combo box) showing ``text``, and the part of the
    text that could not be shown even at :data:`MIN_SIZE` ("" when it all shows)."""
    inset = box.border_width + 2.0 if box.border_width else 2.0
    avail_w = max(box.width - 2 * inset, 1.0)
    avail_h = max(box.height - 2 * max(box.border_width, 1.0), 1.0)
    body = cut = ""
    if text:
        if style.comb and not style.multiline:
            body = _comb(font, box, style, text, avail_h)
        elif style.multiline:
            body, cut = _multiline(font, style, text, inset, avail_w, avail_h, box)
        else:
            body, cut = _single(font, style, text, inset, avail_w, avail_h, box)
    clip = max(box.border_width, 1.0)
    inner = (
        f"q {_n(clip)} {_n(clip)} {_n(box.width - 2 * clip)} {_n(box.height - 2 * clip)} re W n\n"
        f"{body}Q"
    )
    under = frame(box)
    return (f"{under}\n/Tx BMC\n{inner}\nEMC" if under else f"/Tx BMC\n{inner}\nEMC"), cut


def _line_height(font: Face, size: float) -> float:
    return (font.ascent - font.descent) * size / 1000.0


def _fitting(font: Face, text: str, size: float, width: float) -> int:
    """How many leading characters of ``text`` fit in ``width`` points."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.width(text[:mid], size) <= width + 0.01:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _single(
    font: Face,
    style: TextStyle,
    text: str,
    inset: float,
    avail_w: float,
    avail_h: float,
    box: Box,
) -> tuple[str, str]:
    text = text.replace("\r", " ").replace("\n", " ")
    size = style.size or min(AUTO_MAX, avail_h / ((font.ascent - font.descent) / 1000.0))
    size = max(size, 1.0)
    natural = font.width(text, size)
    cut = ""
    align = style.align
    if natural > avail_w:
        # Too long for the box: shrink (not below MIN_SIZE, or the DA size if smaller).
        size = max(min(size, MIN_SIZE), size * avail_w / natural)
        natural = font.width(text, size)
        if natural > avail_w + 0.01:
            # Still too long: show the start (whatever the alignment, so a centred field
            # does not lose both ends) and say what was cut.
            keep = _fitting(font, text, size, avail_w)
            text, cut = text[:keep], text[keep:]
            natural = font.width(text, size)
            align = 0
    y = (box.height - _line_height(font, size)) / 2 - font.descent * size / 1000.0
    x = _aligned(align, inset, avail_w, natural)
    return (
        f"BT\n/{FONT_RESOURCE} {_n(size)} Tf\n{style.colour}\n{font.show(text, x, y, size)}ET\n"
    ), cut


def _aligned(align: int, inset: float, avail_w: float, natural: float) -> float:
    if align == 1:
        return inset + (avail_w - natural) / 2
    if align == 2:
        return inset + avail_w - natural
    return inset


def _multiline(
    font: Face,
    style: TextStyle,
    text: str,
    inset: float,
    avail_w: float,
    avail_h: float,
    box: Box,
) -> tuple[str, str]:
    bottom = max(box.border_width, 1.0) - 0.5

    def fits(n: int, size: float) -> bool:
        """Whether ``n`` lines drawn as below (first baseline an ascent under the top inset)
        stay above the bottom border: the same test the drawing loop makes."""
        first = box.height - inset - font.ascent * size / 1000.0
        return n <= 1 or first - (n - 1) * size * LINE + font.descent * size / 1000.0 >= bottom

    size = style.size or AUTO_MAX
    lines = wrap(font, text, size, avail_w)
    # Shrink in half-points until every line fits, then cut what still does not.
    while size > MIN_SIZE and not fits(len(lines), size):
        size = max(MIN_SIZE, size - 0.5)
        lines = wrap(font, text, size, avail_w)
    if not fits(len(lines), size) and "\n" not in text and avail_h < 2 * size * LINE:
        # A "multi-line" box only one line high (common in InDesign forms): one shrunk line
        # shows more of the value than wrapped lines that are cut off.
        return _single(font, style, text, inset, avail_w, avail_h, box)
    leading = size * LINE
    y = box.height - inset - font.ascent * size / 1000.0
    out = [f"BT\n/{FONT_RESOURCE} {_n(size)} Tf\n{style.colour}\n"]
    shown = 0
    for line in lines:
        if shown and y + font.descent * size / 1000.0 < bottom:
            break  # this line would be cut through: it and the rest are reported instead
        x = _aligned(style.align, inset, avail_w, font.width(line, size))
        out.append(font.show(line, x, y, size))
        y -= leading
        shown += 1
    out.append("ET\n")
    cut = " ".join(x for x in lines[shown:] if x)
    return "".join(out), cut


def _comb(font: Face, box: Box, style: TextStyle, text: str, avail_h: float) -> str:
    cell = box.width / style.comb
    size = style.size or min(AUTO_MAX, avail_h / ((font.ascent - font.descent) / 1000.0))
    widest = max(font.width(c, size) for c in text)
    if widest > cell * 0.95:
        size *= cell * 0.95 / widest
    y = (box.height - _line_height(font, size)) / 2 - font.descent * size / 1000.0
    out = [f"BT\n/{FONT_RESOURCE} {_n(size)} Tf\n{style.colour}\n"]
    shown = text[: style.comb]
    # /Q moves the value by whole boxes, as viewers do (poppler's integer division): centred
    # starts (boxes - characters) // 2 boxes in, right-aligned ends in the last box.
    free = style.comb - len(shown)
    first = free // 2 if style.align == 1 else free if style.align == 2 else 0
    for i, ch in enumerate(shown, start=first):
        x = cell * i + (cell - font.width(ch, size)) / 2
        out.append(font.show(ch, x, y, size))
    out.append("ET\n")
    return "".join(out)


def list_appearance(
    font: Face,
    box: Box,
    style: TextStyle,
    options: Sequence[str],
    selected: set[int],
    top: int = 0,
) -> str:
    """A list box: its options from ``top`` down, the selected ones highlighted."""
    size = style.size or 10.0
    leading = size * LINE
    inset = box.border_width + 2.0 if box.border_width else 2.0
    out = [f"q {_n(inset)} {_n(inset)} {_n(box.width - 2 * inset)} {_n(box.height - 2 * inset)}"]
    out.append(" re W n\n")
    y = box.height - inset
    for i in range(top, len(options)):
        if y - leading < inset - leading:
            break
        if i in selected:
            out.append(
                f"{HIGHLIGHT} {_n(inset)} {_n(y - leading)} {_n(box.width - 2 * inset)} "
                f"{_n(leading)} re f\n"
            )
        baseline = y - leading + (leading - _line_height(font, size)) / 2
        baseline -= font.descent * size / 1000.0
        out.append(
            f"BT /{FONT_RESOURCE} {_n(size)} Tf {style.colour}\n"
            f"{font.show(options[i], inset + 1, baseline, size)}ET\n"
        )
        y -= leading
    out.append("Q")
    under = frame(box)
    body = "".join(out)
    return f"{under}\n/Tx BMC\n{body}\nEMC" if under else f"/Tx BMC\n{body}\nEMC"


def tick(width: float, height: float, colour: str = "0 g", box: Box | None = None) -> str:
    """A check mark drawn as a stroked path, centred in the box (no font needed)."""
    side = min(width, height)
    x0 = (width - side) / 2
    y0 = (height - side) / 2
    stroke = colour.replace(" g", " G").replace(" rg", " RG").replace(" k", " K")
    lw = max(side * 0.12, 0.8)
    points = ((0.2, 0.52), (0.42, 0.28), (0.8, 0.76))
    path = " ".join(
        f"{_n(x0 + px * side)} {_n(y0 + py * side)} {op}"
        for (px, py), op in zip(points, ("m", "l", "l"), strict=True)
    )
    under = frame(box) + "\n" if box else ""
    return f"{under}q {stroke} {_n(lw)} w 1 J 1 j {path} S Q"


def symbol(char: str, width: float, height: float, colour: str = "0 g") -> str:
    """The ZapfDingbats mark a check box or radio button asks for in /MK /CA, drawn as a
    path: ✔ (4, 3) tick, ✖ (8) cross, ● (l) dot, ■ (n) square, ◆ (u) diamond, ★ (H) star."""
    side = min(width, height)
    cx, cy = width / 2, height / 2
    fill = colour
    if char == "8":
        stroke = colour.replace(" g", " G").replace(" rg", " RG").replace(" k", " K")
        d = side * 0.28
        return (
            f"q {stroke} {_n(max(side * 0.12, 0.8))} w 1 J "
            f"{_n(cx - d)} {_n(cy - d)} m {_n(cx + d)} {_n(cy + d)} l "
            f"{_n(cx - d)} {_n(cy + d)} m {_n(cx + d)} {_n(cy - d)} l S Q"
        )
    if char == "l":
        r = side * 0.25
        k = r * 0.5523
        return (
            f"q {fill} {_n(cx + r)} {_n(cy)} m "
            f"{_n(cx + r)} {_n(cy + k)} {_n(cx + k)} {_n(cy + r)} {_n(cx)} {_n(cy + r)} c "
            f"{_n(cx - k)} {_n(cy + r)} {_n(cx - r)} {_n(cy + k)} {_n(cx - r)} {_n(cy)} c "
            f"{_n(cx - r)} {_n(cy - k)} {_n(cx - k)} {_n(cy - r)} {_n(cx)} {_n(cy - r)} c "
            f"{_n(cx + k)} {_n(cy - r)} {_n(cx + r)} {_n(cy - k)} {_n(cx + r)} {_n(cy)} c f Q"
        )
    if char == "n":
        d = side * 0.25
        return f"q {fill} {_n(cx - d)} {_n(cy - d)} {_n(2 * d)} {_n(2 * d)} re f Q"
    if char in ("u", "H"):
        r = side * 0.32
        if char == "u":
            pts = [(0.0, r), (r, 0.0), (0.0, -r), (-r, 0.0)]
        else:
            pts = [
                (
                    (r if i % 2 == 0 else r * 0.4) * math.sin(math.pi * i / 5),
                    (r if i % 2 == 0 else r * 0.4) * math.cos(math.pi * i / 5),
                )
                for i in range(10)
            ]
        path = " ".join(
            f"{_n(cx + x)} {_n(cy + y)} {'m' if i == 0 else 'l'}" for i, (x, y) in enumerate(pts)
        )
        return f"q {fill} {path} h f Q"
    return tick(width, height, colour)


def empty(box: Box | None = None) -> str:
    """The 'off' look of a check box: only its frame, if it has one."""
    return frame(box) if box else ""
