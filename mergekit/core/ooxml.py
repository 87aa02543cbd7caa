"""Office Open XML packages (.docx, .xlsx): where a part's relationships are and what each one
points at.

The Word renderer, the PDF converter and the .xlsx writer all find their parts through here.
Each parses the relationship XML with its own parser and passes the root element in, so a
damaged file is still reported the way that reader reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str
    target: str  # the resolved part name (no leading slash), or the URL when external
    external: bool


def rels_name(part: str) -> str:
    """'xl/workbook.xml' -> 'xl/_rels/workbook.xml.rels'; '' (the package) -> '_rels/.rels'."""
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def resolve(base_part: str, target: str) -> str:
    """A relationship's target as a part name: relative to ``base_part``'s folder, or from the
    package root when it starts with '/'."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = [p for p in base_part.split("/")[:-1] if p not in ("", ".")]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def relationships(root: Any, part: str) -> list[Relationship]:
    """The relationships of ``part`` from the root element of its .rels (xml.etree or lxml),
    in document order."""
    out: list[Relationship] = []
    for el in root:
        if not isinstance(el.tag, str) or el.tag.rsplit("}", 1)[-1] != "Relationship":
            continue  # comments and processing instructions (lxml) or foreign elements
        external = el.get("TargetMode", "") == "External"
        target = el.get("Target", "")
        out.append(
            Relationship(
                el.get("Id", ""),
                el.get("Type", ""),
                target if external else resolve(part, target),
                external,
            )
        )
    return out
