"""PDF syntax as bytes, for the form filler: pypdf objects serialised, PDF strings, names and
numbers, colours and /DA font settings, widget placement, and the writer of one incremental
update (new objects with their offsets, the cross-reference section and trailer).
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
)


def _ser(obj: PdfObject) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf)
    return buf.getvalue()


def _body(d: DictionaryObject, drop: frozenset[str]) -> bytes:
    """A dictionary's entries (without ``<< >>``), leaving out the keys a fill rewrites."""
    buf = io.BytesIO()
    for key, value in d.items():
        if key in drop:
            continue
        NameObject(key).write_to_stream(buf)
        buf.write(b" ")
        value.write_to_stream(buf)
        buf.write(b"\n")
    return buf.getvalue()


_LITERAL_SAFE = re.compile(r"^[\x20-\x7e]*$")


def pdf_text(text: str) -> bytes:
    """A PDF text string: a literal for plain ASCII, else UTF-16BE with a byte-order mark
    (how every viewer expects non-Latin names in /V)."""
    if _LITERAL_SAFE.match(text):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return f"({escaped})".encode("ascii")
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _name(state: str) -> bytes:
    return _ser(NameObject("/" + state))


def _num(x: float) -> str:
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _ref(obj: IndirectObject) -> str:
    return f"{obj.idnum} {obj.generation}"


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    value = value.get_object() if isinstance(value, PdfObject) else value
    if not isinstance(value, ArrayObject) or len(value) != n:
        return None
    try:
        return tuple(float(v.get_object()) for v in value)
    except (TypeError, ValueError):
        return None


def colour_op(value: Any, stroke: bool) -> str:
    """A /MK colour array as a PDF colour operator ('' when absent or empty)."""
    value = value.get_object() if isinstance(value, PdfObject) else value
    if not isinstance(value, ArrayObject):
        return ""
    try:
        parts = [float(v.get_object()) for v in value]
    except (TypeError, ValueError):
        return ""
    ops = {1: "g", 3: "rg", 4: "k"}
    if len(parts) not in ops:
        return ""
    op = ops[len(parts)]
    return " ".join(_num(p) for p in parts) + " " + (op.upper() if stroke else op)


def parse_da(da: str) -> tuple[float, str]:
    """Font size (0 = auto) and fill-colour operator from a /DA string."""
    tokens = da.split()
    size = 0.0
    colour = "0 g"
    for i, tok in enumerate(tokens):
        try:
            if tok == "Tf" and i >= 1:
                size = float(tokens[i - 1])
            elif tok == "g" and i >= 1:
                colour = f"{float(tokens[i - 1]):g} g"
            elif tok == "rg" and i >= 3:
                colour = " ".join(f"{float(t):g}" for t in tokens[i - 3 : i]) + " rg"
            elif tok == "k" and i >= 4:
                colour = " ".join(f"{float(t):g}" for t in tokens[i - 4 : i]) + " k"
        except ValueError:
            continue
    return max(size, 0.0), colour


def placement(rect: tuple[float, ...], bbox: tuple[float, ...], matrix: tuple[float, ...]) -> str:
    """The ``cm`` that draws a form XObject into an annotation rectangle (PDF 32000-1,
    12.5.5: transform the BBox by the Matrix, then map that box onto the Rect)."""
    a, b, c, d, e, f = matrix
    xs, ys = [], []
    for x, y in ((bbox[0], bbox[1]), (bbox[2], bbox[1]), (bbox[0], bbox[3]), (bbox[2], bbox[3])):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    bw = max(xs) - min(xs)
    bh = max(ys) - min(ys)
    sx = (rect[2] - rect[0]) / bw if bw else 1.0
    sy = (rect[3] - rect[1]) / bh if bh else 1.0
    return (
        f"{_num(sx)} 0 0 {_num(sy)} {_num(rect[0] - min(xs) * sx)} {_num(rect[1] - min(ys) * sy)}"
    )


ROTATIONS = {
    0: (1.0, 0.0, 0.0, 1.0, 0.0, 0.0),
    90: (0.0, 1.0, -1.0, 0.0, 0.0, 0.0),
    180: (-1.0, 0.0, 0.0, -1.0, 0.0, 0.0),
    270: (0.0, -1.0, 1.0, 0.0, 0.0, 0.0),
}


class _Update:
    """The objects of one incremental update, with their byte offsets."""

    def __init__(self, base: bytes, first_free: int) -> None:
        self.parts: list[bytes] = [base]
        self.offset = len(base)
        if not base.endswith(b"\n"):
            self.parts.append(b"\n")
            self.offset += 1
        self.xref: list[tuple[int, int, int]] = []
        self.next = first_free

    def new_id(self) -> int:
        n = self.next
        self.next += 1
        return n

    def put(self, ref: str, payload: bytes) -> None:
        num, gen = ref.split()
        head = f"{ref} obj\n".encode("ascii")
        self.xref.append((int(num), int(gen), self.offset))
        chunk = head + payload + b"\nendobj\n"
        self.parts.append(chunk)
        self.offset += len(chunk)

    def stream(self, entries: str | bytes, content: bytes) -> int:
        n = self.new_id()
        head = entries.encode("ascii") if isinstance(entries, str) else entries
        self.put(
            f"{n} 0",
            b"<<"
            + head
            + f"/Length {len(content)}>>\nstream\n".encode("ascii")
            + content
            + b"\nendstream",
        )
        return n

    def finish(self, prev: int, trailer: str) -> bytes:
        rows = sorted(self.xref)
        lines = ["xref", "0 1", "0000000000 65535 f\r"]
        i = 0
        while i < len(rows):
            j = i
            while j + 1 < len(rows) and rows[j + 1][0] == rows[j][0] + 1:
                j += 1
            lines.append(f"{rows[i][0]} {j - i + 1}")
            lines.extend(f"{off:010d} {gen:05d} n\r" for _, gen, off in rows[i : j + 1])
            i = j + 1
        size = max(self.next, rows[-1][0] + 1 if rows else 0)
        tail = "\n".join(lines) + (
            f"\ntrailer\n<</Size {size}{trailer}/Prev {prev}>>\nstartxref\n{self.offset}\n%%EOF\n"
        )
        self.parts.append(tail.encode("ascii"))
        return b"".join(self.parts)
