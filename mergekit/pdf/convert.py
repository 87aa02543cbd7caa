"""Word letters to PDF with LibreOffice, in bulk, the fast way.

Starting ``soffice`` costs about a second, converting a letter a few milliseconds. So letters
that share a template (identical styles, numbering, settings, theme and fonts parts) are joined
into combined .docx files of up to CHUNK_SIZE letters, each letter in its own section starting
on a new page with its own headers, footers, page numbers and numbered lists, and a bookmark at
its first paragraph. LibreOffice converts every combined document (and any letter that cannot
be combined) in ONE run (two side by side for big batches); the bookmarks come out as PDF
named destinations, which say on which page each letter starts, and each combined PDF is cut
there into one PDF per letter while LibreOffice works on the next one.

A letter is converted on its own (still in the same run) when joining it could change how it
looks: footnotes, endnotes or comments, a page-count field (it would count the whole combined
document), or a file that is not a plain .docx. If a combined PDF does not have exactly one mark
per letter in page order, its letters are converted one by one in a second run. The report
(and the log) says which letters were converted alone and why.

LibreOffice runs with a private profile folder (so a LibreOffice window the user has open, or a
stale lock in their profile, cannot block or swallow the conversion) on private copies of the
letters (so lock files beside them do not matter), in its own process group, and is killed
with everything it started when it makes no progress for ``timeout`` seconds. Nothing here
starts or looks for LibreOffice until a conversion is asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import posixpath
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from mergekit.core.atomic import write_atomic
from mergekit.core.errors import ConversionError

if TYPE_CHECKING:
    from lxml.etree import _Element

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install LibreOffice: `sudo apt-get install libreoffice-writer-nogui` on Debian/Ubuntu, "
    "or download it from https://www.libreoffice.org/download/ on Windows/macOS; "
    "if it is installed somewhere unusual, set [pdf] soffice in mergekit.toml to its path"
)

# Letters per combined document: big enough that LibreOffice's per-document cost vanishes,
# small enough that the first combined PDF is ready to split while the next one converts.
CHUNK_SIZE = 100
# A second LibreOffice costs about a second to start; it pays from a few hundred letters.
MAX_WORKERS = 2
LETTERS_PER_WORKER = 300

# Bookmark name prefix; becomes a PDF named destination. Letters and digits only: LibreOffice
# escapes anything else in destination names.
_MARK = "mergekitletter"

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_O = "urn:schemas-microsoft-com:office:office"
_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

# Parts that every letter in one combined document must share byte for byte.
_SHARED_TYPES = frozenset(
    _RT + t
    for t in (
        "styles",
        "numbering",
        "settings",
        "webSettings",
        "fontTable",
        "theme",
        "footnotes",
        "endnotes",
    )
) | {"http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"}

# Body content that cannot simply be moved into another document.
_NOT_COMBINABLE = {
    "footnoteReference": "it has footnotes",
    "endnoteReference": "it has endnotes",
    "commentReference": "it has comments",
    "altChunk": "it embeds another document",
    "subDoc": "it includes a sub-document",
}
# Fields whose value depends on the whole document, not on one letter.
_WHOLE_DOCUMENT_FIELDS = ("NUMPAGES", "SECTIONPAGES", "TOC ", "PAGEREF")


def w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


# ---------------------------------------------------------------------------------------------
# Finding LibreOffice


def _candidates() -> list[Path]:
    if sys.platform == "win32":
        roots = [os.environ.get("PROGRAMFILES", r"C:\Program Files")]
        roots.append(os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)"))
        return [Path(r) / "LibreOffice" / "program" / "soffice.exe" for r in roots]
    if sys.platform == "darwin":
        return [Path("/Applications/LibreOffice.app/Contents/MacOS/soffice")]
    found = [Path("/usr/bin/soffice"), Path("/usr/lib/libreoffice/program/soffice")]
    found += sorted(Path("/opt").glob("libreoffice*/program/soffice"), reverse=True)
    found += [Path("/snap/bin/libreoffice")]
    return found


def find_soffice(configured: str = "") -> str:
    """Path of LibreOffice's ``soffice``: the configured one, else on PATH, else the usual
    install folders. Raises ConversionError naming the install command when there is none."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        on_path = shutil.which(configured)
        if on_path:
            return on_path
        raise ConversionError(
            f"[pdf] soffice = {configured!r}: no LibreOffice program there - {INSTALL_HINT}"
        )
    for name in ("soffice", "libreoffice"):
        on_path = shutil.which(name)
        if on_path:
            return on_path
    for candidate in _candidates():
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ConversionError(
        f"LibreOffice (soffice) is needed to make PDFs of Word letters but was not found - "
        f"{INSTALL_HINT}"
    )


# ---------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class ConversionReport:
    """What :func:`convert_letters` did: the PDFs in input order, and how they were made."""

    pdfs: tuple[Path, ...]
    combined: int  # letters converted inside a combined document
    single: int  # letters converted one by one (still in the same LibreOffice run)
    notes: tuple[str, ...] = ()  # why letters were converted one by one
    soffice_runs: int = 0
    seconds: float = 0.0
    # Fonts the letters ask for with no metric-compatible font here (see mergekit.pdf.fonts).
    font_warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Reading one .docx


@dataclass
class _Rel:
    rid: str
    type: str
    target: str  # resolved part name (no leading slash), or the URL when external
    external: bool


@dataclass
class _Package:
    """A .docx opened for combining: its parts and the main document's relationships. The
    big shared parts (styles, numbering, theme ...) are only read for the first letter of a
    combined document; the others are known to match it by their zip checksums."""

    path: Path
    parts: dict[str, bytes]
    rels: dict[str, _Rel]
    signature: str
    document: Any  # word/document.xml, parsed

    def load_shared(self) -> None:
        with zipfile.ZipFile(self.path) as z:
            for info in z.infolist():
                if info.filename not in self.parts and not info.is_dir():
                    self.parts[info.filename] = z.read(info)

    def content_types(self) -> tuple[dict[str, str], dict[str, str]]:
        root = etree.fromstring(self.parts["[Content_Types].xml"])
        defaults = {
            e.get("Extension", "").lower(): e.get("ContentType", "")
            for e in root.iter(f"{{{_CT}}}Default")
        }
        overrides = {
            e.get("PartName", "").lstrip("/"): e.get("ContentType", "")
            for e in root.iter(f"{{{_CT}}}Override")
        }
        return defaults, overrides


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _read_rels(parts: dict[str, bytes], part: str) -> dict[str, _Rel]:
    data = parts.get(_rels_name(part))
    if data is None:
        return {}
    rels: dict[str, _Rel] = {}
    for e in etree.fromstring(data).iter(f"{{{_PR}}}Relationship"):
        external = e.get("TargetMode") == "External"
        target = e.get("Target", "")
        rid = e.get("Id", "")
        rels[rid] = _Rel(
            rid, e.get("Type", ""), target if external else _resolve(part, target), external
        )
    return rels


def _open_package(path: Path) -> tuple[_Package | None, str]:
    """The package ready to combine, or None and the reason it must be converted alone."""
    if path.suffix.lower() != ".docx":
        return None, f"it is a {path.suffix or 'file without extension'}, not a .docx"
    main = "word/document.xml"
    try:
        with zipfile.ZipFile(path) as z:
            infos = {i.filename: i for i in z.infolist() if not i.is_dir()}
            if main not in infos or "[Content_Types].xml" not in infos:
                return None, "it has no word/document.xml"
            rels_part = _rels_name(main)
            rels = _read_rels({rels_part: z.read(rels_part)} if rels_part in infos else {}, main)
            shared = {r.target: r.type for r in rels.values() if r.type in _SHARED_TYPES}
            parts = {name: z.read(info) for name, info in infos.items() if name not in shared}
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, etree.XMLSyntaxError) as e:
        return None, f"it could not be read as a .docx ({e})"
    body_xml = parts[main]
    try:
        document = etree.fromstring(body_xml)
    except etree.XMLSyntaxError as e:
        return None, f"its word/document.xml is damaged ({e})"
    for tag, why in _NOT_COMBINABLE.items():
        if tag.encode() in body_xml:
            return None, why
    texts = [body_xml] + [
        parts.get(r.target, b"")
        for r in rels.values()
        if r.type in (_RT + "header", _RT + "footer")
    ]
    for xml in texts:
        for name in _WHOLE_DOCUMENT_FIELDS:
            if name.encode() in xml and _has_field(xml, name):
                return None, f"it uses a {name.strip()} field, which counts the whole document"
    # Letters rendered from one template share these parts byte for byte; the zip's CRC-32
    # and size of each stand for its content, so they need not be decompressed.
    digest = hashlib.sha256(body_xml.split(b"<w:body", 1)[0])
    for target, rel_type in sorted(shared.items(), key=lambda item: item[1]):
        info = infos.get(target)
        stamp = f"{rel_type}|{info.CRC}|{info.file_size}" if info else f"{rel_type}|missing"
        digest.update(stamp.encode())
    return _Package(path, parts, rels, digest.hexdigest(), document), ""


def _has_field(xml: bytes, name: str) -> bool:
    """True when ``name`` appears inside a field instruction (not just in the text)."""
    root = etree.fromstring(xml)
    instr = [e.text or "" for e in root.iter(w("instrText"))]
    instr += [e.get(w("instr"), "") for e in root.iter(w("fldSimple"))]
    return any(name.strip() in i.upper() for i in instr)


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
        for rel in sorted(_read_rels(pkg.parts, part).values(), key=lambda r: r.rid):
            target = rel.target if rel.external else self._key(pkg, rel.target)
            digest.update(f"|{rel.rid}|{rel.type}|{target}".encode())
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
                rows.append((rel.rid, rel.type, target, rel.external))
            self.parts[_rels_name(new)] = _rels_xml(rows)
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
                r.rid,
                r.type,
                posixpath.relpath(r.target, "word") if not r.external else r.target,
                r.external,
            )
            for r in self.base.rels.values()
        ]
        self.parts["word/_rels/document.xml.rels"] = _rels_xml(rows + self.doc_rels)
        self.parts["[Content_Types].xml"] = _content_types_xml(self.defaults, self.overrides)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            z.writestr("[Content_Types].xml", self.parts["[Content_Types].xml"])
            for name, data in self.parts.items():
                if name != "[Content_Types].xml":
                    z.writestr(name, data)


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


# ---------------------------------------------------------------------------------------------
# Running LibreOffice

_FILTER = (
    'pdf:writer_pdf_Export:{"ExportBookmarksToPDFDestination":{"type":"boolean","value":"true"},'
    '"ExportBookmarks":{"type":"boolean","value":"false"},'
    '"ExportFormFields":{"type":"boolean","value":"false"},'
    '"ExportNotes":{"type":"boolean","value":"false"}}'
)


# The same export settings as profile defaults, for LibreOffice before 7.4, which ignores the
# options given with --convert-to.
_PROFILE_SETTINGS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    + "".join(
        '<item oor:path="/org.openoffice.Office.Common/Filter/PDF/Export">'
        f'<prop oor:name="{name}" oor:op="fuse"><value>{value}</value></prop></item>\n'
        for name, value in (
            ("ExportBookmarksToPDFDestination", "true"),
            ("ExportBookmarks", "false"),
            ("ExportFormFields", "false"),
            ("ExportNotes", "false"),
        )
    )
    + "</oor:items>\n"
)


def seed_profile(profile: Path) -> None:
    """Start a private LibreOffice profile with mergekit's PDF export settings."""
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    settings = user / "registrymodifications.xcu"
    if not settings.exists():
        settings.write_text(_PROFILE_SETTINGS, encoding="utf-8")


def soffice_command(exe: str, profile: Path, out_dir: Path, inputs: Sequence[Path]) -> list[str]:
    """The headless conversion command, with its own profile folder so a LibreOffice window
    the user has open (or a stale lock in the usual profile) cannot block or swallow it."""
    return [
        exe,
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--norestore",
        "--convert-to",
        _FILTER,
        "--outdir",
        str(out_dir),
        *(str(p) for p in inputs),
    ]


def _start(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.setdefault("SAL_USE_VCLPLUGIN", "svp")  # never look for a display
    with log_path.open("wb") as log_file:
        if os.name == "posix":
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, so a hang is killed whole
            )
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill LibreOffice and every process it started (soffice is a launcher for soffice.bin).
    Only while it has not been reaped: until then its process id, which names the group,
    cannot belong to anything else."""
    if proc.poll() is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        subprocess.run(
            ["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False
        )
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def _tail(log_path: Path, lines: int = 6) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    useful = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and "javaldx" not in line and not line.startswith("convert ")
    ]
    return " | ".join(useful[-lines:])


@dataclass
class _Lane:
    """One LibreOffice process and the files it has still to finish."""

    proc: subprocess.Popen[bytes]
    out: Path
    log: Path
    pending: list[_Job]
    since: float  # when it finished its last file (or started)


@dataclass
class _Conversion:
    files: Sequence[Path]
    out_dir: Path
    exe: str
    timeout: float
    work: Path
    titles: dict[int, str]
    progress: Callable[[int, int], None] | None
    done: int = 0
    runs: int = 0
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8))
    writes: list[Future[None]] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    combined: int = 0  # letters whose PDF was cut from a combined one
    notes: list[str] = field(default_factory=list)

    def describe(self, job: _Job) -> str:
        if not job.combined:
            return str(self.files[job.letters[0]])
        first, last = self.files[job.letters[0]].name, self.files[job.letters[-1]].name
        return f"the combined document of {len(job.letters)} letters ({first} ... {last})"

    def run(self, jobs: list[_Job], *, final: bool, workers: int = 1) -> None:
        """Convert ``jobs`` with ``workers`` LibreOffice processes side by side (each with its
        own profile), cutting each combined PDF as soon as its LibreOffice has moved on to the
        next file."""
        lanes: list[list[_Job]] = [[] for _ in range(max(1, min(workers, len(jobs))))]
        for job in jobs:  # the least loaded lane takes the next job
            min(lanes, key=lambda lane: sum(len(j.letters) for j in lane)).append(job)
        running: list[_Lane] = []
        try:
            for lane in lanes:
                self.runs += 1
                out = self.work / f"pdf-{self.runs}"
                out.mkdir()
                log_path = self.work / f"soffice-{self.runs}.log"
                profile = self.work / f"profile-{len(running) + 1}"
                seed_profile(profile)
                command = soffice_command(self.exe, profile, out, [j.source for j in lane])
                proc = _start(command, log_path)
                running.append(_Lane(proc, out, log_path, lane, time.monotonic()))
            while any(r.pending for r in running):
                moved = False
                for r in running:
                    if not r.pending:
                        continue
                    exited = r.proc.poll() is not None
                    nxt = r.pending[1] if len(r.pending) > 1 else None
                    if exited or (nxt is not None and (r.out / nxt.pdf_name).exists()):
                        self.finish(r.pending.pop(0), r.out, r.log, final=final)
                        r.since = time.monotonic()
                        moved = True
                    elif time.monotonic() - r.since > self.timeout:
                        raise ConversionError(
                            f"{self.describe(r.pending[0])}: LibreOffice did not finish "
                            f"converting it within {self.timeout:g} s and was stopped - open "
                            "the file in Word or LibreOffice to check it is not damaged, close "
                            "any LibreOffice dialog that may be waiting, or raise [pdf] "
                            "convert_timeout_seconds"
                        )
                if not moved:
                    time.sleep(0.05)
        finally:
            for r in running:
                _stop(r.proc)

    def finish(self, job: _Job, out: Path, log_path: Path, *, final: bool) -> None:
        pdf = out / job.pdf_name
        if not pdf.exists():
            pdf = _renamed_output(out, job) or pdf
        if job.combined:
            if pdf.exists() and self.split(job, pdf):
                self.combined += len(job.letters)
                return
            why = (
                "its PDF did not mark where each letter starts"
                if pdf.exists()
                else "LibreOffice could not convert the combined document"
            )
            self.notes.append(f"{self.describe(job)}: converted one by one instead, because {why}")
            self.retry.extend(job.letters)
            return
        index = job.letters[0]
        data = pdf.read_bytes() if pdf.exists() else b""
        if not data.startswith(b"%PDF-"):
            if not final:
                self.retry.append(index)
                return
            said = _tail(log_path)
            self.failed.append(
                f"{self.files[index]}: LibreOffice could not convert it to PDF"
                + (f" (LibreOffice said: {said})" if said else "")
            )
            return
        self.place(data, index)

    def place(self, data: bytes, index: int) -> None:
        # fsync is slow one file at a time; threads let the disk batch them while LibreOffice
        # works on the next combined document.
        self.writes.append(self.pool.submit(_place, data, self.target(index)))
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, len(self.files))

    def wait_for_writes(self) -> None:
        for future in self.writes:
            future.result()  # raises the first ConversionError

    def target(self, index: int) -> Path:
        return self.out_dir / f"{self.files[index].stem}.pdf"

    def split(self, job: _Job, pdf: Path) -> bool:
        """Cut a combined PDF at the pages where each letter's bookmark landed. False when the
        marks are not exactly one per letter in page order (then nothing was written)."""
        from pypdf import PdfReader, PdfWriter
        from pypdf.errors import PyPdfError
        from pypdf.generic import ArrayObject, NameObject

        try:
            reader = PdfReader(pdf)
            starts: dict[int, int] = {}
            for name, dest in reader.named_destinations.items():
                bare = str(name).lstrip("/")
                if bare.startswith(_MARK) and bare[len(_MARK) :].isdigit():
                    number = reader.get_destination_page_number(dest)
                    if number is not None:
                        starts[int(bare[len(_MARK) :])] = number
            pages = [starts.get(i, -1) for i in job.letters]
            total = len(reader.pages)
        except (PyPdfError, OSError, ValueError, KeyError) as e:
            log.debug("cannot read %s: %s", pdf, e)
            return False
        if (
            set(starts) != set(job.letters)
            or pages[0] != 0
            or any(b <= a for a, b in itertools.pairwise(pages))
            or pages[-1] >= total
        ):
            return False
        producer = reader.metadata.get("/Producer", "") if reader.metadata else ""
        lang = reader.root_object.get("/Lang")
        ends = [*pages[1:], total]
        for index, begin, end in zip(job.letters, pages, ends, strict=True):
            writer = PdfWriter()
            for number in range(begin, end):
                page = reader.pages[number]
                # Only web links survive: a link into the combined document could drag
                # another letter's page into this letter's file.
                annots = page.get("/Annots")
                if annots is not None:
                    keep = ArrayObject(
                        a for a in annots.get_object() if _is_web_link(a.get_object())
                    )
                    if keep:
                        page[NameObject("/Annots")] = keep
                    else:
                        del page["/Annots"]
                writer.add_page(page)
            info = {"/Creator": "mergekit", "/Producer": str(producer)}
            if self.titles.get(index):
                info["/Title"] = self.titles[index]
            writer.add_metadata(info)
            if lang is not None:
                writer._root_object[NameObject("/Lang")] = lang.clone(writer)
            from io import BytesIO

            buffer = BytesIO()
            writer.write(buffer)
            self.place(buffer.getvalue(), index)
        return True


def _is_web_link(annot: Any) -> bool:
    action = annot.get("/A")
    if annot.get("/Subtype") != "/Link" or action is None:
        return False
    return bool(action.get_object().get("/S") == "/URI")


def _renamed_output(out: Path, job: _Job) -> Path | None:
    """LibreOffice sometimes names its output differently (case, extra dots); accept a lone
    PDF whose name starts with the input's stem."""
    stem = job.source.stem.casefold()
    found = [
        p
        for p in out.iterdir()
        if p.suffix.casefold() == ".pdf" and p.stem.casefold().startswith(stem)
    ]
    return found[0] if len(found) == 1 else None


def _place(data: bytes, target: Path) -> None:
    """Write a file atomically: temp file beside it, fsync, rename over."""
    try:
        write_atomic(target, data, sync=True)
    except OSError as e:
        raise ConversionError(
            f"{target}: cannot write the PDF ({e.strerror}) - check the folder exists, "
            "is writable and the file is not open in a PDF viewer"
        ) from e


# ---------------------------------------------------------------------------------------------
# The public entry points


def convert_letters(
    docx_files: Sequence[Path],
    out_dir: Path,
    *,
    soffice: str = "",
    timeout: float = 600.0,
    progress: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    combine: bool = True,
    workers: int | None = None,
) -> ConversionReport:
    """Convert Word letters to one PDF each (same stem, in ``out_dir``), in as few LibreOffice
    runs as possible. ``timeout`` is how long LibreOffice may spend on one file (a combined
    document or a single letter) before it is treated as hung, stopped, and reported.
    ``combine=False`` converts every letter on its own (still in a single run). ``workers``
    LibreOffice processes run side by side; by default a second one starts only for big
    batches on a computer with several processors, where it pays for its start-up."""
    began = time.perf_counter()
    files = [Path(f) for f in docx_files]
    seen: dict[str, Path] = {}
    for f in files:
        if not f.is_file():
            raise ConversionError(f"{f}: no such file to convert - render the letters first")
        other = seen.setdefault(f.stem.casefold(), f)
        if other != f:
            raise ConversionError(
                f"{f}: has the same name as {other}, so both would be saved as {f.stem}.pdf - "
                "convert them into different folders"
            )
    if not files:
        return ConversionReport((), 0, 0)
    exe = find_soffice(soffice)
    from mergekit.pdf.fonts import missing_fonts

    font_warnings = tuple(gap.message for gap in missing_fonts(files))
    for f in files:
        if f.suffix.lower() == ".docx" and not zipfile.is_zipfile(f):
            # LibreOffice would happily "convert" it as plain text; say what it is instead.
            raise ConversionError(
                f"{f}: is not a Word document (a .docx is a zip file; this one is not) - "
                "render it again, or open it in Word and save it as .docx"
            )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConversionError(f"{out_dir}: cannot create the folder ({e.strerror})") from e
    with tempfile.TemporaryDirectory(prefix="mergekit-convert-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        jobs, notes, titles = _plan(files, work / "in", max(1, chunk_size), combine)
        conversion = _Conversion(files, out_dir, exe, timeout, work, titles, progress)
        if progress is not None:
            progress(0, len(files))
        if workers is None:
            letters = sum(len(j.letters) for j in jobs)
            workers = min(MAX_WORKERS, os.cpu_count() or 1, -(-letters // LETTERS_PER_WORKER))
        try:
            conversion.run(jobs, final=False, workers=workers)
            if conversion.retry:
                again: list[_Job] = []
                for index in sorted(conversion.retry):
                    source = files[index]
                    target = work / "in" / f"retry-{index + 1:05d}{source.suffix.lower()}"
                    shutil.copyfile(source, target)
                    again.append(_Job(target, [index], combined=False))
                # Letters alone take a tenth of a second or more each, so a second
                # LibreOffice pays sooner.
                conversion.run(again, final=True, workers=min(workers, max(1, len(again) // 20)))
        finally:
            conversion.pool.shutdown(wait=True)
        conversion.wait_for_writes()
    if conversion.failed:
        # Every other letter has its PDF; these need a person to look at them.
        count = len(conversion.failed)
        raise ConversionError(
            "\n".join(conversion.failed)
            + f"\n{count} of {len(files)} documents could not be converted - open "
            + ("it" if count == 1 else "each")
            + " in Word or LibreOffice to check it is not damaged or password-protected, "
            "save it again as .docx, and rerun"
        )
    combined = conversion.combined
    report = ConversionReport(
        pdfs=tuple(conversion.target(i) for i in range(len(files))),
        combined=combined,
        single=len(files) - combined,
        notes=(*notes, *conversion.notes),
        soffice_runs=conversion.runs,
        seconds=time.perf_counter() - began,
        font_warnings=font_warnings,
    )
    for note in report.notes:
        log.info("%s", note)
    for warning in font_warnings:
        log.warning("%s", warning)
    return report


def docx_to_pdf(
    docx_files: Sequence[Path],
    out_dir: Path,
    *,
    soffice: str = "",
    timeout: float = 600.0,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """One PDF per Word file, same stem, in ``out_dir``, returned in input order. Letters
    converted one by one rather than combined are logged (see :func:`convert_letters`)."""
    report = convert_letters(
        docx_files, out_dir, soffice=soffice, timeout=timeout, progress=progress
    )
    return list(report.pdfs)
