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
pupil (:func:`mergekit.documents.sample.sample_context`, checked by
:mod:`mergekit.documents.fieldschema`), following ``{% for %}`` loops into their rows.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2 import TemplateSyntaxError
from lxml import etree

from mergekit.core.errors import Severity
from mergekit.documents.fieldschema import FieldVisitor
from mergekit.merge.render import (
    _PARSER,
    environment,
    numbered,
    paragraph_at,
    part_label,
    patch_part,
    syntax_lineno,
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
                paragraph_at(source, syntax_lineno(env, source, None)),
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
