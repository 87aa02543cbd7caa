"""Fast bulk rendering of Word templates, with docxtpl's template language.

The plain way (a ``DocxTemplate`` per pupil) re-reads the template, re-runs docxtpl's XML clean-up,
re-parses the result and re-zips every part for each letter. Here that work is done once per
template: each XML part holding tags is cleaned with docxtpl's own ``patch_xml`` and compiled into
a Jinja template; a letter is then one Jinja render per tagged part and a zip written by hand, with
the unchanged parts' compressed bytes copied as they are.

Jinja runs with autoescaping on (``O'Brien & Sons <Ltd>`` stays valid XML) and strict undefined
fields (a misspelt field is an error, never a silent blank).
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers import expat

from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2 import TemplateError as JinjaTemplateError
from lxml import etree

from mergekit.core.errors import TemplateError
from mergekit.core.ooxml import relationships, rels_name
from mergekit.core.zippackage import ZipLayoutError, ZipPackage, ZipWriter, read_package, repack
from mergekit.merge.fields import tick

# Compression of the rendered parts: level 1 is ~4x faster than the default and the parts are
# small; the big unchanged parts (styles, theme) keep the template's own compression.
_LEVEL = 1
_TAG = re.compile(r"\{[{%#_]|[%_]\}")  # a tag, or docxtpl's {_{ escapes for literal braces
_DOCPR_ID = re.compile(r'(<wp:docPr\b[^>]*?\bid=")(\d+)(")')
# python-docx reads parts with this parser, so docxtpl sees XML in this form; so do we.
_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False)

_REL_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_REL_KINDS = {
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header": "header",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer": "footer",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes": "footnotes",
}


def environment() -> Environment:
    """The Jinja environment every Word template is rendered with."""
    env = Environment(autoescape=True, undefined=StrictUndefined)
    env.filters["tick"] = tick
    return env


@dataclass(frozen=True)
class TemplatePart:
    """One XML part of a template that holds tags, ready to render."""

    name: str  # zip member, e.g. word/document.xml
    label: str  # how messages name it: body, header, footer, footnotes, properties
    source: str  # the part's XML after docxtpl's clean-up: what Jinja sees
    template: Template
    declaration: bytes  # the XML declaration, written back in front of each render
    fix_tables: bool  # the part uses {%tc %}/colspan tags that change column counts
    # Some {% if %}/{% for %} cuts across Word's XML unevenly, so a render could be broken XML:
    # each render is then parsed before it is used (see _blocks_keep_xml_whole).
    validate: bool


class CompiledTemplate:
    """A Word template compiled once, rendered many times (see the module docstring)."""

    def __init__(self, path: Path, name: str, package: ZipPackage, parts: list[TemplatePart]):
        self.path = path
        self.name = name
        self._package = package
        self.parts = parts
        self._docxtpl = DocxTemplate(str(path))  # only its pure XML helpers are used

    def render(self, context: Mapping[str, Any]) -> bytes:
        """The .docx bytes of one document."""
        rendered = {p.name: self._render_part(p, context) for p in self.parts}
        added = _pictures(self, rendered, context)
        return self._zip(rendered, added)

    def member_bytes(self, name: str) -> bytes | None:
        """A part of the template as stored (uncompressed), or None when it has none."""
        part = self._package.get(name)
        return part.content() if part is not None else None

    def _render_part(self, part: TemplatePart, context: Mapping[str, Any]) -> bytes:
        try:
            xml = part.template.render(context)
        except UndefinedError as e:
            raise TemplateError(
                f"{self.name} ({part.label}): {_undefined_text(e)} - correct the field name in "
                "the template (`mergekit fields` lists them)"
            ) from e
        except JinjaTemplateError as e:
            raise TemplateError(
                f"{self.name} ({part.label}): {e} - check the tags in the template "
                "(`mergekit templates check`)"
            ) from e
        except (TypeError, ValueError, AttributeError) as e:
            raise TemplateError(
                f"{self.name} ({part.label}): a tag could not be filled in ({e}) - check the "
                "tags in the template (`mergekit templates check`)"
            ) from e
        # docxtpl's escapes for literal braces, and its "listing" of \n \t \a \f in values.
        if "{_" in xml or "_}" in xml:
            xml = (xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%")).replace(
                "%_}", "%}"
            )
        if "\n" in xml or "\t" in xml or "\a" in xml or "\f" in xml:
            xml = self._docxtpl.resolve_listing(xml)
        if part.fix_tables:
            tree = self._docxtpl.fix_tables(xml)
            xml = etree.tostring(tree, encoding="unicode")
        if "<wp:docPr" in xml:
            xml = _renumber_docpr(xml)
        data = xml.encode("utf-8")
        if part.validate:
            try:
                expat.ParserCreate().Parse(data, True)
            except expat.ExpatError as e:
                raise TemplateError(
                    f"{self.name} ({part.label}): the {{% if %}}/{{% for %}} tags cut across "
                    f"Word's paragraphs or tables, and for this document the result is not a "
                    f"valid Word file ({e}) - put each {{% if %}}...{{% endif %}} inside one "
                    "paragraph, or use {%p if %} / {%tr for %} on paragraphs and rows of their own"
                ) from e
        return part.declaration + data

    def _zip(
        self, rendered: Mapping[str, bytes], added: Mapping[str, bytes] | None = None
    ) -> bytes:
        out = io.BytesIO()
        writer = ZipWriter(out)
        for part in self._package.parts:
            data = rendered.get(part.name)
            if data is None:
                writer.copy(part)
            else:
                writer.replace(part, data, zipfile.ZIP_DEFLATED, _LEVEL)
        for name, data in (added or {}).items():
            writer.add(name, data, _LEVEL)
        writer.close()
        return out.getvalue()


def _pictures(
    template: CompiledTemplate, rendered: dict[str, bytes], context: Mapping[str, Any]
) -> dict[str, bytes]:
    """The picture of a ``{{ attendance_chart }}`` the template printed: its PNG as a new part,
    and (in ``rendered``) the relationship and content type that point at it."""
    from mergekit.merge.chart import CHART_MEDIA, CHART_REL_ID, ChartImage

    chart = context.get("attendance_chart")
    if not isinstance(chart, ChartImage) or not chart.used:
        return {}
    marker = f'r:embed="{CHART_REL_ID}"'.encode()
    users = [name for name, xml in rendered.items() if marker in xml]
    added: dict[str, bytes] = {}
    for part in users:
        rels = rels_name(part)
        stored = template.member_bytes(rels)
        xml = rendered.get(rels) or stored
        target = posixpath.relpath(CHART_MEDIA, posixpath.dirname(part))
        entry = (
            f'<Relationship Id="{CHART_REL_ID}" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/image" Target="{target}"/>'
        ).encode()
        if xml is None:
            xml = (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                b"</Relationships>"
            )
        if CHART_REL_ID.encode() not in xml:
            xml = xml.replace(b"</Relationships>", entry + b"</Relationships>")
        (rendered if stored is not None else added)[rels] = xml
    types = rendered.get("[Content_Types].xml") or template.member_bytes("[Content_Types].xml")
    if not users or types is None:
        return {}
    if b'Extension="png"' not in types:
        types = types.replace(
            b"</Types>", b'<Default Extension="png" ContentType="image/png"/></Types>'
        )
    rendered["[Content_Types].xml"] = types
    added[CHART_MEDIA] = chart.png
    return added


def compile_template(path: Path, name: str | None = None) -> CompiledTemplate:
    """Read a .docx template and compile its tagged parts. Raises TemplateError naming the
    template, the part and the paragraph when a tag cannot be understood."""
    label = name or path.name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TemplateError(
            f"{path}: cannot read the template ({e.strerror}) - check the path"
        ) from e
    try:
        package = _package(path, data)
        zf = zipfile.ZipFile(io.BytesIO(package.data))
        tagged = tagged_parts(zf)
        env = environment()
        docxtpl = DocxTemplate(str(path))
        parts = [
            _compile_part(label, env, docxtpl, member, kind, zf.read(member))
            for member, kind in tagged
        ]
    except (zipfile.BadZipFile, ZipLayoutError) as e:
        raise TemplateError(
            f"{path}: not a Word .docx file ({e}), or one protected with a password - save it "
            "from Word as 'Word Document (.docx)' without a password"
        ) from e
    except (etree.XMLSyntaxError, KeyError, ValueError, zlib.error) as e:
        raise TemplateError(
            f"{path}: the Word file is damaged ({e}) - open it in Word and save it again"
        ) from e
    return CompiledTemplate(path, label, package, parts)


def _package(path: Path, data: bytes) -> ZipPackage:
    """The template's parts as stored; a file from an unusual zip tool (ZIP64, gaps) is
    re-packed in memory first, since its parts are copied into every letter. Raises
    ZipLayoutError for a file that is not a zip or is damaged."""
    try:
        return read_package(data)
    except ZipLayoutError as e:
        if e.reason == "encrypted":
            raise TemplateError(
                f"{path}: the file is password-protected - save a copy without a password"
            ) from e
        if e.reason not in ("zip64", "unusual"):
            raise
    return read_package(repack(data))


def part_label(member: str, kind: str) -> str:
    stem = posixpath.splitext(posixpath.basename(member))[0]
    return kind if kind in ("body", "footnotes", "properties") else stem


def tagged_parts(zf: zipfile.ZipFile, *, only_tagged: bool = True) -> list[tuple[str, str]]:
    """(member, kind) of the parts docxtpl renders (the body, headers, footers, footnotes and
    the document properties); only those holding a tag unless ``only_tagged`` is false."""
    names = set(zf.namelist())
    main = _main_part(zf, names)
    candidates: list[tuple[str, str]] = [(main, "body")]
    rels = rels_name(main)
    if rels in names:
        for rel in relationships(etree.fromstring(zf.read(rels), _PARSER), main):
            kind = _REL_KINDS.get(rel.type)
            if kind and not rel.external:
                candidates.append((rel.target, kind))
    candidates.append(("docProps/core.xml", "properties"))
    out: list[tuple[str, str]] = []
    for member, kind in candidates:
        if (
            member in names
            and (member, kind) not in out
            and _TAG.search(zf.read(member).decode("utf-8", "replace"))
        ):
            out.append((member, kind))
    return out


def _main_part(zf: zipfile.ZipFile, names: set[str]) -> str:
    if "_rels/.rels" in names:
        for rel in relationships(etree.fromstring(zf.read("_rels/.rels"), _PARSER), ""):
            if rel.type == _REL_DOC:
                return rel.target
    if "word/document.xml" in names:
        return "word/document.xml"
    raise zipfile.BadZipFile("no word/document.xml inside")


def _compile_part(
    template_name: str,
    env: Environment,
    docxtpl: DocxTemplate,
    member: str,
    kind: str,
    blob: bytes,
) -> TemplatePart:
    root = etree.fromstring(blob, _PARSER)
    xml = etree.tostring(root, encoding="unicode")
    m = re.match(rb"<\?xml[^>]*\?>\s*", blob)
    declaration = (
        m.group(0).rstrip() + b"\n"
        if m
        else b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    )
    source = patch_part(docxtpl, xml, kind)
    label = part_label(member, kind)
    try:
        template = env.from_string(source)
    except TemplateSyntaxError as e:
        raise TemplateError(
            f"{template_name} ({label}): {e.message} near "
            f'"{paragraph_at(source, syntax_lineno(env, source, e.lineno))}" - '
            "fix the tag in Word (`mergekit templates check` lists every problem)"
        ) from e
    except JinjaTemplateError as e:
        raise TemplateError(
            f"{template_name} ({label}): {e} - fix the tag in Word "
            "(`mergekit templates check` lists every problem)"
        ) from e
    # Tags that add or remove table cells ({%tc %}, {#tc #}, {{tc }}, colspan, hm): the
    # table's grid is then fixed after each render, as docxtpl does.
    fix = bool(_CELL_TAGS.search(xml))
    whole = _blocks_keep_xml_whole(env, source)
    return TemplatePart(member, label, source, template, declaration, fix, not whole)


_CELL_TAGS = re.compile(r"\{[%{#]-?\s*(?:tc\s|colspan\b|hm\b)")
_XML_TAG = re.compile(r"<(/?)([A-Za-z_][\w:.-]*)[^<>]*?(/?)>")


def _blocks_keep_xml_whole(env: Environment, source: str) -> bool:
    """True when every branch of every {% if %}/{% for %} is a piece of XML that can be left
    out or repeated without breaking the document: what it closes it opens again, in order.
    Then a render is well-formed whatever the data; otherwise renders are checked one by one."""
    segments: list[list[str]] = [[]]  # the XML text of the branch being read, per open block
    try:
        tokens = list(env.lex(source))
    except TemplateSyntaxError:
        return False
    in_block = False
    for _, kind, value in tokens:
        if kind == "block_begin":
            in_block = True
            words: list[str] = []
            continue
        if in_block:
            if kind == "name" and not words:
                words.append(value)
            if kind == "block_end":
                in_block = False
                word = words[0] if words else ""
                if word in ("if", "for"):
                    segments.append([])
                elif word in ("elif", "else"):
                    if len(segments) < 2 or not _keeps_whole("".join(segments[-1])):
                        return False
                    segments[-1] = []
                elif word in ("endif", "endfor") and (
                    len(segments) < 2 or not _keeps_whole("".join(segments.pop()))
                ):
                    return False
            continue
        if kind == "data":
            segments[-1].append(value)
            for outer in segments[:-1]:
                outer.append("")  # nested branches are checked on their own
        elif kind == "variable_begin":
            segments[-1].append("x")
    return len(segments) == 1


def _keeps_whole(xml: str) -> bool:
    if xml.count("<") != len(_XML_TAG.findall(xml)) + xml.count("<?") + xml.count("<!"):
        return False  # a tag cut in two by a block tag
    closed: list[str] = []
    opened: list[str] = []
    for m in _XML_TAG.finditer(xml):
        end, name, empty = m.groups()
        if empty:
            continue
        if end:
            if opened:
                if opened.pop() != name:
                    return False
            else:
                closed.append(name)
        else:
            opened.append(name)
    return opened == closed[::-1]


_INSIDE_TAG = re.compile(r"(?<=\{[\{%])(.*?)(?=[\}%]})", re.S)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


def _unescape_tag(m: re.Match[str]) -> str:
    text = m.group(0)
    for entity, char in _ENTITIES:  # &amp; last: "&amp;lt;" is a typed "&lt;"
        text = text.replace(entity, char)
    return text


def patch_part(docxtpl: DocxTemplate, xml: str, kind: str) -> str:
    """docxtpl's clean-up of a part's XML (tags glued back together, {%p %} and friends
    turned into plain Jinja); the document properties get only the tag clean-up.

    Inside tags the XML's own escapes are undone too, so a literal typed in a tag is the
    text typed: with autoescape on, ``default("Testé&xx;")`` prints ``Testé&xx;`` (as
    docxtpl prints it without autoescape), not ``Testé&amp;xx;``."""
    if kind != "properties":
        xml = str(docxtpl.patch_xml(xml))
    return _INSIDE_TAG.sub(_unescape_tag, xml)


def numbered(source: str) -> str:
    """The source with one paragraph per line (as docxtpl does), so that a Jinja line number
    points at a paragraph. Only for finding things: rendering uses the source as it is."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", source)


def paragraph_at(source: str, lineno: int | None) -> str:
    """The text of the paragraph a line number of :func:`numbered` source points into."""
    lines = numbered(source).splitlines()
    if not lines:
        return ""
    text = re.sub(r"<[^>]+>", "", lines[max(0, min(len(lines) - 1, (lineno or 1) - 1))])
    text = " ".join(text.split())
    return text[:120] + ("..." if len(text) > 120 else "")


def syntax_lineno(env: Environment, source: str, fallback: int | None) -> int | None:
    """The line of a syntax error in the :func:`numbered` source: compiled, not only parsed,
    so an unknown filter or test (found when compiling) names its paragraph too."""
    try:
        env.from_string(numbered(source))
    except TemplateSyntaxError as e:  # TemplateAssertionError (unknown filter) is one too
        return e.lineno
    return fallback


def _undefined_text(e: UndefinedError) -> str:
    msg = str(e)
    m = re.match(r"'(.+?)' is undefined", msg)
    if m:
        return f"unknown field '{m.group(1)}'"
    m = re.match(r"'.+?' has no attribute '(.+?)'", msg)
    if m:
        return f"unknown field '...{m.group(1)}'"
    return msg


def _renumber_docpr(xml: str) -> str:
    """Drawing ids must be unique in a document; loops can copy them (as docxtpl does)."""
    counter = iter(range(1001, 1_000_000))
    return _DOCPR_ID.sub(lambda m: f"{m.group(1)}{next(counter)}{m.group(3)}", xml)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
