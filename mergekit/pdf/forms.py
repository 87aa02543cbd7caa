"""Fillable PDF forms: the bundled CME referral and Remove From Roll checklist, and any
fillable PDF a school or council provides.

* :func:`list_fields` / :func:`inspect_form` - what a form holds (``mergekit pdf fields``).
* :func:`fill_form` - fill a form from ``{PDF field name: value}``; values show in every
  viewer (mergekit draws each one in its own embedded font) and ``flatten=True`` makes a
  non-editable copy.
* :func:`mapped_values` - turn a pupil's merge fields into those values through a mapping
  ``{PDF field name: mergekit field}``.
* :func:`fill_bundled_form`, :func:`fill_configured_form`, :func:`fill_action_form` - the
  bundled forms (mapping in ``templates/pdf/<form>.json``) and ``[forms.NAME]`` in the config.
* :func:`merge_filled` - several filled copies in one PDF, each keeping its own values.

Mapping values are either a dotted mergekit field (``pupil.forename``, see
``mergekit fields``) or text with fields in braces
(``"{school.attendance_officer_phone}  {school.attendance_officer_email}"``).
"""

from __future__ import annotations

import difflib
import io
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import BooleanObject, DictionaryObject, NameObject

from mergekit.core import atomic
from mergekit.core.actions import PDF_FORMS
from mergekit.core.calendar import academic_year_of
from mergekit.core.config import Settings
from mergekit.core.errors import FormFieldError
from mergekit.core.model import Action, SchoolData
from mergekit.core.resources import bundled
from mergekit.core.runfolder import PDF_DIR, document_stem, run_dir
from mergekit.core.workspace import Workspace
from mergekit.merge.fields import flatten as flatten_context
from mergekit.pdf.fill import FILLABLE, Prepared
from mergekit.pdf.prepare import prepare
from mergekit.pdf.reader import FormFieldInfo, FormInfo, inspect_form, list_fields

__all__ = [
    "BUNDLED_FORMS",
    "FillReport",
    "FormFieldInfo",
    "FormInfo",
    "bundled_form",
    "check_mapping",
    "fill_action_form",
    "fill_bundled_form",
    "fill_configured_form",
    "fill_for_pupil",
    "fill_form",
    "inspect_form",
    "list_fields",
    "mapped_values",
    "merge_filled",
    "prepare_for_pack",
    "prepared",
]

BUNDLED_FORMS = PDF_FORMS  # the forms whose fillable PDF ships in templates/pdf
_CACHE_SIZE = 16


@dataclass(frozen=True)
class FillReport:
    """A filled form: where it went, what was filled, and what staff should know."""

    path: Path
    filled: tuple[str, ...]
    flattened: bool
    notes: tuple[str, ...]
    # Values that did not fit their box even in the smallest type, each naming the field and
    # what was cut: the copy needs a person to write them in ("Needs a person").
    cut: tuple[str, ...] = ()


_prepared: OrderedDict[tuple[str, int, int], Prepared] = OrderedDict()


def prepared(template: Path) -> Prepared:
    """The template made ready for filling, cached while the file is unchanged."""
    try:
        path = template.resolve()
        st = path.stat()
    except FileNotFoundError as e:
        raise FormFieldError(f"{template}: no such file - check the path") from e
    except OSError as e:
        raise FormFieldError(f"{template}: cannot read it ({e.strerror})") from e
    key = (str(path), st.st_mtime_ns, st.st_size)
    hit = _prepared.get(key)
    if hit is None:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise FormFieldError(f"{template}: cannot read it ({e.strerror})") from e
        hit = prepare(template, data)
        _prepared[key] = hit
        while len(_prepared) > _CACHE_SIZE:
            _prepared.popitem(last=False)
    _prepared.move_to_end(key)
    return hit


def _closest(name: str, names: Sequence[str], n: int = 3) -> str:
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.5)
    if not close:
        folded = name.casefold()
        close = [x for x in names if folded in x.casefold() or x.casefold() in folded][:n]
    return ", ".join(repr(c) for c in close) if close else ""


def check_mapping(template: Path, names: Sequence[str]) -> None:
    """Every name is a fillable field of the form, or a FormFieldError naming each one that
    is not, with the closest real names."""
    form = prepared(template)
    known = list(form.fields)
    problems = []
    for name in names:
        if name not in form.fields:
            close = _closest(name, known)
            hint = f" (closest: {close})" if close else ""
            problems.append(f"the form has no field '{name}'{hint}")
        elif form.field_info[name] not in FILLABLE:
            problems.append(
                f"field '{name}' is a {form.field_info[name]} field, which mergekit cannot "
                "fill - leave it out of the mapping"
            )
    if problems:
        raise FormFieldError(
            f"{template.name}: "
            + "; ".join(problems)
            + f" - `mergekit pdf fields {template.name}` lists the form's fields"
        )


def fill_form(
    template: Path,
    values: Mapping[str, str | bool],
    out: Path,
    *,
    flatten: bool = False,
    durable: bool = True,
) -> FillReport:
    """Fill ``template`` with ``{PDF field name: value}`` and write ``out``.

    Text is drawn in mergekit's embedded font; check boxes and radio buttons take YES/NO
    (or True/False, or one of their own export values); combo and list boxes take one of
    their options. ``flatten`` merges the values into the pages and removes the form.
    ``durable`` syncs the file to disk before it replaces ``out`` (turn it off only for
    throw-away copies). The template is prepared once and cached while it is unchanged."""
    form = prepared(template)
    check_mapping(template, list(values))
    data, notes, cut = form.render(values, flatten)
    write_atomic(out, data, durable=durable)
    return FillReport(out, tuple(values), flatten, (*form.notes, *notes, *cut), tuple(cut))


def write_atomic(out: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``out`` through a temporary file in the same folder, so a crash never leaves a
    half-written PDF under the real name."""
    atomic.write_or_explain(
        out,
        data,
        FormFieldError,
        "cannot write the PDF",
        "check the folder exists and you may write there, and close the file if a PDF viewer "
        "has it open",
        sync=durable,
    )


# ---------------------------------------------------------------------------------------------
# Mappings


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_DOUBLED_SEPARATOR = re.compile(r"\s*([,;/])(?:\s*[,;/])+")


def _list_roots(context: Mapping[str, Any], prefix: str = "") -> set[str]:
    roots: set[str] = set()
    for key, value in context.items():
        if isinstance(value, Mapping):
            roots |= _list_roots(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            roots.add(f"{prefix}{key}")
    return roots


def mapped_values(context: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, str | bool]:
    """``{PDF field: value}`` from a pupil's merge fields (``build_context``) and a mapping
    ``{PDF field: mergekit field}``. A rows field beyond the rows the pupil has
    (``siblings.3.name`` for a pupil with one sibling) is empty. A name that is not a mergekit
    field is a FormFieldError naming it and the closest real names."""
    flat = dict(flatten_context(context))
    roots = _list_roots(context)
    problems: list[str] = []

    def lookup(pdf_field: str, name: str) -> Any:
        name = name.strip()
        if name in flat:
            return flat[name]
        for root in roots:
            if name.startswith(root + ".") and name[len(root) + 1 :].split(".")[0].isdigit():
                return ""
        close = _closest(name, list(flat))
        hint = f" - did you mean {close}?" if close else ""
        problems.append(f"'{pdf_field}' = '{name}' is not a mergekit field{hint}")
        return ""

    values: dict[str, str | bool] = {}
    for pdf_field, spec in mapping.items():
        if "{" in spec:
            parts = {m: _as_text(lookup(pdf_field, m)) for m in _PLACEHOLDER.findall(spec)}
            text = _PLACEHOLDER.sub(partial(_part, parts), spec)
            text = _DOUBLED_SEPARATOR.sub(r"\1", text)
            values[pdf_field] = text.strip(" ,;/-\t\n")
        else:
            value = lookup(pdf_field, spec)
            values[pdf_field] = value if isinstance(value, bool) else _as_text(value)
    if problems:
        raise FormFieldError(
            "; ".join(problems) + " (`mergekit fields` lists every mergekit field)"
        )
    return values


def _part(parts: Mapping[str, str], match: re.Match[str]) -> str:
    return parts[match.group(1)]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return str(value)


def read_mapping_file(sidecar: Path) -> tuple[str, dict[str, str]]:
    """(action, mapping) from a form's JSON sidecar (``cme_referral.json``)."""
    try:
        raw = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise FormFieldError(
            f"{sidecar}: no mapping file beside the form - write one like the bundled "
            "templates/pdf/cme_referral.json, or map the form in mergekit.toml [forms.NAME]"
        ) from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormFieldError(f"{sidecar}: not a readable JSON mapping ({e}) - fix the file") from e
    fields = raw.get("fields") if isinstance(raw, dict) else None
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
    ):
        raise FormFieldError(
            f'{sidecar}: needs "fields": {{"PDF field name": "mergekit.field", ...}} - fix the file'
        )
    action = raw.get("action", sidecar.stem)
    return str(action), dict(fields)


def bundled_form(action: str, templates: Path | None = None) -> tuple[Path, dict[str, str]]:
    """The PDF and mapping for a bundled form; a school's own copy in ``templates/pdf/``
    (``[files] templates``) wins over the one shipped with mergekit."""
    candidates = []
    if templates is not None:
        candidates.append(templates / "pdf" / f"{action}.pdf")
    candidates.append(bundled("templates", "pdf", f"{action}.pdf"))
    for pdf in candidates:
        if pdf.is_file():
            _action, mapping = read_mapping_file(pdf.with_suffix(".json"))
            return pdf, mapping
    raise FormFieldError(
        f"there is no PDF form for '{action}' - mergekit has PDF forms for "
        f"{', '.join(BUNDLED_FORMS)}; map a council's own form in mergekit.toml [forms.NAME]"
    )


def _fill_mapped(
    pdf: Path,
    mapping: Mapping[str, str],
    context: Mapping[str, Any],
    out: Path,
    where: str,
    flatten: bool,
) -> FillReport:
    try:
        check_mapping(pdf, list(mapping))
        values = mapped_values(context, mapping)
    except FormFieldError as e:
        raise FormFieldError(f"{where}: {e}") from e
    return fill_form(pdf, values, out, flatten=flatten)


def fill_bundled_form(
    action: str,
    context: Mapping[str, Any],
    out: Path,
    *,
    flatten: bool = False,
    templates: Path | None = None,
) -> Path:
    """Fill the bundled form for ``action`` (cme_referral, remove_from_roll) for one pupil."""
    pdf, mapping = bundled_form(action, templates)
    return _fill_mapped(pdf, mapping, context, out, pdf.with_suffix(".json").name, flatten).path


def fill_configured_form(
    settings: Settings,
    name: str,
    context: Mapping[str, Any],
    out: Path,
    *,
    flatten: bool | None = None,
) -> FillReport:
    """Fill the council form ``[forms.NAME]`` of mergekit.toml for one pupil."""
    form = settings.forms.get(name)
    if form is None:
        names = ", ".join(settings.forms) or "none"
        raise FormFieldError(
            f"{settings.path.name}: there is no [forms.{name}] (forms configured: {names}) - "
            "add it, or check the spelling"
        )
    pdf = settings.resolve(form.file)
    if not pdf.is_file():
        raise FormFieldError(
            f"{settings.where(f'forms.{name}.file')}: [forms.{name}] file = {form.file!r}: no "
            f"such file {pdf} - put the council's PDF there or correct the path"
        )
    if not form.fields:
        raise FormFieldError(
            f"{settings.where(f'forms.{name}')}: [forms.{name}] has no fields mapped - add "
            f'fields = {{ "PDF field" = "mergekit.field" }} (`mergekit pdf fields {form.file}` '
            "lists the PDF's fields, `mergekit fields` mergekit's)"
        )
    where = f"{settings.where(f'forms.{name}.fields')}: [forms.{name}]"
    chosen = settings.pdf.flatten if flatten is None else flatten
    return _fill_mapped(pdf, form.fields, context, out, where, chosen)


def fill_action_form(
    settings: Settings,
    action: str,
    context: Mapping[str, Any],
    out: Path,
    *,
    flatten: bool | None = None,
) -> FillReport:
    """The form for an action: the council's own ([forms.NAME] with that action) when the
    config has one, else the school's or mergekit's bundled form."""
    for name, form in settings.forms.items():
        if form.action == action:
            return fill_configured_form(settings, name, context, out, flatten=flatten)
    templates = settings.resolve(settings.files.templates) if settings.files.templates else None
    pdf, mapping = bundled_form(action, templates)
    chosen = settings.pdf.flatten if flatten is None else flatten
    return _fill_mapped(pdf, mapping, context, out, pdf.with_suffix(".json").name, chosen)


# ---------------------------------------------------------------------------------------------
# Merging filled copies


def _top_name(path: Path, index: int, used: set[str]) -> str:
    # A period separates levels of a field name, so the copy's name must not contain one.
    base = re.sub(r"[.\s]+", "_", path.stem) or f"copy{index}"
    name = base
    n = 2
    while name in used:
        name = f"{base}_{n}"
        n += 1
    used.add(name)
    return name


def merge_filled(forms: Sequence[Path], out: Path) -> Path:
    """Several filled forms in one PDF, in the order given. Each copy's fields are renamed
    under its file name (``<file>.pupil_forename``), so a viewer never shows the first
    pupil's answers on every copy; flattened copies are simply appended. The shared font
    is stored once."""
    if not forms:
        raise FormFieldError(f"{out.name}: no filled forms to merge")
    writer = PdfWriter()
    used: set[str] = set()
    for i, path in enumerate(forms, start=1):
        try:
            reader = PdfReader(path)
            reader.add_form_topname(_top_name(path, i, used))
            writer.append(reader, import_outline=False)
        except FileNotFoundError as e:
            raise FormFieldError(f"{path}: no such file - was it filled?") from e
        except Exception as e:  # pypdf raises many types on damaged files
            raise FormFieldError(f"{path.name}: cannot add it to {out.name} ({e})") from e
    acro = writer.root_object.get("/AcroForm")
    acro = acro.get_object() if acro is not None else None
    if isinstance(acro, DictionaryObject):
        acro[NameObject("/NeedAppearances")] = BooleanObject(False)
        acro.pop("/XFA", None)
    # The font each copy embeds, stored once (the keywords replaced pypdf's deprecated
    # remove_identicals/remove_orphans in 7.0).
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    buf = io.BytesIO()
    writer.write(buf)
    write_atomic(out, buf.getvalue())
    return out


def prepare_for_pack(writer: PdfWriter, reader: PdfReader, name: str) -> None:
    """Ready one filled copy for appending to a pack: its fields go under their own
    top-level name (so no two copies share a field) and any XFA copy is dropped."""
    del writer  # the pack appends the reader itself; kept for the pack's call signature
    root = reader.root_object
    acro = root.get("/AcroForm")
    acro = acro.get_object() if acro is not None else None
    if isinstance(acro, DictionaryObject):
        acro.pop("/XFA", None)
        reader.add_form_topname(re.sub(r"[.\s]+", "_", name) or "copy")


# ---------------------------------------------------------------------------------------------
# One pupil, from the command line


@dataclass(frozen=True)
class _Chosen:
    pdf: Path
    mapping: dict[str, str]
    action: str
    where: str
    flatten_default: bool


def _choose_form(settings: Settings, form: str) -> _Chosen:
    """FORM as a [forms] name, a bundled form's action, or a PDF file (matched to a [forms]
    entry, or with a JSON mapping beside it)."""
    if form in settings.forms:
        mapped = settings.forms[form]
        return _Chosen(
            settings.resolve(mapped.file),
            dict(mapped.fields),
            mapped.action,
            f"{settings.where(f'forms.{form}.fields')}: [forms.{form}]",
            settings.pdf.flatten,
        )
    if form in BUNDLED_FORMS:
        templates = settings.resolve(settings.files.templates) if settings.files.templates else None
        pdf, mapping = bundled_form(form, templates)
        return _Chosen(pdf, mapping, form, pdf.with_suffix(".json").name, settings.pdf.flatten)
    path = Path(form).expanduser()
    if not path.is_file():
        names = ", ".join([*settings.forms, *BUNDLED_FORMS])
        raise FormFieldError(
            f"{form}: not a PDF file, a [forms] name in {settings.path.name} or a bundled "
            f"form - use one of {names}, or the path of a PDF"
        )
    for name, mapped in settings.forms.items():
        candidate = settings.resolve(mapped.file)
        if candidate.is_file() and candidate.samefile(path):
            return _choose_form(settings, name)
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        action, mapping = read_mapping_file(sidecar)
        return _Chosen(path, mapping, action, sidecar.name, settings.pdf.flatten)
    raise FormFieldError(
        f"{path.name}: mergekit does not know which pupil details go in which field - add "
        f'[forms.NAME] with file = "{path.name}" and fields = {{ "PDF field" = '
        '"mergekit.field" }} to mergekit.toml (`mergekit pdf fields` lists the PDF\'s '
        "fields, `mergekit fields` mergekit's)"
    )


def fill_for_pupil(
    ws: Workspace,
    form: str,
    upn: str,
    school: Callable[[], SchoolData],
    out: Path | None = None,
    flatten: bool | None = None,
) -> FillReport:
    """`mergekit pdf fill`: one form for one pupil, from ``school()`` (the tracking workbook,
    read once the form is known)."""
    from mergekit.merge.fields import build_context

    settings = ws.settings
    chosen = _choose_form(settings, form)
    data = school()
    pupils = data.pupils
    key = upn.strip().upper()
    pupil = pupils.get(key)
    if pupil is None:
        close = _closest(key, list(pupils))
        hint = f" - did you mean {close}?" if close else " - check the UPN"
        raise FormFieldError(f"{settings.files.tracking}: no pupil with UPN {upn!r}{hint}")
    action = Action.for_pupil(
        pupil,
        chosen.action,
        reason="",
        stage=ws.today.isoformat(),
        academic_year=academic_year_of(ws.today),
    )
    from mergekit.merge.cmesteps import steps_taken

    steps = steps_taken(settings, [action], ws.today)
    context = build_context(settings, data, pupil, ws.today, action=action, steps=steps)
    if out is None:
        out = run_dir(settings, ws.today) / PDF_DIR / f"{document_stem(pupil, chosen.action)}.pdf"
    flat = chosen.flatten_default if flatten is None else flatten
    return _fill_mapped(chosen.pdf, chosen.mapping, context, out, chosen.where, flat)
