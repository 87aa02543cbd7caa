"""`mergekit evidence` on the example school (27/11/2026): a pupil with letters, calls, a CME run,
emails and an Off Roll row gets a pack whose text (pdftotext) shows every dated event with its
source, whose certificate totals are the plan's evidence numbers, whose register grid shows each
recorded code on its day, and whose chart is drawn as vectors on its own page; a pupil with no
history gets a pack that says so.

The day is made for real, once for the module: letters, forms, the work list, the Off Roll tab
(through `mergekit offroll`), and the CME emails sent to aiosmtpd on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, needs_soffice
from pypdf import PdfReader, PdfWriter
from smtp_server import SmtpServer

from mergekit.cli import main
from mergekit.core.actions import ACTION_TITLES
from mergekit.core.config import load_config
from mergekit.core.model import SchoolData
from mergekit.read.tracking import read_tracking

pytestmark = pytest.mark.poppler
TODAY = "2026-11-27"
MASON = "D331499917014"  # scenario remove_from_roll: letter 1, CME steps, 22 days missing
EVIDENCE = Path("out") / TODAY / "evidence"


def cli(school: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, [*args, "--config", str(school / "mergekit.toml")], catch_exceptions=False
    )


def pdftotext(pdf: Path, *, layout: bool = False, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        args.append("-layout")
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@dataclass
class Day:
    school: Path
    plan: dict[str, object]
    data: SchoolData
    result: Result

    @property
    def pack(self) -> Path:
        return self.school / EVIDENCE / f"{MASON}_Kerr.pdf"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    school = tmp_path_factory.mktemp("evidence") / "school"
    shutil.copytree(EXAMPLES, school, ignore=shutil.ignore_patterns("out", "*.sqlite*"))
    planned = cli(school, "plan", "--json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output[planned.output.index("{") :])
    with SmtpServer() as server:
        config = school / "mergekit.toml"
        text = config.read_text(encoding="utf-8").replace("port = 8025", f"port = {server.port}")
        config.write_text(text, encoding="utf-8")
        for args in (
            ("letters",),  # Word only: the pack converts the copy (or lists it)
            ("forms", MASON, "--pdf"),
            ("worklist",),
            ("offroll", "add", MASON, "--leaving-date", "27/11/2026", "--reason", "CME"),
            (
                "offroll",
                "set",
                MASON,
                "--authorised-by",
                "Mrs Helen Marsh",
                "--authorised-date",
                "27/11/2026",
            ),
            ("send", "--send", "--limit", "all", "--release", MASON),
        ):
            done = cli(school, *args)
            assert done.exit_code == 0, (args, done.output)
        assert server.received, "the released CME forms went to the loopback server"
    result = cli(school, "evidence", MASON)
    data = read_tracking(load_config(school / "mergekit.toml")).data
    return Day(school, plan, data, result)


def _ledger(day: Day, sql: str) -> list[tuple[str, ...]]:
    with sqlite3.connect(day.school / "mergekit-ledger.sqlite") as c:
        return [tuple(str(x) for x in r) for r in c.execute(sql, (MASON,))]


@needs_soffice
def test_the_pack_is_written_where_the_command_says(day: Day) -> None:
    assert day.result.exit_code == 0, day.result.output
    assert str(day.pack) in day.result.output
    assert "nothing emailed" in day.result.output
    assert PdfReader(day.pack).pages


@needs_soffice
def test_every_dated_event_is_in_the_chronology_with_its_source(day: Day) -> None:
    text = " ".join(pdftotext(day.pack).split())
    # the contact log: every call and visit this year, with its outcome and notes
    for e in day.data.contact_log[MASON]:
        if e.date >= date(2026, 9, 1):
            assert f"{e.date:%d/%m/%Y}" in text
            assert " ".join(e.notes.split())[:40] in text
            assert f"row {e.source.row}" in text if e.source else True
    # the ledger: every action recorded, every document with its hash, every email's Message-ID
    recorded = _ledger(day, "SELECT action, day FROM actions WHERE upn = ?")
    assert {"pa_letter_1", "cme_inform", "cme_referral", "remove_from_roll"} <= {
        a for a, _ in recorded
    }
    for action, when in recorded:
        assert ACTION_TITLES[action] in text
        assert f"{date.fromisoformat(when):%d/%m/%Y}" in text
    for (sha,) in _ledger(
        day, "SELECT sha256 FROM documents WHERE upn = ? AND replaced_by IS NULL"
    ):
        assert sha in text.replace(" ", "") or sha in text
    sent = _ledger(day, "SELECT message_id, state FROM messages WHERE upn = ?")
    assert sent, "the CME emails were sent to the loopback server"
    for message_id, state in sent:
        assert f"Email {state}" in text
        assert message_id in text.replace(" ", "")
    # the Off Roll tab, with the row it was read from
    assert "Off Roll: date of leaving" in text
    assert "Off Roll: Remove From Roll authorised by Mrs Helen Marsh" in text
    assert re.search(r"transfer_list\.xlsx Off Roll row \d+", text)
    flat = text.replace(" ", "")  # narrow columns wrap long names
    assert "ledger(mergekit-ledger.sqlite)" in flat
    assert "tracking.xlsx" in flat


@needs_soffice
def test_the_certificate_totals_are_the_plans_evidence_numbers(day: Day) -> None:
    actions = day.plan["actions"]
    assert isinstance(actions, list)
    letter = next(a for a in actions if a["upn"] == MASON and a["action"] == "pa_letter_1")
    ev = letter["evidence"]
    page = pdftotext(day.pack, layout=True, page=2)
    lines = page.splitlines()
    header = next(i for i, line in enumerate(lines) if "Possible sessions" in line)
    numbers = lines[header + 1].split()
    possible, present, authorised, unauthorised, percent = numbers
    assert int(possible) == ev["possible"]
    assert int(present) == ev["present"]
    assert int(authorised) + int(unauthorised) == ev["absent"]
    assert percent == f"{ev['percent']:.1f}%"
    assert "I certify that this is a true extract of the attendance register" in " ".join(
        page.split()
    )


@needs_soffice
def test_the_grid_shows_each_recorded_code_on_its_day(day: Day) -> None:
    page = pdftotext(day.pack, layout=True, page=2)
    marks = day.data.marks_of(MASON)
    rows = {
        m.group(1): line[m.end() :].split()
        for line in page.splitlines()
        if (m := re.match(r"\s*(\d\d/\d\d/\d{4})\b", line))
    }
    monday = date(2026, 8, 31)
    seen = 0
    while monday <= date(2026, 11, 27):
        want = [
            code
            for i in range(5)
            for code in marks.get(monday + timedelta(days=i), ("", ""))
            if code and monday + timedelta(days=i) >= date(2026, 9, 1)
        ]
        assert rows[f"{monday:%d/%m/%Y}"] == want, monday
        seen += len(want)
        monday += timedelta(days=7)
    assert seen == sum(1 for pair in marks.values() for c in pair if c)
    for code in {c for pair in marks.values() for c in pair if c}:
        assert re.search(rf"^\s*{re.escape(code)}\s", page, re.M), f"key lists {code}"


@needs_soffice
def test_the_chart_is_drawn_as_vectors_on_its_own_page(day: Day) -> None:
    reader = PdfReader(day.pack)
    page = reader.pages[2]
    text = page.extract_text()
    assert "Chart of weekly attendance" in text
    assert "threshold 90%" in text
    assert "letter 1" in text  # the letter's date is marked
    content = page.get_contents()
    assert content is not None
    ops = content.get_data()
    weeks = {
        d - timedelta(days=d.weekday())
        for d, pair in day.data.marks_of(MASON).items()
        if d >= date(2026, 9, 1) and any(c for c in pair)
    }
    assert ops.count(b" re ") + ops.count(b" re\n") >= len(weeks)  # a bar per school week
    assert not page.images  # vectors, not a picture


@needs_soffice
def test_the_letter_copy_is_appended_and_shows_the_chart(day: Day) -> None:
    text = pdftotext(day.pack)
    assert "matches the ledger; Word copy, converted to PDF for this pack" in " ".join(text.split())
    reader = PdfReader(day.pack)
    letter = [p for p in reader.pages if "attendance below 90%" in (p.extract_text() or "")]
    assert letter, "letter 1 is appended"
    assert letter[0].images, "the letter carries the attendance chart"
    forms = [p for p in reader.pages if "Remove From Roll Checklist" in (p.extract_text() or "")]
    assert forms, "the Remove From Roll checklist is appended"


def test_a_pupil_with_no_history_gets_a_pack_that_says_so(example_school: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    data = read_tracking(load_config(example_school)).data
    quiet = next(
        p.upn
        for p in sorted(data.pupils.values(), key=lambda p: p.upn)
        if not data.contact_log.get(p.upn)
        and not data.letters.get(p.upn)
        and not data.events.get(p.upn)
        and p.year is not None
    )
    out = example_school.parent / "quiet.pdf"
    result = CliRunner().invoke(
        main, ["evidence", "--config", str(example_school), quiet, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "no history recorded in the period" in result.output
    text = " ".join(pdftotext(out).split())
    assert "No history: no letters, calls, home visits, CME steps, emails or Off Roll" in text
    assert "mergekit made no letter or form for this pupil" in text
    assert "Possible sessions" in text  # the register extract is still there


def test_an_unknown_upn_is_refused_naming_it(example_school: Path) -> None:
    result = CliRunner().invoke(
        main, ["evidence", "--config", str(example_school), "Z999999999999"]
    )
    assert result.exit_code == 1
    assert "UPN Z999999999999 is not in the tracking workbook" in result.output


@needs_soffice
def test_missing_changed_and_unconverted_copies_are_named_not_skipped(
    day: Day, tmp_path: Path
) -> None:
    school = Path(shutil.copytree(day.school, tmp_path / "school"))
    pdfs = school / "out" / TODAY / "pdf"
    referral = next(pdfs.glob(f"*{MASON}_cme_referral.pdf"))
    removal = next(pdfs.glob(f"*{MASON}_remove_from_roll.pdf"))
    referral.unlink()
    writer = PdfWriter(clone_from=removal)
    writer.add_metadata({"/Subject": "completed by the head teacher"})
    with removal.open("wb") as fh:
        writer.write(fh)
    with (school / "mergekit.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[pdf]\nsoffice = "/nonexistent/soffice"\n')  # as if LibreOffice were missing
    out = tmp_path / "pack.pdf"
    result = cli(school, "evidence", MASON, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "listed, not appended" in result.output
    text = " ".join(pdftotext(out).split())
    flat = text.replace(" ", "")
    assert f"{referral.name}".replace(" ", "") in flat
    assert "MISSING: the file is no longer in the run folder; not appended" in text
    assert "CHANGED since it was made (SHA-256 now" in text
    assert "not appended: LibreOffice is not installed" in text
    pages = PdfReader(out).pages
    assert any("Remove From Roll Checklist" in (p.extract_text() or "") for p in pages)
    assert not any("attendance below 90%" in (p.extract_text() or "") for p in pages)
