"""A small TrueType subsetter for the font mergekit ships (development only).

Keeps the glyphs of the chosen characters (plus the components of composite glyphs),
renumbers them, strips hinting instructions (PDF viewers rasterise without them) and layout
tables (mergekit draws precomposed characters; there is no shaping), and rebuilds cmap, hmtx,
loca, glyf, maxp and post. Used by scripts/make_pdf_templates.py; no third-party library.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

# Tables that survive: the ones a PDF TrueType font program and text extraction need.
KEEP = ("head", "hhea", "maxp", "OS/2", "name", "cmap", "hmtx", "loca", "glyf", "post")

ARG_1_AND_2_ARE_WORDS = 0x0001
WE_HAVE_A_SCALE = 0x0008
MORE_COMPONENTS = 0x0020
WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
WE_HAVE_A_TWO_BY_TWO = 0x0080
WE_HAVE_INSTRUCTIONS = 0x0100


def _tables(data: bytes) -> dict[str, bytes]:
    (num,) = struct.unpack_from(">H", data, 4)
    out = {}
    for i in range(num):
        tag, _c, off, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        out[tag.decode("latin-1")] = data[off : off + length]
    return out


def _cmap_bmp(table: bytes) -> dict[int, int]:
    (count,) = struct.unpack_from(">H", table, 2)
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", table, 4 + 8 * i)
        if (platform, encoding) == (3, 1):
            break
    else:
        raise ValueError("no Windows Unicode BMP cmap")
    (segx2,) = struct.unpack_from(">H", table, offset + 6)
    n = segx2 // 2
    ends = struct.unpack_from(f">{n}H", table, offset + 14)
    starts = struct.unpack_from(f">{n}H", table, offset + 16 + segx2)
    deltas = struct.unpack_from(f">{n}h", table, offset + 16 + 2 * segx2)
    ra = offset + 16 + 3 * segx2
    ranges = struct.unpack_from(f">{n}H", table, ra)
    result = {}
    for i in range(n):
        for cp in range(starts[i], ends[i] + 1):
            if cp == 0xFFFF:
                continue
            if ranges[i] == 0:
                gid = (cp + deltas[i]) & 0xFFFF
            else:
                (gid,) = struct.unpack_from(
                    ">H", table, ra + 2 * i + ranges[i] + 2 * (cp - starts[i])
                )
                gid = (gid + deltas[i]) & 0xFFFF if gid else 0
            if gid:
                result[cp] = gid
    return result


def _glyphs(t: dict[str, bytes]) -> list[bytes]:
    head, loca, glyf = t["head"], t["loca"], t["glyf"]
    (n,) = struct.unpack_from(">H", t["maxp"], 4)
    (long_loca,) = struct.unpack_from(">h", head, 50)
    if long_loca:
        offs = struct.unpack_from(f">{n + 1}I", loca)
    else:
        offs = tuple(2 * o for o in struct.unpack_from(f">{n + 1}H", loca))
    return [glyf[offs[i] : offs[i + 1]] for i in range(n)]


def _components(glyph: bytes) -> list[tuple[int, int]]:
    """(byte offset of the glyph index, glyph index) of each component of a composite glyph."""
    out = []
    at = 10
    while True:
        flags, gid = struct.unpack_from(">HH", glyph, at)
        out.append((at + 2, gid))
        at += 4 + (4 if flags & ARG_1_AND_2_ARE_WORDS else 2)
        if flags & WE_HAVE_A_SCALE:
            at += 2
        elif flags & WE_HAVE_AN_X_AND_Y_SCALE:
            at += 4
        elif flags & WE_HAVE_A_TWO_BY_TWO:
            at += 8
        if not flags & MORE_COMPONENTS:
            return out


def _strip(glyph: bytes, remap: dict[int, int]) -> bytes:
    """The glyph without hinting instructions, components renumbered."""
    if not glyph:
        return glyph
    (contours,) = struct.unpack_from(">h", glyph, 0)
    if contours >= 0:
        ilen_at = 10 + 2 * contours
        (ilen,) = struct.unpack_from(">H", glyph, ilen_at)
        return glyph[:ilen_at] + b"\0\0" + glyph[ilen_at + 2 + ilen :]
    out = bytearray(glyph)
    at = 10
    while True:
        flags, gid = struct.unpack_from(">HH", out, at)
        struct.pack_into(">HH", out, at, flags & ~WE_HAVE_INSTRUCTIONS, remap[gid])
        at += 4 + (4 if flags & ARG_1_AND_2_ARE_WORDS else 2)
        if flags & WE_HAVE_A_SCALE:
            at += 2
        elif flags & WE_HAVE_AN_X_AND_Y_SCALE:
            at += 4
        elif flags & WE_HAVE_A_TWO_BY_TWO:
            at += 8
        if not flags & MORE_COMPONENTS:
            return bytes(out[:at])


def _cmap4(mapping: dict[int, int]) -> bytes:
    """A (3,1) format-4 cmap; one segment per run of code points with consecutive glyphs."""
    segs: list[tuple[int, int, int]] = []
    for cp in sorted(mapping):
        gid = mapping[cp]
        if segs and segs[-1][1] == cp - 1 and segs[-1][2] + (cp - segs[-1][0]) == gid:
            segs[-1] = (segs[-1][0], cp, segs[-1][2])
        else:
            segs.append((cp, cp, gid))
    segs.append((0xFFFF, 0xFFFF, 1))  # the required last segment (maps to glyph 0)
    n = len(segs)
    pow2 = 1
    while pow2 * 2 <= n:
        pow2 *= 2
    body = struct.pack(">HHHH", 2 * n, 2 * pow2, pow2.bit_length() - 1, 2 * n - 2 * pow2)
    body += struct.pack(f">{n}H", *(e for _, e, _ in segs)) + b"\0\0"
    body += struct.pack(f">{n}H", *(s for s, _, _ in segs))
    body += struct.pack(f">{n}h", *(((g - s + 0x8000) & 0xFFFF) - 0x8000 for s, _, g in segs))
    body += struct.pack(f">{n}H", *([0] * n))
    sub = struct.pack(">HHH", 4, 6 + len(body), 0) + body
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + sub


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def subset(data: bytes, codepoints: Iterable[int]) -> bytes:
    t = _tables(data)
    cmap = _cmap_bmp(t["cmap"])
    glyphs = _glyphs(t)
    wanted = {cp: cmap[cp] for cp in codepoints if cp in cmap}
    keep = {0, *wanted.values()}
    todo = list(keep)
    while todo:
        g = glyphs[todo.pop()]
        if g and struct.unpack_from(">h", g, 0)[0] < 0:
            for _, comp in _components(g):
                if comp not in keep:
                    keep.add(comp)
                    todo.append(comp)
    order = sorted(keep)
    remap = {old: new for new, old in enumerate(order)}
    n = len(order)

    glyf = bytearray()
    offsets = []
    for old in order:
        offsets.append(len(glyf))
        g = _strip(glyphs[old], remap)
        glyf += g + b"\0" * (-len(g) % 4)
    offsets.append(len(glyf))
    loca = struct.pack(f">{n + 1}I", *offsets)

    (n_metrics,) = struct.unpack_from(">H", t["hhea"], 34)
    hmtx_old = t["hmtx"]

    def metric(gid: int) -> tuple[int, int]:
        if gid < n_metrics:
            adv, lsb = struct.unpack_from(">Hh", hmtx_old, 4 * gid)
            return adv, lsb
        (adv,) = struct.unpack_from(">H", hmtx_old, 4 * (n_metrics - 1))
        (lsb,) = struct.unpack_from(">h", hmtx_old, 4 * n_metrics + 2 * (gid - n_metrics))
        return adv, lsb

    hmtx = b"".join(struct.pack(">Hh", *metric(old)) for old in order)
    hhea = bytearray(t["hhea"])
    struct.pack_into(">H", hhea, 34, n)
    maxp = bytearray(t["maxp"])
    struct.pack_into(">H", maxp, 4, n)
    head = bytearray(t["head"])
    struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
    struct.pack_into(">h", head, 50, 1)  # long loca offsets
    post = bytearray(t["post"][:32])
    struct.pack_into(">I", post, 0, 0x00030000)  # format 3: no glyph names

    new = {
        "head": bytes(head),
        "hhea": bytes(hhea),
        "maxp": bytes(maxp),
        "OS/2": t["OS/2"],
        "name": t["name"],
        "cmap": _cmap4({cp: remap[g] for cp, g in wanted.items()}),
        "hmtx": hmtx,
        "loca": loca,
        "glyf": bytes(glyf),
        "post": bytes(post),
    }
    tags = sorted(new)
    num = len(tags)
    pow2 = 1
    while pow2 * 2 <= num:
        pow2 *= 2
    out = bytearray(
        struct.pack(
            ">IHHHH", 0x00010000, num, 16 * pow2, pow2.bit_length() - 1, 16 * num - 16 * pow2
        )
    )
    offset = 12 + 16 * num
    body = bytearray()
    for tag in tags:
        table = new[tag]
        out += struct.pack(
            ">4sIII", tag.encode("latin-1"), _checksum(table), offset + len(body), len(table)
        )
        body += table + b"\0" * (-len(table) % 4)
    font = bytearray(out + body)
    head_at = offset + sum(len(new[x]) + (-len(new[x]) % 4) for x in tags[: tags.index("head")])
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)
