"""Forms that need a person are held: `send` never emails one until it is released with
`--release UPN|FILE` or a Y (with a name) in release.xlsx, and then attaches exactly the PDF as
saved. Real sends to aiosmtpd on 127.0.0.1, a real ledger and real workbooks."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from smtp_server import PupilSpec, School, SmtpServer, make_school, pdf_with_text, pupils

from mergekit.cli import main
from mergekit.mail.release import HEADERS, SHEET

FORMS = ("cme_referral", "remove_from_roll", "planned_move")


def send(school: School, *args: str) -> Result:
    return CliRunner().invoke(main, ["send", "--config", str(school.config), *args])


def query(school: School, sql: str, *args: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(school.ledger)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def pdf(school: School, p: PupilSpec) -> Path:
    return school.run_dir / "pdf" / f"{p.stem}.pdf"


def edit(path: Path, note: str) -> bytes:
    """What saving in a PDF editor does to the file: an incremental update appended."""
    path.write_bytes(path.read_bytes() + f"% {note}\n".encode())
    return path.read_bytes()


def attachments(server: SmtpServer) -> dict[str, bytes]:
    """Attached file name -> bytes, over everything the server received."""
    out: dict[str, bytes] = {}
    for received in server.messages():
        for att in received.message.iter_attachments():
            out[str(att.get_filename())] = att.get_content()
    return out


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as s:
        yield s


@pytest.fixture
def school(tmp_path: Path, server: SmtpServer) -> School:
    letters = pupils(2)
    forms = [pupils(1, action=a, start=40 + i)[0] for i, a in enumerate(FORMS)]
    school = make_school(tmp_path / "school", [*letters, *forms], port=server.port)
    # A second form for the referral pupil (--release UPN takes both): one more PDF and
    # manifest row, as the forms run makes them.
    second = replace(forms[0], action="remove_from_roll")
    pdf(school, second).write_bytes(
        pdf_with_text([f"remove_from_roll for {second.full_name}", f"UPN {second.upn}"])
    )
    with (school.run_dir / "manifest.csv").open("a", newline="", encoding="utf-8") as f:
        sha = hashlib.sha256(pdf(school, second).read_bytes()).hexdigest()
        f.write(f"{second.upn},remove_from_roll,pdf/{second.stem}.pdf,{sha},CME\r\n")
    return school


def forms_of(school: School) -> list[PupilSpec]:
    """Every held document: the referral pupil's two, then the other forms."""
    first = next(p for p in school.pupils if p.action == "cme_referral")
    others = [p for p in school.pupils if p.action in FORMS and p is not first]
    return [first, replace(first, action="remove_from_roll"), *others]


def referral_pair(school: School) -> tuple[PupilSpec, PupilSpec]:
    first = next(p for p in school.pupils if p.action == "cme_referral")
    return first, replace(first, action="remove_from_roll")


def test_send_limit_all_sends_no_form_that_needs_a_person(
    school: School, server: SmtpServer
) -> None:
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert server.count() == 2
    assert {m.message["To"].addresses[0].addr_spec for m in server.messages()} == {
        c.email for p in school.pupils if p.action == "pa_letter_1" for c in p.contacts[:1]
    }
    assert all(
        r["upn"] not in {p.upn for p in forms_of(school)}
        for r in query(school, "SELECT upn FROM messages")
    )
    out = result.output
    assert "Needs a person: complete and check (4 forms held: not emailed until released)" in out
    for p in forms_of(school):
        assert str(pdf(school, p)) in out
    assert "mergekit send --release UPN" in out
    assert "Sent 2, failed 0, unknown 0; 0 still to send; 4 held for a person." in out
    again = send(school, "--send", "--limit", "all")
    assert again.exit_code == 0
    assert server.count() == 2


def test_dry_run_writes_no_eml_for_a_held_form(school: School) -> None:
    result = send(school)
    assert result.exit_code == 0, result.output
    emls = {e.name for e in (school.run_dir / "outbox").glob("*.eml")}
    assert emls == {f"{p.stem}.eml" for p in school.pupils if p.action == "pa_letter_1"}
    assert ">>> 4 forms are held until a person releases them" in result.output


def test_release_upn_sends_exactly_that_pupils_forms_with_the_pdf_as_saved(
    school: School, server: SmtpServer
) -> None:
    assert send(school, "--send", "--limit", "all").exit_code == 0
    referral, rfr = referral_pair(school)
    saved = {
        p.stem: edit(pdf(school, p), f"completed by Mrs Marsh {p.action}")
        for p in (
            referral,
            rfr,
        )
    }
    result = send(school, "--send", "--limit", "all", "--release", referral.upn)
    assert result.exit_code == 0, result.output
    assert server.count() == 4
    new = server.messages()[2:]
    assert {str(m.message["Subject"]).split(":")[1].split(",")[0].strip() for m in new} == {
        "CME referral",
        "Remove From Roll checklist",
    }
    got = {n: b for n, b in attachments(server).items() if referral.forename in n}
    assert sorted(got.values()) == sorted(saved.values())
    for p in (referral, rfr):
        digest = hashlib.sha256(saved[p.stem]).hexdigest()
        [row] = query(
            school,
            "SELECT sha256 FROM documents WHERE kind = 'released' AND path LIKE ?",
            f"%{p.stem}.pdf",
        )
        assert row["sha256"] == digest
        [msg] = query(
            school, "SELECT attachments, state FROM messages WHERE eml_path LIKE ?", f"%{p.stem}%"
        )
        assert msg["state"] == "sent"
        assert json.loads(msg["attachments"])[0]["sha256"] == digest
        assert f"Released: {pdf(school, p)} (sha256 {digest[:12]}" in result.output
    assert "2 held for a person" in result.output
    # Exactly once: releasing again sends nothing more.
    again = send(school, "--send", "--limit", "all", "--release", referral.upn)
    assert again.exit_code == 0, again.output
    assert server.count() == 4


def test_release_file_releases_only_that_document(school: School, server: SmtpServer) -> None:
    referral, rfr = referral_pair(school)
    relative = pdf(school, rfr).relative_to(school.root)
    # A path from the current folder (the tests run in the school's parent folder).
    assert Path.cwd() == school.root.parent
    result = send(school, "--send", "--limit", "all", "--release", f"school/{relative}")
    assert result.exit_code == 0, result.output
    assert server.count() == 3
    assert f"Remove From Roll checklist - {rfr.full_name}.pdf" in attachments(server)
    assert f"Children Missing Education referral form - {referral.full_name}.pdf" not in (
        attachments(server)
    )
    # The bare file name, and the name without .pdf, name the document too.
    move = next(p for p in school.pupils if p.action == "planned_move")
    assert send(school, "--send", "--limit", "all", "--release", move.stem).exit_code == 0
    assert server.count() == 4


def test_pdf_saved_again_after_its_release_is_held_again_until_released_again(
    school: School, server: SmtpServer
) -> None:
    move = next(p for p in school.pupils if p.action == "planned_move")
    dry = send(school, "--release", move.upn)
    assert dry.exit_code == 0, dry.output
    eml = school.run_dir / "outbox" / f"{move.stem}.eml"
    assert eml.is_file()
    edit(pdf(school, move), "changed after the release")
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert f"Planned move form - {move.full_name}.pdf" not in attachments(server)
    assert "saved again after its release on" in result.output
    assert not eml.exists(), "the released draft must not linger in the outbox"
    assert not query(school, "SELECT id FROM messages WHERE upn = ?", move.upn)
    final = edit(pdf(school, move), "checked again")
    assert send(school, "--send", "--limit", "all", "--release", move.upn).exit_code == 0
    assert attachments(server)[f"Planned move form - {move.full_name}.pdf"] == final
    releases = query(
        school, "SELECT sha256 FROM documents WHERE kind = 'released' AND upn = ?", move.upn
    )
    assert [r["sha256"] for r in releases][-1] == hashlib.sha256(final).hexdigest()
    assert len(releases) == 2


def test_unknown_release_value_is_an_error_listing_the_forms_and_releases_nothing(
    school: School,
) -> None:
    referral, _ = referral_pair(school)
    result = send(school, "--release", referral.upn, "--release", "Z999")
    assert result.exit_code == 1
    assert "--release Z999: no form held in this run has that UPN or file" in result.output
    assert f"{referral.upn} Children Missing Education referral form: pdf/" in result.output
    assert "Nothing was released." in result.output
    assert not query(school, "SELECT id FROM documents WHERE kind = 'released'")


def test_the_word_version_given_to_release_is_refused_pointing_at_the_pdf(
    school: School,
) -> None:
    referral, _ = referral_pair(school)
    result = send(school, "--release", f"docx/{referral.stem}.docx")
    assert result.exit_code == 1
    assert "that is the Word version - the email attaches the PDF" in result.output


def _sheet_rows(path: Path) -> dict[str, dict[str, object]]:
    book = load_workbook(path)
    ws = book[SHEET]
    headers = [c.value for c in ws[2]]
    assert tuple(headers) == HEADERS
    out = {}
    for row in ws.iter_rows(min_row=3, values_only=True):
        record = dict(zip(HEADERS, row, strict=True))
        out[str(record["PDF to complete"])] = record
    return out


def _fill_sheet(path: Path, values: dict[str, tuple[str, str]]) -> None:
    """Write (checked by, release) into rows by PDF, as staff would in Excel."""
    book = load_workbook(path)
    ws = book[SHEET]
    for row in ws.iter_rows(min_row=3):
        document = str(row[HEADERS.index("PDF to complete")].value)
        if document in values:
            who, answer = values[document]
            row[HEADERS.index("Completed and checked by")].value = who
            row[HEADERS.index("Release (Y)")].value = answer
    book.save(path)


def test_release_sheet_releases_only_a_y_with_a_name(school: School, server: SmtpServer) -> None:
    assert send(school).exit_code == 0
    sheet = school.run_dir / "release.xlsx"
    rows = _sheet_rows(sheet)
    docs = [f"pdf/{p.stem}.pdf" for p in forms_of(school)]
    assert set(rows) == set(docs)
    assert all(not r["Release (Y)"] for r in rows.values()), "mergekit never writes a release"
    assert all(str(r["Status"]).startswith("held:") for r in rows.values())
    referral, rfr, extra, move = docs
    _fill_sheet(
        sheet,
        {
            referral: ("Mrs Helen Marsh", "Y"),
            rfr: ("", "Y"),
            move: ("Mr Osei", "N"),
            extra: ("Ms Lal", "maybe"),
        },
    )
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert server.count() == 3
    assert "Children Missing Education referral form" in " ".join(attachments(server))
    assert "'Completed and checked by' is empty" in result.output
    assert "Forms to release!I" in result.output
    assert "'maybe' is not Y" in result.output
    [run] = query(
        school,
        "SELECT r.command FROM documents d JOIN runs r ON r.id = d.run_id "
        "WHERE d.kind = 'released'",
    )
    assert run["command"] == "release.xlsx: checked by Mrs Helen Marsh"
    after = _sheet_rows(sheet)
    assert str(after[referral]["Status"]).startswith("sent (released ")
    assert after[referral]["Release (Y)"] is None, "a Y acted on is cleared"
    assert after[referral]["Completed and checked by"] == "Mrs Helen Marsh"
    assert after[rfr]["Release (Y)"] == "Y", "a Y that could not count stays to be corrected"
    assert after[extra]["Release (Y)"] == "maybe"
    assert str(after[move]["Status"]).startswith("held:")


def test_blank_release_column_never_releases_however_often_send_runs(
    school: School, server: SmtpServer
) -> None:
    for _ in range(2):
        assert send(school, "--send", "--limit", "all").exit_code == 0
    assert server.count() == 2
    assert not query(school, "SELECT id FROM documents WHERE kind = 'released'")


def test_unreadable_release_sheet_is_left_alone_and_releases_nothing(
    school: School, server: SmtpServer
) -> None:
    sheet = school.run_dir / "release.xlsx"
    sheet.write_bytes(b"not a workbook")
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output
    assert "cannot be read as an Excel workbook" in result.output
    assert sheet.read_bytes() == b"not a workbook"
    assert server.count() == 2
