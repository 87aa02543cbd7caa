"""Reading one .docx for the converter: its parts and relationships, and what in it stops it
being joined with other letters (footnotes, comments, page-count fields).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from mergekit.core.ooxml import Relationship, relationships, rels_name

if TYPE_CHECKING:
    pass


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
# Reading one .docx


@dataclass
class _Package:
    """A .docx opened for combining: its parts and the main document's relationships. The
    big shared parts (styles, numbering, theme ...) are only read for the first letter of a
    combined document; the others are known to match it by their zip checksums."""

    path: Path
    parts: dict[str, bytes]
    rels: dict[str, Relationship]
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


def _read_rels(parts: dict[str, bytes], part: str) -> dict[str, Relationship]:
    data = parts.get(rels_name(part))
    if data is None:
        return {}
    return {r.id: r for r in relationships(etree.fromstring(data), part)}


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
            rels_part = rels_name(main)
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
