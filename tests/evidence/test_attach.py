"""`mergekit evidence` never emails; `send` attaches the pack to the CME referral email when
``[evidence] attach_to_cme_referral = true`` (making it first when the day has none), and not
otherwise. The email goes to aiosmtpd on 127.0.0.1; the forms are made with LibreOffice."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, needs_soffice
from smtp_server import SmtpServer

from mergekit.cli import main

pytestmark = [pytest.mark.libreoffice, needs_soffice]
MASON = "D331499917014"  # a CME referral (and a Remove From Roll checklist) today
PACK = Path("out") / "2026-11-27" / "evidence" / f"{MASON}_Kerr.pdf"


def cli(school: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, [*args, "--config", str(school / "mergekit.toml")], catch_exceptions=False
    )


def school_sending_to(server: SmtpServer, tmp_path: Path, *, attach: bool) -> Path:
    school = Path(shutil.copytree(EXAMPLES, tmp_path / "school"))
    config = school / "mergekit.toml"
    text = config.read_text(encoding="utf-8").replace("port = 8025", f"port = {server.port}")
    if attach:
        text += "\n[evidence]\nattach_to_cme_referral = true\n"
    config.write_text(text, encoding="utf-8")
    made = cli(school, "forms", MASON, "--pdf")
    assert made.exit_code == 0, made.output
    return school


def referral_email(server: SmtpServer) -> list[tuple[str, bytes]]:
    for r in server.received:
        msg = r.message
        if "cme@example.gov.uk" in r.rcpt_tos and "referral" in str(msg["Subject"]).lower():
            return [
                (str(part.get_filename()), part.get_content()) for part in msg.iter_attachments()
            ]
    raise AssertionError("no CME referral email was received")


def test_evidence_never_emails_and_send_attaches_the_pack(tmp_path: Path) -> None:
    with SmtpServer() as server:
        school = school_sending_to(server, tmp_path, attach=True)
        made = cli(school, "evidence", MASON)
        assert made.exit_code == 0, made.output
        assert server.received == []  # `mergekit evidence` sent nothing
        assert server.connections == 0
        (school / PACK).unlink()  # send makes it again when the day has none
        sent = cli(school, "send", "--send", "--limit", "all", "--release", MASON)
        assert sent.exit_code == 0, sent.output
        assert f"Evidence pack for the CME referral email: {school / PACK}" in sent.output
        attachments = referral_email(server)
    names = [name for name, _ in attachments]
    assert "Evidence pack - Mason Kerr.pdf" in names
    assert len(names) == 2  # the referral form and the pack
    pack = dict(attachments)["Evidence pack - Mason Kerr.pdf"]
    assert (
        hashlib.sha256(pack).hexdigest() == hashlib.sha256((school / PACK).read_bytes()).hexdigest()
    )


def test_without_the_setting_the_referral_email_has_only_the_form(tmp_path: Path) -> None:
    with SmtpServer() as server:
        school = school_sending_to(server, tmp_path, attach=False)
        sent = cli(school, "send", "--send", "--limit", "all", "--release", MASON)
        assert sent.exit_code == 0, sent.output
        attachments = referral_email(server)
    assert len(attachments) == 1
    assert not (school / PACK).exists()
