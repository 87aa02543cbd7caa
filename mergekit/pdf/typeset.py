"""Setting a filled value in as many fonts as it needs: one font-fallback design for every
script a pupil's name may be written in.

Each character is drawn by the first of these that has it:

1. mergekit's bundled font (DejaVu Sans subset: Latin, Greek, Cyrillic, Vietnamese) - the
   look of every value today, and the fast path: nothing below runs for such text;
2. the form's own embedded font (a council's CJK form usually embeds one), used through
   its own encoding;
3. an installed font that fontconfig prefers among those with the character (Noto Sans CJK,
   Noto Sans Arabic / Hebrew, Symbola for emoji; colour-bitmap emoji fonts are skipped: a PDF
   viewer cannot draw them as text). Such a font is shaped with HarfBuzz (Arabic joining,
   ligatures, marks) and embedded in the filled copy as a subset of the glyphs it uses.

Right-to-left text (Arabic, Hebrew) is ordered by the Unicode bidirectional algorithm
(python-bidi): the resolved levels split the line into runs, each run is shaped in its own
direction and the runs are laid out in visual order. Only characters no font has are
reported (they print as empty boxes).

Arabic and Hebrew always go to an installed font, even when the bundled or the form's font
has the letters: neither is shaped, and Arabic letters unjoined are wrong, not just plain.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from mergekit.pdf.font import (
    FormFont,
    SystemFont,
    TrueTypeFont,
    system_font_for,
    to_unicode_cmap,
)
from mergekit.pdf.pdfbytes import _Update

FONT_RESOURCE = "MkF"  # the bundled font in every appearance's /Resources (see draw.py)
_IGNORE = "\r\n\t"


def _n(x: float) -> str:
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


def _attaches(ch: str) -> bool:
    """Drawn with the character before it: combining marks, joiners, variation selectors,
    emoji skin-tone modifiers and tag characters."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or cp in (0x200C, 0x200D)
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
    )


_LEVEL = re.compile(r"Level\(\s*(\d+),?\s*\)")


def bidi_levels(text: str) -> list[int]:
    """The resolved embedding level of each character (UAX #9, paragraph direction from
    the first strong character).

    From python-bidi's Rust implementation (the unicode-bidi crate, which pairs brackets as
    Unicode 6.3+ asks: "محمد (Sam)" keeps "(Sam)" together), read from the levels its
    documented ``debug=True`` returns (one per UTF-8 byte). Should that output ever change
    shape, python-bidi's older pure-Python implementation gives the levels instead."""
    from bidi import get_display

    debug = str(get_display(text, debug=True))
    section = debug.split("levels:", 1)[1].split("paragraphs:", 1)[0] if "levels:" in debug else ""
    per_byte = [int(m) for m in _LEVEL.findall(section)]
    encoded = [len(c.encode("utf-8")) for c in text]
    if len(per_byte) != sum(encoded):
        return _bidi_levels_v1(text)
    out: list[int] = []
    at = 0
    for n in encoded:
        out.append(per_byte[at])
        at += n
    return out


def _bidi_levels_v1(text: str) -> list[int]:
    """The levels from python-bidi's pure-Python implementation (no bracket pairs)."""
    from bidi import algorithm as uax9

    storage = uax9.get_empty_storage()
    base = uax9.get_base_level(text)
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    uax9.get_embedding_levels(text, storage)
    for i, ch in enumerate(storage["chars"]):
        ch["mk_index"] = i
    uax9.explicit_embed_and_overrides(storage)
    uax9.resolve_weak_types(storage)
    uax9.resolve_neutral_types(storage, False)
    uax9.resolve_implicit_levels(storage, False)
    levels: list[int | None] = [None] * len(text)
    for ch in storage["chars"]:
        levels[ch["mk_index"]] = ch["level"]
    out: list[int] = []
    for level in levels:  # characters the algorithm removes (joiners) keep their neighbour's
        out.append(level if level is not None else (out[-1] if out else base))
    return out


@dataclass(frozen=True)
class Glyph:
    code: int  # what the content stream writes (two bytes)
    advance: float  # 1/1000 em
    dx: float = 0.0
    dy: float = 0.0


@dataclass(frozen=True)
class Run:
    slot: str  # the font's resource name in the appearance
    glyphs: tuple[Glyph, ...]
    level: int
    simple: bool  # the font's own advances: one Tj draws the whole run

    @property
    def width(self) -> float:
        return sum(g.advance for g in self.glyphs)


@dataclass
class _Embedded:
    """A system font used by one filled copy: its object number and the glyphs drawn."""

    font: SystemFont
    slot: str
    number: int
    text_of: dict[int, str] = field(default_factory=dict)  # code -> text (ToUnicode)
    names: dict[int, str] = field(default_factory=dict)  # code -> glyph name


def _cid_keyed(font: SystemFont) -> bool:
    return font.cff and len(font.glyph_order) > 1 and font.glyph_order[1].startswith("cid")


def _code(font: SystemFont, gid: int) -> int:
    """The code a content stream writes for glyph ``gid``: its CID in a CID-keyed CFF font
    (Noto Sans CJK), else the glyph id itself (subsets keep glyph ids)."""
    if _cid_keyed(font):
        name = font.glyph_order[gid]
        return int(name[3:]) if name[3:].isdigit() else gid
    return gid


@lru_cache(maxsize=4096)
def _shape(
    font: SystemFont, text: str, rtl: bool
) -> tuple[tuple[int, int, float, float, float], ...]:
    """(glyph id, cluster, advance, dx, dy) of ``text`` in visual order, 1/1000 em."""
    import uharfbuzz as hb

    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.direction = "rtl" if rtl else "ltr"
    buf.flags = hb.BufferFlags.REMOVE_DEFAULT_IGNORABLES
    hb.shape(font.hb_font(), buf, {})
    scale = 1000.0 / font.upem
    return tuple(
        (
            info.codepoint,
            info.cluster,
            pos.x_advance * scale,
            pos.x_offset * scale,
            pos.y_offset * scale,
        )
        for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True)
    )


class Typesetter:
    """The fonts of one filled copy: width and drawing of any text, in visual order.

    ``new_id`` gives an object number for each installed font the copy comes to use;
    :meth:`embed` writes those fonts once every value is drawn."""

    def __init__(
        self,
        primary: TrueTypeFont,
        form_fonts: Sequence[FormFont] = (),
        new_id: Callable[[], int] | None = None,
        lookup: Callable[[str], SystemFont | None] = system_font_for,
    ) -> None:
        self.primary = primary
        self.ascent = primary.ascent
        self.descent = primary.descent
        self.form_fonts = tuple(form_fonts)
        self._new_id = new_id
        self._lookup = lookup
        self._embedded: dict[str, _Embedded] = {}
        self._runs: dict[str, tuple[Run, ...]] = {}
        self._simple: dict[str, bool] = {}
        self._used: dict[str, str] = {}  # slot -> "n g" used since the last take_slots()

    # -- measuring and drawing --------------------------------------------------------------

    def is_simple(self, text: str) -> bool:
        """Every character is in the bundled font and none is right-to-left."""
        hit = self._simple.get(text)
        if hit is None:
            has = self.primary.has
            hit = all((has(c) and not is_rtl(c)) or c in _IGNORE for c in text)
            self._simple[text] = hit
        return hit

    def width(self, text: str, size: float) -> float:
        if self.is_simple(text):
            return self.primary.width(text, size)
        return sum(r.width for r in self.runs(text)) * size / 1000.0

    def show(self, text: str, x: float, y: float, size: float) -> str:
        """Operators drawing ``text`` with its baseline starting at (x, y), inside BT with
        the bundled font selected at ``size`` (and left selected)."""
        if self.is_simple(text):
            return f"1 0 0 1 {_n(x)} {_n(y)} Tm <{self.primary.hex(text)}> Tj\n"
        out: list[str] = []
        pen = x
        current = FONT_RESOURCE
        for run in self.runs(text):
            if run.slot != current:
                out.append(f"/{run.slot} {_n(size)} Tf\n")
                current = run.slot
            if run.slot != FONT_RESOURCE:
                self._used[run.slot] = self._ref_of(run.slot)
            if run.simple:
                codes = "".join(f"{g.code:04X}" for g in run.glyphs)
                out.append(f"1 0 0 1 {_n(pen)} {_n(y)} Tm <{codes}> Tj\n")
                pen += run.width * size / 1000.0
                continue
            for g in run.glyphs:
                gx = pen + g.dx * size / 1000.0
                gy = y + g.dy * size / 1000.0
                out.append(f"1 0 0 1 {_n(gx)} {_n(gy)} Tm <{g.code:04X}> Tj\n")
                pen += g.advance * size / 1000.0
        if current != FONT_RESOURCE:
            out.append(f"/{FONT_RESOURCE} {_n(size)} Tf\n")
        return "".join(out)

    def hex(self, text: str) -> str:
        """The bundled font's codes (for callers that only draw simple text)."""
        return self.primary.hex(text)

    def missing(self, text: str) -> str:
        """Characters no font can draw (each once, in order): they print as empty boxes."""
        out: list[str] = []
        for c in text:
            if c in _IGNORE or _attaches(c) or c in out:
                continue
            if self._font_for(c) is None:
                out.append(c)
        return "".join(out)

    # -- runs -------------------------------------------------------------------------------

    def _font_for(self, ch: str) -> str | FormFont | SystemFont | None:
        """FONT_RESOURCE (the bundled font), a form font, an installed font, or None."""
        rtl = is_rtl(ch)
        if not rtl and self.primary.has(ch):
            return FONT_RESOURCE
        if not rtl:
            for f in self.form_fonts:
                if f.has(ch):
                    return f
        return self._lookup(ch)

    def runs(self, text: str) -> tuple[Run, ...]:
        hit = self._runs.get(text)
        if hit is None:
            hit = self._set(text)
            self._runs[text] = hit
        return hit

    def _set(self, text: str) -> tuple[Run, ...]:
        text = "".join(c for c in text if c not in _IGNORE)
        if not text:
            return ()
        levels = bidi_levels(text)
        fonts: list[str | FormFont | SystemFont] = []
        for i, c in enumerate(text):
            chosen: str | FormFont | SystemFont | None
            chosen = fonts[-1] if i and _attaches(c) else self._font_for(c)
            fonts.append(chosen if chosen is not None else FONT_RESOURCE)
        # Logical runs of one font and one level.
        pieces: list[tuple[int, int, str | FormFont | SystemFont, int]] = []
        start = 0
        for i in range(1, len(text) + 1):
            if i == len(text) or fonts[i] is not fonts[start] or levels[i] != levels[start]:
                pieces.append((start, i, fonts[start], levels[start]))
                start = i
        runs = [self._run(text[a:b], font, level) for a, b, font, level in pieces]
        return tuple(_visual_order(runs))

    def _run(self, text: str, font: str | FormFont | SystemFont, level: int) -> Run:
        if level % 2 and not isinstance(font, SystemFont):
            # Brackets in right-to-left text are drawn mirrored (HarfBuzz does this itself
            # for the fonts it shapes).
            from bidi.mirror import MIRRORED

            text = "".join(MIRRORED.get(c, c) for c in text)
        if isinstance(font, str):
            p = self.primary
            glyphs = tuple(
                Glyph(p.glyph_of.get(c, 0), p.widths[p.glyph_of.get(c, 0)]) for c in text
            )
            if level % 2:
                glyphs = glyphs[::-1]
            return Run(FONT_RESOURCE, glyphs, level, True)
        if isinstance(font, FormFont):
            glyphs = tuple(Glyph(font.code_of[c], font.advance(c)) for c in text if font.has(c))
            return Run(font.resource, glyphs[::-1] if level % 2 else glyphs, level, True)
        embedded = self._embed_slot(font)
        shaped = _shape(font, text, bool(level % 2))
        clusters = sorted({c for _, c, _, _, _ in shaped})
        ends = {
            c: (clusters[i + 1] if i + 1 < len(clusters) else len(text))
            for i, c in enumerate(clusters)
        }
        seen: set[int] = set()
        glyphs_out: list[Glyph] = []
        for gid, cluster, adv, dx, dy in shaped:
            code = _code(font, gid)
            embedded.names.setdefault(code, font.glyph_order[gid])
            if cluster not in seen:
                seen.add(cluster)
                embedded.text_of.setdefault(code, text[cluster : ends[cluster]])
            glyphs_out.append(Glyph(code, adv, dx, dy))
        return Run(embedded.slot, tuple(glyphs_out), level, False)

    # -- fonts in the filled copy -------------------------------------------------------------

    def _embed_slot(self, font: SystemFont) -> _Embedded:
        hit = self._embedded.get(font.key)
        if hit is None:
            if self._new_id is None:
                raise RuntimeError("this typesetter cannot embed fonts (no object numbers)")
            hit = _Embedded(font, f"MkS{len(self._embedded)}", self._new_id())
            self._embedded[font.key] = hit
        return hit

    def _ref_of(self, slot: str) -> str:
        for f in self.form_fonts:
            if f.resource == slot:
                return f.ref
        for e in self._embedded.values():
            if e.slot == slot:
                return f"{e.number} 0"
        raise KeyError(slot)

    def take_slots(self) -> dict[str, str]:
        """The fonts other than the bundled one drawn since the last call: slot -> ref."""
        used, self._used = self._used, {}
        return used

    def embed(self, up: _Update) -> None:
        """Write every installed font this copy drew with: a subset of its glyphs as a
        Type0 / Identity-H font with a ToUnicode map (text stays searchable)."""
        for e in self._embedded.values():
            _write_font(e, up)


def _visual_order(runs: list[Run]) -> list[Run]:
    """UAX #9 rule L2 over runs: reverse every sequence at or above each odd level."""
    if not runs:
        return runs
    top = max(r.level for r in runs)
    odd = [r.level for r in runs if r.level % 2]
    if not odd:
        return runs
    lowest = min(odd)
    out = list(runs)
    for level in range(top, lowest - 1, -1):
        i = 0
        while i < len(out):
            if out[i].level >= level:
                j = i
                while j < len(out) and out[j].level >= level:
                    j += 1
                out[i:j] = out[i:j][::-1]
                i = j
            else:
                i += 1
    return out


@lru_cache(maxsize=64)
def _subset(font: SystemFont, names: frozenset[str]) -> bytes:
    """The font with only ``names`` (and .notdef), glyph ids (or CIDs) unchanged."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.retain_gids = not _cid_keyed(font)
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    options.drop_tables += [
        "GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "VORG", "vhea", "vmtx", "DSIG",
        "kern", "morx", "FFTM", "CBDT", "CBLC", "sbix", "COLR", "CPAL", "SVG ", "EBDT", "EBLC",
    ]  # fmt: skip
    with TTFont(str(font.path), fontNumber=font.index) as tt:
        sub = subset.Subsetter(options)
        sub.populate(glyphs=sorted(names))
        sub.subset(tt)
        buf = io.BytesIO()
        tt.save(buf)
    return buf.getvalue()


def _write_font(e: _Embedded, up: _Update) -> None:
    font = e.font
    names = frozenset([".notdef", *e.names.values()])
    program = _subset(font, names)
    packed = zlib.compress(program, 9)
    if font.cff:
        file_key = "FontFile3"
        if _cid_keyed(font):
            # The bare CID-keyed CFF program: poppler draws nothing from the OpenType
            # wrapper of one (Noto Sans CJK), every viewer reads this.
            from fontTools.ttLib import TTFont

            cff = TTFont(io.BytesIO(program)).getTableData("CFF ")
            file_n = up.stream(b"/Subtype/CIDFontType0C/Filter/FlateDecode", zlib.compress(cff, 9))
        else:
            file_n = up.stream(b"/Subtype/OpenType/Filter/FlateDecode", packed)
        subtype = "CIDFontType0"
        gid_map = ""
    else:
        file_key = "FontFile2"
        file_n = up.stream(f"/Length1 {len(program)}/Filter/FlateDecode".encode("ascii"), packed)
        subtype = "CIDFontType2"
        gid_map = "/CIDToGIDMap/Identity"
    digest = hashlib.sha256(program).digest()
    tag = "".join(chr(65 + b % 26) for b in digest[:6])
    base = f"/{tag}+{font.ps_name}"
    x0, y0, x1, y1 = (round(v) for v in font.bbox)
    widths = " ".join(
        f"{code}[{font.advances.get(name, 0):.0f}]" for code, name in sorted(e.names.items())
    )
    cmap_n = up.stream(b"/Filter/FlateDecode", zlib.compress(to_unicode_cmap(e.text_of), 9))
    desc_n = up.new_id()
    up.put(
        f"{desc_n} 0",
        (
            f"<</Type/FontDescriptor/FontName{base}/Flags 4/FontBBox[{x0} {y0} {x1} {y1}]"
            f"/ItalicAngle 0/Ascent {font.ascent:.0f}/Descent {font.descent:.0f}"
            f"/CapHeight {font.cap_height:.0f}/StemV 80/{file_key} {file_n} 0 R>>"
        ).encode("ascii"),
    )
    cid_n = up.new_id()
    up.put(
        f"{cid_n} 0",
        (
            f"<</Type/Font/Subtype/{subtype}/BaseFont{base}"
            "/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>"
            f"/FontDescriptor {desc_n} 0 R/DW 1000/W[{widths}]{gid_map}>>"
        ).encode("ascii"),
    )
    up.put(
        f"{e.number} 0",
        (
            f"<</Type/Font/Subtype/Type0/BaseFont{base}/Encoding/Identity-H"
            f"/DescendantFonts[{cid_n} 0 R]/ToUnicode {cmap_n} 0 R>>"
        ).encode("ascii"),
    )
