"""Draw the bundled fillable PDF forms and the font mergekit fills them with.

    /work/venv/bin/python scripts/make_pdf_templates.py

Writes, under templates/pdf/ (the outputs are committed; run this again after changing it):

* ``cme_referral.pdf`` - the CME School Referral Form (policy Appendix C, sections 1-8);
* ``remove_from_roll.pdf`` - the Remove From Roll checklist (policy Appendix B);
* ``<form>.json`` beside each - which mergekit field fills which PDF field (see
  ``mergekit.pdf.forms.mapped_values`` for the syntax: a dotted name, or text with
  ``{dotted.names}``);
* ``fonts/DejaVuSans-mergekit.ttf`` - DejaVu Sans cut down to Latin (with Vietnamese), Greek,
  Cyrillic and common punctuation, without hinting, so every filled PDF can embed it.

reportlab draws the static page (a development-only dependency); pypdf adds the form fields,
so their names, export values and appearances are exactly what mergekit's filler expects.
Output is deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from ttf_subset import subset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mergekit.merge.formfields import REFERRAL_REASONS  # noqa: E402
from mergekit.pdf.draw import tick  # noqa: E402

OUT = ROOT / "templates" / "pdf"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_OUT = OUT / "fonts" / "DejaVuSans-mergekit.ttf"

# What the bundled font covers: Latin (all of Latin-1, Extended-A/B and Extended Additional,
# which has Vietnamese), spacing modifiers (ʻ ʼ), combining accents, Greek, Cyrillic,
# punctuation, currency, letter-like symbols (№), arrows, ticks and ballot boxes.
CODEPOINTS = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x250),
    *range(0x2B0, 0x370),
    *range(0x370, 0x400),
    *range(0x400, 0x530),
    *range(0x1E00, 0x1F00),
    *range(0x2000, 0x2070),
    *range(0x20A0, 0x20D0),
    *range(0x2100, 0x2150),
    *range(0x2190, 0x219A),
    *range(0x2610, 0x2613),
    *range(0x2713, 0x2719),
    0xFFFD,
]

PAGE_W, PAGE_H = A4
LEFT, RIGHT, TOP, BOTTOM = 42.0, 42.0, 800.0, 52.0
WIDTH = PAGE_W - LEFT - RIGHT
GAP = 8.0
LABEL = 7.5
BOX_H = 16.0
LINE_H = 11.5
CHECK = 10.0
NAVY = (0.13, 0.24, 0.42)
BOX_FILL = (0.93, 0.95, 1.0)
BOX_EDGE = (0.55, 0.60, 0.70)


@dataclass
class Spec:
    """One field as drawn: its name, kind, page and rectangle(s)."""

    name: str
    kind: str  # "text" | "check" | "yesno"
    page: int
    rects: list[tuple[float, float, float, float]]
    label: str
    lines: int = 1
    exports: tuple[str, ...] = ("Yes",)


@dataclass
class Form:
    title: str
    footer: str
    specs: list[Spec] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)


class Layout:
    """A top-to-bottom flow of headings, paragraphs and rows of boxes over A4 pages."""

    def __init__(self, canvas: Canvas, form: Form, pages: int) -> None:
        self.c = canvas
        self.form = form
        self.pages = pages
        self.page = 0
        self.y = TOP
        self._start_page()

    def _start_page(self) -> None:
        c = self.c
        c.setFont("Helvetica", 7)
        c.setFillColorRGB(0.35, 0.35, 0.35)
        c.drawString(LEFT, 30, self.form.footer)
        total = f" of {self.pages}" if self.pages else ""
        c.drawRightString(PAGE_W - RIGHT, 30, f"Page {self.page + 1}{total}")
        c.drawCentredString(PAGE_W / 2, 30, "OFFICIAL-SENSITIVE when completed")
        c.setFillColorRGB(0, 0, 0)

    def new_page(self) -> None:
        self.c.showPage()
        self.page += 1
        self.y = TOP
        self._start_page()

    def need(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self.new_page()

    def title(self, text: str, subtitle: str) -> None:
        c = self.c
        c.setFillColorRGB(*NAVY)
        c.setFont("Helvetica-Bold", 15)
        c.drawString(LEFT, self.y - 15, text)
        c.setFont("Helvetica", 8.5)
        c.setFillColorRGB(0.3, 0.3, 0.3)
        c.drawString(LEFT, self.y - 28, subtitle)
        c.setFillColorRGB(0, 0, 0)
        self.y -= 38

    def heading(self, text: str, keep: float = 60) -> None:
        self.need(22 + keep)
        c = self.c
        c.setFillColorRGB(*NAVY)
        c.rect(LEFT, self.y - 17, WIDTH, 17, stroke=0, fill=1)
        c.setFillColorRGB(1, 1, 1)
        c.setFont("Helvetica-Bold", 10)
        c.drawString(LEFT + 6, self.y - 12.5, text)
        c.setFillColorRGB(0, 0, 0)
        self.y -= 23

    def para(self, text: str, size: float = 8.0, bold: bool = False, keep: float = 30) -> None:
        """A paragraph, kept on the same page as the first ``keep`` points after it."""
        font = "Helvetica-Bold" if bold else "Helvetica"
        lines = simpleSplit(text, font, size, WIDTH)
        self.need(len(lines) * size * 1.3 + 4 + keep)
        self.c.setFont(font, size)
        for line in lines:
            self.c.drawString(LEFT, self.y - size, line)
            self.y -= size * 1.3
        self.y -= 4

    def _box(self, x: float, y: float, w: float, h: float) -> None:
        c = self.c
        c.setFillColorRGB(*BOX_FILL)
        c.setStrokeColorRGB(*BOX_EDGE)
        c.setLineWidth(0.5)
        c.rect(x, y, w, h, stroke=1, fill=1)
        c.setFillColorRGB(0, 0, 0)

    def _check(self, x: float, y: float) -> None:
        c = self.c
        c.setFillColorRGB(1, 1, 1)
        c.setStrokeColorRGB(0.25, 0.25, 0.25)
        c.setLineWidth(0.75)
        c.rect(x, y, CHECK, CHECK, stroke=1, fill=1)
        c.setFillColorRGB(0, 0, 0)

    def row(self, cells: list[Cell]) -> None:
        """Cells side by side, each a label above its box(es); widths are fractions."""
        height = max(cell.height for cell in cells)
        self.need(height + 4)
        x = LEFT
        usable = WIDTH - GAP * (len(cells) - 1)
        for cell in cells:
            w = usable * cell.fraction
            cell.draw(self, x, self.y, w)
            x += w + GAP
        self.y -= height + 4

    def checks(self, items: list[tuple[str, str, str, str]]) -> None:
        """One tick box per line: (label, field name, export value, mapping)."""
        for label, name, export, mapping in items:
            lines = simpleSplit(label, "Helvetica", 8.5, WIDTH - 20)
            h = max(CHECK + 4, len(lines) * 10.5 + 3)
            self.need(h)
            top = self.y
            self._check(LEFT, top - CHECK - 2)
            self.c.setFont("Helvetica", 8.5)
            for i, line in enumerate(lines):
                self.c.drawString(LEFT + 17, top - 10 - 10.5 * i, line)
            self.add(
                Spec(
                    name,
                    "check",
                    self.page,
                    [(LEFT, top - CHECK - 2, CHECK, CHECK)],
                    label,
                    exports=(export,),
                ),
                mapping,
            )
            self.y -= h + 1
        self.y -= 3

    def table(self, headers: list[tuple[str, float]], rows: list[list[tuple[str, str]]]) -> None:
        """A grid of one-line boxes under column headings: rows of (field name, mapping)."""
        self.need(12 + (BOX_H + 3) * len(rows))
        usable = WIDTH - GAP * (len(headers) - 1)
        x = LEFT
        self.c.setFont("Helvetica", LABEL)
        self.c.setFillColorRGB(0.25, 0.25, 0.25)
        for text, frac in headers:
            self.c.drawString(x, self.y - LABEL, text)
            x += usable * frac + GAP
        self.c.setFillColorRGB(0, 0, 0)
        self.y -= LABEL + 3
        for r, cells in enumerate(rows):
            x = LEFT
            for (name, mapping), (text, frac) in zip(cells, headers, strict=True):
                w = usable * frac
                self._box(x, self.y - BOX_H, w, BOX_H)
                self.add(
                    Spec(
                        name,
                        "text",
                        self.page,
                        [(x, self.y - BOX_H, w, BOX_H)],
                        f"{text} (row {r + 1})",
                    ),
                    mapping,
                )
                x += w + GAP
            self.y -= BOX_H + 3
        self.y -= 3

    def add(self, spec: Spec, mapping: str) -> None:
        self.form.specs.append(spec)
        if mapping:
            self.form.mapping[spec.name] = mapping


@dataclass
class Cell:
    label: str
    name: str
    fraction: float
    mapping: str = ""
    lines: int = 1
    yesno: tuple[str, str] | None = None  # export values of the YES and NO boxes
    # A text field after the YES/NO boxes: (field name, mapping), for where the answer came
    # from or that staff must still give it.
    note: tuple[str, str] | None = None

    @property
    def height(self) -> float:
        if self.yesno:
            return LABEL + 3 + (BOX_H if self.note else CHECK + 4)
        return LABEL + 3 + self.box_height

    @property
    def box_height(self) -> float:
        return BOX_H if self.lines == 1 else LINE_H * self.lines + 5

    def draw(self, layout: Layout, x: float, top: float, w: float) -> None:
        c = layout.c
        label_lines = simpleSplit(self.label, "Helvetica", LABEL, w)
        c.setFont("Helvetica", LABEL)
        c.setFillColorRGB(0.25, 0.25, 0.25)
        c.drawString(x, top - LABEL, label_lines[0] if label_lines else "")
        c.setFillColorRGB(0, 0, 0)
        box_top = top - LABEL - 3
        if self.yesno:
            rects = []
            c.setFont("Helvetica-Bold", 8)
            bx = x
            # With a note beside them, the boxes sit in the middle of the note's height.
            drop = (BOX_H - CHECK) / 2 - 1 if self.note else 0.0
            for word in ("YES", "NO"):
                c.drawString(bx, box_top - CHECK + 2 - drop, word)
                bx += c.stringWidth(word, "Helvetica-Bold", 8) + 4
                layout._check(bx, box_top - CHECK - 1 - drop)
                rects.append((bx, box_top - CHECK - 1 - drop, CHECK, CHECK))
                bx += CHECK + 16
            layout.add(
                Spec(self.name, "yesno", layout.page, rects, self.label, exports=self.yesno),
                self.mapping,
            )
            if self.note:
                name, mapping = self.note
                nw = x + w - bx
                assert nw > 80, f"no room for the note beside {self.name}"
                layout._box(bx, box_top - BOX_H, nw, BOX_H)
                rect = (bx, box_top - BOX_H, nw, BOX_H)
                label = f"{self.label} (note)"
                layout.add(Spec(name, "text", layout.page, [rect], label), mapping)
            return
        h = self.box_height
        layout._box(x, box_top - h, w, h)
        layout.add(
            Spec(
                self.name,
                "text",
                layout.page,
                [(x, box_top - h, w, h)],
                self.label,
                lines=self.lines,
            ),
            self.mapping,
        )


YN = ("YES", "NO")


def cme_referral(lay: Layout) -> None:
    lay.title(
        "Children Missing Education (CME) School Referral Form",
        "Appendix C of the school's Children Missing Education and Persistent Absence policy",
    )
    lay.para(
        "Please provide as much information as possible in order to assist with our further "
        "investigations. The local authority will use the information within this form to "
        "record, give advice and follow the Children Missing Education statutory guidance for "
        "local authorities; it may need to share it with other local authorities and "
        "services. More information on how personal information is handled, and your rights "
        "under data protection legislation, is in the local authority's Privacy Notice."
    )
    lay.row(
        [
            Cell(
                "Send to (local authority CME team)",
                "send_to_team",
                0.6,
                "{council.cme_team}, {council.name}",
            ),
            Cell("Email", "send_to_email", 0.4, "council.cme_email"),
        ]
    )
    lay.heading("Section 1 - The school")
    lay.row(
        [
            Cell("Name of school", "school_name", 0.44, "school.name"),
            Cell(
                "Contact person in school",
                "school_contact_person",
                0.3,
                "school.attendance_officer",
            ),
            Cell("Position", "school_contact_position", 0.26, "school.attendance_officer_title"),
        ]
    )
    lay.row(
        [
            Cell(
                "Contact details (telephone, email)",
                "school_contact_details",
                0.74,
                "{school.attendance_officer_phone}  {school.attendance_officer_email}  "
                "school office {school.phone}",
            ),
            Cell("Date form completed", "date_completed", 0.26, "today"),
        ]
    )
    lay.heading("Section 2 - The pupil")
    lay.row(
        [
            Cell("Forename", "pupil_forename", 0.34, "pupil.forename"),
            Cell("Middle name(s)", "pupil_middle_names", 0.33, "pupil.middle_names"),
            Cell("Surname", "pupil_surname", 0.33, "pupil.surname"),
        ]
    )
    lay.row(
        [
            Cell("Date of birth", "pupil_dob", 0.22, "pupil.dob"),
            Cell("Gender", "pupil_gender", 0.14, "pupil.gender"),
            Cell("Year group", "pupil_year_group", 0.22, "pupil.year_and_reg"),
            Cell("Ethnicity", "pupil_ethnicity", 0.42, "pupil.ethnicity"),
        ]
    )
    lay.row(
        [
            Cell("Alias / other names used", "pupil_alias", 0.4, "pupil.aliases"),
            Cell("Unique Pupil Number (UPN)", "pupil_upn", 0.3, "pupil.upn"),
            Cell("Unique identification number", "pupil_uid", 0.3, "{to_complete} if known"),
        ]
    )
    lay.row(
        [
            Cell("Address", "pupil_address", 0.5, "pupil.address_lines", lines=4),
            Cell("Last known address (if different)", "pupil_last_known_address", 0.5, lines=4),
        ]
    )
    lay.row(
        [
            Cell(
                "Previous addresses",
                "pupil_previous_addresses",
                1.0,
                "pupil.previous_addresses",
                lines=2,
            )
        ]
    )
    lay.row(
        [
            Cell(
                "Date child last attended school",
                "date_last_attended",
                0.5,
                "attendance.last_attended",
            ),
            Cell("First language", "pupil_first_language", 0.5, "pupil.first_language"),
        ]
    )
    lay.row(
        [
            Cell(
                "Does the child speak English? (answered from the school's English-proficiency "
                "record only)",
                "speaks_english",
                1.0,
                "pupil.speaks_english",
                yesno=YN,
                note=("speaks_english_note", "referral.speaks_english_note"),
            ),
        ]
    )
    lay.para("Sibling details", size=8, bold=True)
    lay.table(
        [("Name", 0.28), ("Date of birth", 0.17), ("Address", 0.33), ("School", 0.22)],
        [
            [(f"sibling{i}_{k}", f"siblings.{i}.{k}") for k in ("name", "dob", "address", "school")]
            for i in (1, 2, 3)
        ],
    )
    lay.row(
        [
            Cell(
                "Do you consider these children to be CME cases as well?",
                "siblings_cme",
                1.0,
                "referral.siblings_cme",
                yesno=YN,
                note=("siblings_cme_note", "referral.siblings_cme_note"),
            )
        ]
    )

    lay.heading("Section 3 - Parents, carers and other contacts", keep=150)
    lay.para("Please include all contact information held by the school.", size=7.5)
    # Each row: parent/carer 1's boxes on the left half, parent/carer 2's on the right;
    # (field, label, share of the half, source field).
    rows: list[list[tuple[str, str, float, str]]] = [
        [("name", "Name", 0.68, "name"), ("relationship", "Relationship", 0.32, "relationship")],
        [("address", "Contact address", 1.0, "address")],
        [("landline", "Landline", 0.5, "landline"), ("mobile", "Mobile", 0.5, "mobile")],
        [("work_phone", "Work phone", 1.0, "work_phone")],
        [("email", "Email", 1.0, "email")],
        [("language", "Family's first / home language", 1.0, "home_language")],
    ]
    for parts in rows:
        lay.row(
            [
                Cell(
                    f"Parent/carer {n}: {label}" if i == 0 else label,
                    f"parent{n}_{field_name}",
                    share / 2,
                    f"parent{n}.{source}",
                    lines=2 if field_name == "address" else 1,
                )
                for n in (1, 2)
                for i, (field_name, label, share, source) in enumerate(parts)
            ]
        )
    lay.row(
        [
            Cell(
                f"Parent/carer {n}: Is an interpreter required?",
                f"parent{n}_interpreter",
                0.5,
                f"parent{n}.interpreter",
                yesno=YN,
                note=(f"parent{n}_interpreter_note", f"parent{n}.interpreter_note"),
            )
            for n in (1, 2)
        ]
    )
    lay.para("Other contact information held by the school (relatives etc.)", bold=True)
    for n in (1, 2):
        lay.row(
            [
                Cell(f"Contact {n}: name", f"other{n}_name", 0.3, f"other_contact{n}.name"),
                Cell(
                    "Relationship", f"other{n}_relationship", 0.18, f"other_contact{n}.relationship"
                ),
                Cell("Address", f"other{n}_address", 0.34, f"other_contact{n}.address"),
                Cell("Telephone", f"other{n}_phone", 0.18, f"other_contact{n}.phone"),
            ]
        )
    lay.row([Cell("Other agency details", "other_agency_details", 1.0, "other_agencies", lines=2)])

    lay.heading("Section 4 - Is this child:", keep=90)
    for (la, na), (lb, nb) in (
        (
            ("A looked after child?", "looked_after"),
            ("Gypsy, Roma or Traveller?", "gypsy_roma_traveller"),
        ),
        (
            ("A refugee or asylum seeker?", "refugee_asylum_seeker"),
            ("Living in temporary accommodation?", "temporary_accommodation"),
        ),
        (
            ("Subject to a child protection plan?", "child_protection_plan"),
            ("An open case to children's social care?", "open_social_care_case"),
        ),
    ):
        lay.row(
            [
                Cell(la, na, 0.5, f"pupil.{na}", yesno=YN),
                Cell(lb, nb, 0.5, f"pupil.{nb}", yesno=YN),
            ]
        )
    lay.row(
        [
            Cell("Name of social worker", "social_worker_name", 0.4, "social_worker.name"),
            Cell(
                "Social worker's telephone / email",
                "social_worker_contact",
                0.6,
                "{social_worker.phone}  {social_worker.email}",
            ),
        ]
    )

    lay.heading("Section 5 - Welfare concerns", keep=190)
    lay.row(
        [
            Cell(
                "What are your concerns for the welfare of this child as a result of this "
                "referral, including attendance and behaviour?",
                "welfare_concerns",
                1.0,
                "referral.welfare_concerns",
                lines=6,
            )
        ]
    )
    lay.para(
        "Do you have any reason to be concerned that any of the following may be relevant "
        "in this case? (If yes, please give details.)",
        size=8,
    )
    lay.row(
        [
            Cell("Risk of child sexual exploitation (CSE)", "risk_cse", 0.34, yesno=YN),
            Cell("Risk of going missing / running away", "risk_missing", 0.33, yesno=YN),
            Cell("Risk of child trafficking", "risk_trafficking", 0.33, yesno=YN),
        ]
    )
    lay.row(
        [
            Cell(
                "Details",
                "risk_details",
                1.0,
                "{to_complete}: answer the three questions above, with details of any YES",
                lines=3,
            )
        ]
    )

    lay.heading("Section 6 - Primary reason for referring this child", keep=170)
    lay.para("Please tick as appropriate.", size=7.5)
    lay.row(
        [
            Cell(
                "What the school's records suggest (for staff to confirm)",
                "reason_suggested",
                1.0,
                "referral.reason_suggested",
                lines=3,
            )
        ]
    )
    lay.checks([(label, f"reason_{key}", "Yes", "") for key, label in REFERRAL_REASONS.items()])

    lay.heading("Section 7 - Checks made before submitting this referral", keep=140)
    lay.para("Please tick each check the school has made.", size=7.5)
    lay.row(
        [
            Cell(
                "Checks still to tick",
                "checks_note",
                1.0,
                "{to_complete}: tick each check the school has made",
            )
        ]
    )
    lay.checks(
        [
            (
                "Asked the friends of the missing pupil for any current information",
                "check_friends",
                "On",
                "",
            ),
            ("Checked the emergency contact numbers", "check_emergency_contacts", "On", ""),
            ("Checked the free school meals database", "check_fsm", "On", ""),
            ("If a voluntary aided school, checked with the priest", "check_priest", "On", ""),
            (
                "Checked records for siblings at another school, and rang that school",
                "check_siblings",
                "On",
                "",
            ),
            ("Checked with the school nurse", "check_school_nurse", "On", ""),
        ]
    )
    lay.row(
        [
            Cell(
                "A home visit must be made before this form is submitted. Please give full "
                "details of any contact or attempted contact with the family.",
                "home_visit_details",
                1.0,
                "referral.home_visit_details",
                lines=12,
            )
        ]
    )

    lay.heading("Section 8 - Children leaving / who have left the UK", keep=200)
    lay.para(
        "Please provide as much of the following as possible, especially where there is "
        "an indication that the family or child intends to leave the UK.",
        size=8,
    )
    lay.row(
        [
            Cell(
                "What the school knows of plans to leave the UK",
                "leaving_uk_note",
                1.0,
                "referral.leaving_uk_note",
                lines=2,
            )
        ]
    )
    lay.row(
        [
            Cell("Time of departure", "departure_time", 0.3),
            Cell("Flight numbers and name of airline", "flight_details", 0.7),
        ]
    )
    lay.row(
        [
            Cell(
                "Have you seen copies of the tickets? (attach copies if possible)",
                "tickets_seen",
                0.5,
                yesno=YN,
            ),
            Cell(
                "What country are they going to?", "destination_country", 0.5, "event.new_country"
            ),
        ]
    )
    lay.para("Who is leaving the UK? (tick all that apply)", size=8, bold=True)
    lay.checks(
        [
            ("Mother", "leaving_mother", "1", ""),
            ("Father", "leaving_father", "1", ""),
            ("Other siblings who are not part of this referral", "leaving_siblings", "1", ""),
            ("Extended family (give details below)", "leaving_extended_family", "1", ""),
        ]
    )
    lay.row([Cell("Extended family details", "extended_family_details", 1.0)])
    lay.row(
        [
            Cell(
                "If the child is not leaving with a parent, who is accompanying them?",
                "accompanying_adult",
                0.6,
            ),
            Cell("Their relationship to the child", "accompanying_relationship", 0.4),
        ]
    )
    lay.row(
        [
            Cell(
                "Why is / are the parent(s) not leaving with the child(ren)?",
                "parents_not_leaving_reason",
                1.0,
                lines=2,
            )
        ]
    )
    lay.para("Who will be caring for / responsible for the child(ren)?", size=8, bold=True)
    lay.row(
        [
            Cell("Name", "carer_name", 0.6),
            Cell("Relationship to the child", "carer_relationship", 0.4),
        ]
    )
    lay.row([Cell("Address", "carer_address", 1.0, lines=2)])
    lay.row(
        [
            Cell("Contact number", "carer_phone", 0.4),
            Cell("Email", "carer_email", 0.6),
        ]
    )
    lay.para("School(s) the child(ren) will be attending or applying to", size=8, bold=True)
    lay.row([Cell("School name", "new_school_name", 1.0, "event.new_school")])
    lay.row(
        [
            Cell("Address", "new_school_address", 0.6),
            Cell("Email", "new_school_email", 0.4),
        ]
    )
    lay.row(
        [
            Cell("Contact number", "new_school_phone", 0.4),
            Cell("Website", "new_school_website", 0.6),
        ]
    )
    lay.para("Do you have any concerns about any of the following?", size=8, bold=True)
    lay.row(
        [
            Cell("Safety of the child(ren)", "concern_safety", 0.3, yesno=YN),
            Cell("The reason given for leaving the UK", "concern_reason", 0.35, yesno=YN),
            Cell("That the information given is not accurate", "concern_accuracy", 0.35, yesno=YN),
        ]
    )
    lay.heading("Please submit this form to", keep=70)
    lay.row(
        [
            Cell("Email", "submit_email", 0.45, "council.cme_email"),
            Cell("Postal address", "submit_address", 0.55, "council.address_lines", lines=4),
        ]
    )


def remove_from_roll(lay: Layout) -> None:
    lay.title(
        "Leavers - Students to Take Off Roll",
        "Remove From Roll checklist: Appendix B of the school's Children Missing Education "
        "and Persistent Absence policy",
    )
    lay.row([Cell("School", "school_name", 1.0, "school.name")])
    lay.para(
        "A pupil can only be deleted from the admission register on one of the grounds in "
        "regulation 9 of the School Attendance (Pupil Registration) (England) Regulations "
        "2024, never with a retrospective date, and only with the head teacher's signature "
        "on this completed checklist.",
        size=8,
    )
    lay.heading("The pupil")
    lay.row(
        [
            Cell("Name", "name", 0.7, "pupil.legal_name"),
            Cell("UPN", "upn", 0.3, "pupil.upn"),
        ]
    )
    lay.row(
        [
            Cell("D.O.B.", "dob", 0.35, "pupil.dob"),
            Cell("Year / tutor group", "year_tutor_group", 0.3, "pupil.year_and_reg"),
            Cell("Date of leaving", "date_of_leaving", 0.35, "removal.date_of_leaving"),
        ]
    )
    lay.row(
        [
            Cell(
                "Reason for leaving (the regulation 9 ground)",
                "reason_for_leaving",
                1.0,
                "removal.ground",
                lines=3,
            )
        ]
    )
    lay.heading("Before removal")
    lay.row(
        [
            Cell(
                "Reasonable enquiries made (home visit, contacts, siblings' schools)?",
                "enquiries_made",
                1.0,
                "removal.enquiries_made",
                yesno=("Y", "N"),
            ),
        ]
    )
    lay.row(
        [
            Cell(
                "Enquiries made (from the school's contact log)",
                "enquiries_details",
                1.0,
                "removal.enquiries",
                lines=10,
            )
        ]
    )
    lay.row(
        [
            Cell(
                "Advice sought from the local authority's CME team?",
                "cme_advice_sought",
                1.0,
                "removal.cme_advice_sought",
                yesno=("Y", "N"),
            ),
        ]
    )
    lay.row(
        [
            Cell(
                "When and how the CME team was contacted",
                "cme_advice_details",
                1.0,
                "removal.cme_advice",
                lines=3,
            )
        ]
    )
    lay.heading("Authorisation")
    lay.row(
        [
            Cell(
                "Authorised by head teacher (signature)",
                "authorised_by",
                0.6,
                "{to_complete}: the head teacher's signature",
                lines=3,
            ),
            Cell("Head teacher's name", "head_teacher", 0.4, "school.head_teacher"),
        ]
    )
    lay.row([Cell("Date authorised", "date_authorised", 0.4, "to_complete")])
    lay.heading("After removal")
    lay.row(
        [
            Cell(
                "Date data team emailed to take student off roll",
                "date_data_team_emailed",
                0.5,
                "{to_complete} after removal",
            ),
            Cell(
                'Date "Transfer List" spreadsheet updated (Off Roll tab)',
                "date_transfer_list_updated",
                0.5,
                "{to_complete} after removal",
            ),
        ]
    )
    lay.row(
        [
            Cell(
                "Date the local authority's admissions team was informed the child was taken "
                "off roll",
                "date_admissions_informed",
                1.0,
                "{to_complete} after removal",
            ),
        ]
    )


# ---------------------------------------------------------------------------------------------
# Fields (pypdf)


def _stream(writer: PdfWriter, content: str, w: float, h: float) -> IndirectObject:
    s = DecodedStreamObject()
    s.set_data(content.encode("ascii"))
    s[NameObject("/Type")] = NameObject("/XObject")
    s[NameObject("/Subtype")] = NameObject("/Form")
    s[NameObject("/BBox")] = ArrayObject(
        [FloatObject(0), FloatObject(0), FloatObject(w), FloatObject(h)]
    )
    s[NameObject("/Resources")] = DictionaryObject()
    return writer._add_object(s)


def _rect(r: tuple[float, float, float, float]) -> ArrayObject:
    x, y, w, h = r
    return ArrayObject([FloatObject(round(v, 2)) for v in (x, y, x + w, y + h)])


def add_fields(drawn: bytes, form: Form) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(drawn)))
    helv = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    zadb = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/ZapfDingbats"),
            }
        )
    )
    on = _stream(writer, tick(CHECK, CHECK), CHECK, CHECK)
    off = _stream(writer, "", CHECK, CHECK)
    fields = ArrayObject()
    for spec in form.specs:
        page = writer.pages[spec.page]
        annots = page.get("/Annots")
        if annots is None:
            annots = ArrayObject()
            page[NameObject("/Annots")] = annots
        common = {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/F"): NumberObject(4),  # print
            NameObject("/P"): page.indirect_reference,
        }
        if spec.kind == "text":
            d = DictionaryObject(common)
            d.update(
                {
                    NameObject("/FT"): NameObject("/Tx"),
                    NameObject("/T"): TextStringObject(spec.name),
                    NameObject("/TU"): TextStringObject(spec.label),
                    NameObject("/Rect"): _rect(spec.rects[0]),
                    NameObject("/Ff"): NumberObject(4096 if spec.lines > 1 else 0),
                    NameObject("/DA"): TextStringObject(
                        "/Helv 9 Tf 0 g" if spec.lines > 1 else "/Helv 10 Tf 0 g"
                    ),
                    NameObject("/V"): TextStringObject(""),
                    NameObject("/MK"): DictionaryObject(),
                }
            )
            ref = writer._add_object(d)
            annots.append(ref)
            fields.append(ref)
            continue
        check_common = {
            NameObject("/MK"): DictionaryObject({NameObject("/CA"): TextStringObject("4")}),
            NameObject("/AS"): NameObject("/Off"),
        }
        if spec.kind == "check":
            d = DictionaryObject(common | check_common)
            d.update(
                {
                    NameObject("/FT"): NameObject("/Btn"),
                    NameObject("/T"): TextStringObject(spec.name),
                    NameObject("/TU"): TextStringObject(spec.label),
                    NameObject("/Rect"): _rect(spec.rects[0]),
                    NameObject("/DA"): TextStringObject("/ZaDb 0 Tf 0 g"),
                    NameObject("/V"): NameObject("/Off"),
                    NameObject("/AP"): DictionaryObject(
                        {
                            NameObject("/N"): DictionaryObject(
                                {NameObject("/" + spec.exports[0]): on, NameObject("/Off"): off}
                            )
                        }
                    ),
                }
            )
            ref = writer._add_object(d)
            annots.append(ref)
            fields.append(ref)
            continue
        # yes/no: one check-box field, two widgets with different export values (the way
        # Acrobat makes "check boxes with the same name": ticking one unticks the other).
        parent = DictionaryObject(
            {
                NameObject("/FT"): NameObject("/Btn"),
                NameObject("/T"): TextStringObject(spec.name),
                NameObject("/TU"): TextStringObject(spec.label),
                NameObject("/DA"): TextStringObject("/ZaDb 0 Tf 0 g"),
                NameObject("/V"): NameObject("/Off"),
            }
        )
        parent_ref = writer._add_object(parent)
        kids = ArrayObject()
        for export, rect in zip(spec.exports, spec.rects, strict=True):
            kid = DictionaryObject(common | check_common)
            kid.update(
                {
                    NameObject("/Parent"): parent_ref,
                    NameObject("/Rect"): _rect(rect),
                    NameObject("/AP"): DictionaryObject(
                        {
                            NameObject("/N"): DictionaryObject(
                                {NameObject("/" + export): on, NameObject("/Off"): off}
                            )
                        }
                    ),
                }
            )
            kid_ref = writer._add_object(kid)
            kids.append(kid_ref)
            annots.append(kid_ref)
        parent[NameObject("/Kids")] = kids
        fields.append(parent_ref)
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): fields,
            NameObject("/DA"): TextStringObject("/Helv 0 Tf 0 g"),
            NameObject("/DR"): DictionaryObject(
                {
                    NameObject("/Font"): DictionaryObject(
                        {NameObject("/Helv"): helv, NameObject("/ZaDb"): zadb}
                    )
                }
            ),
            NameObject("/NeedAppearances"): BooleanObject(False),
        }
    )
    writer.add_metadata({"/Title": form.title, "/Producer": "mergekit make_pdf_templates"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build(draw: Callable[[Layout], None], title: str, footer: str) -> tuple[bytes, Form]:
    pages = 0
    for _ in range(2):  # first pass counts the pages for "Page n of N"
        form = Form(title, footer)
        buf = io.BytesIO()
        canvas = Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
        canvas.setTitle(title)
        canvas.setAuthor("mergekit")
        lay = Layout(canvas, form, pages)
        draw(lay)
        canvas.showPage()
        canvas.save()
        pages = lay.page + 1
    return add_fields(buf.getvalue(), form), form


def write_form(
    out: Path, name: str, action: str, draw: Callable[[Layout], None], title: str
) -> None:
    pdf, form = build(draw, title, f"{title} - mergekit template")
    names = [s.name for s in form.specs]
    assert len(names) == len(set(names)), "duplicate field names"
    (out / f"{name}.pdf").write_bytes(pdf)
    sidecar = {
        "about": "Which mergekit field fills which PDF field (see `mergekit fields`). "
        "Fields not listed are left for staff to complete.",
        "action": action,
        "fields": form.mapping,
    }
    (out / f"{name}.json").write_text(
        json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{name}.pdf: {len(pdf):,} bytes, {len(form.specs)} fields, {len(form.mapping)} mapped")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="folder to write (default templates/pdf)")
    args = ap.parse_args(argv)
    out: Path = args.out
    font_out = out / "fonts" / FONT_OUT.name
    font_out.parent.mkdir(parents=True, exist_ok=True)
    font_out.write_bytes(subset(DEJAVU.read_bytes(), CODEPOINTS))
    print(f"{font_out.name}: {font_out.stat().st_size:,} bytes")
    write_form(out, "cme_referral", "cme_referral", cme_referral, "CME School Referral Form")
    write_form(
        out, "remove_from_roll", "remove_from_roll", remove_from_roll, "Remove From Roll Checklist"
    )


if __name__ == "__main__":
    main()
