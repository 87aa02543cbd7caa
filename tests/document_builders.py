"""Builders shared by the document tests: a small school written to disk, the standard pupils,
and reading back what was made (Word text, the run manifest)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from docx import Document
from openpyxl import Workbook
from policy_builders import (
    CLOSURES,
    FILLED_IN_SETTINGS,
    INSET,
    TERMS,
    TODAY,
    calendar,
    make_upn,
)

EXAMPLES_HINT = "examples/tracking.xlsx is not there yet (the example school generator makes it)"


def write_school(folder: Path, kids: Iterable[Kid], extra_config: str = "") -> Path:
    kids = list(kids)
    wb = Workbook()
    ws = wb.active
    ws.title = "Pupils"
    ws.append(
        [
            "UPN",
            "Legal Surname",
            "Legal Forename",
            "DOB",
            "Year",
            "Reg Group",
            "Gender",
            "Address Line 1",
            "Town",
            "Postcode",
        ]
    )
    for k in kids:
        home = k.parents[0] if k.parents else {"street": "", "postcode": ""}
        ws.append(
            [
                k.upn,
                k.surname,
                k.forename,
                date(2012, 1, 1 + k.n % 28),
                k.year,
                k.reg,
                "F",
                home["street"],
                "Exampleton" if home["street"] else "",
                home["postcode"],
            ]
        )
    cs = wb.create_sheet("Contacts")
    cs.append(
        [
            "UPN",
            "Priority",
            "Title",
            "Contact Forename",
            "Contact Surname",
            "Relationship",
            "Parental Responsibility",
            "Lives With Pupil",
            "Address Line 1",
            "Town",
            "Postcode",
            "Mobile",
            "Email",
            "No Contact",
        ]
    )
    for k in kids:
        for i, p in enumerate(k.parents, start=1):
            cs.append(
                [
                    k.upn,
                    p.get("priority", i),
                    p["title"],
                    p["forename"],
                    p["surname"],
                    p["relationship"],
                    p["pr"],
                    p["lives"],
                    p["street"],
                    "Exampleton" if p["street"] else "",
                    p["postcode"],
                    p["mobile"],
                    p["email"],
                    p["no_contact"],
                ]
            )
    ms = wb.create_sheet("Marks")
    ms.append(["UPN", "Date", "AM", "PM"])
    for k in kids:
        for d, (am, pm) in marks_for(k).items():
            ms.append([k.upn, d, am, pm])
    ls = wb.create_sheet("Letters")
    ls.append(["UPN", "Letter", "Date Sent"])
    for k in kids:
        for number, sent in k.letters:
            ls.append([k.upn, f"Letter {number}", sent])
    es = wb.create_sheet("Events")
    es.append(["UPN", "Event", "Date Received", "Effective Date", "New Address", "New School"])
    for k in kids:
        if k.move:
            es.append(
                [
                    k.upn,
                    "Planned move",
                    date(2026, 11, 20),
                    date(2026, 12, 18),
                    "10 Rua Nova, Lisbon",
                    "Escola Exemplo",
                ]
            )
    log = wb.create_sheet("Contact log")
    log.append(["UPN", "Date", "Method", "Contact Made", "Notes"])
    folder.mkdir(parents=True, exist_ok=True)
    wb.save(folder / "tracking.xlsx")
    terms = ",\n  ".join(f"{{ start = {t.start}, end = {t.end} }}" for t in TERMS)
    cfg = folder / "mergekit.toml"
    cfg.write_text(
        f"""
{FILLED_IN_SETTINGS}
[files]
tracking = "tracking.xlsx"
[calendar]
terms = [
  {terms}
]
inset_days = [{", ".join(str(d) for d in INSET)}]
closures = [{", ".join(str(d) for d in CLOSURES)}]
[run]
today = {TODAY}
{extra_config}
""",
        encoding="utf-8",
    )
    return cfg


def standard_kids(many: int = 0) -> list[Kid]:
    """The named cases, plus ``many`` more pupils below 90% each in their own home."""
    kids = [
        # Siblings: same parents at the same address, listed in a different priority order.
        Kid(
            1,
            "Aisha",
            "Khan",
            absent=14,
            parents=[
                parent("Mrs", "Amina", "Khan", "12 Elm Road", "ZZ1 2AB"),
                parent("Mr", "Tariq", "Khan", "12 Elm Road", "ZZ1 2AB"),
            ],
        ),
        Kid(
            2,
            "Bilal",
            "Khan",
            year=7,
            reg="7RB",
            absent=16,
            parents=[
                parent("Mr", "Tariq", "Khan", "12 Elm Road", "ZZ1 2AB"),
                parent("Mrs", "Amina", "Khan", "12 Elm Road", "ZZ1 2AB"),
            ],
        ),
        # A name full of XML specials, and letter 1 already sent: letter 2 is due.
        Kid(
            3,
            "Ciaran",
            "O'Brien",
            absent=15,
            letters=[(1, date(2026, 10, 1))],
            parents=[parent("Ms", "Orla", "O'Brien & Sons <Ltd>", "3 Quay Street", "ZZ2 3CD")],
        ),
        # One parent flagged no-contact: only the other is addressed.
        Kid(
            4,
            "Dara",
            "Nowak",
            absent=14,
            parents=[
                parent("Mr", "Piotr", "Nowak", "4 Mill Lane", "ZZ3 4EF", no_contact="Y"),
                parent("Mrs", "Zofia", "Nowak", "4 Mill Lane", "ZZ3 4EF"),
            ],
        ),
        # No postal address for anyone: made, but reported as cannot post.
        Kid(5, "Eve", "Nomad", absent=15, parents=[parent("Ms", "Elin", "Nomad", "", "")]),
        # Letters 1 and 2 sent: letter 3.
        Kid(
            6,
            "Finn",
            "Third",
            year=10,
            reg="10AB",
            absent=18,
            letters=[(1, date(2026, 9, 25)), (2, date(2026, 10, 20))],
            parents=[parent("Mr", "Gareth", "Third", "6 High Street", "ZZ4 5GH")],
        ),
        # 12 school days unexplained, no contact: cme_inform and cme_referral.
        Kid(
            7,
            "Gina",
            "Missing",
            absent=0,
            run=12,
            parents=[parent("Ms", "Hedda", "Missing", "7 Lost Lane", "ZZ5 6IJ")],
        ),
        # 21 days: the Remove From Roll checklist too.
        Kid(
            8,
            "Hugo",
            "Gone",
            absent=0,
            run=21,
            parents=[parent("Mr", "Ivo", "Gone", "8 Far Road", "ZZ6 7KL")],
        ),
        # A planned move, attending well.
        Kid(
            9,
            "Ines",
            "Mover",
            move=True,
            parents=[parent("Mrs", "Joana", "Mover", "9 Station Road", "ZZ7 8MN")],
        ),
        # Attending well: nothing.
        Kid(
            10,
            "Jon",
            "Present",
            parents=[parent("Mr", "Karl", "Present", "10 Main Street", "ZZ8 9OP")],
        ),
    ]
    for i in range(many):
        n = 100 + i
        kids.append(
            Kid(
                n,
                f"Forename{n}",
                f"Surname{n}",
                year=7 + i % 5,
                reg=f"{7 + i % 5}X",
                absent=13 + i % 6,
                parents=[
                    parent(
                        "Mx", f"Parent{n}", f"Surname{n}", f"{n} Long Road", f"ZZ{n % 9} {n % 10}QQ"
                    )
                ],
            )
        )
    return kids


def docx_text(path: Path) -> str:
    """All the text a reader sees: body paragraphs, tables, headers and footers."""
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    for s in doc.sections:
        for hf in (s.header, s.footer, s.first_page_header, s.first_page_footer):
            parts.extend(p.text for p in hf.paragraphs)
    return "\n".join(parts)


def manifest_rows(run: Path) -> list[dict[str, str]]:
    with (run / "manifest.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


YEAR_START = date(2026, 9, 3)  # first school day of 2026-27 (1-2 Sept are INSET days)


@dataclass
class Kid:
    n: int
    forename: str
    surname: str
    year: int = 9
    reg: str = "9KM"
    absent: int = 0  # sessions of authorised absence (I) this year: below 90% from ~12
    run: int = 0  # school days ending today of unexplained absence (N, then O)
    parents: list[dict[str, object]] = field(default_factory=list)
    letters: list[tuple[int, date]] = field(default_factory=list)
    move: bool = False

    @property
    def upn(self) -> str:
        return make_upn(self.n)


def parent(title: str, forename: str, surname: str, street: str, postcode: str, **kw: object):
    return {
        "title": title,
        "forename": forename,
        "surname": surname,
        "street": street,
        "postcode": postcode,
        "pr": "Y",
        "lives": "Y",
        "email": f"{forename.lower()}.{surname.lower().replace(' ', '')}@example.org",
        "mobile": "07700 900 123",
        "no_contact": "N",
        "relationship": "Mother" if title in ("Mrs", "Ms", "Miss") else "Father",
        **kw,
    }


def marks_for(kid: Kid) -> dict[date, tuple[str, str]]:
    days = calendar().between(YEAR_START, TODAY)
    codes = ["/"] * (2 * len(days))
    for i in range(kid.absent):  # spread the illness through the year, from the start
        codes[2 * (i * 3 % (len(days) - kid.run - 1)) + i % 2] = "I"
    for j in range(kid.run):  # N for the last few days; older ones recoded O, as the law asks
        code = "N" if j < 4 else "O"
        codes[2 * (len(days) - 1 - j)] = code
        codes[2 * (len(days) - 1 - j) + 1] = code
    return {d: (codes[2 * i], codes[2 * i + 1]) for i, d in enumerate(days)}
