"""The fonts Word templates ask for, and whether this computer has one with the same metrics.

LibreOffice lays a document out with the font its template names or, when that font is not
installed, with a substitute. A metric-compatible substitute (Liberation Sans for Arial) has
the same width for every letter, so lines and pages break where Word breaks them; any other
(DejaVu Sans, the usual Linux fallback, is wider) pushes a one-page form onto two pages.

fontconfig's ``fc-match`` says which font a name resolves to on Linux (and on macOS where
fontconfig is installed); without it (Windows, where Arial comes with the system) nothing is
checked. Only fonts with a known metric-compatible free twin are checked: for any other font
there is nothing to suggest.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class MetricFont:
    """A font templates use, the families with its metrics, and the package that has one."""

    name: str
    compatible: tuple[str, ...]  # the font itself first
    package: str  # Debian/Ubuntu package with a compatible family


_LIBERATION = "fonts-liberation2"
KNOWN: Mapping[str, MetricFont] = {
    f.name.casefold(): f
    for f in (
        MetricFont("Arial", ("Arial", "Liberation Sans", "Arimo"), _LIBERATION),
        MetricFont(
            "Times New Roman", ("Times New Roman", "Liberation Serif", "Tinos"), _LIBERATION
        ),
        MetricFont("Courier New", ("Courier New", "Liberation Mono", "Cousine"), _LIBERATION),
        MetricFont("Calibri", ("Calibri", "Carlito"), "fonts-crosextra-carlito"),
        MetricFont("Cambria", ("Cambria", "Caladea"), "fonts-crosextra-caladea"),
    )
}


@dataclass(frozen=True)
class FontGap:
    """A font the documents ask for, with no metric-compatible font installed."""

    font: MetricFont
    used: str  # what fontconfig gives instead

    @property
    def message(self) -> str:
        twins = " or ".join(self.font.compatible)
        return (
            f"the Word templates use the font {self.font.name}, but this computer has no font "
            f"with its metrics ({twins}): LibreOffice uses {self.used or 'another font'} "
            "instead, so PDFs of letters and forms may break lines differently and run onto "
            f"an extra page - install {self.font.package} (`sudo apt-get install "
            f"{self.font.package}` on Debian/Ubuntu), or {self.font.name} itself, then make "
            "the PDFs again"
        )


# ---------------------------------------------------------------------------------------------
# What a .docx asks for

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_BODY_PARTS = re.compile(r"word/(document|header\d*|footer\d*)\.xml")
_STYLE_REF = re.compile(rb'<w:(?:pStyle|rStyle) w:val="([^"]+)"')
_DIRECT = re.compile(rb"<w:rFonts\b[^>]*>")
_ATTR = re.compile(rb'w:(ascii|asciiTheme)="([^"]+)"')
_THEME_FONT = re.compile(rb'<a:(minor|major)Font>\s*<a:latin typeface="([^"]*)"')

# A font as a document names it: a family, or a theme slot ("+minor", "+major").
_Font = str


@dataclass(frozen=True)
class _Styles:
    fonts: Mapping[str, _Font]  # style id -> the Latin font it sets itself
    based_on: Mapping[str, str]
    default_paragraph: str
    default_font: _Font


def _font_of(rfonts: bytes) -> _Font:
    """The Latin font an rFonts element sets: a theme slot wins over a name, as in Word."""
    attrs: dict[bytes, bytes] = dict(_ATTR.findall(rfonts))
    theme = attrs.get(b"asciiTheme", b"")
    if theme:
        return "+major" if theme.startswith(b"major") else "+minor"
    return attrs.get(b"ascii", b"").decode("utf-8", "replace")


def _read_styles(xml: bytes) -> _Styles:
    from lxml import etree

    root = etree.fromstring(xml)
    w = f"{{{_W}}}"
    fonts: dict[str, _Font] = {}
    based_on: dict[str, str] = {}
    default = ""
    for style in root.iter(f"{w}style"):
        sid = style.get(f"{w}styleId", "")
        if style.get(f"{w}type") == "paragraph" and style.get(f"{w}default") in ("1", "true"):
            default = sid
        base = style.find(f"{w}basedOn")
        if base is not None:
            based_on[sid] = base.get(f"{w}val", "")
        rfonts = style.find(f"{w}rPr/{w}rFonts")
        if rfonts is not None and (font := _font_of(etree.tostring(rfonts))):
            fonts[sid] = font
    rfonts = root.find(f"{w}docDefaults/{w}rPrDefault/{w}rPr/{w}rFonts")
    default_font = _font_of(etree.tostring(rfonts)) if rfonts is not None else ""
    return _Styles(fonts, based_on, default, default_font)


def _style_font(styles: _Styles, sid: str) -> _Font:
    seen: set[str] = set()
    while sid and sid not in seen:
        seen.add(sid)
        if sid in styles.fonts:
            return styles.fonts[sid]
        sid = styles.based_on.get(sid, "")
    return styles.default_font


def _body_refs(xml: bytes) -> tuple[frozenset[str], frozenset[_Font]]:
    """Style ids a body part uses, and the fonts its runs set directly."""
    ids = frozenset(m.decode("utf-8", "replace") for m in _STYLE_REF.findall(xml))
    direct = frozenset(f for e in _DIRECT.findall(xml) if (f := _font_of(e)))
    return ids, direct


def docx_fonts(path: Path, seen: dict[tuple[int, int], object] | None = None) -> frozenset[str]:
    """The Latin fonts a .docx uses: those its runs set, and those of the styles its
    paragraphs and runs use (following "based on", down to the document defaults), theme
    fonts resolved through its theme. Styles nothing uses do not count. Empty when it cannot
    be read. ``seen`` keeps parts by checksum, so letters of one template read theirs once."""
    cache: dict[tuple[int, int], object] = {} if seen is None else seen

    def part(z: zipfile.ZipFile, info: zipfile.ZipInfo, read: Callable[[bytes], T]) -> T:
        key = (info.CRC, info.file_size)
        if key not in cache:
            cache[key] = read(z.read(info))
        return cast(T, cache[key])

    used: set[str] = set()
    fonts: set[_Font] = set()
    try:
        with zipfile.ZipFile(path) as z:
            infos = {i.filename: i for i in z.infolist()}
            for name, info in infos.items():
                if _BODY_PARTS.fullmatch(name):
                    ids, direct = part(z, info, _body_refs)
                    used |= ids
                    fonts |= direct
            if "word/styles.xml" in infos:
                styles = part(z, infos["word/styles.xml"], _read_styles)
                used.add(styles.default_paragraph)
                fonts |= {_style_font(styles, sid) for sid in used if sid}
            theme = next((i for n, i in infos.items() if n.startswith("word/theme/")), None)
            slots = dict(part(z, theme, _THEME_FONT.findall)) if theme is not None else {}
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        log.debug("cannot read the fonts of %s: %s", path, e)
        return frozenset()
    out = set()
    for font in fonts:
        if font.startswith("+"):
            face = slots.get(font[1:].encode(), b"")
            if face:
                out.add(face.decode("utf-8", "replace"))
        elif font:
            out.add(font)
    return frozenset(out)


# ---------------------------------------------------------------------------------------------
# What this computer has


def fc_match(name: str) -> tuple[str, ...] | None:
    """The families fontconfig resolves ``name`` to (the first is the one used), or None when
    fontconfig's ``fc-match`` is not available here."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "-f", "%{family}", name], capture_output=True, check=False, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    text = done.stdout.decode("utf-8", "replace")
    return tuple(f.strip() for f in text.split(",") if f.strip())


def font_gaps(fonts: Iterable[str]) -> list[FontGap]:
    """The known fonts among ``fonts`` that resolve to a family without their metrics
    (nothing when fontconfig is not there to ask)."""
    gaps: list[FontGap] = []
    wanted = sorted({KNOWN[f.casefold()].name for f in fonts if f.casefold() in KNOWN})
    for name in wanted:
        font = KNOWN[name.casefold()]
        families = fc_match(name)
        if families is None:
            return []
        ok = {c.casefold() for c in font.compatible}
        if not any(f.casefold() in ok for f in families[:1]):
            gaps.append(FontGap(font, families[0] if families else ""))
    return gaps


def missing_fonts(files: Sequence[Path]) -> list[FontGap]:
    """Fonts the Word files ask for that would be replaced by a font of other widths."""
    fonts: set[str] = set()
    seen: dict[tuple[int, int], object] = {}
    for f in files:
        if f.suffix.lower() == ".docx":
            fonts |= docx_fonts(f, seen)
    return font_gaps(fonts)
