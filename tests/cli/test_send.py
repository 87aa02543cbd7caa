"""`mergekit send` as staff use it: the dry run, its output, the options and their errors."""

from __future__ import annotations

import email
import email.policy
import io
import select
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES
from pypdf import PdfReader
from smtp_server import School, SmtpServer, make_school, pupils

from mergekit.cli import main


def send(school: School, *args: str) -> Result:
    return CliRunner().invoke(main, ["send", "--config", str(school.config), *args])


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare listening socket: any connection attempt shows up as readable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock
    finally:
        sock.close()


def connection_waiting(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0.3)
    return bool(readable)


def test_dry_run_contacts_no_server_at_all(tmp_path: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    school = make_school(tmp_path / "s", pupils(3), port=port, timeout_seconds=0.3, retries=0)
    result = send(school)
    assert result.exit_code == 0, result.output
    assert not connection_waiting(listener)
    # The same settings with --send do connect there (and give up waiting for a greeting that
    # never comes): the check above would have seen a connection.
    real = send(school, "--send")
    assert real.exit_code == 1
    assert connection_waiting(listener)


def test_dry_run_lists_each_message_and_the_line_to_send_for_real(tmp_path: Path) -> None:
    specs = pupils(3)
    school = make_school(tmp_path / "s", specs)
    result = send(school)
    assert result.exit_code == 0, result.output
    out = result.output
    for p in specs:
        assert f"pa_letter_1 for {p.full_name}" in out
        for c in p.contacts:
            assert f"{c.name} <{c.email}>" in out
        assert f"{p.stem}.eml" in out
        assert f"Attendance warning letter 1 - {p.full_name}.pdf" in out
    assert out.count("Bcc:        sent-log@northgate.example.org") == 3
    recipients = sum(len(p.contacts) for p in specs)
    assert f"3 message(s) to {recipients} recipient(s), 3 attachment(s)" in out
    assert (
        f">>> This was a dry run. To send these 3 messages, run: mergekit send --send "
        f"--limit all --config {school.config}"
    ) in out
    emls = sorted((school.run_dir / "outbox").glob("*.eml"))
    assert [e.name for e in emls] == sorted(f"{p.stem}.eml" for p in specs)
    parsed = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert parsed["From"] == "Northgate Park Attendance <attendance@northgate.example.org>"


def test_dry_run_with_nothing_left_says_so(tmp_path: Path) -> None:
    with SmtpServer() as server:
        school = make_school(tmp_path / "s", pupils(2), port=server.port)
        assert send(school, "--send", "--limit", "all").exit_code == 0
    result = send(school)
    assert result.exit_code == 0
    assert ">>> This was a dry run. Nothing is waiting to be sent." in result.output
    assert "Already sent, not sent again: 2" in result.output


def test_print_list_is_written_and_reported(tmp_path: Path) -> None:
    from dataclasses import replace

    from smtp_server import Contact

    specs = pupils(2)
    specs[1] = replace(specs[1], contacts=(Contact("No Email", "", "Ms", 1),))
    school = make_school(tmp_path / "s", specs)
    result = send(school)
    assert result.exit_code == 0, result.output
    assert f"To post or phone instead: 1 ({school.run_dir / 'print-list.csv'})" in result.output
    text = (school.run_dir / "print-list.csv").read_text(encoding="utf-8-sig")
    assert specs[1].upn in text
    assert "No Email" in text
    assert specs[0].upn not in text


@pytest.mark.parametrize("bad", ["0", "-3", "some", "1.5"])
def test_limit_must_be_a_positive_number_or_all(tmp_path: Path, bad: str) -> None:
    school = make_school(tmp_path / "s", pupils(1))
    result = send(school, "--limit", bad)
    assert result.exit_code == 2
    assert "is not a number of messages above 0, or 'all'" in result.output


def test_limit_on_a_dry_run_writes_only_that_many(tmp_path: Path) -> None:
    school = make_school(tmp_path / "s", pupils(5))
    result = send(school, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert len(list((school.run_dir / "outbox").glob("*.eml"))) == 2
    assert "To send these 5 messages" in result.output


def test_only_picks_one_kind_of_message(tmp_path: Path) -> None:
    specs = [*pupils(2), *pupils(1, action="cme_referral", start=30)]
    school = make_school(tmp_path / "s", specs)
    result = send(school, "--only", "cme_referral", "--release", specs[-1].upn)
    assert result.exit_code == 0, result.output
    assert "[1/1] cme_referral" in result.output
    assert "pa_letter_1 for" not in result.output
    assert "--only cme_referral" in result.output.splitlines()[-1]


def test_unknown_only_value_is_a_usage_error(tmp_path: Path) -> None:
    school = make_school(tmp_path / "s", pupils(1))
    result = send(school, "--only", "pa_letter_9")
    assert result.exit_code == 2
    assert "pa_letter_9" in result.output


def test_run_option_sends_another_days_folder(tmp_path: Path) -> None:
    school = make_school(tmp_path / "s", pupils(2))
    other = school.root / "out" / "2026-11-20"
    shutil.copytree(school.run_dir, other)
    shutil.rmtree(school.run_dir)
    result = send(school, "--run", str(other))
    assert result.exit_code == 0, result.output
    assert len(list((other / "outbox").glob("*.eml"))) == 2
    assert f"--run {other}" in result.output


def test_missing_run_folder_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    school = make_school(tmp_path / "s", pupils(1))
    shutil.rmtree(school.run_dir)
    result = send(school)
    assert result.exit_code == 1
    assert "no such run folder" in result.output
    assert "Traceback" not in result.output


def test_attachments_are_password_protected_when_the_config_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = make_school(tmp_path / "s", pupils(2))
    text = school.config.read_text().replace("[mail]", "[pdf]\nencrypt_emailed = true\n\n[mail]")
    school.config.write_text(text)
    missing = send(school)
    assert missing.exit_code == 1
    assert "MERGEKIT_PDF_PASSWORD" in missing.output
    monkeypatch.setenv("MERGEKIT_PDF_PASSWORD", "purple elephant tuesday")
    with SmtpServer() as server:
        school.set_mail(port=server.port)
        result = send(school, "--send", "--limit", "all")
        assert result.exit_code == 0, result.output
        got = server.messages()
    assert len(got) == 2
    for received in got:
        msg = received.message
        [att] = list(msg.iter_attachments())
        reader = PdfReader(io.BytesIO(att.get_content()))
        assert reader.is_encrypted
        reader.decrypt("purple elephant tuesday")
        upn = reader.pages[0].extract_text().split("UPN ")[1][:13]
        assert school.by_upn()[upn].forename in str(msg["Subject"])
        body = msg.get_body(("plain",))
        assert body is not None
        assert "protected with a password" in body.get_content()


def test_help_says_it_is_a_dry_run_unless_told() -> None:
    result = CliRunner().invoke(main, ["send", "--help"])
    assert result.exit_code == 0
    assert "Without --send this is a dry run" in result.output
    for option in ("--run", "--only", "--limit", "--send", "--resend-unknown", "--release"):
        assert option in result.output
    text = " ".join(result.output.split())
    assert "Forms that need a person" in text
    assert "never emailed, even with --send --limit all, until released" in text
    assert "release.xlsx" in text


@pytest.mark.slow
@pytest.mark.libreoffice
def test_example_school_dry_run_then_real_send_to_a_local_server(
    example_school: Path,
) -> None:
    if not (EXAMPLES / "tracking.xlsx").is_file():
        pytest.skip("examples/ has no tracking workbook yet (issue 8 writes the example school)")
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: the letters cannot become PDFs")
    runner = CliRunner()
    config = str(example_school)
    made = runner.invoke(main, ["letters", "--config", config, "--pdf"])
    assert made.exit_code == 0, made.output
    forms = runner.invoke(main, ["forms", "--config", config, "--due"])
    assert forms.exit_code == 0, forms.output
    dry = runner.invoke(main, ["send", "--config", config])
    assert dry.exit_code == 0, dry.output
    assert ">>> This was a dry run." in dry.output
    with SmtpServer() as server:
        text = example_school.read_text().replace("port = 8025", f"port = {server.port}")
        example_school.write_text(text)
        real = runner.invoke(main, ["send", "--config", config, "--send", "--limit", "all"])
        assert real.exit_code == 0, real.output
        assert server.count() >= 1
        for received in server.messages():
            assert all(a.endswith(("example.org", "example.gov.uk")) for a in received.rcpt_tos)


def test_partial_run_with_only_keeps_the_other_kinds_on_the_print_list(tmp_path: Path) -> None:
    from dataclasses import replace

    from smtp_server import Contact

    letter = replace(pupils(1)[0], contacts=(Contact("No Email", "", "Ms", 1),))
    referral = pupils(1, action="cme_referral", start=30)[0]
    school = make_school(tmp_path / "s", [letter, referral])
    assert send(school).exit_code == 0
    assert send(school, "--only", "cme_referral").exit_code == 0
    text = (school.run_dir / "print-list.csv").read_text(encoding="utf-8-sig")
    assert letter.upn in text
