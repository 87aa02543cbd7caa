"""Preparing a fillable PDF once per template per process (with pypdf) so every copy can be
filled by formatting strings: decrypting an empty password, dropping XFA and the
Reader-extension signature, repairing widgets missing from the field list, drawing ticks for
check boxes without an appearance, embedding mergekit's font, and recording each field's and
widget's object with its dictionary less the keys a fill changes.

About 610 lines: the repairs and the plan of each field are one pass over the same pypdf
writer, and are tested together against real-world forms.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
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
from mergekit.pdf.fill import Appearance, FieldPlan, PagePlan, Prepared, WidgetPlan
from mergekit.pdf.font import (
    FormFont,
    TrueTypeFont,
    bundled_font,
    parse_cid_widths,
    parse_to_unicode,
)
from mergekit.pdf.pdfbytes import (
    ROTATIONS,
    _body,
    _floats,
    _num,
    _ref,
    _ser,
    colour_op,
    parse_da,
    placement,
)
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
    # /Fields (and any /Kids) may be a reference to an array rather than the array itself:
    # resolve it, or the repaired copy would lose every field.
    fields = _resolved(acro.get("/Fields"))
    if not isinstance(fields, ArrayObject):
        fields = ArrayObject()
        acro[NameObject("/Fields")] = fields
    for top, parent in found.orphans:
        if parent is None:
            fields.append(top)
        else:
            pnode = _d(parent)
            kids = _resolved(pnode.get("/Kids"))
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
    da_default = str(_resolved(acro.get("/DA", "")))
    q_default = _resolved(acro.get("/Q", 0))
    widgets: dict[str, WidgetPlan] = {}
    fields: dict[str, list[FieldPlan]] = {}
    q = int(q_default) if isinstance(q_default, int) else 0
    for name, group in by_name(found.fields).items():
        # Same-named fields fill together, except stray ones of another type (an editor's
        # leftover check box named like the text field beside it).
        kind = primary(group).kind
        plans = [_field_plan(raw, widgets, da_default, q) for raw in group if raw.kind == kind]
        if kind in ("checkbox", "radio") and len(plans) > 1:
            # Same-named buttons are one group in every viewer (a radio group split into a
            # field per option): one value chooses among all their boxes.
            plans = [_one_group(plans)]
        fields[name] = plans
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
        form_fonts=_form_fonts(acro),
    )


def _plain(value: Any) -> Any:
    """A pypdf array of numbers (nested) as Python lists and floats."""
    value = _resolved(value)
    if isinstance(value, ArrayObject):
        return [_plain(v) for v in value]
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _form_fonts(acro: DictionaryObject) -> tuple[FormFont, ...]:
    """The form's own embedded Type0 / Identity-H fonts with a ToUnicode map (what a CJK
    form embeds): mergekit draws with them what its bundled font lacks."""
    dr = _resolved(acro.get("/DR"))
    fonts = _resolved(dr.get("/Font")) if isinstance(dr, DictionaryObject) else None
    if not isinstance(fonts, DictionaryObject):
        return ()
    out: list[FormFont] = []
    for key in fonts:
        ref = fonts.raw_get(key)
        font = _resolved(ref)
        if key == "/" + FONT_RESOURCE or not isinstance(ref, IndirectObject):
            continue
        try:
            found = _form_font(str(key)[1:], _ref(ref), font)
        except Exception:  # a damaged font: the next font in the chain draws instead
            found = None
        if found is not None:
            out.append(found)
    return tuple(out)


def _form_font(name: str, ref: str, font: Any) -> FormFont | None:
    if not isinstance(font, DictionaryObject) or font.get("/Subtype") != "/Type0":
        return None
    if font.get("/Encoding") != "/Identity-H":
        return None
    to_unicode = _resolved(font.get("/ToUnicode"))
    descendants = _resolved(font.get("/DescendantFonts"))
    if not isinstance(to_unicode, StreamObject) or not isinstance(descendants, ArrayObject):
        return None
    cid = _resolved(descendants[0]) if descendants else None
    descriptor = (
        _resolved(cid.get("/FontDescriptor")) if isinstance(cid, DictionaryObject) else None
    )
    if not isinstance(descriptor, DictionaryObject) or not any(
        k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
    ):
        return None  # not embedded: the viewer's font, which may not have the glyphs
    code_of: dict[str, int] = {}
    for code, text in sorted(parse_to_unicode(to_unicode.get_data()).items()):
        if code and len(text) == 1:
            code_of.setdefault(text, code)
    if not code_of:
        return None
    assert isinstance(cid, DictionaryObject)
    w = _plain(cid.get("/W")) if "/W" in cid else []
    dw = float(_plain(cid.get("/DW"))) if "/DW" in cid else 1000.0
    return FormFont(name, ref, code_of, parse_cid_widths(w), dw)


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


def _one_group(plans: list[FieldPlan]) -> FieldPlan:
    """Same-named check boxes or radio halves as one field: every box, every on-state."""
    first = plans[0]
    states = tuple(dict.fromkeys(s for p in plans for s in p.states))
    labels = {k: v for p in plans for k, v in p.state_labels.items()}
    holders = [(p.ref, p.body) for p in plans if p.ref is not None]
    lead_ref, lead_body = holders[0] if holders else (None, b"")
    return replace(
        first,
        ref=lead_ref,
        body=lead_body,
        widgets=[w for p in plans for w in p.widgets],
        states=states,
        state_labels=labels,
        blank=all(p.blank for p in plans),
        also=tuple(holders[1:]),
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
    flags = _resolved(obj.get("/F", 0))
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
