"""Checking Word templates the way staff edit them (``mergekit templates check``).

Word is hostile to template tags: AutoFormat turns ``"`` into curly quotes, spell-check and
editing split one tag over several runs, and an ``{% if %}`` is easily left without its
``{% endif %}``. This module reads a .docx (body, headers, footers, footnotes, properties) and
reports, in words staff can act on:

* errors: unknown fields (with "did you mean"), tags that Jinja cannot read, unbalanced
  ``{% if %}``/``{% for %}``, unknown filters, tags left open at the end of a paragraph,
  non-breaking spaces inside tags, docxtpl row/cell tags outside a table;
* warnings: tags split across Word runs (they may still work), curly quotes inside tags
  (straightened when rendering), text that a ``{%p %}`` tag will remove, templates with no
  fields at all.

The field check compares every ``{{ ... }}`` against the merge fields of a complete sample
pupil (:func:`sample_context`), following ``{% for %}`` loops into their rows.
"""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2 import TemplateSyntaxError, nodes
from lxml import etree

from mergekit.core.config import Settings
from mergekit.core.errors import Severity
from mergekit.core.model import (
    Action,
    Address,
    AttendanceSummary,
    Contact,
    ContactLogEntry,
    Event,
    EventKind,
    Person,
    Pupil,
    SchoolData,
)
from mergekit.merge.fields import LetterHistory, build_context
from mergekit.merge.formfields import StepsTaken
from mergekit.merge.render import (
    _PARSER,
    environment,
    numbered,
    paragraph_at,
    part_label,
    patch_part,
    tagged_parts,
)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_OPEN_RE = re.compile(r"\{[{%#]")
_CURLY = "“”‘’"  # straightened by docxtpl when rendering
_ODD_QUOTES = "„‟«»‚‛′″"  # not straightened: Jinja cannot read them
_BLOCKS = {"if", "for", "macro", "call", "filter", "with", "block", "raw", "autoescape"}
_MIDDLES = {"elif": {"if"}, "else": {"if", "for"}}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    template: str
    part: str  # body, header1, footer2, footnotes, properties
    message: str
    paragraph: str = ""  # the paragraph's text, so staff can find it in Word
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.template} ({self.part})" if self.part else self.template
        text = f"{where}: {self.message}"
        if self.paragraph:
            text += f' in "{self.paragraph}"'
        return f"{text} - {self.hint}" if self.hint else text


@dataclass(frozen=True)
class TemplateReport:
    path: Path
    findings: tuple[Finding, ...] = ()
    fields: tuple[str, ...] = ()  # merge fields the template uses, as written

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------------
# The sample pupil: every field filled, every list non-empty


def sample_data(today: date) -> tuple[SchoolData, Pupil]:
    """An invented pupil with every field, two parents, a sibling, marks, a contact log and a
    planned move, so that every merge field and every loop row has a value."""
    home = Address(("14 Orchard Way", "Exampleton"), "ZZ1 7QA")
    pupil = Pupil(
        upn="A999000000001",
        surname="Okafor",
        forename="Amara",
        middle_names="Grace",
        preferred_forename="Amara",
        aliases="Amara Smith",
        former_upn="A999000000000",
        admission_no="004512",
        admission_date=date(2022, 9, 1),
        dob=date(2012, 3, 14),
        gender="F",
        year=9,
        reg_group="9KM",
        ethnicity="Black African",
        first_language="English",
        english_proficiency="E",
        address=home,
        previous_addresses="3 Mill Lane, Exampleton, ZZ1 2AB",
        sen="K",
        flags=frozenset({"fsm", "early_help"}),
        social_worker=Person("Jo Rivers", "jo.rivers@example.gov.uk", "01632 960 555"),
        key_worker=Person("Sam Patel", "sam.patel@example.gov.uk", "01632 960 556"),
        summary=AttendanceSummary(),
    )
    sibling = Pupil(
        upn="A999000000002",
        surname="Okafor",
        forename="Kofi",
        dob=date(2014, 6, 2),
        year=7,
        reg_group="7RB",
        address=home,
    )
    mum = Contact(
        upn=pupil.upn,
        name="Mrs Ngozi Okafor",
        priority=1,
        title="Mrs",
        forename="Ngozi",
        surname="Okafor",
        relationship="Mother",
        parental_responsibility=True,
        lives_with_pupil=True,
        address=home,
        landline="01632 960 101",
        mobile="07700 900 101",
        work_phone="01632 960 102",
        email="ngozi.okafor@example.org",
        home_language="English",
    )
    dad = Contact(
        upn=pupil.upn,
        name="Mr David Okafor",
        priority=2,
        title="Mr",
        forename="David",
        surname="Okafor",
        relationship="Father",
        parental_responsibility=True,
        lives_with_pupil=True,
        address=home,
        mobile="07700 900 102",
        email="david.okafor@example.org",
        home_language="Yoruba",
        interpreter_needed=False,
    )
    aunt = Contact(
        upn=pupil.upn,
        name="Ms Ada Eze",
        priority=3,
        relationship="Aunt",
        address=Address(("2 Elm Court", "Exampleton"), "ZZ1 9EC"),
        mobile="07700 900 103",
    )
    marks: dict[date, tuple[str, str]] = {}
    day = today - timedelta(days=30)
    codes = ("/", "/", "N", "/", "I", "/", "O", "/", "/", "M")
    i = 0
    while day <= today:
        if day.weekday() < 5:
            code = codes[i % len(codes)]
            marks[day] = (code, code if code != "M" else "/")
            i += 1
        day += timedelta(days=1)
    data = SchoolData(
        pupils={pupil.upn: pupil, sibling.upn: sibling},
        contacts={
            pupil.upn: (mum, dad, aunt),
            sibling.upn: (
                Contact(**{**_fields(mum), "upn": sibling.upn}),
                Contact(**{**_fields(dad), "upn": sibling.upn}),
            ),
        },
        marks={pupil.upn: marks},
        contact_log={
            pupil.upn: (
                ContactLogEntry(
                    pupil.upn,
                    today - timedelta(days=3),
                    "Phone call",
                    False,
                    "No answer; voicemail left",
                ),
                ContactLogEntry(
                    pupil.upn,
                    today - timedelta(days=2),
                    "Home visit",
                    False,
                    "Nobody home; card left",
                ),
            )
        },
        events={
            pupil.upn: (
                Event(
                    pupil.upn,
                    EventKind.PLANNED_MOVE,
                    today - timedelta(days=7),
                    effective_date=today + timedelta(days=21),
                    new_address="Rua das Flores 10, Lisbon",
                    new_country="Portugal",
                    new_school="Escola Exemplo, Lisbon",
                    informed="Mrs Okafor told the office; CME team emailed",
                    notes="Family moving for work",
                ),
            )
        },
        has_marks=True,
    )
    return data, pupil


def _fields(c: Contact) -> dict[str, Any]:
    return {name: getattr(c, name) for name in c.__slots__}


def sample_action(pupil: Pupil, today: date, action: str = "pa_letter_2") -> Action:
    return Action.for_pupil(
        pupil,
        action,
        reason="attendance 86.4% (146/169 sessions), below 90%; letter 1 sent 02/10/2026",
        stage="2026-27",
        academic_year="2026-27",
        evidence={"run_start": (today - timedelta(days=14)).isoformat(), "run_days": 10},
    )


def sample_context(settings: Settings, today: date) -> dict[str, Any]:
    """The merge fields of the invented sample pupil: what templates are checked against."""
    data, pupil = sample_data(today)
    history = LetterHistory({1: today - timedelta(days=50), 2: today - timedelta(days=25)})
    sibling = next(upn for upn in data.pupils if upn != pupil.upn)
    # The brother has his own CME referral today, the CME team was told last week.
    steps = StepsTaken(
        {(sibling, "cme_referral"): (today,), (pupil.upn, "cme_inform"): (today - timedelta(7),)},
        {(pupil.upn, "cme_inform"): (today - timedelta(7),)},
    )
    return build_context(
        settings,
        data,
        pupil,
        today,
        action=sample_action(pupil, today),
        letters=history,
        steps=steps,
    )


# ---------------------------------------------------------------------------------------------
# The field schema: what exists, and what a name in a template refers to


class _Any:
    """Something the check cannot follow (a method result, a filter's output): no checks."""


ANY = _Any()


def schema_of(value: Any) -> Any:
    """Dicts stay dicts, a list becomes [schema of one row] (its rows' keys merged)."""
    if isinstance(value, Mapping):
        return {k: schema_of(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        rows = [schema_of(v) for v in value]
        if not rows:
            return [ANY]
        if all(isinstance(r, dict) for r in rows):
            merged: dict[str, Any] = {}
            for r in rows:
                merged.update(r)
            return [merged]
        return [rows[0]]
    return value


def context_schema(context: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = schema_of(context)
    if isinstance(schema.get("action"), dict):
        schema["action"]["evidence"] = ANY  # free-form: whatever the rule recorded
    return schema


def known_names(schema: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of everything in the schema, rows of lists written as name[]."""
    out: list[str] = []
    for key, value in schema.items():
        name = f"{prefix}{key}"
        out.append(name)
        if isinstance(value, dict):
            out.extend(known_names(value, f"{name}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.extend(known_names(value[0], f"{name}[]."))
    return out


@dataclass(frozen=True)
class UnknownField:
    name: str  # as written in the template, e.g. "pupil.forname" or "a.dat"
    suggestions: tuple[str, ...]
    lineno: int
    note: str = ""  # e.g. "a is one row of attendance.recent_absences"

    def message(self) -> str:
        text = f"unknown field '{self.name}'"
        if self.note:
            text += f" ({self.note})"
        if self.suggestions:
            text += " - did you mean " + " or ".join(f"'{s}'" for s in self.suggestions) + "?"
        else:
            text += " - `mergekit fields` lists the fields"
        return text


@dataclass
class _Val:
    schema: Any
    path: str  # dotted, as the user wrote it
    origin: str = ""  # for loop variables: the list they come from


class FieldVisitor:
    """Walks a parsed Jinja template, resolving every name against the schema."""

    def __init__(self, schema: Mapping[str, Any], globals_: Sequence[str] = ()) -> None:
        self.schema = schema
        self.globals = {
            "loop",
            "range",
            "dict",
            "lipsum",
            "cycler",
            "joiner",
            "namespace",
            *globals_,
        }
        self.unknown: list[UnknownField] = []
        self.guarded: set[str] = set()
        self.used: list[str] = []
        self._names = known_names(schema)

    def run(self, tree: nodes.Template) -> None:
        # Fields the template asks about ({% if x is defined %}, x|default(...)) are optional:
        # their uses are not errors anywhere in the template.
        for n in tree.find_all((nodes.Test, nodes.Filter)):
            if n.name in ("defined", "undefined", "default", "d") and n.node is not None:
                path = _dotted(n.node)
                if path:
                    self.guarded.add(path)
        self._visit_all(tree.body, {})

    # -- traversal -----------------------------------------------------------------------

    def _visit_all(self, items: Sequence[nodes.Node], scope: dict[str, _Val]) -> None:
        for n in items:
            self._visit(n, scope)

    def _visit(self, n: nodes.Node, scope: dict[str, _Val]) -> None:
        if isinstance(n, nodes.For):
            it = self._resolve(n.iter, scope)
            inner = dict(scope)
            row: Any = ANY
            if isinstance(it.schema, list):
                row = it.schema[0]
            self._bind(n.target, inner, _Val(row, "", it.path), row_of=it.path)
            inner["loop"] = _Val(ANY, "loop")
            if n.test is not None:
                self._resolve(n.test, inner)
            self._visit_all(n.body, inner)
            self._visit_all(n.else_, scope)
            return
        if isinstance(n, nodes.Assign):
            value = self._resolve(n.node, scope)
            self._bind(n.target, scope, _Val(value.schema, ""))
            return
        if isinstance(n, nodes.AssignBlock):
            self._bind(n.target, scope, _Val(ANY, ""))
            self._visit_all(n.body, scope)
            return
        if isinstance(n, nodes.With):
            inner = dict(scope)
            for target, expr in zip(n.targets, n.values, strict=False):
                self._bind(target, inner, _Val(self._resolve(expr, scope).schema, ""))
            self._visit_all(n.body, inner)
            return
        if isinstance(n, nodes.Macro | nodes.CallBlock):
            inner = dict(scope)
            for arg in n.args:
                inner[arg.name] = _Val(ANY, arg.name)
            for name in ("caller", "varargs", "kwargs"):
                inner[name] = _Val(ANY, name)
            if isinstance(n, nodes.Macro):
                scope[n.name] = _Val(ANY, n.name)
            else:
                self._resolve(n.call, scope)
            self._visit_all(n.body, inner)
            return
        if isinstance(n, nodes.Expr):
            self._resolve(n, scope)
            return
        for child in n.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self._resolve(child, scope)
            else:
                self._visit(child, scope)

    def _bind(
        self, target: nodes.Node, scope: dict[str, _Val], value: _Val, row_of: str = ""
    ) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = _Val(value.schema, target.name, row_of)
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                self._bind(item, scope, _Val(ANY, ""))
        elif isinstance(target, nodes.NSRef):
            pass

    # -- expressions ---------------------------------------------------------------------

    def _resolve(self, n: nodes.Node, scope: dict[str, _Val]) -> _Val:
        if (isinstance(n, nodes.Test) and n.name in ("defined", "undefined")) or (
            isinstance(n, nodes.Filter) and n.name in ("default", "d")
        ):
            # Asking whether a field exists, or giving one a default, is how templates
            # use optional fields: no error for the field itself.
            children: list[nodes.Node] = [*n.args, *(k.value for k in n.kwargs)]
            for child in children:
                self._resolve(child, scope)
            return _Val(ANY, "")
        if isinstance(n, nodes.Name):
            if n.name in scope:
                return scope[n.name]
            if n.name in self.schema:
                self.used.append(n.name)
                return _Val(self.schema[n.name], n.name)
            if n.name in self.globals:
                return _Val(ANY, n.name)
            self._unknown(n.name, n.lineno, self._top_suggestions(n.name))
            return _Val(ANY, n.name)
        if isinstance(n, nodes.Getattr):
            return self._member(self._resolve(n.node, scope), n.attr, n.lineno)
        if isinstance(n, nodes.Getitem):
            base = self._resolve(n.node, scope)
            arg = n.arg
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                return self._member(base, arg.value, n.lineno)
            self._resolve(arg, scope)
            if isinstance(arg, nodes.Const) and isinstance(base.schema, list):
                return _Val(base.schema[0], f"{base.path}[{arg.value}]")
            return _Val(ANY, "")
        for child in n.iter_child_nodes():
            self._resolve(child, scope)
        return _Val(ANY, "")

    def _member(self, base: _Val, attr: str, lineno: int) -> _Val:
        s = base.schema
        path = f"{base.path}.{attr}" if base.path else attr
        if isinstance(s, dict):
            if attr in s:
                if not base.origin:
                    self.used.append(path)
                return _Val(s[attr], path)
            if hasattr(dict, attr):
                return _Val(ANY, path)
            note = f"{base.path} is one row of {base.origin}" if base.origin else ""
            options = difflib.get_close_matches(attr, list(s), n=3, cutoff=0.6)
            suggestions = tuple(f"{base.path}.{o}" for o in options)
            if not suggestions and not base.origin:
                suggestions = tuple(difflib.get_close_matches(path, self._names, n=3, cutoff=0.7))
            self._unknown(path, lineno, suggestions, note)
            return _Val(ANY, path)
        if isinstance(s, list):
            if hasattr(list, attr):
                return _Val(ANY, path)
            self._unknown(path, lineno, (), f"{base.path} is a list: use {{% for %}} over it")
            return _Val(ANY, path)
        if isinstance(s, _Any) or s is None:
            return _Val(ANY, path)
        if hasattr(s, attr):  # a method of a text or number value, e.g. .upper()
            return _Val(ANY, path)
        self._unknown(path, lineno, (), f"{base.path} is a single value, not a group")
        return _Val(ANY, path)

    def _top_suggestions(self, name: str) -> tuple[str, ...]:
        tops = list(self.schema)
        found = difflib.get_close_matches(name, tops, n=2, cutoff=0.7)
        leaf = [n for n in self._names if "[]" not in n and n.rsplit(".", 1)[-1] == name]
        near_leaf = [
            n
            for n in self._names
            if "[]" not in n
            and "." in n
            and difflib.SequenceMatcher(None, n.rsplit(".", 1)[-1], name).ratio() >= 0.8
        ]
        out: list[str] = []
        for s in [*found, *leaf, *near_leaf]:
            if s not in out:
                out.append(s)
        return tuple(out[:3])

    def _unknown(self, name: str, lineno: int, suggestions: Sequence[str], note: str = "") -> None:
        if name in self.guarded:
            return
        self.unknown.append(UnknownField(name, tuple(suggestions), lineno, note))


def _dotted(n: nodes.Node) -> str:
    """'pupil.nickname' for a plain chain of names and attributes, else ''."""
    if isinstance(n, nodes.Name):
        return n.name
    if isinstance(n, nodes.Getattr):
        base = _dotted(n.node)
        return f"{base}.{n.attr}" if base else ""
    return ""


def unknown_fields(tree: nodes.Template, schema: Mapping[str, Any]) -> list[UnknownField]:
    v = FieldVisitor(schema)
    v.run(tree)
    return v.unknown


def used_fields(tree: nodes.Template, schema: Mapping[str, Any]) -> list[str]:
    v = FieldVisitor(schema)
    v.run(tree)
    return list(dict.fromkeys(v.used))


# ---------------------------------------------------------------------------------------------
# Checking a .docx


@dataclass
class _Para:
    text: str
    runs: list[tuple[int, int]]  # (start, end) of each run's text within ``text``
    in_table: bool
    in_cell: bool


@dataclass
class _Part:
    member: str
    label: str
    kind: str
    xml: str
    paragraphs: list[_Para] = field(default_factory=list)


def check_template(
    path: Path, schema: Mapping[str, Any], name: str | None = None
) -> TemplateReport:
    """Everything wrong with one template. Never raises for a bad file: that is a finding."""
    label = name or path.name
    findings: list[Finding] = []
    used: list[str] = []

    def add(sev: Severity, part: str, msg: str, para: str = "", hint: str = "") -> None:
        findings.append(Finding(sev, label, part, msg, para, hint))

    try:
        data = path.read_bytes()
        zf = zipfile.ZipFile(io.BytesIO(data))
        if any(i.flag_bits & 0x1 for i in zf.infolist()):
            add(
                Severity.ERROR,
                "",
                "the file is password-protected",
                hint="save a copy without a password",
            )
            return TemplateReport(path, tuple(findings))
        parts = [
            _read_part(zf, member, kind) for member, kind in tagged_parts(zf, only_tagged=False)
        ]
    except OSError as e:
        add(Severity.ERROR, "", f"cannot read the file ({e.strerror})", hint="check the path")
        return TemplateReport(path, tuple(findings))
    except (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as e:
        add(
            Severity.ERROR,
            "",
            f"not a Word .docx file, or a damaged one ({e})",
            hint="open it in Word and save it as 'Word Document (.docx)'",
        )
        return TemplateReport(path, tuple(findings))

    env = environment()
    any_tags = False
    for part in parts:
        if not _OPEN_RE.search(part.xml):
            continue
        any_tags = True
        tags = _check_runs(part, add)
        if not _check_balance(part, tags, add):
            continue
        source = patch_part(_docxtpl(), part.xml, part.kind)
        try:
            # One paragraph per line, so every line number found below names a paragraph.
            tree = env.parse(numbered(source))
        except TemplateSyntaxError as e:
            add(
                Severity.ERROR,
                part.label,
                f"a tag Jinja cannot read: {e.message}",
                paragraph_at(source, e.lineno),
                "correct the tag in Word (straight quotes, matching brackets)",
            )
            continue
        try:
            env.from_string(source)  # compiling finds unknown filters and tests
        except JinjaTemplateError as e:
            add(
                Severity.ERROR,
                part.label,
                str(e),
                hint="use a filter mergekit knows (Jinja's own filters, or tick)",
            )
            continue
        visitor = FieldVisitor(schema)
        visitor.run(tree)
        used.extend(visitor.used)
        reported: set[tuple[str, int]] = set()
        for u in visitor.unknown:
            if (u.name, u.lineno) not in reported:
                reported.add((u.name, u.lineno))
                add(Severity.ERROR, part.label, u.message(), paragraph_at(source, u.lineno))
    if not any_tags:
        add(
            Severity.WARNING,
            "",
            "no merge fields found: every document made from it would be the same",
            hint="add fields such as {{ pupil.full_name }} (`mergekit fields`)",
        )
    return TemplateReport(path, tuple(findings), tuple(dict.fromkeys(used)))


def check_templates(paths: Sequence[Path], schema: Mapping[str, Any]) -> list[TemplateReport]:
    return [check_template(p, schema) for p in paths]


def _docxtpl() -> Any:
    from docxtpl import DocxTemplate

    return DocxTemplate(io.BytesIO())


def _read_part(zf: zipfile.ZipFile, member: str, kind: str) -> _Part:
    root = etree.fromstring(zf.read(member), _PARSER)
    xml = etree.tostring(root, encoding="unicode")
    part = _Part(member, part_label(member, kind), kind, xml)
    if kind == "properties":
        text = "".join(root.itertext())
        part.paragraphs.append(_Para(text, [(0, len(text))], False, False))
        return part
    for p in root.iter(f"{W}p"):
        runs: list[tuple[int, int]] = []
        text = ""
        for r in p.iter(f"{W}r"):
            if _nearest_paragraph(r) is not p:
                continue
            t = "".join(x.text or "" for x in r.iter(f"{W}t"))
            if t:
                runs.append((len(text), len(text) + len(t)))
                text += t
        in_table = any(a.tag == f"{W}tbl" for a in p.iterancestors())
        in_cell = any(a.tag == f"{W}tc" for a in p.iterancestors())
        part.paragraphs.append(_Para(text, runs, in_table, in_cell))
    return part


def _nearest_paragraph(el: Any) -> Any:
    for a in el.iterancestors():
        if a.tag == f"{W}p":
            return a
    return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text[:120] + ("..." if len(text) > 120 else "")


@dataclass
class _Tag:
    text: str
    para: _Para


def _check_runs(part: _Part, add: Any) -> list[_Tag]:
    """Run-level problems, paragraph by paragraph; returns the tags in document order."""
    tags: list[_Tag] = []
    for p in part.paragraphs:
        if not _OPEN_RE.search(p.text):
            continue
        ptext = _short(p.text)
        split: list[str] = []
        for m in _TAG_RE.finditer(p.text):
            tag = m.group(0)
            tags.append(_Tag(tag, p))
            spans = [i for i, (s, e) in enumerate(p.runs) if s < m.end() and e > m.start()]
            if len(spans) > 1:
                split.append(tag)
            if any(q in tag for q in _CURLY):
                add(
                    Severity.WARNING,
                    part.label,
                    f"curly quotes inside {tag}",
                    ptext,
                    "mergekit straightens them, but type straight quotes (turn off Word's "
                    "AutoFormat 'Straight quotes with smart quotes')",
                )
            if any(q in tag for q in _ODD_QUOTES):
                add(
                    Severity.ERROR,
                    part.label,
                    f"unusual quote marks inside {tag}",
                    ptext,
                    "retype the quotes as straight ' or \"",
                )
            if "\u00a0" in tag:
                add(
                    Severity.ERROR,
                    part.label,
                    f"a non-breaking space inside {tag}",
                    ptext,
                    "retype the spaces inside the tag as ordinary spaces",
                )
            kind = _docxtpl_kind(tag)
            if kind in ("tr", "tc") and not p.in_cell:
                add(
                    Severity.ERROR,
                    part.label,
                    f"{tag} is only allowed inside a table cell",
                    ptext,
                    f"move it into a table, or use {{% ... %}} without '{kind}'",
                )
            if kind == "p":
                rest = _TAG_RE.sub("", p.text).strip()
                if rest:
                    add(
                        Severity.WARNING,
                        part.label,
                        f"{tag} takes the whole paragraph: the text '{_short(rest)}' next to it "
                        "is removed when documents are made",
                        ptext,
                        "put the tag in a paragraph of its own",
                    )
        if split:
            which = "the tag " + split[0] if len(split) == 1 else f"{len(split)} tags"
            add(
                Severity.WARNING,
                part.label,
                f"{which} split across Word runs (formatting changes inside the tag)",
                ptext,
                "it may still work; to be safe, select the whole tag, cut it and paste it "
                "back as plain text (Ctrl+Shift+V)",
            )
        if _OPEN_RE.search(_TAG_RE.sub("", p.text)):
            add(
                Severity.ERROR,
                part.label,
                "a tag is not closed in this paragraph",
                ptext,
                "end {{ with }}, {% with %}, {# with #} in the same paragraph",
            )
    return tags


def _docxtpl_kind(tag: str) -> str:
    m = re.match(r"\{[{%#]-?\s*?(tr|tc|p|r)\s", tag)
    return m.group(1) if m else ""


def _statement(tag: str) -> tuple[str, str]:
    """('if', 'x') for '{%p if x %}': the keyword of a {% %} tag, docxtpl prefix removed."""
    body = tag[2:-2].strip("-+ \t")
    body = re.sub(r"^(tr|tc|p|r)\s+", "", body)
    word = body.split(maxsplit=1)[0] if body.split() else ""
    return word, body


def _check_balance(part: _Part, tags: list[_Tag], add: Any) -> bool:
    """Every {% if %}/{% for %} closed, in the right order. False when something is wrong."""
    stack: list[tuple[str, _Tag]] = []
    ok = True
    for t in tags:
        if not t.text.startswith("{%"):
            continue
        word, body = _statement(t.text)
        if word == "set" and "=" not in body:
            stack.append(("set", t))
        elif word in _BLOCKS:
            stack.append((word, t))
        elif word.startswith("end") and word[3:] in (*_BLOCKS, "set"):
            want = word[3:]
            if not stack or stack[-1][0] != want:
                open_ = f" (the open one is {{% {stack[-1][0]} %}})" if stack else ""
                add(
                    Severity.ERROR,
                    part.label,
                    f"{{% {word} %}} without a matching {{% {want} %}}{open_}",
                    _short(t.para.text),
                    f"add the {{% {want} ... %}} tag, or remove this one",
                )
                ok = False
                if stack and any(s[0] == want for s in stack):
                    while stack and stack[-1][0] != want:
                        stack.pop()
                    stack.pop()
                continue
            stack.pop()
        elif word in _MIDDLES and (not stack or stack[-1][0] not in _MIDDLES[word]):
            add(
                Severity.ERROR,
                part.label,
                f"{{% {word} %}} outside an {{% if %}}",
                _short(t.para.text),
                "check the {% if %} ... {% endif %} around it",
            )
            ok = False
    for word, t in stack:
        add(
            Severity.ERROR,
            part.label,
            f"{{% {word} %}} is never closed with {{% end{word} %}}",
            _short(t.para.text),
            f"add {{% end{word} %}} where the {word} block should end",
        )
        ok = False
    return ok
