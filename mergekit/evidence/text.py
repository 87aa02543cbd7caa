"""The evidence pack's text in reportlab: mergekit's bundled DejaVu Sans, and for characters
it lacks (Arabic, Hebrew, CJK names) a system font that has them, found with fontconfig, when
reportlab can embed it. Paragraphs holding such text are shaped with HarfBuzz (joined letters,
right-to-left order); characters no font draws are reported, so the pack can say so.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from mergekit.pdf.font import FONT_FILE, bundled_font, normalise_text

FONT = "MergekitSans"


@cache
def register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from mergekit.core.resources import bundled

    path = bundled("templates", "pdf", "fonts", FONT_FILE)
    font = TTFont(FONT, str(path))
    font.face.name = FONT.encode()  # its own face name: see fallback_for
    pdfmetrics.registerFont(font)


_FALLBACKS: dict[str, Any] = {}  # reportlab name -> the TTFont registered under it


@cache
def fallback_for(ch: str) -> str | None:
    """The reportlab name of a system font that draws ``ch`` (None: none usable)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        found = subprocess.run(
            [exe, "-f", "%{file}", f":charset={ord(ch):x}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not found.lower().endswith(".ttf"):
        return None  # reportlab embeds TrueType outlines only (not CFF .otf/.ttc)
    name = "MK-" + found.rsplit("/", 1)[-1].removesuffix(".ttf")
    try:
        font = _FALLBACKS.get(name) or TTFont(name, found)
    except Exception:  # a font reportlab cannot read is simply not used
        return None
    if ord(ch) not in font.face.charToGlyph:
        return None
    if name not in _FALLBACKS:
        # reportlab keys fonts by their face name too: the system DejaVu Sans would clash
        # with the bundled subset of it, so each gets a name of its own.
        font.face.name = name.encode()
        _FALLBACKS[name] = font
        pdfmetrics.registerFont(font)
    return name


def markup(text: str, missing: set[str] | None = None) -> str:
    """``text`` as reportlab paragraph markup, escaped, with characters the bundled font lacks
    put in a fallback font (those no font draws are added to ``missing``)."""
    text = normalise_text(text)
    font = bundled_font()
    if not font.missing(text):
        return escape(text).replace("\n", "<br/>")
    out: list[str] = []
    run_font: str | None = None  # consecutive characters in one fallback font stay one run,
    run: list[str] = []  # so reportlab's HarfBuzz shaping joins Arabic letters
    for ch in text:
        name: str | None = None
        if ch == "\n":
            piece = "<br/>"
        elif font.has(ch) or ch in "\r\t":
            piece = escape(ch)
            if ch == " " and run_font is not None:
                run.append(piece)  # a space between two words of the same script
                continue
        else:
            name = fallback_for(ch)
            piece = escape(ch)
            if name is None and missing is not None:
                missing.add(ch)
        if name is not None and name == run_font:
            run.append(piece)
            continue
        if run_font is not None:
            spaces = len(run) - len("".join(run).rstrip(" "))
            out.append(f'<font name="{run_font}">{"".join(run).rstrip(" ")}</font>' + " " * spaces)
        run_font, run = (name, [piece]) if name is not None else (None, [])
        if name is None:
            out.append(piece)
    if run_font is not None:
        out.append(f'<font name="{run_font}">{"".join(run)}</font>')
    return "".join(out)


_FALLBACK_RUN = '<font name="MK-'  # what markup() puts round text in a fallback font


def paragraph(text: str, style: Any) -> Any:
    """A reportlab Paragraph; one holding text in a fallback font (Arabic, Hebrew...) is
    shaped with HarfBuzz (joined letters, right-to-left order). Only those: shaping every
    paragraph would double the time a pack takes."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    if _FALLBACK_RUN in text:
        style = ParagraphStyle(f"{style.name}-shaped", parent=style, shaping=1)
    return Paragraph(text, style)
