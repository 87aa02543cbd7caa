"""What goes to the council, social workers and families on the example school (27/11/2026):
forms that need a person are held until released, day-1 emails say what today's marks record,
and no email carries the planner's notes for staff. The day is made once with `mergekit demo`
(LibreOffice for real); each test works on its own copy and sends to aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
import io
import re
import shutil
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader, PdfWriter
from smtp_server import SmtpServer

from mergekit.cli import main

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed"),
]
RUN = Path("out") / "2026-11-27"
HELD = ("cme_referral", "remove_from_roll", "planned_move")
MASON = "D331499917014"  # scenario remove_from_roll: a CME referral and a Remove From Roll
TYRESE = "B331499915001"  # vulnerable_cin_pm: present this morning, PM M
JAYDEN = "J331499918001"  # vulnerable_looked_after: I all day
SIOBHAN = "Q331499916003"  # vulnerable_cp_plan: N all day
NAMED = re.compile(r"_(?P<upn>[A-Z][0-9]{11}[0-9A-Z])_(?P<action>[a-z0-9_]+)$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example") / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def school(demo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "school"
    shutil.copytree(demo, target)
    return target


def cli(school: Path, *args: str, port: int | None = None) -> Result:
    if port is not None:
        config = school / "mergekit.toml"
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("port = 8025", f"port = {port}"), encoding="utf-8")
    return CliRunner().invoke(
        main, ["send", "--config", str(school / "mergekit.toml"), *args], catch_exceptions=False
    )


def parsed(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def bodies(msg: EmailMessage) -> str:
    parts = [msg.get_body(("plain",)), msg.get_body(("html",))]
    return "\n".join(str(p.get_content()) for p in parts if p is not None)


def outbox(school: Path, upn: str, action: str) -> EmailMessage:
    [path] = (school / RUN / "outbox").rglob(f"*_{upn}_{action}.eml")
    return parsed(path)


def complete_in_a_pdf_editor(path: Path, text: str) -> bytes:
    """Fill in the form's first field marked TO COMPLETE (else its first empty text field) and
    save, as staff do in a PDF editor."""
    writer = PdfWriter(clone_from=PdfReader(path))
    fields = {n: f for n, f in (writer.get_fields() or {}).items() if f.get("/FT") == "/Tx"}
    marked = [n for n, f in fields.items() if str(f.get("/V") or "").startswith("TO COMPLETE")]
    empty = [n for n, f in fields.items() if not f.get("/V")]
    name = (marked or empty)[0]
    for page in writer.pages:
        writer.update_page_form_field_values(page, {name: text}, auto_regenerate=False)
    buf = io.BytesIO()
    writer.write(buf)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def test_send_limit_all_sends_no_form_until_released_then_release_sends_exactly_it(
    school: Path,
) -> None:
    pdfs = sorted((school / RUN / "pdf").glob(f"*_{MASON}_*.pdf"))
    mason = {p.stem.rsplit(f"{MASON}_", 1)[1]: p for p in pdfs}
    assert {"cme_referral", "remove_from_roll"} <= set(mason)
    with SmtpServer() as server:
        first = cli(school, "--send", "--limit", "all", port=server.port)
        assert first.exit_code == 0, first.output
        sent = [m.message for m in server.messages()]
        assert len(sent) == 19  # 27 messages of the day, 8 of them forms held for a person
        for msg in sent:
            for att in msg.iter_attachments():
                name = str(att.get_filename())
                assert not name.startswith(("Children Missing", "Remove From Roll", "Planned"))
        assert "Needs a person: complete and check (8 forms held" in first.output
        assert str(mason["remove_from_roll"]) in first.output
        saved = {
            kind: complete_in_a_pdf_editor(mason[kind], f"Completed by Mrs Helen Marsh ({kind})")
            for kind in ("cme_referral", "remove_from_roll")
        }
        released = cli(school, "--send", "--limit", "all", "--release", MASON)
        assert released.exit_code == 0, released.output
        new = [m.message for m in server.messages()[19:]]
    assert len(new) == 2
    attached = {str(a.get_filename()): a.get_content() for m in new for a in m.iter_attachments()}
    assert attached == {
        "Children Missing Education referral form - Mason Kerr.pdf": saved["cme_referral"],
        "Remove From Roll checklist - Mason Kerr.pdf": saved["remove_from_roll"],
    }
    for content in attached.values():
        values = {f.get("/V") for f in (PdfReader(io.BytesIO(content)).get_fields() or {}).values()}
        assert any(str(v).startswith("Completed by Mrs Helen Marsh") for v in values)
    conn = sqlite3.connect(school / "mergekit-ledger.sqlite")
    try:
        rows = conn.execute(
            "SELECT path, sha256 FROM documents WHERE kind = 'released' AND upn = ?", (MASON,)
        ).fetchall()
    finally:
        conn.close()
    assert {Path(p).name: s for p, s in rows} == {
        mason[k].name: hashlib.sha256(saved[k]).hexdigest() for k in saved
    }
    assert "6 held for a person" in released.output


def test_covering_emails_of_released_forms_claim_nothing_not_done(school: Path) -> None:
    result = cli(school, "--release", MASON)
    assert result.exit_code == 0, result.output
    referral = bodies(outbox(school, MASON, "cme_referral"))
    rfr = bodies(outbox(school, MASON, "remove_from_roll"))
    for text in (referral, rfr):
        assert "completed and checked by the school" in " ".join(text.split())
        assert "reasonable enquiries set out in its policy" not in text
        assert "deleted" not in text
        assert "8 attempts to contact the family" in text
        assert "All 22 school days since 21 October 2026 are recorded as unauthorised" in text
    assert "Mason is still on the school's roll" in " ".join(referral.split())


def test_day1_emails_are_worded_from_todays_register_marks(school: Path) -> None:
    tyrese = outbox(school, TYRESE, "vulnerable_day1_contact")
    text = str(tyrese.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    flat = " ".join(text.split())
    assert "Dear Mr Qadri," in text
    assert "Children in Need Team" not in text
    assert (
        "Tyrese Grant was in school this morning, 27 November 2026, and left at lunchtime for "
        "a medical or dental appointment." in flat
    )
    assert "not in school today" not in flat
    assert "confirm why" not in flat
    assert "if you know where" not in flat
    jayden = " ".join(bodies(outbox(school, JAYDEN, "vulnerable_day1_contact")).split())
    assert "Dear Ms Owusu-Reid," in jayden
    assert "Jayden Campbell is absent today, 27 November 2026: illness reported to the school." in (
        jayden
    )
    assert "confirm why" not in jayden
    siobhan = " ".join(bodies(outbox(school, SIOBHAN, "vulnerable_day1_contact")).split())
    assert "Dear Mr Ashdown," in siobhan
    assert (
        "Siobhán O'Brien is not in school today, 27 November 2026, and the school has not yet "
        "been able to confirm why." in siobhan
    )
    assert "Please let us know if you know where Siobhán is" in siobhan


def test_no_email_carries_the_planners_notes_for_staff(school: Path) -> None:
    with (school / RUN / "manifest.csv").open(encoding="utf-8") as f:
        held = sorted({r["upn"] for r in csv.DictReader(f) if r["action"] in HELD})
    result = cli(school, *(x for upn in held for x in ("--release", upn)))
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(school / "mergekit-ledger.sqlite")
    try:
        reasons = {(u, a): r for u, a, r in conn.execute("SELECT upn, action, reason FROM actions")}
    finally:
        conn.close()
    emls = sorted((school / RUN / "outbox").glob("*.eml"))
    assert len(emls) == 27  # every message of the day, the released forms included
    for path in emls:
        named = NAMED.search(path.stem)
        assert named is not None, path.name
        reason = reasons[(named["upn"], named["action"])]
        text = " ".join(bodies(parsed(path)).split())
        assert reason, path.name
        assert reason not in text, path.name
        for staff_note in (
            "complete the CME referral form",
            "contact social worker",
            "contact key worker",
            "for the head teacher's signature",
            "07700 900953",
            "no successful contact:",
        ):
            assert staff_note not in text, (path.name, staff_note)
