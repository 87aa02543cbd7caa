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

Preparing is :mod:`mergekit.pdf.prepare`; the PDF syntax both write is
:mod:`mergekit.pdf.pdfbytes`. This module holds what a prepared template records and the
filling of each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mergekit.core.errors import FormFieldError
from mergekit.pdf import draw as pdfdraw
from mergekit.pdf.draw import FONT_RESOURCE, Box, TextStyle
from mergekit.pdf.font import FormFont, TrueTypeFont, normalise_text
from mergekit.pdf.pdfbytes import ROTATIONS, _name, _num, _Update, pdf_text, placement
from mergekit.pdf.typeset import Typesetter

YES_WORDS = frozenset({"yes", "y", "true", "1", "on", "x", "ticked", "checked", "☒", "✓", "✔"})
NO_WORDS = frozenset({"no", "n", "false", "0", "off", "", "unticked", "☐"})
FILLABLE = ("text", "checkbox", "radio", "combo", "list")

Value = str | bool | None


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
    # Other field dictionaries of the same name that also take /V: a radio group split into
    # same-named fields (one per option) is filled as one group.
    also: tuple[tuple[str, bytes], ...] = ()


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
    # Fonts the form embeds itself, used for characters the bundled font lacks (CJK forms).
    form_fonts: tuple[FormFont, ...] = ()

    def render(
        self, values: Mapping[str, Value], flatten: bool
    ) -> tuple[bytes, list[str], list[str]]:
        """The filled copy's bytes, notes for staff, and the values that did not fit their
        box (someone must write those in by hand)."""
        up = _Update(self.base, self.size)
        notes: list[str] = []
        cut: list[str] = []
        drawn: dict[str, Appearance] = {}  # widget ref -> new appearance (for flattening)
        chosen: dict[str, str] = {}  # widget ref -> chosen state
        res = f"/Resources<</Font<</{FONT_RESOURCE} {self.font_ref} R>>>>".encode("ascii")
        ts = Typesetter(self.font, self.form_fonts, up.new_id)
        for name, value in values.items():
            for plan in self.fields[name]:
                _fill(self, plan, value, up, res, notes, cut, drawn, chosen, flatten, ts)
        ts.embed(up)  # the installed fonts the values needed, as subsets
        if flatten:
            self._flatten(up, drawn, chosen)
        return up.finish(self.prev, self.trailer), notes, list(dict.fromkeys(cut))

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


# ---------------------------------------------------------------------------------------------
# Filling one field


def _fill(
    form: Prepared,
    plan: FieldPlan,
    value: Value,
    up: _Update,
    res: bytes,
    notes: list[str],
    cut: list[str],
    drawn: dict[str, Appearance],
    chosen: dict[str, str],
    flatten: bool,
    ts: Typesetter,
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
        if not flatten:
            if plan.ref:
                up.put(plan.ref, b"<<" + plan.body + b"/V " + v + b">>")
            for ref, body in plan.also:
                up.put(ref, b"<<" + body + b"/V " + v + b">>")
        return

    text = _as_text(value)
    if not text and plan.blank:
        return  # already empty in the template: nothing to write
    if plan.max_len and len(text) > plan.max_len and plan.kind == "text":
        cut.append(
            f"{plan.name}: {text!r} is longer than the field allows ({plan.max_len} "
            f"characters); it was cut to {text[: plan.max_len]!r} - write the rest in by hand"
        )
        text = text[: plan.max_len]
    missing = ts.missing(text)
    if missing:
        notes.append(
            f"{plan.name}: no font mergekit has, the form has or this computer has can draw "
            f"{missing!r}; those characters print as empty boxes - install a font that has "
            "them (on Debian/Ubuntu: fonts-noto-core, fonts-noto-cjk, fonts-symbola)"
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
            content = pdfdraw.list_appearance(ts, w.box, plan.style, labels, selected, top)
        else:
            shown = text
            if plan.kind == "combo":
                shown = next((d for e, d in plan.options if e == text), text)
            content, lost = pdfdraw.text_appearance(ts, w.box, plan.style, shown)
            if lost and not w.hidden and w.page is not None:
                cut.append(
                    f"{plan.name}: {shown!r} does not fit its box even in "
                    f"{pdfdraw.MIN_SIZE:g} pt type; {lost!r} was cut off the page - "
                    "write it in by hand, or shorten it in the workbook"
                )
        extra_fonts = ts.take_slots()
        w_res = res
        if extra_fonts:
            more = "".join(f"/{slot} {ref} R" for slot, ref in extra_fonts.items())
            w_res = f"/Resources<</Font<</{FONT_RESOURCE} {form.font_ref} R{more}>>>>".encode(
                "ascii"
            )
        n = up.stream(
            b"/Type/XObject/Subtype/Form" + w.bbox_entry.encode("ascii") + w_res,
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
