"""The TrueType font mergekit draws form values with, and its PDF objects.

Filled values must show in every viewer whatever the name (``Zoë Łukasz Nguyễn``), so
mergekit never relies on a viewer's own fonts: it ships a subset of DejaVu Sans
(``templates/pdf/fonts/``) and embeds it as a Type0 font with Identity-H encoding (two bytes
per glyph id) and a ToUnicode map, so the text stays searchable and copyable.

Only the tables needed for metrics are read here (no font library at run time).
"""

from __future__ import annotations

import struct
import unicodedata
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

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
        entries = sorted(first.items())
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
        for start in range(0, len(entries), 100):
            chunk = entries[start : start + 100]
            lines.append(f"{len(chunk)} beginbfchar")
            lines.extend(f"<{g:04X}> <{ch.encode('utf-16-be').hex().upper()}>" for g, ch in chunk)
            lines.append("endbfchar")
        lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
        return "\n".join(lines).encode("ascii")

    def font_file(self) -> bytes:
        """The font program, Flate-compressed for /FontFile2."""
        return zlib.compress(self.data, 9)


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
