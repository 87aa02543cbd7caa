"""Reading a fillable PDF: opening it safely and finding every field, whoever made it.

Council and government forms come from Acrobat, LibreOffice, Word, InDesign, LaTeX and
"PDF editors", and each bends the rules somewhere: widgets that are missing from the form's
field list (only reachable through the page's annotations), fields with no widget on any
page, XFA forms (Adobe LiveCycle) whose AcroForm is empty or a stale copy, files encrypted
with an empty password. :func:`scan` finds what a viewer would show; :func:`inspect_form`
turns it into the plain description ``mergekit pdf fields`` prints.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader, PdfWriter
from pypdf.errors import DependencyError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

from mergekit.core.errors import FormFieldError

FF_READ_ONLY = 1
FF_REQUIRED = 1 << 1
FF_MULTILINE = 1 << 12
FF_PASSWORD = 1 << 13
FF_RADIO = 1 << 15
FF_PUSH = 1 << 16
FF_COMBO = 1 << 17
FF_EDIT = 1 << 18
FF_MULTI_SELECT = 1 << 21
FF_COMB = 1 << 24
ANNOT_HIDDEN = 1 << 1
ANNOT_NO_VIEW = 1 << 5

Doc = PdfReader | PdfWriter


@dataclass(frozen=True)
class FormFieldInfo:
    """One field of a fillable PDF, as `mergekit pdf fields` lists it."""

    name: str  # the full name a mapping uses, e.g. "pupil_forename" or "form1[0].Name[0]"
    kind: str  # text, checkbox, radio, combo, list, button, signature, unknown
    pages: tuple[int, ...]  # 1-based pages its widgets are on; () = no widget on any page
    label: str = ""  # the tooltip (/TU) the form's author gave it
    value: str = ""  # what it holds now
    export_values: tuple[str, ...] = ()  # check box / radio: the "on" value of each box
    options: tuple[str, ...] = ()  # combo / list: the choices
    multiline: bool = False
    comb: bool = False  # one character per printed box (max_length boxes)
    max_length: int | None = None
    read_only: bool = False
    required: bool = False
    note: str = ""  # something unusual about it, in plain words
    hidden: bool = False  # every widget is hidden (annotation flag Hidden or NoView)
    calculated: bool = False  # the form's own script computes it (/CO, /AA /C)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind,
            "pages": list(self.pages),
            "label": self.label,
            "value": self.value,
            "export_values": list(self.export_values),
            "options": list(self.options),
            "multiline": self.multiline,
            "comb": self.comb,
            "max_length": self.max_length,
            "read_only": self.read_only,
            "required": self.required,
            "note": self.note,
            "hidden": self.hidden,
            "calculated": self.calculated,
        }


@dataclass(frozen=True)
class FormInfo:
    """What a PDF form is made of, and anything staff should know before filling it."""

    path: Path
    pages: int
    fields: tuple[FormFieldInfo, ...]
    xfa: bool  # an XFA hybrid: mergekit fills the AcroForm and removes the XFA
    encrypted: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class RawWidget:
    obj: DictionaryObject
    ref: IndirectObject | None
    page: int | None  # 0-based index of the page whose /Annots list it, None = on no page


@dataclass(frozen=True)
class RawField:
    """A terminal field: the dictionary holding its value, its ancestors and its widgets."""

    name: str
    node: DictionaryObject
    ref: IndirectObject | None
    chain: tuple[DictionaryObject, ...]  # outermost ancestor first, ``node`` last
    widgets: tuple[RawWidget, ...]
    listed: bool  # reachable from /AcroForm /Fields (else found only through page /Annots)

    def inherited(self, key: str) -> Any:
        for node in reversed(self.chain):
            if key in node:
                return node[key].get_object()
        return None

    @property
    def flags(self) -> int:
        ff = self.inherited("/Ff")
        return int(ff) if isinstance(ff, int | float) else 0

    @property
    def kind(self) -> str:
        ft = self.inherited("/FT")
        flags = self.flags
        if ft == "/Tx":
            return "text"
        if ft == "/Btn":
            if flags & FF_PUSH:
                return "button"
            return "radio" if flags & FF_RADIO else "checkbox"
        if ft == "/Ch":
            return "combo" if flags & FF_COMBO else "list"
        if ft == "/Sig":
            return "signature"
        return "unknown"

    @property
    def states(self) -> tuple[str, ...]:
        """On-states of a check box or radio group (the /AP /N names other than Off)."""
        out: list[str] = []
        for w in self.widgets:
            for s in appearance_states(w.obj):
                if s not in out:
                    out.append(s)
        return tuple(out)

    def options(self) -> tuple[tuple[str, str], ...]:
        """(export value, displayed text) of each choice of a combo or list box."""
        opt = self.inherited("/Opt")
        if not isinstance(opt, ArrayObject):
            return ()
        out = []
        for raw in opt:
            item = raw.get_object()
            if isinstance(item, ArrayObject) and len(item) >= 2:
                out.append((str(item[0].get_object()), str(item[1].get_object())))
            else:
                out.append((str(item), str(item)))
        return tuple(out)


@dataclass(frozen=True)
class Scan:
    fields: tuple[RawField, ...]
    # Branches missing from the field tree: (their top node, the parent it belongs under, or
    # None for a top-level field missing from /AcroForm /Fields).
    orphans: tuple[tuple[IndirectObject, IndirectObject | None], ...]
    has_acroform: bool
    xfa: bool
    dynamic_xfa: bool  # /NeedsRendering: the form exists only as XFA
    unnamed_widgets: int
    page_widgets: tuple[tuple[IndirectObject, ...], ...] = field(default=())  # per page


def appearance_states(widget: DictionaryObject) -> tuple[str, ...]:
    ap = widget.get("/AP")
    ap = ap.get_object() if ap is not None else None
    if not isinstance(ap, DictionaryObject):
        return ()
    normal = ap.get("/N")
    normal = normal.get_object() if normal is not None else None
    if not isinstance(normal, DictionaryObject) or isinstance(normal, StreamObject):
        return ()
    return tuple(str(k)[1:] for k in normal if k != "/Off")


def _resolve(obj: PdfObject | None) -> Any:
    return obj.get_object() if obj is not None else None


def _is_widget(d: DictionaryObject) -> bool:
    return d.get("/Subtype") == "/Widget" or "/Rect" in d


def _key(obj: PdfObject, resolved: Any) -> tuple[int, int]:
    """A hashable identity for a node: its object number, or the Python id of a direct dict."""
    if isinstance(obj, IndirectObject):
        return (obj.idnum, obj.generation)
    return (-1, id(resolved))


def scan(doc: Doc) -> Scan:
    """Every terminal field reachable from /AcroForm /Fields, plus those only found through
    the pages' widget annotations."""
    root = doc.root_object
    acro = _resolve(root.get("/AcroForm"))
    has_acroform = isinstance(acro, DictionaryObject)
    xfa = has_acroform and "/XFA" in acro
    dynamic = bool(_resolve(root.get("/NeedsRendering")))

    page_of: dict[tuple[int, int], int] = {}
    page_widgets: list[tuple[IndirectObject, ...]] = []  # per page, in annotation order
    for i, page in enumerate(doc.pages):
        annots = _resolve(page.get("/Annots"))
        refs: list[IndirectObject] = []
        if isinstance(annots, ArrayObject):
            for a in annots:
                obj = _resolve(a)
                if isinstance(obj, DictionaryObject) and obj.get("/Subtype") == "/Widget":
                    page_of.setdefault(_key(a, obj), i)
                    if isinstance(a, IndirectObject):
                        refs.append(a)
        page_widgets.append(tuple(refs))

    fields: list[RawField] = []
    seen: set[tuple[int, int]] = set()
    widgets_seen: set[tuple[int, int]] = set()

    def visit(
        ref: PdfObject, chain: tuple[DictionaryObject, ...], prefix: str, listed: bool
    ) -> None:
        node = _resolve(ref)
        if not isinstance(node, DictionaryObject):
            return
        key = _key(ref, node)
        if key in seen or len(chain) > 50:
            return
        seen.add(key)
        t = _resolve(node.get("/T"))
        name = (
            f"{prefix}.{t}" if prefix and t is not None else (str(t) if t is not None else prefix)
        )
        kids = _resolve(node.get("/Kids"))
        kid_list = list(kids) if isinstance(kids, ArrayObject) else []
        named = [k for k in kid_list if "/T" in (_resolve(k) or {})]
        here = (*chain, node)
        for k in named:
            visit(k, here, name, listed)
        widget_refs = [k for k in kid_list if k not in named]
        if named and not widget_refs:
            return
        widgets: list[RawWidget] = []
        if widget_refs:
            for k in widget_refs:
                w = _resolve(k)
                if isinstance(w, DictionaryObject):
                    wk = _key(k, w)
                    widgets_seen.add(wk)
                    seen.add(wk)
                    ref_k = k if isinstance(k, IndirectObject) else None
                    widgets.append(RawWidget(w, ref_k, page_of.get(wk)))
        elif _is_widget(node):
            widgets_seen.add(key)
            widgets.append(
                RawWidget(node, ref if isinstance(ref, IndirectObject) else None, page_of.get(key))
            )
        if not name:
            return
        fields.append(
            RawField(
                name,
                node,
                ref if isinstance(ref, IndirectObject) else None,
                here,
                tuple(widgets),
                listed,
            )
        )

    if has_acroform:
        top = _resolve(acro.get("/Fields"))
        for ref in top if isinstance(top, ArrayObject) else []:
            visit(ref, (), "", True)

    # Widgets on pages that the field list does not reach: climb from each to the first
    # ancestor the list does reach (or to the top), and walk the missing branch from there.
    orphans: list[tuple[IndirectObject, IndirectObject | None]] = []
    unnamed = 0
    for page_refs in page_widgets:
        for ref in page_refs:
            w = _resolve(ref)
            if _key(ref, w) in widgets_seen:
                continue
            branch: list[tuple[IndirectObject, DictionaryObject]] = [(ref, w)]
            parent: IndirectObject | None = None
            while len(branch) < 50:
                up = branch[-1][1].get("/Parent")
                if not isinstance(up, IndirectObject):
                    break
                node = _resolve(up)
                if not isinstance(node, DictionaryObject):
                    break
                if _key(up, node) in seen:
                    parent = up
                    break
                branch.append((up, node))
            if not any("/T" in n for _, n in branch) and parent is None:
                unnamed += 1
                widgets_seen.add(_key(ref, w))
                continue
            head_ref, _head = branch[-1]
            ancestors: list[DictionaryObject] = []
            up_ref = parent
            while isinstance(up_ref, IndirectObject) and len(ancestors) < 50:
                d = _resolve(up_ref)
                ancestors.insert(0, d)
                up_ref = d.get("/Parent")
            prefix = ".".join(str(a["/T"]) for a in ancestors if "/T" in a)
            orphans.append((head_ref, parent))
            visit(head_ref, tuple(ancestors), prefix, False)
    return Scan(
        tuple(fields), tuple(orphans), has_acroform, xfa, dynamic, unnamed, tuple(page_widgets)
    )


# ---------------------------------------------------------------------------------------------
# Opening


def open_pdf(path: Path) -> tuple[PdfReader, list[str]]:
    """A reader for ``path`` (decrypted when the password is empty) and notes for staff.

    Raises FormFieldError for anything that is not a readable, openable PDF."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise FormFieldError(f"{path}: no such file - check the path") from e
    except OSError as e:
        raise FormFieldError(f"{path}: cannot read it ({e.strerror}) - check the path") from e
    return open_pdf_bytes(path, data)


def open_pdf_bytes(path: Path, data: bytes) -> tuple[PdfReader, list[str]]:
    name = path.name
    if b"%PDF-" not in data[:1024]:
        raise FormFieldError(f"{name}: this is not a PDF file - check you chose the right file")
    notes: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as e:  # pypdf raises many types on damaged files
        raise FormFieldError(
            f"{name}: the PDF is damaged and cannot be read ({e}) - ask for a fresh copy"
        ) from e
    if encrypted:
        try:
            result = reader.decrypt("")
        except DependencyError as e:
            raise FormFieldError(
                f"{name}: the PDF is encrypted with AES, which needs the 'cryptography' "
                "package - install it with: pip install cryptography"
            ) from e
        except Exception as e:
            raise FormFieldError(
                f"{name}: the PDF is encrypted in a way mergekit cannot open ({e}) - ask "
                "whoever sent it for a copy without security"
            ) from e
        if result == PasswordType.NOT_DECRYPTED:
            raise FormFieldError(
                f"{name}: the PDF is protected by a password mergekit does not know - ask "
                "whoever sent it for a copy without a password (or open it with the password "
                "and save a copy with security set to 'No Security')"
            )
        notes.append(
            "the PDF is encrypted with an empty password (it opens without one): mergekit "
            "decrypts it, and the filled copy is saved without that encryption"
        )
    return reader, notes


def checked_scan(path: Path, doc: Doc) -> Scan:
    """:func:`scan`, refusing forms mergekit cannot fill (XFA-only, damaged)."""
    try:
        found = scan(doc)
    except FormFieldError:
        raise
    except Exception as e:  # a damaged object deep in the field tree
        raise FormFieldError(
            f"{path.name}: the form's field list is damaged ({e}) - ask for a fresh copy"
        ) from e
    fillable = [f for f in found.fields if f.widgets]
    if found.dynamic_xfa or (found.xfa and not fillable):
        raise FormFieldError(
            f"{path.name}: this is an XFA-only form (made with Adobe LiveCycle Designer): its "
            "fields exist only as XFA, which no viewer except Acrobat shows and mergekit "
            "cannot fill - ask the council for an ordinary fillable PDF (AcroForm), or fill "
            "this one in Adobe Acrobat"
        )
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, ArrayObject):
        return "; ".join(_text(v.get_object()) for v in value)
    text = str(value)
    return text[1:] if isinstance(value, NameObject) else text


def widget_hidden(widget: DictionaryObject) -> bool:
    """The annotation flags hide the widget on screen (Hidden or NoView)."""
    flags = _resolve(widget.get("/F"))
    return isinstance(flags, int) and bool(int(flags) & (ANNOT_HIDDEN | ANNOT_NO_VIEW))


def calculated_keys(doc: Doc) -> set[tuple[int, int]]:
    """The fields the form's calculation order (/AcroForm /CO) lists."""
    acro = _resolve(doc.root_object.get("/AcroForm"))
    order = _resolve(acro.get("/CO")) if isinstance(acro, DictionaryObject) else None
    out: set[tuple[int, int]] = set()
    for ref in order if isinstance(order, ArrayObject) else []:
        out.add(_key(ref, _resolve(ref)))
    return out


def _calculated(raw: RawField, order: set[tuple[int, int]]) -> bool:
    if raw.ref is not None and _key(raw.ref, raw.node) in order:
        return True
    actions = _resolve(raw.node.get("/AA"))
    return isinstance(actions, DictionaryObject) and "/C" in actions


def describe(group: list[RawField], order: set[tuple[int, int]] | None = None) -> FormFieldInfo:
    """One listed field from every RawField of that name (a council form can hold the same
    name twice, e.g. a stale copy left by an editor next to the one on the page). ``order``
    is :func:`calculated_keys`."""
    raw = primary(group)
    kind = raw.kind
    flags = raw.flags
    pages = tuple(sorted({w.page + 1 for r in group for w in r.widgets if w.page is not None}))
    notes = []
    if not any(r.widgets for r in group):
        notes.append("no widget on any page: a value is stored but no viewer shows it")
    elif not pages:
        notes.append("its widget is on no page's annotation list: viewers do not show it")
    if not all(r.listed for r in group):
        notes.append("missing from the form's field list (found on the page); mergekit adds it")
    widgets = [w for r in group for w in r.widgets]
    hidden = bool(widgets) and all(widget_hidden(w.obj) for w in widgets)
    calculated = any(_calculated(r, order or set()) for r in group)
    max_len = raw.inherited("/MaxLen")
    label = _resolve(raw.node.get("/TU"))
    # Same-named buttons are one group (a radio group split into a field per option).
    states = (
        tuple(dict.fromkeys(s for r in group if r.kind == kind for s in r.states))
        if kind in ("checkbox", "radio")
        else ()
    )
    opt = raw.inherited("/Opt") if kind in ("checkbox", "radio") else None
    if isinstance(opt, ArrayObject):
        texts = [str(o.get_object()) for o in opt]
        states = tuple(texts[int(s)] if s.isdigit() and int(s) < len(texts) else s for s in states)
    return FormFieldInfo(
        name=raw.name,
        kind=kind,
        pages=pages,
        label=str(label) if label is not None else "",
        value=_text(raw.inherited("/V")),
        export_values=states,
        options=tuple(d for _, d in raw.options()) if kind in ("combo", "list") else (),
        multiline=kind == "text" and bool(flags & FF_MULTILINE),
        comb=kind == "text" and bool(flags & FF_COMB) and isinstance(max_len, int),
        max_length=int(max_len) if isinstance(max_len, int) and kind == "text" else None,
        read_only=bool(flags & FF_READ_ONLY),
        required=bool(flags & FF_REQUIRED),
        note="; ".join(notes),
        hidden=hidden,
        calculated=calculated,
    )


def primary(group: list[RawField]) -> RawField:
    """The field of a same-named group a viewer shows: the first with a widget on a page."""
    return next((r for r in group if any(w.page is not None for w in r.widgets)), group[0])


def by_name(raws: tuple[RawField, ...]) -> dict[str, list[RawField]]:
    """Fields grouped by full name, in document order (same-named fields fill together)."""
    groups: dict[str, list[RawField]] = {}
    for raw in raws:
        groups.setdefault(raw.name, []).append(raw)
    return groups


def inspect_form(pdf: Path) -> FormInfo:
    """Every field of a fillable PDF and what mergekit will do about its quirks.

    Raises FormFieldError when the PDF cannot be filled at all (not a PDF, damaged, a
    password mergekit does not know, XFA-only)."""
    reader, notes = open_pdf(pdf)
    found = checked_scan(pdf, reader)
    if found.xfa:
        notes.append(
            "an XFA hybrid (Adobe LiveCycle): mergekit fills its ordinary (AcroForm) fields "
            "and removes the XFA copy, so every viewer, Acrobat included, shows the values"
        )
    if found.orphans:
        notes.append(
            f"{len(found.orphans)} field(s) are on the pages but missing from the form's "
            "field list: mergekit finds them through the pages and adds them"
        )
    if found.unnamed_widgets:
        notes.append(f"{found.unnamed_widgets} widget(s) have no field name and are ignored")
    if not found.fields:
        notes.append("the PDF has no form fields: there is nothing to fill")
    order = calculated_keys(reader)
    fields = tuple(describe(g, order) for g in by_name(found.fields).values())
    calculated = [f.name for f in fields if f.calculated]
    if calculated:
        shown = ", ".join(calculated[:5]) + (", ..." if len(calculated) > 5 else "")
        notes.append(
            f"{len(calculated)} field(s) are calculated by the form's own scripts ({shown}): "
            "mergekit fills what the mapping gives and does not recompute them - map each "
            "one yourself, or open the filled copy in Adobe Acrobat to recalculate"
        )
    nowidget = sum(1 for f in fields if not f.pages)
    if nowidget:
        notes.append(
            f"{nowidget} field(s) are on no page: a value can be stored but nobody will see it"
        )
    return FormInfo(pdf, len(reader.pages), fields, found.xfa, reader.is_encrypted, tuple(notes))


def list_fields(pdf: Path) -> list[FormFieldInfo]:
    """The fields of a fillable PDF (see :func:`inspect_form`)."""
    return list(inspect_form(pdf).fields)
