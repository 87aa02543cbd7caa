"""`--again UPN...`: a document of today can be made once more (a deleted PDF, a corrected
address), recorded in the ledger as a replacement with its new hash, the earlier record kept
and marked replaced; and `send` names the command that does it. On the example school, with
LibreOffice for the PDFs; the ledger is read back with sqlite3."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, needs_soffice

from mergekit.cli import main

RILEY = "Q331499918005"  # letter 3 on 27/11/2026
ZUZANNA = "L331499918012"  # CME referral on 27/11/2026


def cli(cfg: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, [*args[:1], "--config", str(cfg), *args[1:]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def documents(cfg: Path, upn: str) -> list[tuple[int, str, str, str, int | None]]:
    """(id, kind, path, sha256, replaced_by) of a pupil's documents in the ledger."""
    conn = sqlite3.connect(cfg.parent / "mergekit-ledger.sqlite")
    try:
        rows = conn.execute(
            "SELECT id, kind, path, sha256, replaced_by FROM documents WHERE upn = ? ORDER BY id",
            (upn,),
        )
        return [tuple(r) for r in rows]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def letter_3_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """The example school after `mergekit letters --only pa_letter_3 --pdf`, made once for
    the module (LibreOffice is the slow part): the command's result and the school's folder."""
    school = tmp_path_factory.mktemp("letter-3") / "school"
    shutil.copytree(
        EXAMPLES, school, ignore=shutil.ignore_patterns("out", "backups", "*.sqlite*", "~$*")
    )
    return cli(school / "mergekit.toml", "letters", "--only", "pa_letter_3", "--pdf"), school


@pytest.fixture
def after_letter_3(letter_3_made: tuple[Result, Path], tmp_path: Path) -> tuple[Result, Path]:
    """A private copy of that school (its paths are relative to its folder): the letters
    command's result and the copy's mergekit.toml."""
    result, school = letter_3_made
    copy = Path(shutil.copytree(school, tmp_path / "school"))
    return result, copy / "mergekit.toml"


def manifest(cfg: Path) -> list[dict[str, str]]:
    with (cfg.parent / "out" / "2026-11-27" / "manifest.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@needs_soffice
@pytest.mark.libreoffice
def test_a_deleted_pdf_is_made_again_with_the_command_send_names(
    after_letter_3: tuple[Result, Path],
) -> None:
    letters, example_school = after_letter_3
    assert letters.exit_code == 0
    run = example_school.parent / "out" / "2026-11-27"
    (pdf,) = (run / "pdf").glob(f"*{RILEY}_pa_letter_3.pdf")
    before = documents(example_school, RILEY)
    assert [(kind, replaced) for _, kind, _, _, replaced in before] == [
        ("docx", None),
        ("pdf", None),
    ]
    pdf.unlink()

    advice = f"make it again with `mergekit letters --again {RILEY} --pdf`, then send"
    sent = cli(example_school, "send")
    assert f"{pdf.name} is missing - not emailed; {advice}" in sent.output

    again = cli(example_school, "letters", "--again", RILEY, "--pdf")
    assert again.exit_code == 0, again.output
    assert "Made 1 document again, each replacing today's earlier copy" in again.output
    assert pdf.is_file()
    after = documents(example_school, RILEY)
    assert after[:2] == [
        (before[0][0], "docx", before[0][2], before[0][3], after[2][0]),
        (before[1][0], "pdf", before[1][2], before[1][3], after[3][0]),
    ]
    assert [(kind, path, replaced) for _, kind, path, _, replaced in after[2:]] == [
        ("docx", before[0][2], None),
        ("pdf", before[1][2], None),
    ]
    assert after[3][3] != before[1][3]  # the new PDF, with its own hash
    assert [r["file"] for r in manifest(example_school) if r["upn"] == RILEY] == [
        f"docx/{Path(before[0][2]).name}"
    ]
    assert "is missing" not in cli(example_school, "send").output
    shown = cli(example_school, "history", RILEY).output
    assert shown.count("(replaced: made again later)") == 2


def test_forms_again_remakes_todays_form_as_a_replacement(example_school: Path) -> None:
    assert cli(example_school, "forms", "--due").exit_code == 0
    (docx,) = (example_school.parent / "out" / "2026-11-27" / "docx").glob(
        f"*{ZUZANNA}_cme_referral.docx"
    )
    docx.unlink()
    result = cli(example_school, "forms", "--again", ZUZANNA)
    assert result.exit_code == 0, result.output
    assert docx.is_file()
    rows = documents(example_school, ZUZANNA)
    assert [(kind, replaced is None) for _, kind, _, _, replaced in rows] == [
        ("docx", False),
        ("docx", True),
    ]
    assert rows[0][4] == rows[1][0]


def test_again_for_a_pupil_with_nothing_made_today_makes_nothing(example_school: Path) -> None:
    assert cli(example_school, "letters", "--only", "pa_letter_3").exit_code == 0
    result = cli(example_school, "letters", "--again", RILEY, "X331499915006")
    assert result.exit_code == 1
    assert (
        "X331499915006 (Ellie-Mae Pritchard): no pa_letter_1 or pa_letter_2 or pa_letter_3 was "
        "made today, so there is nothing to make again"
    ) in result.output
    assert "Nothing was made again." in result.output
    assert len(documents(example_school, RILEY)) == 1  # not made again either


def test_again_needs_upns_and_upns_need_again(example_school: Path) -> None:
    assert cli(example_school, "letters", "--again").exit_code == 2
    plain = cli(example_school, "letters", RILEY)
    assert plain.exit_code == 2
    assert "name pupils only with --again" in plain.output
    assert cli(example_school, "forms", "--again", "--due").exit_code == 2


@needs_soffice
@pytest.mark.libreoffice
def test_a_letter_already_emailed_is_made_again_but_not_sent_again(
    after_letter_3: tuple[Result, Path],
) -> None:
    from smtp_server import SmtpServer

    letters, example_school = after_letter_3
    assert letters.exit_code == 0
    with SmtpServer() as server:
        text = example_school.read_text(encoding="utf-8")
        example_school.write_text(text.replace("port = 8025", f"port = {server.port}"))
        sent = cli(example_school, "send", "--send", "--limit", "all", "--only", "pa_letter_3")
        assert sent.exit_code == 0, sent.output
        assert server.received, "the letters went"
        before = len(server.received)
        again = cli(example_school, "letters", "--again", RILEY, "--pdf")
        assert again.exit_code == 0, again.output
        assert f"{RILEY} Riley Dawson: the pa_letter_3 was already emailed" in again.output
        assert "the new copy is not emailed again - post it or send it yourself" in again.output
        resent = cli(example_school, "send", "--send", "--limit", "all", "--only", "pa_letter_3")
        assert resent.exit_code == 0, resent.output
        assert len(server.received) == before
