"""Build the bundled Word templates in templates/docx/ (run after changing the wording).

    python scripts/make_docx_templates.py [--out templates/docx]

python-docx (a development-only dependency) draws each document; the results are committed, so
mergekit itself never needs python-docx. Every Jinja tag is written as its own Word run, so
Word never splits a tag, and the files are byte-for-byte reproducible (fixed zip timestamps and
document dates).

Writing style: plain English a parent can follow; the legal steps are described only in the
words the national framework allows (a penalty notice "may be considered" at 10 unauthorised
sessions in 10 school weeks; Notice to Improve; prosecution under s444 Education Act 1996 as a
possible further step).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mergekit.merge.formfields import REFERRAL_REASONS  # noqa: E402

FONT = "Arial"  # metric-compatible with Liberation Sans, which LibreOffice substitutes
TICK_FONT = "Segoe UI Symbol"  # has ☐ ☒; other systems fall back to a font that does
GREY = RGBColor(0x59, 0x59, 0x59)
TO_COMPLETE_FILL = "FFF2CC"  # pale yellow: the school fills these in by hand
LABEL_FILL = "F2F2F2"
FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)

# A piece of text: tags ({{ }}, {% %}) and tick boxes become runs of their own; **bold** is bold.
_SPLIT = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\*\*.*?\*\*|[☐☒])")


# ---------------------------------------------------------------------------------------------
# Drawing helpers


def new_document(title: str, subject: str) -> DocumentObject:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(1.6), Cm(1.6)
    section.header_distance = section.footer_distance = Cm(0.8)
    _fonts(doc)
    props = doc.core_properties
    props.title = title
    props.subject = subject
    props.author = "mergekit"
    props.last_modified_by = "mergekit"
    props.comments = (
        "A mergekit template: the fields in double curly brackets are filled in from the "
        "school's records. "
        "Run `mergekit fields` for the list and `mergekit templates check` after editing."
    )
    props.keywords = "mergekit template"
    props.created = props.modified = FIXED_TIME
    props.revision = 1
    return doc


def _fonts(doc: DocumentObject) -> None:
    styles = doc.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-GB")
    lang.set(qn("w:eastAsia"), "en-GB")
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.1
    for name, size in (("Heading 1", 15), ("Heading 2", 11.5), ("Title", 17)):
        st = styles[name]
        st.font.name = FONT
        st.font.size = Pt(size)
        st.font.bold = True
        st.font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
        st.font.italic = False
        st.paragraph_format.space_before = Pt(10 if name != "Title" else 0)
        st.paragraph_format.space_after = Pt(4)
        st.paragraph_format.keep_with_next = True
        r = st.element.get_or_add_rPr()
        rf = r.find(qn("w:rFonts"))
        if rf is not None:
            for attr in list(rf.attrib):
                del rf.attrib[attr]
            for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
                rf.set(qn(attr), FONT)
    # Title in the default template has a border and big spacing: keep it plain.
    ppr = styles["Title"].element.pPr
    if ppr is not None:
        border = ppr.find(qn("w:pBdr"))
        if border is not None:
            ppr.remove(border)
    for name in ("Header", "Footer"):
        styles[name].font.name = FONT
        styles[name].font.size = Pt(8.5)


def add_runs(
    p: Paragraph,
    text: str,
    *,
    size: float | None = None,
    bold: bool = False,
    italic: bool = False,
    colour: RGBColor | None = None,
) -> Paragraph:
    """Append ``text`` to a paragraph: every tag is one run; **...** is bold."""
    for chunk in _SPLIT.split(text):
        if not chunk:
            continue
        piece, is_bold = chunk, bold
        if chunk.startswith("**") and chunk.endswith("**") and len(chunk) > 4:
            piece, is_bold = chunk[2:-2], True
        run = p.add_run(piece)
        run.bold = is_bold or None
        if italic:
            run.italic = True
        if size:
            run.font.size = Pt(size)
        if colour is not None:
            run.font.color.rgb = colour
        if "☐" in piece or "☒" in piece:
            run.font.name = TICK_FONT
    return p


def para(
    container: DocumentObject | _Cell,
    text: str = "",
    *,
    style: str | None = None,
    align: str | None = None,
    after: float | None = None,
    before: float | None = None,
    size: float | None = None,
    bold: bool = False,
    italic: bool = False,
    colour: RGBColor | None = None,
    keep: bool = False,
) -> Paragraph:
    p = container.add_paragraph(style=style)
    add_runs(p, text, size=size, bold=bold, italic=italic, colour=colour)
    fmt = p.paragraph_format
    if align:
        fmt.alignment = {
            "right": WD_ALIGN_PARAGRAPH.RIGHT,
            "center": WD_ALIGN_PARAGRAPH.CENTER,
            "left": WD_ALIGN_PARAGRAPH.LEFT,
        }[align]
    if after is not None:
        fmt.space_after = Pt(after)
    if before is not None:
        fmt.space_before = Pt(before)
    if keep:
        fmt.keep_with_next = True
    return p


def control(container: DocumentObject | _Cell, tag: str) -> Paragraph:
    """A paragraph holding only a docxtpl paragraph tag ({%p ... %}); it disappears on render."""
    p = container.add_paragraph()
    p.add_run(tag)
    p.paragraph_format.space_after = Pt(0)
    return p


def bullets(doc: DocumentObject, items: Iterable[str]) -> None:
    for item in items:
        p = para(doc, item, style="List Bullet", after=3)
        p.paragraph_format.left_indent = Cm(0.9)


def heading(doc: DocumentObject, text: str, level: int = 2) -> Paragraph:
    p = doc.add_paragraph(style=f"Heading {level}")
    add_runs(p, text)
    return p


def shade(cell: _Cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def cell_text(
    cell: _Cell,
    text: str,
    *,
    bold: bool = False,
    size: float | None = None,
    italic: bool = False,
    colour: RGBColor | None = None,
) -> _Cell:
    """Replace a cell's (empty) paragraph with ``text``; \\n starts a new paragraph."""
    first, *rest = text.split("\n")
    p = cell.paragraphs[0]
    add_runs(p, first, bold=bold, size=size, italic=italic, colour=colour)
    p.paragraph_format.space_after = Pt(2)
    for line in rest:
        q = cell.add_paragraph()
        add_runs(q, line, bold=bold, size=size, italic=italic, colour=colour)
        q.paragraph_format.space_after = Pt(2)
    return cell


def to_complete(cell: _Cell, hint: str = "", lines: int = 0) -> _Cell:
    """A clearly marked blank for what the workbook cannot know: shaded, reading
    "TO COMPLETE: <hint>" (``lines`` of writing room)."""
    shade(cell, TO_COMPLETE_FILL)
    cell_text(cell, f"TO COMPLETE: {hint}" if hint else "TO COMPLETE", italic=True, size=8.5)
    for _ in range(lines):
        cell.add_paragraph()
    return cell


def keep_together(t: Table) -> None:
    """A table is not split over two pages unless it must be: rows do not break, and each
    row keeps with the next."""
    for i, row in enumerate(t.rows):
        trpr = row._tr.get_or_add_trPr()
        trpr.append(OxmlElement("w:cantSplit"))
        if i < len(t.rows) - 1:
            for cell in row.cells:
                for p in cell.paragraphs:
                    p.paragraph_format.keep_with_next = True


def table(doc: DocumentObject | _Cell, rows: int, widths: Sequence[float]) -> Table:
    t = doc.add_table(rows=rows, cols=len(widths))
    t.style = (
        doc.part.document.styles["Table Grid"]
        if isinstance(doc, _Cell)
        else doc.styles["Table Grid"]
    )
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    for row in t.rows:
        for i, w in enumerate(widths):
            row.cells[i].width = Cm(w)
    grid = t._tbl.tblGrid
    for i, col in enumerate(grid.findall(qn("w:gridCol"))):
        col.set(qn("w:w"), str(int(Cm(widths[i]).twips)))
    return t


def label_rows(
    doc: DocumentObject,
    rows: Sequence[tuple[str, str]],
    widths: Sequence[float] = (6.0, 11.0),
    room: int = 0,
) -> Table:
    """A two-column form table: label | value. A value starting with "?" is a marked blank
    with that hint (and ``room`` empty lines to write in); one starting with "!" is shaded for
    staff to complete or check (its fields say TO COMPLETE where the records have nothing)."""
    t = table(doc, len(rows), widths)
    for i, (label, value) in enumerate(rows):
        left, right = t.rows[i].cells
        cell_text(left, label, bold=True, size=9.5)
        shade(left, LABEL_FILL)
        if value.startswith("?"):
            to_complete(right, value[1:], lines=room)
        elif value.startswith("!"):
            shade(right, TO_COMPLETE_FILL)
            cell_text(right, value[1:])
        else:
            cell_text(right, value)
    para(doc, "", after=2)
    return t


def yes_no(expr: str) -> str:
    """☒ YES ☐ NO drawn from a YES/NO field (both empty when the school has no answer)."""
    return f'{{{{ ({expr} == "YES")|tick }}}} YES    {{{{ ({expr} == "NO")|tick }}}} NO'


def flag_yes_no(flag: str) -> str:
    """☒ YES ☐ NO drawn from a pupil flag (true/false)."""
    return f"{{{{ pupil.flags.{flag}|tick }}}} YES    {{{{ (not pupil.flags.{flag})|tick }}}} NO"


BLANK_YES_NO = "☐ YES    ☐ NO"


def footer(doc: DocumentObject, text: str, *, first_page_too: bool = True) -> None:
    section = doc.sections[0]
    targets = [section.footer]
    if first_page_too and section.different_first_page_header_footer:
        targets.append(section.first_page_footer)
    for f in targets:
        p = f.paragraphs[0]
        add_runs(p, text, size=8, colour=GREY)
        p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


# ---------------------------------------------------------------------------------------------
# Letters


def letterhead(doc: DocumentObject) -> None:
    """School letterhead in the first-page header; a slim running header on later pages."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    head = section.first_page_header
    p = head.paragraphs[0]
    add_runs(p, "{{ school.name }}", size=17, bold=True, colour=RGBColor(0x1F, 0x3A, 0x5F))
    p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.paragraph_format.space_after = Pt(0)
    for text in (
        "{{ school.address }}",
        "Telephone {{ school.phone }}  ·  {{ school.email }}",
        "{% if school.website %}{{ school.website }}{% endif %}",
    ):
        q = head.add_paragraph()
        add_runs(q, text, size=9, colour=GREY)
        q.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        q.paragraph_format.space_after = Pt(0)
    rule = head.add_paragraph()
    _bottom_border(rule)
    later = section.header.paragraphs[0]
    add_runs(
        later, "{{ school.name }}  ·  {{ pupil.full_name }}  ·  {{ today }}", size=8, colour=GREY
    )
    later.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer(
        doc,
        "If you would like this letter in another language or format, please contact the school "
        "office on {{ school.phone }}.",
    )


def _bottom_border(p: Paragraph) -> None:
    ppr = p._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "8"), ("w:space", "1"), ("w:color", "1F3A5F")):
        bottom.set(qn(k), v)
    bdr.append(bottom)
    ppr.append(bdr)
    p.paragraph_format.space_after = Pt(0)


def address_block(doc: DocumentObject) -> None:
    para(doc, "Private and confidential", bold=True, after=4, size=9.5)
    para(
        doc,
        "{% if recipient.names %}{{ recipient.names }}{% else %}The parent or carer of "
        "{{ pupil.full_name }}{% endif %}",
        after=0,
    )
    control(doc, "{%p for line in recipient.address_lines %}")
    para(doc, "{{ line }}", after=0)
    control(doc, "{%p endfor %}")
    para(doc, "{{ today }}", before=14, after=2)
    para(
        doc,
        "Our reference: attendance letter {{ letter.number }}, {{ pupil.upn }}",
        size=9,
        colour=GREY,
        after=14,
    )


def attendance_summary(doc: DocumentObject) -> None:
    para(
        doc,
        "Since {{ attendance.since }}, {{ pupil.preferred_name }}'s attendance has been "
        "**{{ attendance.percent }}%**. Out of {{ attendance.possible }} sessions (each morning "
        "and each afternoon is one session), {{ pupil.preferred_name }} has missed "
        "{{ attendance.missed }}, which is {{ attendance.missed_days }} school days. "
        "{{ attendance.unauthorised }} of the missed sessions were not authorised by the school.",
    )


def recent_absences(doc: DocumentObject) -> None:
    control(doc, "{%p if attendance.recent_absences %}")
    para(doc, "{{ pupil.preferred_name }}'s most recent absences:", after=3, keep=True)
    t = table(doc, 4, (4.2, 2.3, 1.4, 9.1))
    for cell, text in zip(
        t.rows[0].cells, ("Date", "Session", "Code", "Reason recorded"), strict=True
    ):
        cell_text(cell, text, bold=True, size=9)
        shade(cell, LABEL_FILL)
    cell_text(t.rows[1].cells[0], "{%tr for a in attendance.recent_absences %}")
    for cell, text in zip(
        t.rows[2].cells,
        ("{{ a.date }}", "{{ a.session }}", "{{ a.code }}", "{{ a.meaning }}"),
        strict=True,
    ):
        cell_text(cell, text, size=9)
    cell_text(t.rows[3].cells[0], "{%tr endfor %}")
    control(doc, "{%p endif %}")
    para(doc, "", after=2)


def contact_us(doc: DocumentObject, why: str) -> None:
    para(
        doc,
        "Please contact {{ school.attendance_officer }}, our "
        "{{ school.attendance_officer_title|lower }}, on {{ school.attendance_officer_phone }} "
        f"or at {{{{ school.attendance_officer_email }}}} {why}.",
    )


def signature(doc: DocumentObject, people: Sequence[tuple[str, str]]) -> None:
    para(doc, "{{ recipient.sign_off }},", before=10, after=30, keep=True)
    if len(people) == 1:
        name, title = people[0]
        para(doc, name, bold=True, after=0, keep=True)
        para(doc, f"{title}, {{{{ school.name }}}}", after=0)
        return
    t = table(doc, 1, (8.5, 8.5))
    _no_borders(t)
    t.alignment = WD_TABLE_ALIGNMENT.LEFT
    tblpr = t._tbl.tblPr
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), "0")
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    tblpr.append(margins)
    for cell, (name, title) in zip(t.rows[0].cells, people, strict=True):
        cell_text(cell, f"**{name}**\n{title}\n{{{{ school.name }}}}")


def _no_borders(t: Table) -> None:
    tblpr = t._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        e = OxmlElement(f"w:{edge}")
        e.set(qn("w:val"), "nil")
        borders.append(e)
    tblpr.append(borders)


AO = ("{{ school.attendance_officer }}", "{{ school.attendance_officer_title }}")
HT = ("{{ school.head_teacher }}", "{{ school.head_teacher_title }}")

SUPPORT = [
    "a meeting with {{ school.attendance_officer }} to talk about what is getting in the way "
    "and what would help;",
    "support from {{ pupil.preferred_name }}'s form tutor and head of year, including a plan to "
    "catch up on missed work;",
    "help from the school nurse, or a referral to other services, if there is a health worry;",
    "an Early Help assessment, which can bring in support for the whole family if things are "
    "difficult at home.",
]


def pa_letter(number: int) -> DocumentObject:
    doc = new_document(f"Attendance letter {number}", "Persistent absence warning letter")
    letterhead(doc)
    address_block(doc)
    para(doc, "{{ recipient.salutation }},", after=8)
    titles = {
        1: "{{ pupil.full_name }} ({{ pupil.year_and_reg }}): attendance "
        "{{ policy.below_threshold }}",
        2: "{{ pupil.full_name }} ({{ pupil.year_and_reg }}): attendance is still "
        "{{ policy.below_threshold }}",
        3: "{{ pupil.full_name }} ({{ pupil.year_and_reg }}): final letter about attendance",
    }
    para(doc, titles[number], bold=True, after=8)
    if number == 1:
        para(
            doc,
            "I am writing because {{ pupil.preferred_name }}'s attendance at school this year is "
            "{{ policy.below_threshold }}. In England, a pupil who misses 10% or more of their "
            "school sessions counts as persistently absent, and we want to work with you to "
            "improve {{ pupil.preferred_name }}'s attendance.",
        )
    elif number == 2:
        para(
            doc,
            "{% if letter.letter_1_date %}We wrote to you on {{ letter.letter_1_date }}"
            "{% else %}We have written to you before{% endif %} about "
            "{{ pupil.preferred_name }}'s attendance. I am sorry to say that it is still "
            "{{ policy.below_threshold }}, and we are now concerned.",
        )
    else:
        para(
            doc,
            "{% if letter.letter_1_date and letter.letter_2_date %}We wrote to you on "
            "{{ letter.letter_1_date }} and again on {{ letter.letter_2_date }}"
            "{% else %}We have written to you twice before{% endif %} about "
            "{{ pupil.preferred_name }}'s attendance. It is still {{ policy.below_threshold }}, so "
            "this is our final letter before we ask the local authority to consider formal action.",
        )
    attendance_summary(doc)
    # The picture of the year so far (weekly attendance, the threshold, the letters' dates).
    para(doc, "{{ attendance_chart }}", after=4, keep=True)
    recent_absences(doc)

    if number == 1:
        heading(doc, "Why every day matters")
        para(
            doc,
            "Pupils who attend regularly learn more, do better in their exams and find it easier "
            "to keep up. Missed lessons leave gaps that build up over time. Attendance of 90% "
            "sounds high, but it means missing about half a day every week: nearly four weeks of "
            "school over a whole year.",
        )
        heading(doc, "How missing school can affect your child")
        para(
            doc,
            "Time away from school can make it harder to keep up friendships, to feel part of the "
            "class and to feel confident about coming back. Some children become anxious about "
            "returning after time off. If something is worrying {{ pupil.preferred_name }}, please "
            "tell us so that we can help.",
        )
        heading(doc, "Keeping children safe")
        para(
            doc,
            "Schools must always try to understand why a child is missing school. Repeated "
            "absence can sometimes be a sign that a child or family needs extra help, so we "
            "follow up every absence with this in mind.",
        )
        heading(doc, "How we can help")
        para(doc, "We can offer:", after=3)
        bullets(doc, SUPPORT)
        heading(doc, "What happens next")
        para(
            doc,
            "We will keep a close eye on {{ pupil.preferred_name }}'s attendance. If it does not "
            "improve, we will write to you again and ask you to meet us. Absence that the school "
            "has not authorised can lead to formal action by the local authority, such as a "
            "Notice to Improve or a penalty notice. We would much rather work with you so that "
            "this is not needed.",
        )
        contact_us(doc, "if there is anything we should know, or if you would like to talk")
        signature(doc, [AO])
    elif number == 2:
        heading(doc, "We would like to meet you")
        para(
            doc,
            "At the meeting we will talk about the reasons for the absence and agree a plan, with "
            "support, to help {{ pupil.preferred_name }} attend every day.",
        )
        contact_us(doc, "within the next 10 school days to arrange a meeting")
        heading(doc, "Why this matters")
        para(
            doc,
            "Regular attendance is the best way for {{ pupil.preferred_name }} to learn, make "
            "progress and do well in exams. Time out of school can also affect friendships, "
            "confidence and wellbeing. Schools must always try to understand why a child is "
            "missing school, because repeated absence can sometimes be a sign that a child or "
            "family needs extra help.",
        )
        heading(doc, "The support on offer")
        bullets(doc, SUPPORT)
        heading(doc, "What the law says")
        para(
            doc,
            "Parents have a legal duty to make sure their child attends school regularly. When "
            "absence is not authorised, the local authority can take formal action. Under the "
            "national rules:",
            after=3,
        )
        bullets(
            doc,
            [
                "a penalty notice may be considered when a pupil has 10 or more sessions of "
                "unauthorised absence within any 10 school weeks. {{ pupil.preferred_name }} has "
                "{{ attendance.unauthorised }} unauthorised sessions so far this school year;",
                "before a penalty notice, the local authority will usually send a Notice to "
                "Improve: a formal warning that gives a set time for attendance to improve, with "
                "support offered;",
                "a penalty notice is £160 if paid within 28 days, reduced to £80 if paid within "
                "21 days. It is issued to each parent, for each child.",
            ],
        )
        para(
            doc,
            "We do not want to take these steps. Working together now is the best way to avoid "
            "them.",
            before=4,
        )
        signature(doc, [AO, HT])
    else:
        heading(doc, "Please contact us now")
        para(
            doc,
            "We need to meet you to agree what will happen next. Please contact "
            "{{ school.attendance_officer }} on {{ school.attendance_officer_phone }} or at "
            "{{ school.attendance_officer_email }} **within 5 school days** to arrange a meeting "
            "with {{ school.head_teacher }} or a senior member of staff. If we do not hear from "
            "you, we will ask {{ council.name }} for advice on formal action.",
        )
        heading(doc, "What can happen if attendance does not improve")
        bullets(
            doc,
            [
                "**Notice to Improve**: a formal warning from the local authority. It gives a set "
                "time for attendance to improve, with support offered.",
                "**Penalty notice**: may be considered when a pupil has 10 or more sessions of "
                "unauthorised absence within any 10 school weeks. It is £160 if paid within 28 "
                "days, reduced to £80 if paid within 21 days. A second penalty notice for the "
                "same child within three years is £160, with no reduced rate.",
                "**Prosecution**: if attendance still does not improve, the local authority may "
                "prosecute parents in the magistrates' court under section 444 of the Education "
                "Act 1996, for failing to make sure their child attends school regularly. The "
                "court can fine parents and can make other orders, such as a parenting order.",
            ],
        )
        heading(doc, "Support is still available")
        para(
            doc,
            "Our offer of help still stands. We can agree an attendance plan with you, arrange "
            "support in school for {{ pupil.preferred_name }}, and refer your family for Early "
            "Help if that would make a difference.",
        )
        heading(doc, "Keeping children safe")
        para(
            doc,
            "We also have a duty to make sure {{ pupil.preferred_name }} is safe. If we become "
            "worried about {{ pupil.preferred_name }}'s welfare, we will follow our safeguarding "
            "procedures, which can mean sharing our concerns with other services.",
        )
        signature(doc, [HT, AO])
    return doc


# ---------------------------------------------------------------------------------------------
# Forms


def form_header(doc: DocumentObject, title: str, subtitle: str) -> None:
    para(doc, "{{ school.name }}", bold=True, size=12, after=0, colour=RGBColor(0x1F, 0x3A, 0x5F))
    para(doc, "{{ school.address }}  ·  {{ school.phone }}", size=8.5, colour=GREY, after=8)
    p = doc.add_paragraph(style="Title")
    add_runs(p, title)
    para(doc, subtitle, size=9.5, after=6)


def how_to_fill(doc: DocumentObject, what: str) -> None:
    t = table(doc, 1, (17.0,))
    cell = t.rows[0].cells[0]
    shade(cell, "EAF1FB")
    cell_text(
        cell,
        f"**How to use this form.** {what} mergekit filled in what the school's records hold on "
        "{{ today }}; please check every answer. Boxes shaded yellow are for you to complete "
        "or check: TO COMPLETE marks what the records cannot answer, SUGGESTED, TO CONFIRM "
        "what they only suggest. "
        "☐ is an empty tick box, ☒ a ticked one: in Word, replace ☐ with ☒ (or type an X "
        "beside it).",
        size=9,
    )
    para(doc, "", after=2)


def section_heading(doc: DocumentObject, text: str) -> None:
    heading(doc, text, level=2)


def tick_list(
    doc: DocumentObject, items: Sequence[str], widths: Sequence[float] = (1.2, 15.8)
) -> Table:
    """One ☐ per item, the boxes shaded: staff tick them."""
    t = table(doc, len(items), widths)
    for row, text in zip(t.rows, items, strict=True):
        cell_text(row.cells[0], "☐")
        shade(row.cells[0], TO_COMPLETE_FILL)
        row.cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell_text(row.cells[1], text)
    para(doc, "", after=2)
    return t


def parent_table(doc: DocumentObject, p: str, n: int) -> None:
    para(doc, f"**Parent/carer {n}** (all contact details held by the school)", after=3, keep=True)
    label_rows(
        doc,
        [
            ("Name", f"{{{{ {p}.name }}}}"),
            ("Relationship to child", f"{{{{ {p}.relationship }}}}"),
            ("Address", f"{{{{ {p}.address }}}}"),
            ("Landline", f"{{{{ {p}.landline }}}}"),
            ("Mobile", f"{{{{ {p}.mobile }}}}"),
            ("Work phone", f"{{{{ {p}.work_phone }}}}"),
            ("E-mail", f"{{{{ {p}.email }}}}"),
            ("Family's first/home language", f"{{{{ {p}.home_language }}}}"),
            (
                "Is an interpreter required?",
                "!" + yes_no(f"{p}.interpreter") + f"  {{{{ {p}.interpreter_note }}}}",
            ),
        ],
    )


def cme_referral() -> DocumentObject:
    doc = new_document("CME School Referral Form", "Children Missing Education referral")
    form_header(
        doc,
        "Children Missing Education (CME) School Referral Form",
        "To: {{ council.cme_team }}, {{ council.name }}  ·  {{ council.cme_email }}  ·  "
        "{{ council.cme_phone }}",
    )
    para(
        doc,
        "Please provide as much information as possible to help the local authority's further "
        "enquiries. The local authority uses this information to record, give advice and follow "
        "the Children Missing Education statutory guidance, and may share it with other local "
        "authorities and services (see the local authority's privacy notice).",
        size=9,
    )
    how_to_fill(doc, "This is the council's CME referral form for one pupil.")

    section_heading(doc, "Section 1: School")
    t = table(doc, 4, (6.0, 6.0, 5.0))
    for cell, text in zip(
        t.rows[0].cells, ("Name of school", "Contact person in school", "Position"), strict=True
    ):
        cell_text(cell, text, bold=True, size=9.5)
        shade(cell, LABEL_FILL)
    for cell, text in zip(
        t.rows[1].cells,
        (
            "{{ school.name }}",
            "{{ school.attendance_officer }}",
            "{{ school.attendance_officer_title }}",
        ),
        strict=True,
    ):
        cell_text(cell, text)
    cell_text(t.rows[2].cells[0], "Contact details", bold=True, size=9.5)
    shade(t.rows[2].cells[0], LABEL_FILL)
    merged = t.rows[2].cells[1].merge(t.rows[2].cells[2])
    cell_text(
        merged,
        "{{ school.attendance_officer_phone }}  ·  "
        "{{ school.attendance_officer_email }}  ·  school office {{ school.phone }}",
    )
    cell_text(t.rows[3].cells[0], "Date form completed", bold=True, size=9.5)
    shade(t.rows[3].cells[0], LABEL_FILL)
    merged = t.rows[3].cells[1].merge(t.rows[3].cells[2])
    cell_text(merged, "{{ today }}")
    para(doc, "", after=2)

    section_heading(doc, "Section 2: Pupil")
    label_rows(
        doc,
        [
            ("Forename", "{{ pupil.forename }}"),
            ("Middle name(s)", "{{ pupil.middle_names }}"),
            ("Surname", "{{ pupil.surname }}"),
            ("Date of birth", "{{ pupil.dob }}"),
            ("Alias (other names used)", "{{ pupil.aliases }}"),
            ("Unique Pupil Number (UPN)", "{{ pupil.upn }}"),
            ("Unique Identification Number", "?if known (local authority child ID)"),
            ("Gender", "{{ pupil.gender }}"),
            ("Year group", "{{ pupil.year_label }}, registration group {{ pupil.reg_group }}"),
            ("Ethnicity", "{{ pupil.ethnicity }}"),
            ("Address (last known)", "{{ pupil.address }}"),
            ("Previous addresses", "{{ pupil.previous_addresses }}"),
            ("Date child last attended school", "{{ attendance.last_attended }}"),
            (
                "Does the child speak English?",
                # Answered only from an English-proficiency record: a first language other
                # than English does not mean the child speaks no English.
                "!" + yes_no("pupil.speaks_english") + "    (first language: "
                "{{ pupil.first_language }})\n{{ referral.speaks_english_note }}",
            ),
        ],
    )
    para(
        doc,
        "**Sibling details** (brothers and sisters at this school, from shared parent "
        "contacts; check records for siblings at other schools)",
        after=3,
        keep=True,
    )
    t = table(doc, 7, (4.5, 3.3, 5.7, 3.5))
    for cell, text in zip(
        t.rows[0].cells, ("Name", "Date of birth", "Address", "School"), strict=True
    ):
        cell_text(cell, text, bold=True, size=9.5)
        shade(cell, LABEL_FILL)
    cell_text(t.rows[1].cells[0], "{%tr for s in siblings %}")
    for cell, text in zip(
        t.rows[2].cells,
        (
            "{{ s.name }} ({{ s.reg_group }}){% if s.cme_referral %}: own CME referral "
            "{{ s.cme_referral }}{% endif %}",
            "{{ s.dob }}",
            "{{ s.address }}",
            "{{ s.school }}",
        ),
        strict=True,
    ):
        cell_text(cell, text)
    cell_text(t.rows[3].cells[0], "{%tr endfor %}")
    cell_text(t.rows[4].cells[0], "{%tr if not siblings %}")
    merged = t.rows[5].cells[0].merge(t.rows[5].cells[3])
    cell_text(merged, "No brothers or sisters found at {{ school.name }}.", italic=True)
    cell_text(t.rows[6].cells[0], "{%tr endif %}")
    para(doc, "", after=2)
    label_rows(
        doc,
        [
            (
                "Do you consider these children to be CME cases as well?",
                "!" + yes_no("referral.siblings_cme") + "\n{{ referral.siblings_cme_note }}",
            )
        ],
    )

    section_heading(doc, "Section 3: Parents, carers and other contacts")
    parent_table(doc, "parent1", 1)
    parent_table(doc, "parent2", 2)
    para(
        doc, "**Other contact information held by the school** (relatives etc.)", after=3, keep=True
    )
    t = table(doc, 3, (4.5, 3.0, 6.0, 3.5))
    for cell, text in zip(
        t.rows[0].cells, ("Name", "Relationship", "Address", "Telephone"), strict=True
    ):
        cell_text(cell, text, bold=True, size=9.5)
        shade(cell, LABEL_FILL)
    for row, c in zip(t.rows[1:], ("other_contact1", "other_contact2"), strict=True):
        for cell, f in zip(row.cells, ("name", "relationship", "address", "phone"), strict=True):
            cell_text(cell, f"{{{{ {c}.{f} }}}}")
    para(doc, "", after=2)
    label_rows(
        doc,
        [
            ("Other agency details", "{{ other_agencies }}"),
        ],
    )

    section_heading(doc, "Section 4: Is this child...")
    label_rows(
        doc,
        [
            ("A Looked After Child?", flag_yes_no("looked_after")),
            ("Gypsy, Roma or Traveller?", flag_yes_no("gypsy_roma_traveller")),
            ("A refugee or asylum seeker?", flag_yes_no("refugee_asylum_seeker")),
            ("Living in temporary accommodation?", flag_yes_no("temporary_accommodation")),
            ("Subject to a Child Protection Plan?", flag_yes_no("child_protection_plan")),
            ("An open case to Children's Social Services?", flag_yes_no("open_social_care_case")),
            ("Name of social worker", "{{ social_worker.name }}"),
        ],
        widths=(8.0, 9.0),
    )
    para(
        doc,
        "Answers in this section come from the flags in the school's records.",
        size=8.5,
        italic=True,
        colour=GREY,
    )

    section_heading(doc, "Section 5: Concerns")
    para(
        doc,
        "What are your concerns for the welfare of this child as a result of this "
        "referral, including attendance and behaviour?",
        after=3,
        keep=True,
    )
    t = table(doc, 1, (17.0,))
    cell = t.rows[0].cells[0]
    shade(cell, TO_COMPLETE_FILL)
    cell_text(cell, "{{ referral.welfare_concerns }}", size=9)
    for _ in range(2):
        cell.add_paragraph()
    para(doc, "", after=2)
    para(
        doc,
        "Do you have any reason to be concerned that any of the following may be relevant "
        "in this case? (If yes, please give details.)",
        after=3,
        keep=True,
    )
    t = table(doc, 4, (8.0, 4.0, 5.0))
    for row, text in zip(
        t.rows[:3],
        (
            "Risk of child sexual exploitation (CSE)",
            "Risk of child being missing/running away from home",
            "Risk of child trafficking",
        ),
        strict=True,
    ):
        cell_text(row.cells[0], text)
        cell_text(row.cells[1], BLANK_YES_NO)
        shade(row.cells[1], TO_COMPLETE_FILL)
        to_complete(row.cells[2], "details")
    cell_text(t.rows[3].cells[0], "Details")
    to_complete(t.rows[3].cells[1].merge(t.rows[3].cells[2]))
    para(doc, "", after=2)

    section_heading(doc, "Section 6: Primary reason for the referral")
    para(doc, "Please tick the reasons that apply.", after=3)
    label_rows(doc, [("What the school's records suggest", "!{{ referral.reason_suggested }}")])
    tick_list(
        doc,
        [
            f'{label}{{% if referral.reason == "{key}" %}}  **(SUGGESTED, TO CONFIRM)**'
            "{% endif %}"
            for key, label in REFERRAL_REASONS.items()
        ],
    )

    section_heading(doc, "Section 7: Checks before submitting")
    para(
        doc,
        "Before submitting CME paperwork, the school should (TO COMPLETE: tick each check made):",
        after=3,
    )
    tick_list(
        doc,
        [
            "Ask the friends of the missing pupil for any current information",
            "Check the emergency contact numbers",
            "Check the free school meals database",
            "If a voluntary aided school, check with the priest",
            "Check records to see if there are siblings at another school, and ring that school",
            "Check with the School Nurse",
        ],
    )
    para(
        doc,
        "**A home visit must be undertaken before this form is submitted.** Please give "
        "full details of any contact or attempted contact with the family.",
        after=3,
    )
    control(doc, "{%p if referral.contact_log %}")
    para(
        doc,
        "Contact and attempted contact recorded in the school's contact log (since the family "
        "was last reached before this absence):",
        after=3,
        keep=True,
    )
    t = table(doc, 4, (3.6, 3.4, 2.2, 7.8))
    for cell, text in zip(t.rows[0].cells, ("Date", "How", "Contact made?", "Notes"), strict=True):
        cell_text(cell, text, bold=True, size=9)
        shade(cell, LABEL_FILL)
    cell_text(t.rows[1].cells[0], "{%tr for c in referral.contact_log %}")
    for cell, text in zip(
        t.rows[2].cells,
        ("{{ c.date }}", "{{ c.method }}", "{{ c.contact_made }}", "{{ c.notes }}"),
        strict=True,
    ):
        cell_text(cell, text, size=9)
    cell_text(t.rows[3].cells[0], "{%tr endfor %}")
    control(doc, "{%p endif %}")
    para(doc, "", after=2)
    label_rows(
        doc, [("Home visit: date, who visited, what happened", "!{{ referral.home_visits }}")]
    )

    section_heading(doc, "Section 8: Children leaving or who have left the UK")
    para(
        doc,
        "Please give as much of this information as possible, especially where there is "
        "any sign that the family or child intends to leave the UK.",
        after=3,
    )
    label_rows(
        doc,
        [
            ("What the school knows of plans to leave the UK", "!{{ referral.leaving_uk_note }}"),
            ("Time of departure", "?if known"),
            ("Flight numbers and name of airline", "?if known"),
            (
                "Have you seen copies of the tickets? (Please attach copies if possible.)",
                "!" + BLANK_YES_NO,
            ),
            ("What country are they going to?", "{{ event.new_country }}"),
            (
                "Who is leaving the UK? (tick all that apply)",
                "!☐ Mother    ☐ Father    ☐ Other siblings not part of this referral    "
                "☐ Extended family (give details)",
            ),
            (
                "If the child is not leaving with a parent, who is accompanying them, and what is "
                "their relationship to the child?",
                "?if known",
            ),
            ("Why is / are the parent(s) not leaving with the child(ren)?", "?if known"),
            (
                "Who will be caring for / responsible for the child(ren)? Name, relationship, "
                "address, contact number, email",
                "?if known",
            ),
            (
                "School(s) the child(ren) will attend or apply to: name, address, contact number, "
                "email, website",
                "{{ event.new_school }}",
            ),
        ],
        widths=(8.0, 9.0),
    )
    para(doc, "Do you have any concerns about any of the following?", after=3, keep=True)
    label_rows(
        doc,
        [
            ("Safety of the child(ren)", "!" + BLANK_YES_NO),
            ("The reason given for leaving the UK", "!" + BLANK_YES_NO),
            ("That the information given is not accurate", "!" + BLANK_YES_NO),
        ],
        widths=(8.0, 9.0),
    )
    para(
        doc,
        "Please submit this form to: **{{ council.cme_email }}**, "
        "{{ council.cme_team }}, {{ council.address }}.",
        before=6,
    )
    footer(
        doc,
        "CME referral  ·  {{ pupil.full_name }} ({{ pupil.upn }})  ·  "
        "{{ school.name }}  ·  OFFICIAL-SENSITIVE",
    )
    return doc


def remove_from_roll() -> DocumentObject:
    doc = new_document("Remove From Roll checklist", "Leavers: students to take off roll")
    form_header(
        doc,
        "Leavers: student to take off roll",
        "Remove From Roll checklist (policy Appendix B). The name can only be deleted from the "
        "admission register once the head teacher has signed below.",
    )
    label_rows(
        doc,
        [
            ("NAME", "{{ pupil.legal_name }}"),
            ("D.O.B.", "{{ pupil.dob }}"),
            ("UPN", "{{ pupil.upn }}"),
            ("YEAR/TUTOR GROUP", "{{ pupil.year_label }} / {{ pupil.reg_group }}"),
            ("DATE OF LEAVING", "!{{ removal.date_of_leaving }}"),
            ("REASON FOR LEAVING", "!{{ removal.ground }}"),
            (
                "REASONABLE ENQUIRIES MADE (HOME VISIT, CONTACTS, SIBLINGS' SCHOOLS)?",
                "!" + yes_no("removal.enquiries_made") + "\n{{ removal.enquiries }}",
            ),
            (
                "ADVICE SOUGHT FROM THE CME TEAM?",
                "!" + yes_no("removal.cme_advice_sought") + "\n{{ removal.cme_advice }}",
            ),
            (
                "AUTHORISED BY HEADTEACHER / SIGNATURE",
                "?signature\n\n\n{{ school.head_teacher }}, {{ school.head_teacher_title }}",
            ),
            ("DATE AUTHORISED", "?"),
            ("DATE DATA TEAM EMAILED TO TAKE STUDENT OFF ROLL", "?after removal"),
            ('DATE UPDATED "TRANSFER LIST" SPREADSHEET (OFF ROLL TAB)', "?after removal"),
            (
                "DATE {{ council.name|upper }} ADMISSIONS INFORMED OF CHILD TAKEN OFF ROLL",
                "?after removal ({{ council.admissions_email }})",
            ),
        ],
        widths=(7.0, 10.0),
    )
    section_heading(doc, "Before the head teacher signs: regulation 9(1)(i), the 20-day rule")
    para(
        doc,
        "The School Attendance (Pupil Registration) (England) Regulations 2024 allow a pupil's "
        "name to be deleted on this ground only when **all** of these are true. Please tick "
        "each one:",
        after=3,
    )
    tick_list(
        doc,
        [
            "The pupil has been absent for a continuous period of at least 20 school days"
            "{% if absence.first_day %} (the register shows {{ absence.school_days }} school "
            "days since {{ absence.first_day }}){% endif %}.",
            "Every session of that absence was recorded as G, N or O (unauthorised).",
            "The school has no reasonable grounds to believe the pupil cannot attend because of "
            "sickness or an unavoidable cause.",
            "The school and the local authority have both failed, after jointly making "
            "reasonable enquiries, to find out where the pupil is.",
            "Advice has been sought from {{ council.cme_team }} ({{ council.cme_email }}, "
            "{{ council.cme_phone }}).",
        ],
    )
    para(doc, "A name cannot be removed from the register retrospectively.", bold=True)
    section_heading(doc, "For the deletion return to the local authority")
    label_rows(
        doc,
        [
            ("Pupil's address", "{{ pupil.address }}"),
            (
                "Parent/carer 1 (lives with the pupil: {{ parent1.lives_with_pupil }})",
                "{{ parent1.name }}, {{ parent1.relationship }}\n{{ parent1.address }}\n"
                "Phone: {{ parent1.phone }}",
            ),
            (
                "Parent/carer 2 (lives with the pupil: {{ parent2.lives_with_pupil }})",
                "{{ parent2.name }}{% if parent2.relationship %}, {{ parent2.relationship }}"
                "{% endif %}\n{{ parent2.address }}\nPhone: {{ parent2.phone }}",
            ),
            (
                "New address and who the pupil will live with, from when (if known)",
                "{% if event.new_address %}{{ event.new_address }}{% endif %}",
            ),
            (
                "New school and start date (if known)",
                "{% if event.new_school %}{{ event.new_school }}{% endif %}",
            ),
        ],
        widths=(7.0, 10.0),
    )
    footer(
        doc,
        "Remove From Roll  ·  {{ pupil.full_name }} ({{ pupil.upn }})  ·  "
        "{{ school.name }}  ·  OFFICIAL-SENSITIVE",
    )
    return doc


def planned_move() -> DocumentObject:
    doc = new_document("Planned move form", "Planned move out of the area or country")
    form_header(
        doc,
        "Planned move out of the area or country",
        "Complete as soon as parents tell the school they intend to move. Inform the CME team, "
        "and consult the Designated Safeguarding Lead and the head teacher.",
    )
    section_heading(doc, "Pupil")
    label_rows(
        doc,
        [
            ("Name", "{{ pupil.legal_name }}"),
            ("Date of birth", "{{ pupil.dob }}"),
            ("UPN", "{{ pupil.upn }}"),
            ("Year / registration group", "{{ pupil.year_label }} / {{ pupil.reg_group }}"),
            ("Current address", "{{ pupil.address }}"),
        ],
    )
    section_heading(doc, "Family")
    label_rows(
        doc,
        [
            (
                "Parent/carer 1",
                "{{ parent1.name }}{% if parent1.relationship %} ({{ parent1.relationship }})"
                "{% endif %}\n{{ parent1.phone }}  {{ parent1.email }}",
            ),
            (
                "Parent/carer 2",
                "{{ parent2.name }}{% if parent2.relationship %} ({{ parent2.relationship }})"
                "{% endif %}\n{{ parent2.phone }}  {{ parent2.email }}",
            ),
            (
                "Brothers and sisters at this school",
                "{% for s in siblings %}{{ s.name }} ({{ s.reg_group }}){% if not loop.last %}, "
                "{% endif %}{% else %}None recorded{% endfor %}",
            ),
        ],
    )
    section_heading(doc, "The move")
    label_rows(
        doc,
        [
            ("Date the school was told", "{{ event.date_received }}"),
            (
                "Date of move",
                "{% if event.effective_date %}{{ event.effective_date }}"
                "{% else %}Not known yet{% endif %}",
            ),
            (
                "New address",
                "{% if event.new_address %}{{ event.new_address }}"
                "{% else %}Not known yet{% endif %}",
            ),
            ("New country (if leaving the UK)", "{{ event.new_country }}"),
            (
                "New school (if known)",
                "{% if event.new_school %}{{ event.new_school }}{% else %}Not known yet{% endif %}",
            ),
            ("Who told the school, and who has been informed", "{{ event.informed }}"),
            ("Notes", "{{ event.notes }}"),
        ],
    )
    section_heading(doc, "Who has been informed")
    t = table(doc, 5, (1.2, 10.3, 5.5))
    items = [
        "Children Missing Education team ({{ council.cme_email }}, {{ council.cme_phone }})",
        "Designated Safeguarding Lead ({{ school.dsl }})",
        "Head teacher ({{ school.head_teacher }})",
        "The new school or local authority has confirmed it has taken over responsibility "
        "(needed before the pupil is removed from roll)",
        "Common Transfer File sent to the new school (or the Lost Pupil Database if the school "
        "is not known)",
    ]
    for row, text in zip(t.rows, items, strict=True):
        cell_text(row.cells[0], "☐")
        cell_text(row.cells[1], text)
        to_complete(row.cells[2], "Date and by whom")
    para(doc, "", after=2)
    label_rows(doc, [("Form completed by", "?Name and signature"), ("Date", "?")], room=1)
    footer(
        doc,
        "Planned move  ·  {{ pupil.full_name }} ({{ pupil.upn }})  ·  "
        "{{ school.name }}  ·  OFFICIAL-SENSITIVE",
    )
    return doc


# ---------------------------------------------------------------------------------------------
# Saving reproducibly


def tiny_last_paragraph(doc: DocumentObject) -> None:
    """Word needs a paragraph after a table that ends the document. Make that paragraph (the
    spacer after a form table, or a new one) 1 pt high with no spacing, so it can never push a
    blank page holding only the footer."""
    body = doc.element.body
    blocks = [e for e in body if e.tag in (qn("w:p"), qn("w:tbl"))]
    last = blocks[-1]
    if last.tag == qn("w:tbl"):
        p = doc.add_paragraph()
    elif not "".join(last.itertext()).strip():
        p = Paragraph(last, doc._body)
    else:
        return  # ends with text: nothing to shrink
    fmt = p.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = Pt(1)  # exactly 1 pt
    mark = OxmlElement("w:rPr")  # the size of the paragraph mark, which sets an empty line's
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "2")  # half-points
    mark.append(size)
    p._p.get_or_add_pPr().append(mark)


def save(doc: DocumentObject, path: Path) -> None:
    """Save with fixed zip timestamps and without python-docx's sample thumbnail."""
    for t in doc.tables:
        keep_together(t)
    tiny_last_paragraph(doc)
    buf = io.BytesIO()
    doc.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "docProps/thumbnail.jpeg":
                continue
            data = src.read(info.filename)
            if info.filename == "_rels/.rels":
                data = re.sub(rb"<Relationship [^>]*thumbnail[^>]*/>", b"", data)
            elif info.filename == "[Content_Types].xml":
                data = re.sub(rb'<Default Extension="jpeg"[^>]*/>', b"", data)
            item = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            item.compress_type = zipfile.ZIP_DEFLATED
            item.external_attr = 0o644 << 16
            dst.writestr(item, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


BUILDERS = {
    "pa_letter_1": lambda: pa_letter(1),
    "pa_letter_2": lambda: pa_letter(2),
    "pa_letter_3": lambda: pa_letter(3),
    "cme_referral": cme_referral,
    "remove_from_roll": remove_from_roll,
    "planned_move": planned_move,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "templates" / "docx")
    args = parser.parse_args(argv)
    for name, build in BUILDERS.items():
        path = args.out / f"{name}.docx"
        save(build(), path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
