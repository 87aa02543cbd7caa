"""The TrueType font mergekit draws form values with, and its PDF objects.

Filled values must show in every viewer whatever the name (``Zoë Łukasz Nguyễn``), so
mergekit never relies on a viewer's own fonts: it ships a subset of DejaVu Sans
(``templates/pdf/fonts/``) and embeds it as a Type0 font with Identity-H encoding (two bytes
per glyph id) and a ToUnicode map, so the text stays searchable and copyable.

Only the tables needed for metrics are read here (no font library at run time).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import unicodedata
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mergekit.core.errors import FormFieldError
from mergekit.core.resources import bundled

FONT_FILE = "DejaVuSans-mergekit.ttf"
# PDF subset fonts carry a six-letter tag; this one never changes, so every filled copy of a
# form shares one identical font object (which merged packs deduplicate).
SUBSET_TAG = "MKDJVU"


@dataclass(frozen=True)
class TrueTypeFont:
    """Metrics and character map of one TrueType font, in PDF glyph space (1/1000 em)."""

    data: bytes
    ps_name: str
    ascent: float  # 1/1000 em, positive
    descent: float  # 1/1000 em, negative
    cap_height: float
    bbox: tuple[float, float, float, float]
    widths: tuple[float, ...]  # per glyph id, 1/1000 em
    glyph_of: dict[str, int] = field(repr=False)  # character -> glyph id
    # character -> 4 hex digits of its glyph id / its advance: the hot path of drawing text
    # looks each character up once.
    _hex: dict[str, str] = field(repr=False, default_factory=dict)
    _advance: dict[str, float] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hex", {c: f"{g:04X}" for c, g in self.glyph_of.items()})
        object.__setattr__(self, "_advance", {c: self.widths[g] for c, g in self.glyph_of.items()})

    def has(self, ch: str) -> bool:
        return ch in self._hex

    def missing(self, text: str) -> str:
        """Characters of ``text`` this font cannot draw (each once, in order)."""
        hexes = self._hex
        return "".join(dict.fromkeys(c for c in text if c not in hexes and c not in "\r\n\t"))

    def width(self, text: str, size: float) -> float:
        """Advance width of ``text`` in points at ``size`` points."""
        get = self._advance.get
        notdef = self.widths[0]
        return sum([get(c, notdef) for c in text]) * size / 1000.0

    def hex(self, text: str) -> str:
        """``text`` as the hex string of a Tj operand (missing characters draw .notdef)."""
        get = self._hex.get
        return "".join([get(c, "0000") for c in text])

    def show(self, text: str, x: float, y: float, size: float) -> str:
        """Operators drawing ``text`` from (x, y) inside BT (the font already selected)."""
        del size
        return f"1 0 0 1 {_num(x)} {_num(y)} Tm <{self.hex(text)}> Tj\n"

    # -- PDF objects ------------------------------------------------------------------------

    @property
    def base_font(self) -> str:
        return f"{SUBSET_TAG}+{self.ps_name}"

    def widths_array(self) -> str:
        """The CIDFont /W array: one run from glyph 0."""
        return "[0[" + " ".join(f"{w:.0f}" for w in self.widths) + "]]"

    def to_unicode_cmap(self) -> bytes:
        """ToUnicode CMap mapping each glyph id back to its character (the lowest code point
        when several characters share a glyph), so text extraction gives the real name."""
        first: dict[int, str] = {}
        for ch, gid in sorted(self.glyph_of.items(), key=lambda kv: ord(kv[0])):
            first.setdefault(gid, ch)
        return to_unicode_cmap(first)

    def font_file(self) -> bytes:
        """The font program, Flate-compressed for /FontFile2."""
        return zlib.compress(self.data, 9)


def _num(x: float) -> str:
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _tables(data: bytes) -> dict[str, bytes]:
    if len(data) < 12:
        raise ValueError("too short for a TrueType font")
    (num,) = struct.unpack_from(">H", data, 4)
    out: dict[str, bytes] = {}
    for i in range(num):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        out[tag.decode("latin-1")] = data[offset : offset + length]
    return out


def _cmap(table: bytes) -> dict[int, int]:
    """Code point -> glyph id from the best Unicode subtable (format 12, else format 4)."""
    (count,) = struct.unpack_from(">H", table, 2)
    subtables: dict[tuple[int, int], int] = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", table, 4 + 8 * i)
        subtables[(platform, encoding)] = offset
    for key in ((3, 10), (0, 4), (3, 1), (0, 3)):
        if key not in subtables:
            continue
        offset = subtables[key]
        (fmt,) = struct.unpack_from(">H", table, offset)
        if fmt == 12:
            (groups,) = struct.unpack_from(">I", table, offset + 12)
            result: dict[int, int] = {}
            for g in range(groups):
                start, end, gid = struct.unpack_from(">III", table, offset + 16 + 12 * g)
                for cp in range(start, end + 1):
                    result[cp] = gid + cp - start
            return result
        if fmt == 4:
            return _cmap4(table, offset)
    raise ValueError("no Unicode character map")


def _cmap4(table: bytes, offset: int) -> dict[int, int]:
    (segx2,) = struct.unpack_from(">H", table, offset + 6)
    segs = segx2 // 2
    ends = struct.unpack_from(f">{segs}H", table, offset + 14)
    starts = struct.unpack_from(f">{segs}H", table, offset + 16 + segx2)
    deltas = struct.unpack_from(f">{segs}h", table, offset + 16 + 2 * segx2)
    range_at = offset + 16 + 3 * segx2
    ranges = struct.unpack_from(f">{segs}H", table, range_at)
    result: dict[int, int] = {}
    for i in range(segs):
        for cp in range(starts[i], ends[i] + 1):
            if cp == 0xFFFF:
                continue
            if ranges[i] == 0:
                gid = (cp + deltas[i]) & 0xFFFF
            else:
                at = range_at + 2 * i + ranges[i] + 2 * (cp - starts[i])
                (gid,) = struct.unpack_from(">H", table, at)
                if gid:
                    gid = (gid + deltas[i]) & 0xFFFF
            if gid:
                result[cp] = gid
    return result


def _ps_name(table: bytes) -> str:
    count, string_offset = struct.unpack_from(">HH", table, 2)
    for i in range(count):
        platform, _enc, _lang, name_id, length, offset = struct.unpack_from(
            ">HHHHHH", table, 6 + 12 * i
        )
        if name_id != 6:
            continue
        raw = table[string_offset + offset : string_offset + offset + length]
        text = raw.decode("utf-16-be") if platform in (0, 3) else raw.decode("latin-1")
        return "".join(c for c in text if c.isalnum() or c in "-_") or "Font"
    return "Font"


def parse_truetype(data: bytes) -> TrueTypeFont:
    """Read a TrueType font's metrics and character map."""
    t = _tables(data)
    for tag in ("head", "hhea", "hmtx", "maxp", "cmap"):
        if tag not in t:
            raise ValueError(f"the font has no '{tag}' table")
    head = t["head"]
    (upem,) = struct.unpack_from(">H", head, 18)
    x0, y0, x1, y1 = struct.unpack_from(">hhhh", head, 36)
    ascent, descent = struct.unpack_from(">hh", t["hhea"], 4)
    (n_metrics,) = struct.unpack_from(">H", t["hhea"], 34)
    (n_glyphs,) = struct.unpack_from(">H", t["maxp"], 4)
    hmtx = t["hmtx"]
    advances = [struct.unpack_from(">H", hmtx, 4 * i)[0] for i in range(n_metrics)]
    advances += [advances[-1]] * (n_glyphs - n_metrics)
    cap = ascent * 0.7
    os2 = t.get("OS/2", b"")
    if len(os2) >= 90 and struct.unpack_from(">H", os2, 0)[0] >= 2:
        cap = struct.unpack_from(">h", os2, 88)[0]
    scale = 1000.0 / upem
    glyph_of = {chr(cp): gid for cp, gid in _cmap(t["cmap"]).items() if gid < n_glyphs}
    return TrueTypeFont(
        data=data,
        ps_name=_ps_name(t["name"]) if "name" in t else "Font",
        ascent=ascent * scale,
        descent=descent * scale,
        cap_height=cap * scale,
        bbox=(x0 * scale, y0 * scale, x1 * scale, y1 * scale),
        widths=tuple(a * scale for a in advances),
        glyph_of=glyph_of,
    )


@cache
def bundled_font() -> TrueTypeFont:
    """The DejaVu Sans subset shipped with mergekit (read once per process)."""
    path: Path = bundled("templates", "pdf", "fonts", FONT_FILE)
    try:
        return parse_truetype(path.read_bytes())
    except OSError as e:
        raise FormFieldError(
            f"{path}: cannot read mergekit's form font ({e.strerror}) - reinstall mergekit"
        ) from e
    except (ValueError, struct.error) as e:
        raise FormFieldError(
            f"{path}: not a usable TrueType font ({e}) - reinstall mergekit"
        ) from e


def normalise_text(text: str) -> str:
    """NFC, so 'e' + combining circumflex + tilde becomes the single glyph 'ễ' the font has
    (no shaping engine places combining marks)."""
    return unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------------------------------------
# Fonts for what the bundled font cannot draw: the form's own embedded font, then a font of
# this computer found through fontconfig (Noto CJK, Noto Sans Arabic / Hebrew, Symbola, ...).


@dataclass(frozen=True)
class FormFont:
    """A font the form itself embeds (in /AcroForm /DR), drawn through its own encoding:
    a Type0 / Identity-H font whose ToUnicode map says which code draws which character."""

    resource: str  # its name in /DR /Font, e.g. "F2"
    ref: str  # "12 0": the font dictionary, which appearances reference as it is
    code_of: dict[str, int] = field(repr=False)  # character -> two-byte code
    widths: dict[int, float] = field(repr=False)  # code -> advance, 1/1000 em
    default_width: float = 1000.0

    def has(self, ch: str) -> bool:
        return ch in self.code_of

    def advance(self, ch: str) -> float:
        code = self.code_of.get(ch)
        return self.widths.get(code, self.default_width) if code is not None else 0.0


_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


def _utf16(hexdigits: bytes) -> str:
    raw = bytes.fromhex(hexdigits.decode("ascii"))
    try:
        return raw.decode("utf-16-be")
    except UnicodeDecodeError:
        return ""


def parse_to_unicode(cmap: bytes) -> dict[int, str]:
    """Code -> text from a ToUnicode CMap (bfchar and bfrange sections)."""
    out: dict[int, str] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        codes = _HEX.findall(section)
        for src, dst in zip(codes[0::2], codes[1::2], strict=False):
            out[int(src, 16)] = _utf16(dst)
    for section in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for line in section.splitlines():
            parts = re.findall(rb"<[0-9A-Fa-f]+>|\[[^\]]*\]", line)
            if len(parts) != 3:
                continue
            lo, hi = int(parts[0][1:-1], 16), int(parts[1][1:-1], 16)
            if hi - lo > 0xFFFF:
                continue
            if parts[2].startswith(b"["):
                for i, dst in enumerate(_HEX.findall(parts[2])):
                    out[lo + i] = _utf16(dst)
            else:
                first = _utf16(parts[2][1:-1])
                if len(first) == 1:
                    for i in range(hi - lo + 1):
                        out[lo + i] = chr(ord(first) + i)
    return out


def parse_cid_widths(w: list[Any]) -> dict[int, float]:
    """A CIDFont /W array ``[c [w1 w2 ...] c1 c2 w ...]`` as code -> width."""
    out: dict[int, float] = {}
    i = 0
    while i < len(w):
        first = w[i]
        if i + 1 < len(w) and isinstance(w[i + 1], list):
            for j, width in enumerate(w[i + 1]):
                out[int(first) + j] = float(width)
            i += 2
        elif i + 2 < len(w):
            for c in range(int(first), int(w[i + 1]) + 1):
                out[c] = float(w[i + 2])
            i += 3
        else:
            break
    return out


# -- system fonts -----------------------------------------------------------------------------


@dataclass(eq=False)  # compared (and cached) by identity: one object per installed font
class SystemFont:
    """An installed font (TrueType or OpenType/CFF, in a collection or not) used for what the
    bundled font lacks. Shaped with HarfBuzz (joining, ligatures, marks), subset with
    fontTools when a filled copy embeds it."""

    path: Path
    index: int
    ps_name: str
    upem: int
    ascent: float  # 1/1000 em
    descent: float
    cap_height: float
    bbox: tuple[float, float, float, float]
    cff: bool  # CFF outlines: embedded as /FontFile3 /OpenType (CIDFontType0)
    cmap: dict[int, str] = field(repr=False)  # code point -> glyph name
    glyph_order: list[str] = field(repr=False)
    advances: dict[str, float] = field(repr=False)  # glyph name -> advance, 1/1000 em
    _hb: Any = field(repr=False, default=None)

    def has(self, ch: str) -> bool:
        return ord(ch) in self.cmap

    @property
    def key(self) -> str:
        return f"{self.path}#{self.index}"

    def hb_font(self) -> Any:
        if self._hb is None:
            import uharfbuzz as hb

            blob = hb.Blob.from_file_path(str(self.path))
            face = hb.Face(blob, self.index)
            font = hb.Font(face)
            font.scale = (self.upem, self.upem)
            self._hb = font
        return self._hb


def _load_system_font(path: Path, index: int) -> SystemFont | None:
    """The font at ``path`` (face ``index``), or None when it has no outlines mergekit can
    embed (colour-bitmap emoji fonts: a PDF viewer would draw nothing)."""
    try:
        from fontTools.ttLib import TTFont

        with TTFont(str(path), fontNumber=index, lazy=True) as tt:
            return _read_system_font(tt, path, index)
    except Exception:  # a damaged or unreadable font: fontconfig's next choice is used
        return None


def _read_system_font(tt: Any, path: Path, index: int) -> SystemFont | None:
    if "glyf" not in tt and "CFF " not in tt:
        return None  # bitmap-only (CBDT, sbix): nothing a PDF can draw as text
    head = tt["head"]
    upem = int(head.unitsPerEm)
    scale = 1000.0 / upem
    hhea = tt["hhea"]
    os2 = tt.get("OS/2", None)
    cap = getattr(os2, "sCapHeight", 0) or hhea.ascent * 0.7
    cmap = dict(tt.getBestCmap() or {})
    order = list(tt.getGlyphOrder())
    hmtx = tt["hmtx"].metrics
    name = tt["name"].getDebugName(6) if "name" in tt else None
    ps = "".join(c for c in (name or path.stem) if c.isascii() and (c.isalnum() or c in "-_"))
    ps = ps or "Font"
    return SystemFont(
        path=path,
        index=index,
        ps_name=ps,
        upem=upem,
        ascent=hhea.ascent * scale,
        descent=hhea.descent * scale,
        cap_height=cap * scale,
        bbox=(
            head.xMin * scale,
            head.yMin * scale,
            head.xMax * scale,
            head.yMax * scale,
        ),
        cff="CFF " in tt,
        cmap=cmap,
        glyph_order=order,
        advances={g: m[0] * scale for g, m in hmtx.items()},
    )


@cache
def _fontconfig_order() -> dict[tuple[str, int], int]:
    """Every installed font in fontconfig's order of preference for sans-serif text."""
    fc = shutil.which("fc-match")
    if fc is None:
        return {}
    try:
        done = subprocess.run(
            [fc, "-a", "--format", "%{file}|%{index}\n", "sans-serif:color=false"],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    order: dict[tuple[str, int], int] = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        file, _, index = line.rpartition("|")
        if file and index.isdigit():
            order.setdefault((file, int(index)), len(order))
    return order


@cache
def _font_at(path: str, index: int) -> SystemFont | None:
    return _load_system_font(Path(path), index)


@cache
def system_font_for(ch: str) -> SystemFont | None:
    """The installed font fontconfig prefers among those that draw ``ch`` with outlines
    (never a colour-bitmap emoji font), or None when no font has it or there is no
    fontconfig (Windows)."""
    fc = shutil.which("fc-list")
    if fc is None:
        return None
    try:
        done = subprocess.run(
            [
                fc,
                "--format",
                "%{file}|%{index}|%{outline}\n",
                f":charset={ord(ch):x}:color=false:outline=true",
            ],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    order = _fontconfig_order()
    candidates: list[tuple[int, str, int]] = []
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = line.rsplit("|", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        file, index = parts[0], int(parts[1])
        candidates.append((order.get((file, index), len(order)), file, index))
    for _rank, file, index in sorted(candidates):
        font = _font_at(file, index)
        if font is not None and font.has(ch):
            return font
    return None


def to_unicode_cmap(text_of: dict[int, str]) -> bytes:
    """A ToUnicode CMap mapping each 2-byte code (a glyph id) to its text, so copying and
    text extraction give the real name; codes without text are left out."""
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    entries = sorted((c, t) for c, t in text_of.items() if t)
    for start in range(0, len(entries), 100):
        chunk = entries[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines.extend(f"<{c:04X}> <{t.encode('utf-16-be').hex().upper()}>" for c, t in chunk)
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")
