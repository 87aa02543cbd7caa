"""`mergekit run` and `mergekit demo`: the whole day on the example school, from check to email.

LibreOffice runs for real here (marked); the email test sends to a real aiosmtpd server.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import needs_soffice
from openpyxl import load_workbook
from smtp_server import SmtpServer

from mergekit.cli import main

pytestmark = pytest.mark.libreoffice
RUN = Path("out") / "2026-11-27"


def _files(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """`mergekit demo` run once for the module: its result and folder. Tests that change the
    folder work on a copy of it."""
    out = tmp_path_factory.mktemp("demo-day") / "demo"
    return CliRunner().invoke(main, ["demo", "--out", str(out)], catch_exceptions=False), out


def _copy(folder: Path, tmp_path: Path) -> Path:
    """A private copy of a school folder (modification times kept); paths inside it are
    relative to it, so the copy is a school of its own."""
    return Path(shutil.copytree(folder, tmp_path / folder.name))


@needs_soffice
def test_demo_makes_everything_the_example_school_needs(demo_day: tuple[Result, Path]) -> None:
    result, out = demo_day
    assert 0 == result.exit_code, result.output
    run = out / RUN
    for section in (
        "1. Check",
        "2. Plan",
        "3. Work list",
        "4. Documents",
        "5. PDFs",
        "6. Print pack",
        "7. Email",
        "Needs a person:",
        "Next:",
    ):
        assert section in result.output
    docx = sorted((run / "docx").glob("*.docx"))
    pdfs = sorted((run / "pdf").glob("*.pdf"))
    assert 25 == len(docx)
    assert [p.stem for p in docx] == [p.stem for p in pdfs]
    with (run / "manifest.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert ["upn", "action", "file", "sha256", "recipients"] == list(rows[0])
    assert 25 == len(rows)
    pack = run / "print-pack.pdf"
    pages = subprocess.run(
        ["pdftotext", str(pack), "-"], capture_output=True, text=True, check=True
    ).stdout
    for row in rows:  # every document of the day is in the office's pack
        assert row["upn"] in pages
    assert list((run / "outbox").glob("*.eml")), "dry-run emails are written to the outbox"
    book = load_workbook(run / "worklist.xlsx", read_only=True)
    assert [
        "Day 1 calls",
        "Social workers",
        "DSL alerts",
        "CME team",
        "Home education",
    ] == book.sheetnames
    calls = list(book["Day 1 calls"].iter_rows(min_row=3, values_only=True))
    assert 19 == len(calls)  # examples/README.md: 19 first-day calls
    assert all(row[7] for row in calls), "every call has a phone number column filled"
    assert "Needs a person: complete and check (8 forms held" in result.output
    assert "Remove From Roll checklist: the head teacher checks the grounds and signs it" in (
        result.output
    )
    assert "Shanice Clarke: no postal address" in result.output


@needs_soffice
def test_running_twice_the_same_day_makes_nothing_new_and_says_so(
    demo_day: tuple[Result, Path], tmp_path: Path
) -> None:
    first, shared = demo_day
    out = _copy(shared, tmp_path)
    runner = CliRunner()
    assert 0 == first.exit_code
    config = out / "mergekit.toml"
    before = _files(out / RUN)
    again = runner.invoke(main, ["run", "--config", str(config)], catch_exceptions=False)
    assert 0 == again.exit_code, again.output
    assert "Nothing new since the last run today" in again.output
    assert "2. Plan       0 new actions for today" in again.output
    after = _files(out / RUN)
    changed = {f for f in after if before.get(f) != after[f]}
    # The work list and the dry-run outbox are rewritten; no document is made again.
    assert not {f for f in changed if f.startswith(("docx/", "pdf/"))}
    assert set(before) == set(after)


def test_demo_refuses_to_overwrite_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert 1 == result.exit_code
    assert "already exists - the demo never overwrites anything" in result.output
    assert ["mine.txt"] == [p.name for p in out.iterdir()]


def test_run_stops_before_making_anything_when_check_finds_school_wide_errors(
    example_school: Path,
) -> None:
    school = example_school.parent
    broken = Path(__file__).parents[1] / "data" / "broken" / "wrong_headers.xlsx"
    shutil.copy(broken, school / "tracking.xlsx")
    result = CliRunner().invoke(main, ["run", "--config", str(example_school)])
    assert 1 == result.exit_code
    assert "missing column" in result.output
    assert "Stopped: fix the errors above, then run again (nothing was made)." in result.output
    assert not (school / "out").exists()
    assert not (school / "mergekit-ledger.sqlite").exists()


def test_without_libreoffice_documents_are_made_and_the_fix_is_explained(
    example_school: Path,
) -> None:
    text = example_school.read_text(encoding="utf-8")
    example_school.write_text(
        text + '\n[pdf]\nsoffice = "/nonexistent/soffice"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        main, ["run", "--config", str(example_school)], catch_exceptions=False
    )
    assert 0 == result.exit_code, result.output
    assert "5. PDFs       not made: LibreOffice is not installed" in result.output
    assert "apt-get install libreoffice-writer-nogui" in result.output
    run = example_school.parent / RUN
    assert 25 == len(list((run / "docx").glob("*.docx")))
    assert not (run / "print-pack.pdf").exists()


@needs_soffice
def test_run_send_delivers_to_a_real_server(example_school: Path) -> None:
    with SmtpServer().start() as server:
        text = example_school.read_text(encoding="utf-8").replace(
            "port = 8025", f"port = {server.port}"
        )
        example_school.write_text(text, encoding="utf-8")
        runner = CliRunner()
        first = runner.invoke(
            main, ["run", "--config", str(example_school), "--send"], catch_exceptions=False
        )
        assert 0 == first.exit_code, first.output
        assert 1 == server.count()  # a real send starts with one message until --limit all
        rest = runner.invoke(
            main,
            ["run", "--config", str(example_school), "--send", "--limit", "all"],
            catch_exceptions=False,
        )
        assert 0 == rest.exit_code, rest.output
        total = server.count()
        assert len(set(server.message_ids())) == total  # nothing sent twice
        again = runner.invoke(
            main,
            ["run", "--config", str(example_school), "--send", "--limit", "all"],
            catch_exceptions=False,
        )
        assert 0 == again.exit_code
        assert total == server.count()


@needs_soffice
def test_demo_leaves_its_letters_and_ledger_readable_by_the_owner_only(
    demo_day: tuple[Result, Path],
) -> None:
    """Issue 17 point 7 on a whole day: every file of the run folder (letters, PDFs, print
    pack, outbox, work list) and the ledger 0600, every folder mergekit made 0700, and no
    temp file left. (The test process's umask is the usual 022; tests/core/test_data_at_rest.py
    sets it explicitly in a subprocess.)"""
    import stat

    _, out = demo_day
    made = [out / "out", *(out / "out").rglob("*"), *out.glob("*.sqlite*")]
    assert any(p.suffix == ".pdf" for p in made)
    assert any(p.suffix == ".eml" for p in made)
    loose = {
        p.relative_to(out).as_posix(): oct(stat.S_IMODE(p.stat().st_mode))
        for p in made
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    }
    assert loose == {}
    assert not [p for p in made if p.name.startswith(".mergekit-tmp-")]
