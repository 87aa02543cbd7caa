"""Drawing one pupil's evidence pack with reportlab: the cover, the attendance certificate
(the herringbone register grid, the totals, the key of codes and the head teacher's
certificate), the chart of weekly attendance and the chronology. The copies of the documents
are appended afterwards (:mod:`mergekit.evidence.make`).

Text is drawn through :mod:`mergekit.evidence.text`: mergekit's bundled DejaVu Sans (the font
its PDF forms use), with a system font for the characters it lacks; the pack notes any
character no font could draw.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape

from mergekit.core.attendance import CODE_MEANINGS, category_of
from mergekit.core.calendar import SchoolCalendar, week_start
from mergekit.core.config import Settings
from mergekit.core.model import Contact, SchoolData
from mergekit.evidence.chart import chart_drawing
from mergekit.evidence.gather import Copy, Evidence
from mergekit.evidence.text import FONT, markup, paragraph, register_fonts

_DAY = timedelta(days=1)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")

SECTIONS = (
    "Attendance certificate (register extract)",
    "Chart of weekly attendance",
    "Chronology of events",
    "Copies of letters and forms",
)


def _uk(d: date | None) -> str:
    return f"{d:%d/%m/%Y}" if d else ""


@dataclass
class _Styles:
    body: Any
    small: Any
    tiny: Any
    h1: Any
    h2: Any


def _styles() -> _Styles:
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5)
    return _Styles(
        body,
        ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        ParagraphStyle("tiny", parent=body, fontSize=7, leading=8.5),
        ParagraphStyle("h1", parent=body, fontSize=17, leading=21, spaceAfter=8),
        ParagraphStyle("h2", parent=body, fontSize=13, leading=16, spaceBefore=4, spaceAfter=6),
    )


def draw_pack(
    ev: Evidence,
    settings: Settings,
    calendar: SchoolCalendar,
    data: SchoolData,
    today: date,
    copy_notes: Sequence[str] = (),
) -> tuple[bytes, int]:
    """The drawn part of the pack as PDF bytes, and its number of pages. Built once: the
    contents list's page numbers are PDF forms drawn on the cover and defined when each
    section is laid out (a forward reference, so no second pass)."""
    register_fonts()
    return _build(ev, settings, calendar, data, today, copy_notes)


def _build(
    ev: Evidence,
    settings: Settings,
    calendar: SchoolCalendar,
    data: SchoolData,
    today: date,
    copy_notes: Sequence[str],
) -> tuple[bytes, int]:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    st = _styles()
    found: dict[str, int] = {}  # section -> the page it starts on
    missing: set[str] = set()
    p = ev.pupil
    buf = io.BytesIO()
    title = f"Evidence pack: {p.legal_name} ({p.upn})"
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=title,
        author=settings.school.name,
        subject=f"Attendance evidence {_uk(ev.start)} to {_uk(ev.end)}",
        creator="mergekit",
    )
    state = {"pages": 0}

    def footer(canvas: Any, doc_: Any) -> None:
        state["pages"] = doc_.page
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.drawString(
            16 * mm, 9 * mm, f"{p.legal_name} ({p.upn}) - evidence pack made {_uk(today)}"
        )
        canvas.drawRightString(A4[0] - 16 * mm, 9 * mm, f"page {doc_.page}")
        canvas.restoreState()

    story: list[Any] = []

    def m(text: str) -> str:
        return markup(text, missing)

    story += _cover(ev, settings, data, today, st, m)
    story.append(PageBreak())
    story += _certificate(ev, settings, calendar, st, m)
    story.append(PageBreak())
    story += _chart(ev, settings, st, m, doc.width)
    story.append(PageBreak())
    story += _chronology(ev, st, m)
    story.append(PageBreak())
    story += _copies(ev, st, m, copy_notes)
    if missing:
        chars = " ".join(f"U+{ord(c):04X}" for c in sorted(missing))
        story.append(
            paragraph(
                m(
                    f"Note: no installed font could draw these characters of the pupil's "
                    f"records ({chars}); they show as boxes. Install fonts-noto-core to draw them."
                ),
                st.small,
            )
        )

    def after(flowable: Any) -> None:
        key = getattr(flowable, "_mk_section", None)
        if key and key not in found:
            found[key] = doc.page
            c = doc.canv
            c.beginForm(_form_name(key), 0, -3, 40, 12)
            c.setFont(FONT, 9.5)
            c.drawString(0, 0, str(doc.page))
            c.endForm()

    doc.afterFlowable = after
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue(), state["pages"]


def _form_name(section: str) -> str:
    return "mkpage" + str(SECTIONS.index(section))


def _contents_line_class() -> Any:
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Flowable

    class ContentsLine(Flowable):  # type: ignore[misc]  # reportlab is untyped
        """'2. Chart of weekly attendance - page N', N drawn from a form defined later."""

        def __init__(self, text: str, section: str) -> None:
            super().__init__()
            self.text = text
            self.section = section

        def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
            return avail_w, 12.5

        def draw(self) -> None:
            c = self.canv
            c.setFont(FONT, 9.5)
            c.drawString(0, 3, self.text)
            c.saveState()
            c.translate(stringWidth(self.text, FONT, 9.5), 3)
            c.doForm(_form_name(self.section))
            c.restoreState()

    return ContentsLine


def _contents_line(text: str, section: str) -> Any:
    return _contents_line_class()(text, section)


def _heading(text: str, style: Any, section: str | None = None) -> Any:

    para = paragraph(escape(text), style)
    if section:
        para._mk_section = section
    return para


def _table(
    rows: list[list[Any]], widths: Sequence[float | None] | None, style: list[Any], repeat: int = 0
) -> Any:
    from reportlab.platypus import Table, TableStyle

    t = Table(rows, colWidths=widths, repeatRows=repeat)
    t.setStyle(TableStyle(style))
    return t


def _grid_style(extra: Sequence[Any] = ()) -> list[Any]:
    from reportlab.lib import colors

    return [
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.Color(0.6, 0.6, 0.6)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.92, 0.96)),
        *extra,
    ]


def _contact_line(c: Contact) -> str:
    phones = ", ".join(x for x in (c.mobile, c.landline, c.work_phone) if x)
    bits = [
        c.name,
        f"({c.relationship})" if c.relationship else "",
        "parental responsibility" if c.parental_responsibility else "",
        phones,
        c.email,
        c.address.one_line(),
    ]
    return " - ".join(b for b in bits if b)


def _cover(
    ev: Evidence,
    settings: Settings,
    data: SchoolData,
    today: date,
    st: _Styles,
    m: Callable[[str], str],
) -> list[Any]:
    from reportlab.platypus import Spacer

    p = ev.pupil
    s = settings.school
    out: list[Any] = [
        paragraph(m("Attendance evidence pack"), st.h1),
        paragraph(
            m(f"{s.name} - for the period {_uk(ev.start)} to {_uk(ev.end)}, made {_uk(today)}"),
            st.body,
        ),
        Spacer(1, 8),
        paragraph(m("The pupil"), st.h2),
    ]
    rows = [
        ("Legal name", p.legal_name),
        ("Known as", p.full_name if p.full_name != f"{p.forename} {p.surname}" else ""),
        ("Other names / aliases", p.aliases),
        ("UPN", p.upn),
        ("Former UPN", p.former_upn),
        ("Date of birth", _uk(p.dob)),
        ("Gender", p.gender),
        ("Year / registration group", f"{'' if p.year is None else p.year} / {p.reg_group}"),
        ("Admission date", _uk(p.admission_date)),
        ("Home address", p.address.one_line()),
        ("Ethnicity", p.ethnicity),
        ("First language", p.first_language),
        ("SEN", p.sen),
        ("Social worker", " ".join(x for x in (p.social_worker.name, p.social_worker.phone) if x)),
    ]
    contacts = data.contacts_of(p.upn)
    for i, c in enumerate(contacts[:4], start=1):
        rows.append((f"Contact {i}", _contact_line(c)))
    siblings = data.siblings_of(p.upn)
    if siblings:
        rows.append(
            ("Siblings at the school", ", ".join(f"{x.full_name} ({x.upn})" for x in siblings))
        )
    table_rows = [
        [paragraph(m(k), st.small), paragraph(m(v or "-"), st.small)]
        for k, v in rows
        if v or k in ("UPN", "Date of birth", "Home address")
    ]
    out.append(
        _table(
            table_rows, [45 * 2.83465, None], _grid_style([("BACKGROUND", (0, 0), (0, -1), None)])
        )
    )
    out += [Spacer(1, 8), paragraph(m("The school"), st.h2)]
    school_rows = [
        ("School", s.name),
        ("URN / LAESTAB", s.urn),
        ("Address", ", ".join(s.address)),
        ("Head teacher", f"{s.head_teacher}, {s.head_teacher_title}".strip(", ")),
        (
            "Contact",
            " - ".join(
                x
                for x in (
                    s.attendance_officer,
                    s.attendance_officer_email or s.email,
                    s.attendance_officer_phone or s.phone,
                )
                if x
            ),
        ),
    ]
    out.append(
        _table(
            [[paragraph(m(k), st.small), paragraph(m(v or "-"), st.small)] for k, v in school_rows],
            [45 * 2.83465, None],
            _grid_style([("BACKGROUND", (0, 0), (0, -1), None)]),
        )
    )
    out += [Spacer(1, 8), paragraph(m("Contents"), st.h2)]
    for i, section in enumerate(SECTIONS, start=1):
        out.append(_contents_line(f"{i}. {section} - page ", section))
    if not ev.has_history:
        out += [
            Spacer(1, 8),
            paragraph(
                m(
                    f"No history: nothing is recorded for this pupil between {_uk(ev.start)} and "
                    f"{_uk(ev.end)} - no letters, calls, home visits, CME steps, emails or Off "
                    "Roll entries in mergekit's ledger, the contact log or the transfer list. "
                    "The pack holds the register extract and the chart only."
                ),
                st.body,
            ),
        ]
    return out


def _certificate(
    ev: Evidence, settings: Settings, calendar: SchoolCalendar, st: _Styles, m: Callable[[str], str]
) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.platypus import KeepTogether, Spacer

    p = ev.pupil
    out: list[Any] = [
        _heading(f"1. {SECTIONS[0]}", st.h2, SECTIONS[0]),
        paragraph(
            m(
                f"{p.legal_name}, UPN {p.upn}, date of birth {_uk(p.dob) or 'not recorded'}: "
                f"every session mark from {_uk(ev.start)} to {_uk(ev.end)}, as recorded. "
                "Shaded: not a school day (weekend, holiday, INSET, closure, bank holiday) or "
                "outside the period."
            ),
            st.small,
        ),
        Spacer(1, 4),
    ]
    header = ["Week beginning"] + [f"{d} {s}" for d in _WEEKDAYS for s in ("AM", "PM")]
    rows: list[list[Any]] = [header]
    style: list[Any] = [
        ("ALIGN", (1, 0), (-1, -1), "CENTER"),
        ("FONT", (0, 0), (-1, 0), FONT, 6.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
    ]
    shade = colors.Color(0.82, 0.82, 0.82)
    outside = colors.Color(0.93, 0.93, 0.93)
    monday = week_start(ev.start)
    r = 1
    while monday <= ev.end:
        row: list[Any] = [f"{monday:%d/%m/%Y}"]
        for i in range(5):
            d = monday + i * _DAY
            pair = ev.marks.get(d, ("", ""))
            for j in range(2):
                row.append(pair[j])
                col = 1 + i * 2 + j
                if d < ev.start or d > ev.end:
                    style.append(("BACKGROUND", (col, r), (col, r), outside))
                elif not calendar.is_school_day(d) and not pair[j]:
                    style.append(("BACKGROUND", (col, r), (col, r), shade))
        rows.append(row)
        monday += 7 * _DAY
        r += 1
    out.append(_table(rows, [62] + [46.5] * 10, _grid_style(style), repeat=1))
    c = ev.counts
    totals = [
        [
            "Possible sessions",
            "Present",
            "Authorised absence",
            "Unauthorised absence",
            "Attendance",
        ],
        [
            str(c.possible),
            str(c.present),
            str(c.authorised),
            str(c.unauthorised),
            f"{c.percent_text()}%",
        ],
    ]
    out += [
        Spacer(1, 6),
        KeepTogether(
            [
                paragraph(m("Totals for the period"), st.body),
                _table(totals, None, _grid_style([("ALIGN", (0, 0), (-1, -1), "CENTER")])),
            ]
        ),
        Spacer(1, 6),
    ]
    key: list[list[Any]] = [["Code", "Meaning", "2024 category", "Sessions"]]
    for code in sorted(ev.codes, key=lambda x: (-ev.codes[x], x)):
        meaning = CODE_MEANINGS.get(code, "not a 2024 code (check the register)")
        key.append(
            [
                code,
                paragraph(m(meaning), st.tiny),
                paragraph(m(category_of(code)), st.tiny),
                str(ev.codes[code]),
            ]
        )
    if len(key) == 1:
        key.append(["-", paragraph(m("no marks recorded in the period"), st.tiny), "", "0"])
    out.append(
        KeepTogether(
            [
                paragraph(m("Key of the codes used"), st.body),
                _table(key, [34, 200, 200, 48], _grid_style()),
            ]
        )
    )
    s = settings.school
    cert = (
        f"I certify that this is a true extract of the attendance register kept by {s.name} "
        "under the School Attendance (Pupil Registration) (England) Regulations 2024, for "
        f"{p.legal_name} (UPN {p.upn}), for the period {_uk(ev.start)} to {_uk(ev.end)}."
    )
    sign = [
        ["Name", s.head_teacher or ""],
        ["Position", s.head_teacher_title or "Head teacher"],
        ["Signature", ""],
        ["Date", ""],
    ]
    out += [
        Spacer(1, 8),
        KeepTogether(
            [
                paragraph(m("Head teacher's certificate"), st.body),
                paragraph(m(cert), st.small),
                Spacer(1, 4),
                _table(
                    [[k, paragraph(m(v), st.small)] for k, v in sign],
                    [70, 250],
                    [
                        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                        ("LINEBELOW", (1, 0), (1, -1), 0.5, colors.black),
                        ("TOPPADDING", (0, 0), (-1, -1), 7),
                    ],
                ),
            ]
        ),
    ]
    return out


def _chart(
    ev: Evidence, settings: Settings, st: _Styles, m: Callable[[str], str], width: float
) -> list[Any]:
    from reportlab.platypus import Spacer

    threshold = settings.policy.pa_threshold_percent
    weeks = [w for w in ev.chart.weeks if w.possible]
    below = [w for w in weeks if (w.percent or 0) < threshold]
    out: list[Any] = [
        _heading(f"2. {SECTIONS[1]}", st.h2, SECTIONS[1]),
        paragraph(
            m(
                f"Attendance in each school week from {_uk(ev.start)} to {_uk(ev.end)} (bars), "
                f"the school's threshold of {threshold:g}% (dashed line) and the dates of the "
                "warning letters (dotted lines)."
            ),
            st.small,
        ),
        Spacer(1, 6),
        chart_drawing(ev.chart, width, 300, FONT),
        Spacer(1, 8),
        paragraph(
            m(
                f"{len(weeks)} school weeks with possible sessions; {len(below)} below "
                f"{threshold:g}%. Over the period: {ev.counts.present} of {ev.counts.possible} "
                f"sessions, {ev.counts.percent_text()}%."
            ),
            st.body,
        ),
    ]
    if ev.letters:
        out.append(
            paragraph(
                m("Letters: " + "; ".join(f"{label} {_uk(d)}" for d, label in ev.letters)),
                st.body,
            )
        )
    else:
        out.append(paragraph(m("No warning letter in the period."), st.body))
    return out


def _chronology(ev: Evidence, st: _Styles, m: Callable[[str], str]) -> list[Any]:

    out: list[Any] = [_heading(f"3. {SECTIONS[2]}", st.h2, SECTIONS[2])]
    if not ev.entries:
        out.append(
            paragraph(
                m(
                    f"No history: no letters, calls, home visits, CME steps, emails or Off Roll "
                    f"entries are recorded for this pupil between {_uk(ev.start)} and "
                    f"{_uk(ev.end)}."
                ),
                st.body,
            )
        )
        return out
    out.append(
        paragraph(
            m(
                "Every dated event in mergekit's ledger, the tracking workbook's contact log, "
                "letters and events sheets, and the transfer list's Off Roll tab, oldest first."
            ),
            st.small,
        )
    )
    rows: list[list[Any]] = [["Date", "Event", "Details", "Source"]]
    for e in ev.entries:
        rows.append(
            [
                _uk(e.when),
                paragraph(m(e.what), st.tiny),
                paragraph(m(e.detail), st.tiny),
                paragraph(m(e.source), st.tiny),
            ]
        )
    out.append(
        _table(
            rows, [50, 100, 260, 92], _grid_style([("FONT", (0, 1), (0, -1), FONT, 7)]), repeat=1
        )
    )
    return out


def _copies(ev: Evidence, st: _Styles, m: Callable[[str], str], notes: Sequence[str]) -> list[Any]:

    out: list[Any] = [_heading(f"4. {SECTIONS[3]}", st.h2, SECTIONS[3])]
    if not ev.copies:
        out.append(
            paragraph(
                m(
                    "mergekit made no letter or form for this pupil between "
                    f"{_uk(ev.start)} and {_uk(ev.end)}."
                ),
                st.body,
            )
        )
        return out
    out.append(
        paragraph(
            m(
                "Each document mergekit made for the pupil in the period, as the run folder "
                "holds it, checked against the SHA-256 recorded in the ledger when it was made. "
                "The appended copies follow this page, in this order."
            ),
            st.small,
        )
    )
    rows: list[list[Any]] = [["Made", "Document", "File", "Check"]]
    for c, note in zip(ev.copies, notes, strict=True):
        rows.append(
            [
                _uk(c.made),
                paragraph(m(c.title), st.tiny),
                paragraph(m(c.recorded), st.tiny),
                paragraph(m(note), st.tiny),
            ]
        )
    out.append(
        _table(
            rows, [50, 110, 200, 142], _grid_style([("FONT", (0, 1), (0, -1), FONT, 7)]), repeat=1
        )
    )
    return out


def copy_note(c: Copy, appended: bool, why_not: str = "") -> str:
    """What the copies table says of one document."""
    if c.state == "missing":
        return "MISSING from the run folder: not appended"
    if not appended:
        return f"not appended: {why_not}" if why_not else "not appended"
    word = "; Word copy, converted to PDF for this pack" if c.word else ""
    if c.state == "changed":
        return f"CHANGED since it was made (hash differs): appended as it is now{word}"
    if c.word:
        return f"matches the ledger{word}"
    return "matches the ledger (SHA-256): appended"
