"""Joining letters that share a template into one .docx, each in its own section starting on a
new page (its own headers, footers, page numbers and numbered lists, a bookmark at its first
paragraph), and planning which letters go into which file LibreOffice converts.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from mergekit.core.errors import ConversionError
from mergekit.core.ooxml import rels_name
from mergekit.core.zippackage import ZipWriter
from mergekit.pdf.docxparts import (
    _CT,
    _MARK,
    _O,
    _PR,
    _R,
    _RT,
    _W,
    _open_package,
    _Package,
    _read_rels,
    w,
)

if TYPE_CHECKING:
    from lxml.etree import _Element


# ---------------------------------------------------------------------------------------------
# Combining letters into one .docx


@dataclass
class _Combiner:
    """Builds one .docx from letters sharing a template. The first letter is the base package;
    every later letter's body is appended as new sections, its images, headers and footers
    copied in under new names (identical ones shared)."""

    base: _Package
    parts: dict[str, bytes] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)  # content key -> part name
    doc_rels: list[tuple[str, str, str, bool]] = field(default_factory=list)
    counter: int = 0
    bookmark_id: int = 0
    body: Any = None
    root: Any = None
    numbering: Any = None
    num_ids: int = 0
    style_numbering: dict[str, tuple[str, str]] = field(default_factory=dict)
    empty_parts: dict[str, str] = field(default_factory=dict)
    defined: set[tuple[str, str]] = field(default_factory=set)  # header/footer kinds seen

    def __post_init__(self) -> None:
        self.base.load_shared()
        self.parts = dict(self.base.parts)
        self.defaults, self.overrides = self.base.content_types()
        self.root = etree.fromstring(self.parts["word/document.xml"])
        body = self.root.find(w("body"))
        for child in list(body):
            body.remove(child)
        self.body = body
        numbering = next((r for r in self.base.rels.values() if r.type == _RT + "numbering"), None)
        if numbering is not None and numbering.target in self.parts:
            self.numbering = etree.fromstring(self.parts[numbering.target])
            self.num_ids = max(
                (int(n.get(w("numId"), "0")) for n in self.numbering.iter(w("num"))), default=0
            )
            styles = next((r for r in self.base.rels.values() if r.type == _RT + "styles"), None)
            if styles is not None and styles.target in self.parts:
                self.style_numbering = _style_numbering(etree.fromstring(self.parts[styles.target]))
        # Header/footer parts the base letter references are reused by identical copies.
        for rel in self.base.rels.values():
            if not rel.external and rel.type in (_RT + "header", _RT + "footer", _RT + "image"):
                self.by_key.setdefault(self._key(self.base, rel.target), rel.target)

    # -- parts ----------------------------------------------------------------------------

    def _key(self, pkg: _Package, part: str) -> str:
        digest = hashlib.sha256(pkg.parts.get(part, b""))
        for rel in sorted(_read_rels(pkg.parts, part).values(), key=lambda r: r.id):
            target = rel.target if rel.external else self._key(pkg, rel.target)
            digest.update(f"|{rel.id}|{rel.type}|{target}".encode())
        return digest.hexdigest()

    def _content_type(self, pkg: _Package, part: str) -> tuple[str, bool]:
        defaults, overrides = pkg.content_types()
        if part in overrides:
            return overrides[part], True
        ext = posixpath.splitext(part)[1].lstrip(".").lower()
        return defaults.get(ext, "application/octet-stream"), False

    def copy_part(self, pkg: _Package, part: str) -> str:
        """Copy ``part`` (and what its relationships point to) into the combined package."""
        key = self._key(pkg, part)
        known = self.by_key.get(key)
        if known is not None:
            return known
        if part not in pkg.parts:
            raise ConversionError(f"{pkg.path.name}: the .docx lacks its part {part}")
        self.counter += 1
        folder, name = posixpath.split(part)
        new = posixpath.join(folder, f"mk{self.counter}_{name}")
        self.parts[new] = pkg.parts[part]
        content_type, override = self._content_type(pkg, part)
        ext = posixpath.splitext(new)[1].lstrip(".").lower()
        if override or self.defaults.get(ext) not in (None, content_type):
            self.overrides[new] = content_type
        else:
            self.defaults.setdefault(ext, content_type)
        rels = _read_rels(pkg.parts, part)
        if rels:
            rows = []
            for rel in rels.values():
                target = rel.target
                if not rel.external:
                    target = posixpath.relpath(self.copy_part(pkg, rel.target), folder)
                rows.append((rel.id, rel.type, target, rel.external))
            self.parts[rels_name(new)] = _rels_xml(rows)
        self.by_key[key] = new
        return new

    def _empty_part(self, kind: str) -> str:
        """An empty header or footer, for a letter section that has none of one type (otherwise
        Word rules would give it the previous letter's)."""
        if kind not in self.empty_parts:
            name = f"word/mk_empty_{kind}.xml"
            tag = "hdr" if kind == "header" else "ftr"
            self.parts[name] = (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:{tag} '
                f'xmlns:w="{_W}"><w:p/></w:{tag}>'
            ).encode()
            self.overrides[name] = (
                f"application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}+xml"
            )
            self.empty_parts[kind] = self._new_rel(_RT + kind, "mk_empty_" + kind + ".xml")
        return self.empty_parts[kind]

    def _new_rel(self, rel_type: str, target: str, external: bool = False) -> str:
        rid = f"mkR{len(self.doc_rels) + 1}"
        self.doc_rels.append((rid, rel_type, target, external))
        return rid

    # -- letters --------------------------------------------------------------------------

    def add(self, pkg: _Package, index: int, last: bool) -> None:
        body = pkg.document.find(w("body"))
        if body is None:
            raise ConversionError(f"{pkg.path.name}: word/document.xml has no body")
        children = list(body)
        final = children[-1] if children and children[-1].tag == w("sectPr") else None
        content = children[:-1] if final is not None else children
        if final is None:
            final = etree.Element(w("sectPr"))
        first = pkg is self.base
        if not first:
            self._relink(pkg, body)
            self._restart_lists(body)
        self._renumber_bookmarks(body)
        self._mark(content, index)
        sections = [e for e in body.iter(w("sectPr")) if e is not final]
        _start_section(sections[0] if sections else final, self._empty_part, self.defined)
        self.defined |= _defined_kinds(body)
        for element in content:
            self.body.append(element)
        if last:
            self.body.append(final)
            return
        # The letter's closing section properties go into a paragraph of their own after it.
        # LibreOffice drops such an empty section-break paragraph, so every letter lays out
        # exactly as it does alone (including a trailing empty paragraph that spills onto a
        # page of its own, as the last letter's must).
        etree.SubElement(etree.SubElement(self.body, w("p")), w("pPr")).append(final)

    def _relink(self, pkg: _Package, body: _Element) -> None:
        """Point every relationship the letter's body uses at parts copied into the combined
        package."""
        mapping: dict[str, str] = {}
        for element in body.iter():
            for attr, value in element.attrib.items():
                if not (attr.startswith(f"{{{_R}}}") or attr == f"{{{_O}}}relid"):
                    continue
                if value not in mapping:
                    rel = pkg.rels.get(value)
                    if rel is None:
                        continue
                    if rel.external:
                        mapping[value] = self._new_rel(rel.type, rel.target, True)
                    else:
                        part = self.copy_part(pkg, rel.target)
                        mapping[value] = self._new_rel(
                            rel.type, posixpath.relpath(part, "word"), False
                        )
                element.set(attr, mapping[value])

    def _renumber_bookmarks(self, body: _Element) -> None:
        ids: dict[str, str] = {}
        for element in body.iter(w("bookmarkStart"), w("bookmarkEnd")):
            old = element.get(w("id"), "")
            if old not in ids:
                self.bookmark_id += 1
                ids[old] = str(self.bookmark_id)
            element.set(w("id"), ids[old])

    def _mark(self, content: list[_Element], index: int) -> None:
        para = next((p for e in content for p in e.iter(w("p"))), None)
        if para is None:
            para = etree.Element(w("p"))
            content.insert(0, para)
        self.bookmark_id += 1
        start = etree.Element(w("bookmarkStart"))
        start.set(w("id"), str(self.bookmark_id))
        start.set(w("name"), f"{_MARK}{index:05d}")
        end = etree.Element(w("bookmarkEnd"))
        end.set(w("id"), str(self.bookmark_id))
        at = 1 if len(para) and para[0].tag == w("pPr") else 0
        para.insert(at, end)
        para.insert(at, start)

    def _restart_lists(self, body: _Element) -> None:
        """Numbered lists restart in every letter: each letter gets its own list instances."""
        if self.numbering is None:
            return
        nums = {n.get(w("numId")): n for n in self.numbering.iter(w("num"))}
        abstracts = {a.get(w("abstractNumId")): a for a in self.numbering.iter(w("abstractNum"))}
        fresh: dict[str, str] = {}

        def renumber(num_id: str) -> str:
            if num_id not in fresh:
                original = nums.get(num_id)
                if original is None or num_id == "0":
                    fresh[num_id] = num_id
                else:
                    self.num_ids += 1
                    clone = etree.fromstring(etree.tostring(original))
                    clone.set(w("numId"), str(self.num_ids))
                    _restart_all_levels(clone, abstracts)
                    last = list(self.numbering.iter(w("num")))[-1]
                    last.addnext(clone)
                    fresh[num_id] = str(self.num_ids)
            return fresh[num_id]

        for para in body.iter(w("p")):
            ppr = para.find(w("pPr"))
            if ppr is None:
                continue
            numpr = ppr.find(w("numPr"))
            if numpr is not None:
                num = numpr.find(w("numId"))
                if num is not None:
                    num.set(w("val"), renumber(num.get(w("val"), "0")))
                continue
            style = ppr.find(w("pStyle"))
            linked = (
                self.style_numbering.get(style.get(w("val"), "")) if style is not None else None
            )
            if linked is None:
                continue
            num_id, level = linked
            numpr = etree.Element(w("numPr"))
            etree.SubElement(numpr, w("ilvl")).set(w("val"), level)
            etree.SubElement(numpr, w("numId")).set(w("val"), renumber(num_id))
            _insert_ppr_child(ppr, numpr)

    # -- output ---------------------------------------------------------------------------

    def write(self, target: Path) -> None:
        self.parts["word/document.xml"] = etree.tostring(
            self.root, xml_declaration=True, encoding="UTF-8", standalone=True
        )
        if self.numbering is not None:
            numbering = next(r for r in self.base.rels.values() if r.type == _RT + "numbering")
            self.parts[numbering.target] = etree.tostring(
                self.numbering, xml_declaration=True, encoding="UTF-8", standalone=True
            )
        rows = [
            (
                r.id,
                r.type,
                posixpath.relpath(r.target, "word") if not r.external else r.target,
                r.external,
            )
            for r in self.base.rels.values()
        ]
        self.parts["word/_rels/document.xml.rels"] = _rels_xml(rows + self.doc_rels)
        self.parts["[Content_Types].xml"] = _content_types_xml(self.defaults, self.overrides)
        with target.open("wb") as out:
            z = ZipWriter(out)
            z.add("[Content_Types].xml", self.parts["[Content_Types].xml"], level=1)
            for name, data in self.parts.items():
                if name != "[Content_Types].xml":
                    z.add(name, data, level=1)
            z.close()


def _restart_all_levels(num: _Element, abstracts: dict[str, _Element]) -> None:
    """Give a list instance a start override on every level, so it counts from its own start
    (LibreOffice, like Word, otherwise continues the list its abstract numbering began)."""
    ref = num.find(w("abstractNumId"))
    abstract = abstracts.get(ref.get(w("val"), "") if ref is not None else "")
    if abstract is None:
        return
    overrides = {o.get(w("ilvl")): o for o in num.iter(w("lvlOverride"))}
    for lvl in abstract.iter(w("lvl")):
        level = lvl.get(w("ilvl"), "0")
        start = lvl.find(w("start"))
        value = start.get(w("val"), "1") if start is not None else "1"
        override = overrides.get(level)
        if override is None:
            override = etree.SubElement(num, w("lvlOverride"))
            override.set(w("ilvl"), level)
        if override.find(w("startOverride")) is None:
            override.insert(0, etree.Element(w("startOverride")))
            override[0].set(w("val"), value)


_PPR_ORDER = (
    "pStyle",
    "keepNext",
    "keepLines",
    "pageBreakBefore",
    "framePr",
    "widowControl",
    "numPr",
)


def _insert_ppr_child(ppr: _Element, child: _Element) -> None:
    """Insert numPr where the schema wants it (after pStyle/keepNext/.../widowControl)."""
    before = {w(t) for t in _PPR_ORDER}
    at = 0
    for i, existing in enumerate(ppr):
        if existing.tag in before:
            at = i + 1
    ppr.insert(at, child)


def _style_numbering(styles: _Element) -> dict[str, tuple[str, str]]:
    """Paragraph style id -> (numId, ilvl) for styles that number their paragraphs (List
    Number), following basedOn."""
    own: dict[str, tuple[str | None, str | None]] = {}
    parent: dict[str, str] = {}
    for style in styles.iter(w("style")):
        if style.get(w("type")) != "paragraph":
            continue
        sid = style.get(w("styleId"), "")
        based = style.find(w("basedOn"))
        if based is not None:
            parent[sid] = based.get(w("val"), "")
        numpr = style.find(f"{w('pPr')}/{w('numPr')}")
        if numpr is not None:
            num = numpr.find(w("numId"))
            lvl = numpr.find(w("ilvl"))
            own[sid] = (
                num.get(w("val")) if num is not None else None,
                lvl.get(w("val")) if lvl is not None else None,
            )
    result: dict[str, tuple[str, str]] = {}
    for sid in {*own, *parent}:
        num_id: str | None = None
        level: str | None = None
        seen: set[str] = set()
        current: str | None = sid
        while current and current not in seen:
            seen.add(current)
            n, lv = own.get(current, (None, None))
            num_id = num_id or n
            level = level or lv
            current = parent.get(current)
        if num_id and num_id != "0":
            result[sid] = (num_id, level or "0")
    return result


_SECT_ORDER = (
    "headerReference",
    "footerReference",
    "footnotePr",
    "endnotePr",
    "type",
    "pgSz",
    "pgMar",
    "paperSrc",
    "pgBorders",
    "lnNumType",
    "pgNumType",
    "cols",
    "formProt",
    "vAlign",
    "noEndnote",
    "titlePg",
    "textDirection",
    "bidi",
    "rtlGutter",
    "docGrid",
    "printerSettings",
    "sectPrChange",
)


def _set_sect_child(sect: _Element, tag: str) -> _Element:
    existing = sect.find(w(tag))
    if existing is not None:
        return existing
    rank = _SECT_ORDER.index(tag)
    child = etree.Element(w(tag))
    at = 0
    for i, e in enumerate(sect):
        name = etree.QName(e).localname
        if name in _SECT_ORDER and _SECT_ORDER.index(name) <= rank:
            at = i + 1
    sect.insert(at, child)
    return child


def _start_section(
    sect: _Element, empty: Callable[[str], str], defined: set[tuple[str, str]]
) -> None:
    """A letter's first section: new page, page numbers from 1, and no header or footer
    inherited from the letter before it (Word rules carry a section's headers on into the next
    section unless it names its own, so a kind the letter lacks gets an empty one)."""
    _set_sect_child(sect, "type").set(w("val"), "nextPage")
    numbering = _set_sect_child(sect, "pgNumType")
    if numbering.get(w("start")) is None:
        numbering.set(w("start"), "1")
    for kind in ("header", "footer"):
        have = {e.get(w("type"), "default") for e in sect.iter(w(f"{kind}Reference"))}
        for which in ("default", "first", "even"):
            if which in have or (kind, which) not in defined:
                continue
            existing = sect.find(w(f"{kind}Reference"))
            if existing is None:
                ref = _set_sect_child(sect, f"{kind}Reference")
            else:
                ref = etree.Element(w(f"{kind}Reference"))
                existing.addprevious(ref)
            ref.set(w("type"), which)
            ref.set(f"{{{_R}}}id", empty(kind))


def _defined_kinds(body: _Element) -> set[tuple[str, str]]:
    return {
        (kind, e.get(w("type"), "default"))
        for kind in ("header", "footer")
        for e in body.iter(w(f"{kind}Reference"))
    }


def _rels_xml(rows: Iterable[tuple[str, str, str, bool]]) -> bytes:
    from xml.sax.saxutils import quoteattr

    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<Relationships xmlns="{_PR}">',
    ]
    for rid, rel_type, target, external in rows:
        mode = ' TargetMode="External"' if external else ""
        lines.append(
            f"<Relationship Id={quoteattr(rid)} Type={quoteattr(rel_type)} "
            f"Target={quoteattr(target)}{mode}/>"
        )
    lines.append("</Relationships>")
    return "".join(lines).encode()


def _content_types_xml(defaults: dict[str, str], overrides: dict[str, str]) -> bytes:
    from xml.sax.saxutils import quoteattr

    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<Types xmlns="{_CT}">',
    ]
    lines += [
        f"<Default Extension={quoteattr(e)} ContentType={quoteattr(t)}/>"
        for e, t in defaults.items()
    ]
    lines += [
        f"<Override PartName={quoteattr('/' + p)} ContentType={quoteattr(t)}/>"
        for p, t in overrides.items()
    ]
    lines.append("</Types>")
    return "".join(lines).encode()


# ---------------------------------------------------------------------------------------------
# Planning: which letters go into which file LibreOffice converts


@dataclass
class _Job:
    """One file LibreOffice converts: a combined document of several letters, or one letter."""

    source: Path  # in the private work folder
    letters: list[int]  # indexes into the input list, in page order
    combined: bool

    @property
    def pdf_name(self) -> str:
        return self.source.stem + ".pdf"


def _title(parts: dict[str, bytes]) -> str:
    core = parts.get("docProps/core.xml")
    if not core:
        return ""
    with contextlib.suppress(etree.XMLSyntaxError):
        for e in etree.fromstring(core).iter("{http://purl.org/dc/elements/1.1/}title"):
            return (e.text or "").strip()
    return ""


def _plan(
    files: Sequence[Path], work: Path, chunk_size: int, combine: bool
) -> tuple[list[_Job], list[str], dict[int, str]]:
    """Group letters by template, write the combined documents, copy the rest."""
    groups: dict[str, list[tuple[int, _Package]]] = {}
    singles: list[int] = []
    notes: list[str] = []
    titles: dict[int, str] = {}
    for index, path in enumerate(files):
        pkg, why = _open_package(path) if combine else (None, "")
        if pkg is None:
            if why:
                notes.append(f"{path.name}: converted on its own because {why}")
            singles.append(index)
            continue
        titles[index] = _title(pkg.parts)
        groups.setdefault(pkg.signature, []).append((index, pkg))
    jobs: list[_Job] = []
    for members in groups.values():
        if len(members) == 1:
            singles.append(members[0][0])
            continue
        for start in range(0, len(members), chunk_size):
            chunk = members[start : start + chunk_size]
            combiner = _Combiner(chunk[0][1])
            for k, (index, pkg) in enumerate(chunk):
                try:
                    combiner.add(pkg, index, last=k == len(chunk) - 1)
                except ConversionError:
                    raise
                except Exception as e:  # a malformed letter: say which one
                    raise ConversionError(
                        f"{pkg.path}: cannot read this Word document ({type(e).__name__}: {e}) "
                        "- open it in Word or LibreOffice to check it, or render it again"
                    ) from e
            target = work / f"combined-{len(jobs) + 1:04d}.docx"
            combiner.write(target)
            jobs.append(_Job(target, [i for i, _ in chunk], combined=True))
    for index in sorted(singles):
        source = files[index]
        target = work / f"single-{index + 1:05d}{source.suffix.lower() or '.docx'}"
        shutil.copyfile(source, target)  # a lock file beside the original cannot get in the way
        jobs.append(_Job(target, [index], combined=False))
    return jobs, notes, titles
