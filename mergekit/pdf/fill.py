"""Filling a PDF form fast: prepare the template once, then write each copy as a small
incremental update appended to the prepared bytes.

Preparing (once per template per process, with pypdf) makes the form safe to fill in every
viewer: it decrypts an empty-password file, removes the XFA copy of a hybrid form and the
Reader-extension signature that editing would break, adds fields that are on the pages but
missing from the field list, gives check boxes without an appearance a drawn tick, embeds
mergekit's font and turns NeedAppearances off (mergekit draws every value itself, so viewers
must not redraw them with fonts that lack the pupil's name). Then it records, for every field
and widget, its object number and its dictionary serialised without the keys a fill changes.

Filling a copy then only formats strings: new appearance streams and the changed field and
widget dictionaries, appended after the prepared bytes with their own cross-reference
section (a standard PDF incremental update, read by every viewer). Flattening appends new
page contents that draw every widget's appearance and drops the widgets and the form.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

from mergekit.core.errors import FormFieldError
from mergekit.pdf import draw as pdfdraw
from mergekit.pdf.draw import FONT_RESOURCE, Box, TextStyle
from mergekit.pdf.font import TrueTypeFont, bundled_font, normalise_text
from mergekit.pdf.reader import (
    ANNOT_HIDDEN,
    ANNOT_NO_VIEW,
    FF_COMB,
    FF_EDIT,
    FF_MULTILINE,
    RawField,
    appearance_states,
    by_name,
    checked_scan,
    open_pdf_bytes,
    primary,
    scan,
)

YES_WORDS = frozenset({"yes", "y", "true", "1", "on", "x", "ticked", "checked", "☒", "✓", "✔"})
NO_WORDS = frozenset({"no", "n", "false", "0", "off", "", "unticked", "☐"})
FILLABLE = ("text", "checkbox", "radio", "combo", "list")

Value = str | bool | None


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


@dataclass(frozen=True)
class Appearance:
    """An appearance stream already in the file, and where flattening draws it."""

    ref: str
    cm: str


@dataclass
class WidgetPlan:
    ref: str
    body: bytes  # the dictionary without the keys a fill changes
    page: int | None
    rect: tuple[float, float, float, float]
    box: Box
    matrix: tuple[float, ...]
    hidden: bool
    holds_value: bool  # the widget dictionary is also the field's (it gets /V)
    states: dict[str, Appearance]  # "" = a text field's normal appearance
    current: str  # the /AS in the template ("" for text fields)

    @property
    def bbox_entry(self) -> str:
        m = self.matrix
        matrix = "" if m == ROTATIONS[0] else "/Matrix[" + " ".join(_num(x) for x in m) + "]"
        return f"/BBox[0 0 {_num(self.box.width)} {_num(self.box.height)}]{matrix}"


@dataclass
class FieldPlan:
    name: str
    kind: str
    ref: str | None  # a field dictionary separate from its widgets
    body: bytes
    widgets: list[WidgetPlan]
    style: TextStyle
    max_len: int
    options: tuple[tuple[str, str], ...]
    editable: bool  # a combo box that accepts any text
    states: tuple[str, ...]
    state_labels: dict[str, str]  # button state -> /Opt text (for forms that export by index)
    blank: bool  # empty / unticked in the template, so an empty value changes nothing


@dataclass
class PagePlan:
    ref: str
    body: bytes  # without /Annots /Contents /Resources
    contents: str  # the original content stream references
    resources: bytes  # without /XObject
    xobjects: bytes
    kept_annots: str
    widgets: list[str]  # widget refs in annotation order


@dataclass
class Prepared:
    """A template ready to be filled many times."""

    path: Path
    base: bytes
    size: int  # first free object number
    prev: int  # offset of the prepared file's cross-reference section
    trailer: str  # /Root, /Info and /ID entries for each update's trailer
    root_ref: str
    root_body: bytes  # the catalog without /AcroForm (used when flattening)
    font_ref: str
    font: TrueTypeFont
    fields: dict[str, list[FieldPlan]]
    widgets: dict[str, WidgetPlan]
    pages: list[PagePlan]
    notes: tuple[str, ...]
    field_info: dict[str, str] = field(default_factory=dict)  # name -> kind

    def render(self, values: Mapping[str, Value], flatten: bool) -> tuple[bytes, list[str]]:
        """The filled copy's bytes, and notes for staff."""
        up = _Update(self.base, self.size)
        notes: list[str] = []
        drawn: dict[str, Appearance] = {}  # widget ref -> new appearance (for flattening)
        chosen: dict[str, str] = {}  # widget ref -> chosen state
        res = f"/Resources<</Font<</{FONT_RESOURCE} {self.font_ref} R>>>>".encode("ascii")
        for name, value in values.items():
            for plan in self.fields[name]:
                _fill(self, plan, value, up, res, notes, drawn, chosen, flatten)
        if flatten:
            self._flatten(up, drawn, chosen)
        return up.finish(self.prev, self.trailer), notes

    def _flatten(self, up: _Update, drawn: dict[str, Appearance], chosen: dict[str, str]) -> None:
        for page in self.pages:
            if not page.widgets:
                continue
            ops: list[str] = []
            xobjects: list[str] = []
            for i, wref in enumerate(page.widgets):
                w = self.widgets.get(wref)
                if w is None or w.hidden:
                    continue
                ap = drawn.get(wref) or w.states.get(chosen.get(wref, w.current))
                if ap is None:
                    continue
                xobjects.append(f"/MkW{i} {ap.ref} R")
                ops.append(f"q {ap.cm} cm /MkW{i} Do Q")
            before = up.stream("", b"q\n")
            after = up.stream("", ("Q\n" + "\n".join(ops) + "\n").encode("ascii"))
            contents = f"/Contents[{before} 0 R {page.contents} {after} 0 R]"
            annots = f"/Annots[{page.kept_annots}]" if page.kept_annots else ""
            resources = (
                b"/Resources<<"
                + page.resources
                + b"/XObject<<"
                + page.xobjects
                + " ".join(xobjects).encode("ascii")
                + b">>>>"
            )
            up.put(
                page.ref,
                b"<<"
                + page.body
                + contents.encode("ascii")
                + annots.encode("ascii")
                + resources
                + b">>",
            )
        up.put(self.root_ref, b"<<" + self.root_body + b">>")


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


# ---------------------------------------------------------------------------------------------
# Filling one field


def _fill(
    form: Prepared,
    plan: FieldPlan,
    value: Value,
    up: _Update,
    res: bytes,
    notes: list[str],
    drawn: dict[str, Appearance],
    chosen: dict[str, str],
    flatten: bool,
) -> None:
    if plan.kind in ("checkbox", "radio"):
        state = _state(form, plan, value)
        if state is None and plan.blank:
            return  # already unticked in the template: nothing to write
        v = _name(state) if state else b"/Off"
        for w in plan.widgets:
            s = state if state in w.states else "Off"
            chosen[w.ref] = s
            if flatten:
                continue
            extra = b"/V " + v if w.holds_value else b""
            up.put(w.ref, b"<<" + w.body + b"/AS " + _name(s) + extra + b">>")
        if plan.ref and not flatten:
            up.put(plan.ref, b"<<" + plan.body + b"/V " + v + b">>")
        return

    text = _as_text(value)
    if not text and plan.blank:
        return  # already empty in the template: nothing to write
    if plan.max_len and len(text) > plan.max_len and plan.kind == "text":
        notes.append(
            f"{plan.name}: {text!r} is longer than the field allows ({plan.max_len} "
            f"characters); it was cut to {text[: plan.max_len]!r}"
        )
        text = text[: plan.max_len]
    missing = form.font.missing(text)
    if missing:
        notes.append(
            f"{plan.name}: the form font has no {missing!r}; those characters print as empty boxes"
        )
    selected: set[int] = set()
    if plan.kind in ("combo", "list"):
        text, selected = _choice(form, plan, text)
    v = pdf_text(text)
    extra_v = b"/V " + v
    if plan.kind == "list":
        extra_v += ("/I[" + " ".join(str(i) for i in sorted(selected)) + "]").encode("ascii")
    for w in plan.widgets:
        if w.box.width < 1 or w.box.height < 1:
            content = ""
        elif plan.kind == "list":
            labels = [d for _, d in plan.options]
            top = min(selected) if selected else 0
            content = pdfdraw.list_appearance(form.font, w.box, plan.style, labels, selected, top)
        else:
            shown = text
            if plan.kind == "combo":
                shown = next((d for e, d in plan.options if e == text), text)
            content = pdfdraw.text_appearance(form.font, w.box, plan.style, shown)
        n = up.stream(
            b"/Type/XObject/Subtype/Form" + w.bbox_entry.encode("ascii") + res,
            content.encode("ascii"),
        )
        if flatten:
            bbox = (0.0, 0.0, w.box.width, w.box.height)
            drawn[w.ref] = Appearance(f"{n} 0", placement(w.rect, bbox, w.matrix))
            continue
        ap = f"/AP<</N {n} 0 R>>".encode("ascii")
        up.put(w.ref, b"<<" + w.body + ap + (extra_v if w.holds_value else b"") + b">>")
    if plan.ref and not flatten:
        up.put(plan.ref, b"<<" + plan.body + extra_v + b">>")
    if all(w.page is None for w in plan.widgets):
        notes.append(f"{plan.name}: the field is on no page, so no viewer shows its value")


def _as_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return normalise_text(str(value))


def _state(form: Prepared, plan: FieldPlan, value: Value) -> str | None:
    """Which on-state a value selects (None = all boxes off), by the field's own export
    values: 'YES'/'Yes'/'On'/'1'/custom, or their /Opt labels."""
    states = plan.states
    if isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = ("" if value is None else str(value)).strip().casefold()
    for s in states if text else ():
        label = plan.state_labels.get(s)
        if s.strip().casefold() == text or (label is not None and label.strip().casefold() == text):
            return s
    yes = [s for s in states if s.strip().casefold() in YES_WORDS]
    no = [s for s in states if s.strip().casefold() in NO_WORDS]
    pair = len(states) == 2 and len(yes) == 1 and len(no) == 1
    if text in NO_WORDS:
        return no[0] if pair and text else None
    if text in YES_WORDS:
        if len(states) == 1:
            return states[0]
        if len(yes) == 1:
            return yes[0]
    choices = ", ".join(repr(plan.state_labels.get(s, s)) for s in states) or "none"
    raise FormFieldError(
        f"{form.path.name}: field '{plan.name}' is a {plan.kind} whose boxes export {choices}; "
        f"{value!r} is none of them - map it to a YES/NO field or to one of those values"
    )


def _choice(form: Prepared, plan: FieldPlan, text: str) -> tuple[str, set[int]]:
    if not text:
        return "", set()
    folded = text.casefold()
    for i, (export, display) in enumerate(plan.options):
        if folded in (export.casefold(), display.casefold()):
            return export, {i}
    if plan.kind == "combo" and plan.editable:
        return text, set()
    choices = ", ".join(repr(d) for _, d in plan.options[:12])
    raise FormFieldError(
        f"{form.path.name}: field '{plan.name}' is a {plan.kind} box offering {choices}; "
        f"{text!r} is not one of them - map a field whose values match, or ask for the form "
        "to allow typed answers"
    )


# ---------------------------------------------------------------------------------------------
# Preparing a template


def prepare(path: Path, data: bytes) -> Prepared:
    reader, notes = open_pdf_bytes(path, data)
    found = checked_scan(path, reader)
    if not found.fields:
        raise FormFieldError(
            f"{path.name}: the PDF has no form fields - it is a flat document; ask for the "
            "fillable version of the form"
        )
    try:
        writer = PdfWriter(clone_from=reader)
    except Exception as e:  # pypdf fails in many ways on damaged object graphs
        raise FormFieldError(
            f"{path.name}: the PDF is damaged and cannot be copied ({e}) - ask for a fresh copy"
        ) from e
    notes += _repair(writer, path)
    font = bundled_font()
    _add_font(writer, font)
    out = io.BytesIO()
    writer.write(out)
    return _plan(path, out.getvalue(), font, tuple(notes))


def _resolved(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, PdfObject) else obj


def _d(obj: Any) -> DictionaryObject:
    """A dictionary the form must have (resolved); a FormFieldError when it is not one."""
    obj = obj.get_object() if isinstance(obj, PdfObject) else obj
    if not isinstance(obj, DictionaryObject):
        raise FormFieldError(
            f"the form's structure is damaged (expected a dictionary, found {type(obj).__name__})"
            " - ask for a fresh copy of the form"
        )
    return obj


def _repair(writer: PdfWriter, path: Path) -> list[str]:
    notes: list[str] = []
    root = writer.root_object
    found = scan(writer)
    acro = _d(root.get("/AcroForm"))
    if not isinstance(root.get("/AcroForm"), IndirectObject):
        root[NameObject("/AcroForm")] = writer._add_object(acro)
    if "/XFA" in acro:
        del acro["/XFA"]
        notes.append(
            "XFA hybrid: the XFA copy of the form was removed so every viewer (Acrobat "
            "included) shows the filled AcroForm values"
        )
    if "/NeedsRendering" in root:
        del root["/NeedsRendering"]
    if "/Perms" in root:
        del root["/Perms"]
        notes.append(
            "the form was 'Reader extended' (a signature a change would break); that "
            "extension was removed so Adobe Reader opens the filled copy without an error"
        )
    acro[NameObject("/NeedAppearances")] = BooleanObject(False)
    fields = acro.get("/Fields")
    if not isinstance(fields, ArrayObject):
        fields = ArrayObject()
        acro[NameObject("/Fields")] = fields
    for top, parent in found.orphans:
        if parent is None:
            fields.append(top)
        else:
            pnode = _d(parent)
            kids = pnode.get("/Kids")
            if isinstance(kids, ArrayObject):
                kids.append(top)
            else:
                pnode[NameObject("/Kids")] = ArrayObject([top])
            _d(top)[NameObject("/Parent")] = parent
    if found.orphans:
        notes.append(
            f"{len(found.orphans)} branch(es) of fields were on the pages but missing from "
            "the form's field list; they were added"
        )
    for raw in found.fields:
        for w in raw.widgets:
            _fix_appearances(writer, raw, w.obj)
    return notes


def _fix_appearances(writer: PdfWriter, raw: RawField, widget: DictionaryObject) -> None:
    """Make every appearance a proper form XObject, and give check boxes that have none a
    drawn tick (LaTeX and some editors rely on the viewer to draw it)."""
    rect = _floats(widget.get("/Rect"), 4) or (0.0, 0.0, 0.0, 0.0)
    w = abs(rect[2] - rect[0])
    h = abs(rect[3] - rect[1])
    ap = widget.get("/AP")
    ap = ap.get_object() if ap is not None else None
    if raw.kind in ("checkbox", "radio") and not _drawable(widget):
        # No appearance, or one that is not a drawing (LaTeX writes /N << /Yes << >> >>):
        # draw a tick for the on-state and the bare frame for Off.
        on = widget.get("/AS")
        states = appearance_states(widget)
        state = (
            states[0] if states else str(on)[1:] if on is not None and str(on) != "/Off" else "Yes"
        )
        da = raw.inherited("/DA")
        _size, colour = parse_da(str(da) if da is not None else "")
        mk = widget.get("/MK")
        mk = mk.get_object() if mk is not None else None
        box = _box(mk if isinstance(mk, DictionaryObject) else None, widget, w, h)
        normal = DictionaryObject(
            {
                NameObject("/" + state): _form_stream(
                    writer, pdfdraw.tick(w, h, colour, box), w, h
                ),
                NameObject("/Off"): _form_stream(writer, pdfdraw.empty(box), w, h),
            }
        )
        widget[NameObject("/AP")] = DictionaryObject({NameObject("/N"): normal})
        if "/AS" not in widget:
            widget[NameObject("/AS")] = NameObject("/Off")
        return
    if raw.kind in ("checkbox", "radio"):
        _redraw_font_ticks(writer, raw, widget, w, h)
    if not isinstance(ap, DictionaryObject):
        return
    target = _resolved(ap.get("/N"))
    streams = []
    if isinstance(target, StreamObject):
        streams.append(target)
    elif isinstance(target, DictionaryObject):
        streams += [v.get_object() for v in target.values()]
    for s in streams:
        if isinstance(s, StreamObject):
            s[NameObject("/Type")] = NameObject("/XObject")
            s[NameObject("/Subtype")] = NameObject("/Form")
            if "/BBox" not in s:
                s[NameObject("/BBox")] = ArrayObject(
                    [FloatObject(0), FloatObject(0), FloatObject(w), FloatObject(h)]
                )


_VIEWER_FONTS = ("/ZapfDingbats", "/Symbol")
_TF = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+[-+\d.]+\s+Tf")


def _needs_viewer_font(stream: StreamObject) -> bool:
    """The appearance draws with ZapfDingbats or Symbol left for the viewer to supply:
    Acrobat and browsers have them, but poppler-based and many mobile viewers draw nothing."""
    res = stream.get("/Resources")
    res = res.get_object() if res is not None else None
    fonts = res.get("/Font") if isinstance(res, DictionaryObject) else None
    fonts = fonts.get_object() if fonts is not None else None
    if not isinstance(fonts, DictionaryObject):
        fonts = DictionaryObject()
    try:
        used = set(_TF.findall(stream.get_data()))
    except Exception:  # an undecodable stream: leave it to the viewer
        return False
    if any("/" + name.decode("latin-1") not in fonts for name in used):
        return True  # a font the stream does not declare (Word + Sejda forms do this)
    for f in fonts.values():
        font = f.get_object()
        if not isinstance(font, DictionaryObject):
            continue
        base = str(font.get("/BaseFont", ""))
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else None
        embedded = isinstance(descriptor, DictionaryObject) and any(
            k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
        )
        if not embedded and any(base.endswith(v[1:]) for v in _VIEWER_FONTS):
            return True
    return False


def _redraw_font_ticks(
    writer: PdfWriter, raw: RawField, widget: DictionaryObject, w: float, h: float
) -> None:
    """Replace on-state appearances that draw their tick with a viewer font by the same
    mark as a path over the box's own 'off' drawing, so every viewer shows the tick."""
    normal = _d(_d(widget["/AP"])["/N"])
    off = normal.get("/Off")
    off = off.get_object() if off is not None else None
    mk = widget.get("/MK")
    mk = mk.get_object() if mk is not None else None
    default = "l" if raw.kind == "radio" else "4"
    char = str(mk.get("/CA", default)) if isinstance(mk, DictionaryObject) else default
    da = raw.inherited("/DA")
    _size, colour = parse_da(str(da) if da is not None else "")
    for key in list(normal.keys()):
        stream = normal[key].get_object()
        if key == "/Off" or not isinstance(stream, StreamObject):
            continue
        if not _needs_viewer_font(stream):
            continue
        bbox = _floats(stream.get("/BBox"), 4) or (0.0, 0.0, w, h)
        under = off.get_data().decode("latin-1") if isinstance(off, StreamObject) else ""
        mark = pdfdraw.symbol(char[:1], bbox[2] - bbox[0], bbox[3] - bbox[1], colour)
        content = f"q\n{under}\nQ\nq 1 0 0 1 {_num(bbox[0])} {_num(bbox[1])} cm {mark} Q"
        new = DecodedStreamObject()
        new.set_data(content.encode("latin-1"))
        new[NameObject("/Type")] = NameObject("/XObject")
        new[NameObject("/Subtype")] = NameObject("/Form")
        new[NameObject("/BBox")] = ArrayObject([FloatObject(v) for v in bbox])
        source = off if isinstance(off, StreamObject) else stream
        for k in ("/Matrix", "/Resources"):
            if k in source:
                new[NameObject(k)] = source.raw_get(k)
        normal[NameObject(key)] = writer._add_object(new)


def _drawable(widget: DictionaryObject) -> bool:
    """The button has an on-state, and every state of its normal appearance is a stream."""
    if not appearance_states(widget):
        return False
    normal = _d(_d(widget["/AP"])["/N"])
    return all(isinstance(v.get_object(), StreamObject) for v in normal.values())


def _form_stream(writer: PdfWriter, content: str, w: float, h: float) -> IndirectObject:
    s = DecodedStreamObject()
    s.set_data(content.encode("ascii"))
    s[NameObject("/Type")] = NameObject("/XObject")
    s[NameObject("/Subtype")] = NameObject("/Form")
    s[NameObject("/BBox")] = ArrayObject(
        [FloatObject(0), FloatObject(0), FloatObject(w), FloatObject(h)]
    )
    return writer._add_object(s)


def _add_font(writer: PdfWriter, font: TrueTypeFont) -> IndirectObject:
    """mergekit's font as a Type0 / Identity-H font with ToUnicode, in the form's /DR."""
    program = StreamObject()
    program._data = font.font_file()
    program[NameObject("/Filter")] = NameObject("/FlateDecode")
    program[NameObject("/Length1")] = NumberObject(len(font.data))
    program_ref = writer._add_object(program)
    descriptor = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/FontDescriptor"),
                NameObject("/FontName"): NameObject("/" + font.base_font),
                NameObject("/Flags"): NumberObject(32),
                NameObject("/FontBBox"): ArrayObject([FloatObject(round(v)) for v in font.bbox]),
                NameObject("/ItalicAngle"): NumberObject(0),
                NameObject("/Ascent"): FloatObject(round(font.ascent)),
                NameObject("/Descent"): FloatObject(round(font.descent)),
                NameObject("/CapHeight"): FloatObject(round(font.cap_height)),
                NameObject("/StemV"): NumberObject(80),
                NameObject("/FontFile2"): program_ref,
            }
        )
    )
    widths = ArrayObject(
        [NumberObject(0), ArrayObject([NumberObject(round(w)) for w in font.widths])]
    )
    cid = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/CIDFontType2"),
                NameObject("/BaseFont"): NameObject("/" + font.base_font),
                NameObject("/CIDSystemInfo"): DictionaryObject(
                    {
                        NameObject("/Registry"): TextStringObject("Adobe"),
                        NameObject("/Ordering"): TextStringObject("Identity"),
                        NameObject("/Supplement"): NumberObject(0),
                    }
                ),
                NameObject("/FontDescriptor"): descriptor,
                NameObject("/W"): widths,
                NameObject("/CIDToGIDMap"): NameObject("/Identity"),
            }
        )
    )
    cmap = DecodedStreamObject()
    cmap.set_data(font.to_unicode_cmap())
    cmap_ref = writer._add_object(cmap.flate_encode())
    type0 = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type0"),
                NameObject("/BaseFont"): NameObject("/" + font.base_font),
                NameObject("/Encoding"): NameObject("/Identity-H"),
                NameObject("/DescendantFonts"): ArrayObject([cid]),
                NameObject("/ToUnicode"): cmap_ref,
            }
        )
    )
    acro = _d(writer.root_object["/AcroForm"])
    if not isinstance(_resolved(acro.get("/DR")), DictionaryObject):
        acro[NameObject("/DR")] = DictionaryObject()
    dr = _d(acro["/DR"])
    if not isinstance(_resolved(dr.get("/Font")), DictionaryObject):
        dr[NameObject("/Font")] = DictionaryObject()
    _d(dr["/Font"])[NameObject("/" + FONT_RESOURCE)] = type0
    return type0


def _box(mk: DictionaryObject | None, widget: DictionaryObject, w: float, h: float) -> Box:
    border = colour_op(mk.get("/BC"), stroke=True) if mk is not None else ""
    background = colour_op(mk.get("/BG"), stroke=False) if mk is not None else ""
    bs = widget.get("/BS")
    bs = bs.get_object() if bs is not None else None
    width = 1.0
    dashed = False
    if isinstance(bs, DictionaryObject):
        try:
            width = float(bs.get("/W", 1))
        except (TypeError, ValueError):
            width = 1.0
        dashed = bs.get("/S") == "/D"
    if not border:
        width = 0.0
    return Box(w, h, width, border, background, dashed)


_DROP_TEXT = frozenset({"/AP", "/AS", "/V", "/I"})
_DROP_BUTTON = frozenset({"/AS", "/V"})
_DROP_WIDGET_ONLY_TEXT = frozenset({"/AP", "/AS"})
_DROP_WIDGET_ONLY_BUTTON = frozenset({"/AS"})
_DROP_FIELD = frozenset({"/V", "/I"})
_DROP_PAGE = frozenset({"/Annots", "/Contents", "/Resources"})


def _font_ref(path: Path, reader: PdfReader) -> str:
    acro = _d(reader.root_object["/AcroForm"])
    fonts = _d(_d(acro["/DR"])["/Font"])
    ref = fonts.raw_get("/" + FONT_RESOURCE)
    if not isinstance(ref, IndirectObject):
        raise FormFieldError(
            f"{path.name}: preparing the form lost its font - report this as a mergekit bug"
        )
    return _ref(ref)


def _plan(path: Path, base: bytes, font: TrueTypeFont, notes: tuple[str, ...]) -> Prepared:
    reader = PdfReader(io.BytesIO(base))
    found = scan(reader)
    acro = _d(reader.root_object["/AcroForm"])
    da_default = str(acro.get("/DA", ""))
    q_default = acro.get("/Q", 0)
    widgets: dict[str, WidgetPlan] = {}
    fields: dict[str, list[FieldPlan]] = {}
    q = int(q_default) if isinstance(q_default, int) else 0
    for name, group in by_name(found.fields).items():
        # Same-named fields fill together, except stray ones of another type (an editor's
        # leftover check box named like the text field beside it).
        kind = primary(group).kind
        fields[name] = [
            _field_plan(raw, widgets, da_default, q) for raw in group if raw.kind == kind
        ]
    pages = _page_plans(reader, widgets)
    root = reader.trailer.raw_get("/Root")
    trailer_bits = [f"/Root {_ref(root)} R"]
    info = reader.trailer.raw_get("/Info") if "/Info" in reader.trailer else None
    if isinstance(info, IndirectObject):
        trailer_bits.append(f"/Info {_ref(info)} R")
    if "/ID" in reader.trailer:
        trailer_bits.append("/ID " + _ser(reader.trailer.raw_get("/ID")).decode("latin-1"))
    match = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", base[-200:])
    if match is None:
        raise FormFieldError(
            f"{path.name}: preparing the form failed (no startxref) - report this as a mergekit bug"
        )
    return Prepared(
        path=path,
        base=base,
        size=int(cast(int, reader.trailer["/Size"])),
        prev=int(match.group(1)),
        trailer="".join(trailer_bits),
        root_ref=_ref(root),
        root_body=_body(reader.root_object, frozenset({"/AcroForm"})),
        font_ref=_font_ref(path, reader),
        font=font,
        fields=fields,
        widgets=widgets,
        pages=pages,
        notes=notes,
        field_info={name: plans[0].kind for name, plans in fields.items()},
    )


def _field_plan(
    raw: RawField, widgets: dict[str, WidgetPlan], da_default: str, q_default: int
) -> FieldPlan:
    kind = raw.kind
    flags = raw.flags
    button = kind in ("checkbox", "radio")
    da = raw.inherited("/DA")
    size, colour = parse_da(str(da) if da is not None else da_default)
    q = raw.inherited("/Q")
    max_len = raw.inherited("/MaxLen")
    max_len = int(max_len) if isinstance(max_len, int) and max_len > 0 else 0
    comb = max_len if kind == "text" and flags & FF_COMB and max_len else 0
    style = TextStyle(
        size=size,
        colour=colour,
        align=int(q) if isinstance(q, int) else q_default,
        multiline=kind == "text" and bool(flags & FF_MULTILINE),
        comb=comb,
    )
    separate = raw.ref is not None and not any(
        w.ref is not None and w.ref.idnum == raw.ref.idnum for w in raw.widgets
    )
    plans: list[WidgetPlan] = []
    for w in raw.widgets:
        if w.ref is None:
            continue  # an inline widget cannot be rewritten on its own; left as it is
        holds = raw.ref is not None and w.ref.idnum == raw.ref.idnum
        if button:
            drop = _DROP_BUTTON if holds else _DROP_WIDGET_ONLY_BUTTON
        else:
            drop = _DROP_TEXT if holds else _DROP_WIDGET_ONLY_TEXT
        plan = _widget_plan(w.obj, w.ref, w.page, drop, holds)
        widgets[plan.ref] = plan
        plans.append(plan)
    labels: dict[str, str] = {}
    opt = raw.inherited("/Opt")
    if button and isinstance(opt, ArrayObject):
        texts = [str(o.get_object()) for o in opt]
        labels = {s: texts[int(s)] for s in raw.states if s.isdigit() and int(s) < len(texts)}
    return FieldPlan(
        name=raw.name,
        kind=kind,
        ref=_ref(raw.ref) if separate and raw.ref is not None else None,
        body=_body(raw.node, _DROP_FIELD) if separate else b"",
        widgets=plans,
        style=style,
        max_len=max_len,
        options=raw.options(),
        editable=bool(flags & FF_EDIT),
        states=raw.states,
        state_labels=labels,
        blank=_blank(raw),
    )


def _blank(raw: RawField) -> bool:
    """The field shows nothing yet: no value, and every box unticked."""
    value = raw.inherited("/V")
    if value not in (None, "", "/Off") and not (isinstance(value, ArrayObject) and not value):
        return False
    return all(str(w.obj.get("/AS", "/Off")) == "/Off" for w in raw.widgets)


def _widget_plan(
    obj: DictionaryObject, ref: IndirectObject, page: int | None, drop: frozenset[str], holds: bool
) -> WidgetPlan:
    r = _floats(obj.get("/Rect"), 4) or (0.0, 0.0, 0.0, 0.0)
    rect = (min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3]))
    mk = obj.get("/MK")
    mk = mk.get_object() if mk is not None else None
    rotation = 0
    if isinstance(mk, DictionaryObject):
        try:
            rotation = int(mk.get("/R", 0)) % 360
        except (TypeError, ValueError):
            rotation = 0
    if rotation not in ROTATIONS:
        rotation = 0
    w, h = rect[2] - rect[0], rect[3] - rect[1]
    if rotation in (90, 270):
        w, h = h, w
    box = _box(mk if isinstance(mk, DictionaryObject) else None, obj, w, h)
    flags = obj.get("/F", 0)
    hidden = bool(int(flags) & (ANNOT_HIDDEN | ANNOT_NO_VIEW)) if isinstance(flags, int) else False
    states: dict[str, Appearance] = {}
    ap = obj.get("/AP")
    ap = ap.get_object() if ap is not None else None
    normal = ap.get("/N") if isinstance(ap, DictionaryObject) else None
    if isinstance(normal, IndirectObject) and isinstance(normal.get_object(), StreamObject):
        states[""] = _appearance(normal, rect)
    else:
        normal = normal.get_object() if normal is not None else None
        if isinstance(normal, DictionaryObject):
            for key in normal:
                target = normal.raw_get(key)
                if isinstance(target, IndirectObject):
                    states[str(key)[1:]] = _appearance(target, rect)
    current = obj.get("/AS")
    return WidgetPlan(
        ref=_ref(ref),
        body=_body(obj, drop),
        page=page,
        rect=rect,
        box=box,
        matrix=ROTATIONS[rotation],
        hidden=hidden,
        holds_value=holds,
        states=states,
        current=str(current)[1:] if current is not None else "",
    )


def _appearance(ref: IndirectObject, rect: tuple[float, ...]) -> Appearance:
    stream = _d(ref)
    bbox = _floats(stream.get("/BBox"), 4) or (0.0, 0.0, rect[2] - rect[0], rect[3] - rect[1])
    matrix = _floats(stream.get("/Matrix"), 6) or ROTATIONS[0]
    return Appearance(_ref(ref), placement(rect, bbox, matrix))


def _page_plans(reader: PdfReader, widgets: dict[str, WidgetPlan]) -> list[PagePlan]:
    plans = []
    for page in reader.pages:
        ref = page.indirect_reference
        if ref is None:
            continue
        annots = page.get("/Annots")
        annots = annots.get_object() if annots is not None else None
        kept: list[str] = []
        mine: list[str] = []
        for a in annots if isinstance(annots, ArrayObject) else []:
            obj = a.get_object()
            is_widget = isinstance(obj, DictionaryObject) and obj.get("/Subtype") == "/Widget"
            if isinstance(a, IndirectObject):
                if is_widget:
                    key = _ref(a)
                    mine.append(key)
                    if key not in widgets:  # a widget of no named field: flattened as is
                        widgets[key] = _widget_plan(obj, a, None, _DROP_WIDGET_ONLY_BUTTON, False)
                else:
                    kept.append(f"{_ref(a)} R")
            elif not is_widget:
                kept.append(_ser(a).decode("latin-1"))
        contents = page.get("/Contents")
        if isinstance(contents, IndirectObject) and isinstance(contents.get_object(), ArrayObject):
            contents = contents.get_object()
        if isinstance(contents, ArrayObject):
            content_refs = " ".join(_ser(c).decode("latin-1") for c in contents)
        elif contents is not None:
            content_refs = _ser(contents).decode("latin-1")
        else:
            content_refs = ""
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else DictionaryObject()
        xobj = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
        xobj = xobj.get_object() if xobj is not None else None
        plans.append(
            PagePlan(
                ref=_ref(ref),
                body=_body(page, _DROP_PAGE),
                contents=content_refs,
                resources=_body(resources, frozenset({"/XObject"}))
                if isinstance(resources, DictionaryObject)
                else b"",
                xobjects=_body(xobj, frozenset()) if isinstance(xobj, DictionaryObject) else b"",
                kept_annots=" ".join(kept),
                widgets=mine,
            )
        )
    return plans
