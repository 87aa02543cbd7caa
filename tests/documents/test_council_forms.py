"""What goes to the council is right and complete: the CME referral and the Remove From Roll
checklist of the example school on Friday 27/11/2026, read back from the filled PDFs (pypdf,
pdftotext) and the Word forms, made as `mergekit run` makes them (the day's CME steps recorded
first, then the forms)."""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pdf_tools import pdftotext
from policy_builders import School, pupil, write_config, write_workbook
from pypdf import PdfReader

from mergekit.cli import main
from mergekit.core.actions import LISTED
from mergekit.core.config import load_config
from mergekit.core.ledger import Ledger
from mergekit.core.model import (
    Action,
    Contact,
    ContactLogEntry,
    Event,
    EventKind,
    Pupil,
    SchoolData,
)
from mergekit.core.workspace import open_workspace
from mergekit.day.school import load_school
from mergekit.documents.make import make_forms
from mergekit.documents.produce import Document
from mergekit.merge.fields import build_context
from mergekit.merge.formfields import (
    REFERRAL_REASONS,
    StepsTaken,
    pupil_english,
    removal_context,
    suggest_reason,
)
from mergekit.plan.planning import make_plan, record_actions

pytestmark = pytest.mark.poppler

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TODAY = date(2026, 11, 27)
YEAR_START = date(2026, 9, 1)
ZUZANNA, KACPER = "L331499918012", "D331499916013"
MASON, LIAM = "D331499917014", "L331499915007"
# What the planner writes for itself (policy.py): never on a form.
TO_DO = ("complete the CME referral form", "for the head teacher's signature", "inform the CME")


@dataclass(frozen=True)
class Day:
    data: SchoolData
    documents: tuple[Document, ...]

    def doc(self, upn: str, action: str) -> Document:
        return next(d for d in self.documents if d.pupil.upn == upn and d.action.kind == action)

    def pdf(self, upn: str, action: str) -> Path:
        pdf = self.doc(upn, action).pdf
        assert pdf is not None
        return pdf


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    school = tmp_path_factory.mktemp("example") / "school"
    shutil.copytree(EXAMPLES, school, ignore=shutil.ignore_patterns("out", "*.sqlite*", "~$*"))
    ws = open_workspace(school / "mergekit.toml")
    data = load_school(ws)
    plan = make_plan(ws, data)
    # As `mergekit run` does: the day's list actions (the CME team informed) are recorded
    # before the forms are made.
    with Ledger.open(ws.settings.ledger_path) as ledger:
        run_id = ledger.start_run("run", ws.today)
        record_actions(ledger, run_id, [a for a in plan.actions if a.kind in LISTED], ws.today)
    result = make_forms(ws, data, due=True, pdf=True, forms=["cme_referral", "remove_from_roll"])
    return Day(data, result.documents)


def values(pdf: Path) -> dict[str, str]:
    """Every field's value as the form stores it ('/YES' for a ticked YES box)."""
    fields = PdfReader(pdf).get_fields() or {}
    return {name: str(f.get("/V", "")) for name, f in fields.items()}


def sections(pdf: Path) -> dict[int, str]:
    """The text of sections 1-8 of a filled referral, as a viewer shows it."""
    text = pdftotext(pdf)
    parts = re.split(r"Section (\d) - ", text)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    xml = re.sub(r"</w:p>", "\n", xml)
    return re.sub(r"<[^>]+>", "", xml)


# ---------------------------------------------------------------------------------------------
# The CME referral PDF


def test_every_referral_has_sections_1_to_8_filled_or_marked_to_complete(day: Day) -> None:
    referrals = [d for d in day.documents if d.action.kind == "cme_referral"]
    assert sorted(d.pupil.upn for d in referrals) == sorted((ZUZANNA, KACPER, MASON, LIAM))
    for d in referrals:
        assert d.pdf is not None
        text, got = sections(d.pdf), values(d.pdf)
        assert sorted(text) == list(range(1, 9)), d.pupil.upn
        parent = day.data.contacts_of(d.pupil.upn)[0]
        assert "Northgate Park Academy" in text[1]
        assert d.pupil.upn in text[2]
        assert "TO COMPLETE" in text[2]
        assert parent.name in text[3]
        flags = ("looked_after", "child_protection_plan", "open_social_care_case")
        assert all(got[f] in ("/YES", "/NO") for f in flags)  # section 4 from the flags
        assert "Attendance this academic year:" in text[5]
        assert "Absent without explanation since" in text[5]
        assert "TO COMPLETE: any other welfare or behaviour concerns" in text[5]
        assert "SUGGESTED, TO CONFIRM" in text[6]
        assert not any(got[f"reason_{key}"] == "/Yes" for key in REFERRAL_REASONS)
        assert "TO COMPLETE: tick each check" in text[7]
        began = date.fromisoformat(str(d.action.evidence["run_start"]))
        for entry in day.data.contact_log[d.pupil.upn]:
            if entry.date >= began:
                assert f"{entry.date:%d/%m/%Y} {entry.method}" in text[7], entry
        assert "TO COMPLETE" in text[8]


def test_zuzannas_referral_suggests_the_holiday_lists_the_home_visit_and_ticks_her_brother(
    day: Day,
) -> None:
    pdf = day.pdf(ZUZANNA, "cme_referral")
    text, got = sections(pdf), values(pdf)
    six = " ".join(text[6].split())
    assert (
        'SUGGESTED, TO CONFIRM: "Child has failed to return from an unauthorised holiday in '
        'term time"'
    ) in six
    assert "G (holiday not agreed by the school) 16/11/2026 to 20/11/2026" in six
    assert "the contact log on 13/11/2026" in six
    assert "refused" in six
    assert got["reason_unauthorised_holiday"] in ("", "/Off")  # a suggestion, not a tick
    seven = " ".join(text[7].split())
    assert "25/11/2026 Home visit: no contact - No answer; neighbour says the family" in seven
    assert len(re.findall(r"\d\d/\d\d/2026 ", seven)) == 6  # every contact-log entry
    assert "no home visit is recorded" not in seven
    assert got["siblings_cme"] == "/YES"
    assert got["siblings_cme_note"] == "Kacper Wiśniewski: own CME referral 27 November 2026"
    # ... and the other way round on Kacper's form.
    assert values(day.pdf(KACPER, "cme_referral"))["siblings_cme"] == "/YES"


def test_without_a_sibling_at_the_school_the_sibling_question_is_unticked_and_says_why(
    day: Day,
) -> None:
    got = values(day.pdf(MASON, "cme_referral"))
    assert got["siblings_cme"] in ("", "/Off")
    assert got["siblings_cme_note"] == "No brothers or sisters found at this school"


def test_the_records_suggest_a_reported_move_when_the_contact_log_says_so(day: Day) -> None:
    got = values(day.pdf(MASON, "cme_referral"))
    assert got["reason_suggested"].startswith(
        'SUGGESTED, TO CONFIRM: "Child / family is reported to have left the area"'
    )
    assert "Neighbour says the family moved out over half term" in got["reason_suggested"]


def test_speaks_english_is_left_for_staff_without_an_english_proficiency_column(
    day: Day,
) -> None:
    for upn in (ZUZANNA, MASON):  # first language Polish, and English: neither is guessed
        got = values(day.pdf(upn, "cme_referral"))
        assert got["speaks_english"] in ("", "/Off"), upn
        assert got["speaks_english_note"] == "TO COMPLETE (no English-proficiency record)"
    assert day.data.pupils[MASON].first_language == "English"


# ---------------------------------------------------------------------------------------------
# The Remove From Roll checklist


def test_remove_from_roll_gives_the_ground_and_the_enquiries_and_advice_from_the_records(
    day: Day,
) -> None:
    for upn, days, since in ((MASON, 22, "21 October 2026"), (LIAM, 30, "8 October 2026")):
        got = values(day.pdf(upn, "remove_from_roll"))
        assert got["reason_for_leaving"] == (
            "Reg. 9(1)(i): continuously absent for 20 or more school days "
            f"({days} school days since {since}, none of them authorised), whereabouts "
            "unknown after reasonable enquiries by the school and the local authority"
        )
        assert got["enquiries_made"] == "/Y"
        visits = [e for e in day.data.contact_log[upn] if e.method == "Home visit"]
        for e in visits:
            assert (
                f"{e.date:%d/%m/%Y} Home visit: no contact - {e.notes}" in got["enquiries_details"]
            )
        # Informing the CME team was only put on today's work list: not ticked as done.
        assert got.get("cme_advice_sought", "") in ("", "/Off")
        assert (
            "Inform the CME team: on the work list of 27/11/2026 (confirm it was done)"
            in got["cme_advice_details"]
        )
        assert (
            "TO COMPLETE: when and how the CME team's advice was sought"
            in (got["cme_advice_details"])
        )
        assert "CME referral form made on 27/11/2026, not emailed yet" in got["cme_advice_details"]
        assert got["date_of_leaving"] == "TO COMPLETE (not before the head teacher signs)"
        assert got["authorised_by"].startswith("TO COMPLETE")
        assert got["date_authorised"] == "TO COMPLETE"
    text = pdftotext(day.pdf(MASON, "remove_from_roll"))
    assert "Reg. 9(1)(i)" in text
    assert "TO COMPLETE after removal" in text


def test_the_word_checklist_carries_the_same_ground_enquiries_and_advice(day: Day) -> None:
    text = docx_text(day.doc(MASON, "remove_from_roll").file)
    assert "Reg. 9(1)(i): continuously absent for 20 or more school days" in text
    assert "REASONABLE ENQUIRIES MADE" in text
    assert "ADVICE SOUGHT FROM THE CME TEAM?" in text
    assert text.count("☒ YES") == 1  # enquiries made; advice sought is left for staff
    assert "04/11/2026 Home visit: no contact" in text
    assert "Inform the CME team: on the work list of 27/11/2026" in text
    assert "TO COMPLETE: signature" in text


# ---------------------------------------------------------------------------------------------
# Both forms, both formats


def test_the_word_referral_carries_what_the_pdf_carries(day: Day) -> None:
    text = docx_text(day.doc(ZUZANNA, "cme_referral").file)
    assert "Why this form was produced" not in text
    assert "SUGGESTED, TO CONFIRM" in text
    assert "in term time  (SUGGESTED, TO CONFIRM)" in text  # beside the suggested tick box
    assert "25/11/2026 Home visit: no contact" in text
    assert "☒ YES    ☐ NO" in text  # the sibling question
    assert "Kacper Wiśniewski: own CME referral 27 November 2026" in text
    assert "TO COMPLETE (no English-proficiency record)" in text
    assert "Attendance this academic year: 81.8% (90 of 110 possible sessions" in text


def test_no_form_carries_the_planners_to_do_text(day: Day) -> None:
    assert len(day.documents) == 6
    for d in day.documents:
        assert d.pdf is not None
        shown = [docx_text(d.file), pdftotext(d.pdf), *values(d.pdf).values()]
        for text in shown:
            flat = " ".join(text.split())
            assert d.action.reason not in flat, d.file.name
            for phrase in TO_DO:
                assert phrase not in flat, (d.file.name, phrase)


# ---------------------------------------------------------------------------------------------
# Speaks English: only from an English-proficiency column


@pytest.mark.parametrize("header", ["Proficiency in English", "EAL", "English Proficiency"])
def test_speaks_english_is_filled_from_an_english_proficiency_column(
    tmp_path: Path, header: str
) -> None:
    expected = {
        "A - New to English": ("/NO", "English proficiency (school records): A - New to English"),
        "E": ("/YES", "English proficiency (school records): E - Fluent"),
        "N": ("", "TO COMPLETE (school records: English proficiency N - Not yet assessed)"),
        # An EAL flag says nothing about how well the child speaks English.
        "Yes": ("", "TO COMPLETE (school records: English proficiency Yes)"),
    }
    school = School()
    upns = [school.add(pupil(n, english_proficiency=e)) for n, e in enumerate(expected, 1)]
    write_workbook(tmp_path / "tracking.xlsx", school.data(), proficiency_header=header)
    config = write_config(tmp_path)
    for upn, (answer, note) in zip(upns, expected.values(), strict=True):
        out = tmp_path / f"{upn}.pdf"
        args = ["pdf", "fill", "cme_referral", "--upn", upn, "--config", str(config)]
        result = CliRunner().invoke(main, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        got = values(out)
        assert got["speaks_english"] in ((answer,) if answer else ("", "/Off")), upn
        assert got["speaks_english_note"] == note, upn


def test_the_dfe_proficiency_codes_answer_speaks_english() -> None:
    assert pupil_english("A") == ("NO", "A - New to English")
    assert pupil_english("b: early acquisition") == ("NO", "B - Early acquisition")
    assert pupil_english("Developing competence") == ("YES", "C - Developing competence")
    assert pupil_english(" D ") == ("YES", "D - Competent")
    assert pupil_english("E - Fluent") == ("YES", "E - Fluent")
    assert pupil_english("Not yet assessed") == ("", "N - Not yet assessed")
    assert pupil_english("No") == ("", "No")
    assert pupil_english("") == ("", "")


# ---------------------------------------------------------------------------------------------
# The rules behind the suggestions (pure functions)


def _pupil(**over: Any) -> Pupil:
    return Pupil(upn="K331261200001", surname="Testperson", forename="Ada", **over)


def _days(start: date, n: int) -> list[date]:
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d = date.fromordinal(d.toordinal() + 1)
    return out


def test_reasons_are_suggested_from_the_register_the_contact_log_and_the_events() -> None:
    start = date(2026, 11, 16)
    present = dict.fromkeys(_days(date(2026, 11, 2), 10), ("/", "\\"))
    run = dict.fromkeys(_days(start, 10), ("O", "O"))

    def suggest(
        marks: dict[date, tuple[str, str]],
        log: tuple[ContactLogEntry, ...] = (),
        event: Event | None = None,
    ) -> str | None:
        found = suggest_reason(_pupil(), marks, log, event, start, TODAY, YEAR_START)
        return found.reason if found else None

    assert suggest({**present, **run}) == "whereabouts_unknown"
    holiday = {**present, **run, **dict.fromkeys(_days(start, 3), ("G", "G"))}
    assert suggest(holiday) == "unauthorised_holiday"
    leave = {**present, date(2026, 11, 13): ("C", "C"), **run}
    assert suggest(leave) == "agreed_holiday"
    moved = (ContactLogEntry("K331261200001", date(2026, 11, 18), "Visit", False, "Moved away"),)
    assert suggest({**present, **run}, moved) == "left_area"
    abroad = Event("K331261200001", EventKind.PLANNED_MOVE, date(2026, 11, 10), new_country="Chile")
    assert suggest({**present, **run}, event=abroad) == "left_uk"
    september = dict.fromkeys(_days(date(2026, 9, 3), 60), ("O", "O"))
    found = suggest_reason(_pupil(), september, [], None, date(2026, 9, 3), TODAY, YEAR_START)
    assert found is not None
    assert found.reason == "after_summer"
    joined = _pupil(admission_date=date(2026, 9, 3))
    found = suggest_reason(joined, september, [], None, date(2026, 9, 3), TODAY, YEAR_START)
    assert found is not None
    assert found.reason == "not_taken_up"


def _action(name: str, run_start: date | None, run_days: int = 0) -> Action:
    evidence = {"run_start": run_start.isoformat(), "run_days": run_days} if run_start else {}
    return Action.for_pupil(
        _pupil(), name, reason="x", stage="s", academic_year="2026-27", evidence=evidence
    )


def test_the_removal_ground_is_the_regulations_words_or_left_for_the_head() -> None:
    def ground(action: Action, events: tuple[Event, ...] = ()) -> str:
        ctx = removal_context(_pupil(), action, (), events, StepsTaken(), TODAY, YEAR_START)
        return str(ctx["ground"])

    assert ground(_action("remove_from_roll", date(2026, 10, 21), 22)).startswith(
        "Reg. 9(1)(i): continuously absent for 20 or more school days (22 school days"
    )
    short = ground(_action("remove_from_roll", date(2026, 11, 6), 15))
    assert short.startswith("TO COMPLETE: the regulation 9 ground")
    assert "the register shows 15 school days" in short
    assert "at least 20" in short
    home = Event("K331261200001", EventKind.HOME_EDUCATION, date(2026, 11, 24))
    assert ground(_action("remove_from_roll", None), (home,)).startswith(
        "Reg. 9(1)(f): the parent has notified the school in writing"
    )
    assert ground(_action("remove_from_roll", None)).startswith("TO COMPLETE")


def test_enquiries_and_advice_are_left_for_staff_when_the_records_do_not_show_them() -> None:
    start = date(2026, 10, 21)
    log = [ContactLogEntry("K331261200001", date(2026, 10, 22), "Phone call", False, "No answer")]
    action = _action("remove_from_roll", start, 22)
    ctx = removal_context(_pupil(), action, log, [], StepsTaken(), TODAY, YEAR_START)
    assert ctx["enquiries_made"] == ""  # no home visit: the policy's process is not shown
    assert ctx["enquiries"].startswith("22/10/2026 Phone call: no contact - No answer\n")
    assert "TO COMPLETE: the enquiries made" in ctx["enquiries"]
    assert ctx["cme_advice_sought"] == ""
    assert ctx["cme_advice"] == "TO COMPLETE: when and how the CME team's advice was sought"
    emailed = StepsTaken(
        {("K331261200001", "cme_referral"): (date(2026, 11, 4),)},
        {("K331261200001", "cme_referral"): (date(2026, 11, 5),)},
    )
    ctx = removal_context(_pupil(), action, log, [], emailed, TODAY, YEAR_START)
    assert ctx["cme_advice_sought"] == "YES"
    assert ctx["cme_advice"] == (
        "CME referral form made on 04/11/2026, emailed to the CME team on 05/11/2026"
    )
    # A referral made before this absence began is not advice about it.
    old = StepsTaken({("K331261200001", "cme_inform"): (date(2026, 9, 20),)})
    ctx = removal_context(_pupil(), action, log, [], old, TODAY, YEAR_START)
    assert ctx["cme_advice_sought"] == ""


def test_emails_sent_for_a_cme_step_are_read_from_the_ledger(example_school: Path) -> None:
    from mergekit.merge.cmesteps import steps_taken

    settings = load_config(example_school)
    with Ledger.open(settings.ledger_path) as ledger:
        run = ledger.start_run("run", date(2026, 11, 20))
        (referral,) = ledger.record_actions(
            [(run, MASON, "cme_referral", "2026-10-21", "2026-27", date(2026, 11, 20), "", None)]
        )
        ledger.conn.execute(
            "INSERT INTO messages (run_id, action_id, upn, message_id, dedupe_key, recipients, "
            "subject, state, queued_at, updated_at, sent_at) VALUES (?, ?, ?, 'm1', 'k1', '[]', "
            "'s', 'sent', 'x', 'x', '2026-11-23T09:15:00+00:00')",
            (run, referral, MASON),
        )
        ledger.conn.commit()
    steps = steps_taken(settings, [], TODAY)
    assert steps.days(MASON, "cme_referral") == [date(2026, 11, 20)]
    assert steps.sent(MASON, "cme_referral") == [date(2026, 11, 23)]


# ---------------------------------------------------------------------------------------------
# The new merge fields are everyone's


def test_fields_lists_the_forms_fields_and_templates_check_knows_them(
    example_school: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["fields", "--config", str(example_school), "--upn", ZUZANNA])
    assert result.exit_code == 0, result.output
    for name in (
        "referral.reason_suggested",
        "referral.home_visit_details",
        "referral.siblings_cme",
        "removal.ground",
        "removal.cme_advice",
        "pupil.english_proficiency",
        "to_complete",
    ):
        assert re.search(rf"^\s+{re.escape(name)}\s", result.output, re.M), name
    history = next(x for x in result.output.splitlines() if "referral.contact_history" in x)
    assert "25/11/2026 Home visit: no contact" in history
    from docx import Document as NewDocument

    doc = NewDocument()
    doc.add_paragraph().add_run("{{ referral.reason_suggested }} {{ removal.ground }}")
    doc.add_paragraph().add_run("{{ referral.reason_sugested }}")
    path = tmp_path / "mine.docx"
    doc.save(str(path))
    check = CliRunner().invoke(
        main, ["templates", "check", "--config", str(example_school), str(path)]
    )
    assert check.exit_code == 1
    assert "'referral.reason_sugested'" in check.output
    assert "did you mean 'referral.reason_suggested'" in check.output
    assert "'removal.ground'" not in check.output


def test_the_sibling_question_is_left_for_staff_unless_the_sibling_is_referred() -> None:
    settings = load_config(EXAMPLES / "mergekit.toml")
    pupil = _pupil()
    sister = Pupil(upn="H331261200002", surname="Testperson", forename="Bea")
    mum = Contact(pupil.upn, "Mrs Testperson", parental_responsibility=True, mobile="07700 900123")
    data = SchoolData(
        pupils={pupil.upn: pupil, sister.upn: sister},
        contacts={pupil.upn: (mum,), sister.upn: (replace(mum, upn=sister.upn),)},
    )
    action = _action("cme_referral", date(2026, 11, 16), 10)
    ctx = build_context(settings, data, pupil, TODAY, action)
    assert ctx["referral"]["siblings_cme"] == ""
    assert ctx["referral"]["siblings_cme_note"] == (
        "TO COMPLETE: are the children listed also missing education?"
    )
    referred = StepsTaken({(sister.upn, "cme_referral"): (date(2026, 11, 20),)})
    ctx = build_context(settings, data, pupil, TODAY, action, steps=referred)
    assert ctx["referral"]["siblings_cme"] == "YES"
    assert ctx["siblings"][0]["cme_referral"] == "20 November 2026"
    # A referral of the sister before this absence began does not answer it.
    before = StepsTaken({(sister.upn, "cme_referral"): (date(2026, 10, 1),)})
    ctx = build_context(settings, data, pupil, TODAY, action, steps=before)
    assert ctx["referral"]["siblings_cme"] == ""
