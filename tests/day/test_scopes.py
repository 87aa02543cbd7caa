"""Problems block only what depends on them (issue 11): on the example school with a pupil's
bad DOB, three stale N marks and a transfer list missing two checklist columns, `mergekit run`
does everyone else's work and lists the problems first. Real workbooks, read back."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from mergekit.cli import main
from mergekit.core.calendar import SchoolCalendar
from mergekit.core.config import load_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TODAY = date(2026, 11, 27)
BAD_DOB = "Z331499919405"  # Michał Dąbrowski: due letter 1 today in the example school


def _school_day_back(cfg: Path, n: int) -> date:
    cal = SchoolCalendar.from_settings(load_config(cfg).calendar)
    d = cal.back(TODAY, n)
    assert d is not None
    return d


def break_tracking(cfg: Path) -> list[tuple[str, date]]:
    """One pupil's DOB made impossible, three present marks turned into stale Ns."""
    path = cfg.parent / "tracking.xlsx"
    wb = load_workbook(path)
    students = wb["Students"]
    for row in students.iter_rows(min_row=5):
        if row[0].value == BAD_DOB:
            row[7].value = "31/02/2012"
    marks = wb["Attendance Marks"]
    stale: list[tuple[str, date]] = []
    days = {_school_day_back(cfg, n) for n in (9, 12, 15)}
    seen: set[str] = set()
    for row in marks.iter_rows(min_row=3):
        d = row[1].value
        d = d.date() if hasattr(d, "date") else d
        upn = row[0].value
        if d in days and row[2].value == "/" and upn not in seen and upn != BAD_DOB:
            row[2].value = "N"
            stale.append((upn, d))
            seen.add(upn)
            days.discard(d)
    wb.save(path)
    assert len(stale) == 3
    return stale


def break_transfer_list(cfg: Path) -> None:
    """Two Appendix B checklist columns deleted from the Off Roll tab."""
    path = cfg.parent / "transfer_list.xlsx"
    wb = load_workbook(path)
    ws = wb["Off Roll"]
    header = next(
        r for r in ws.iter_rows(min_row=1, max_row=10) if any(c.value == "NAME" for c in r)
    )
    cols = [
        c.column
        for c in header
        if isinstance(c.value, str) and c.value.upper().startswith(("AUTHORISED BY", "DATE AUTH"))
    ]
    assert len(cols) == 2
    for col in sorted(cols, reverse=True):
        ws.delete_cols(col)
    wb.save(path)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, date]]]:
    """Broken once per module (rewriting the example's 66,000 marks takes a while): the tests
    below only read it, or run the day after the plan test has read it."""
    import shutil

    examples = Path(__file__).resolve().parents[2] / "examples"
    target = tmp_path_factory.mktemp("broken") / "school"
    shutil.copytree(examples, target, ignore=shutil.ignore_patterns("out", "*.sqlite*", "~$*"))
    example_school = target / "mergekit.toml"
    text = example_school.read_text(encoding="utf-8")
    example_school.write_text(text + '\n[pdf]\nsoffice = "/nonexistent/soffice"\n', "utf-8")
    stale = break_tracking(example_school)
    break_transfer_list(example_school)
    return example_school, stale


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_check_exits_1_and_names_each_problem_with_its_scope(
    broken: tuple[Path, list[tuple[str, date]]],
) -> None:
    cfg, stale = broken
    code, out, _ = cli("check", "--config", str(cfg))
    assert code == 1
    assert "'31/02/2012' is not a date" in out
    assert "Fix first: 1 pupil kept out of letters and forms" in out
    assert "blocks only `mergekit offroll` writes" in out
    for upn, day in stale:
        line = next(x for x in out.splitlines() if upn in x and "still has an N" in x)
        assert line.strip().startswith("warning")
        assert f"{day:%d/%m/%Y}" in line
        assert "Attendance Marks!C" in line
    code, out, _ = cli("check", "--config", str(cfg), "--json")
    doc = json.loads(out)
    assert list(doc) == ["today", "ok", "counts", "errors", "warnings", "problems"]
    assert doc["ok"] is False


def test_plan_lists_the_pupil_first_and_plans_everyone_else(
    broken: tuple[Path, list[tuple[str, date]]],
) -> None:
    cfg, _ = broken
    code, out, err = cli("plan", "--config", str(cfg), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["today", "actions", "skipped"]
    assert [s["upn"] for s in doc["skipped"]] == [BAD_DOB]
    assert doc["skipped"][0]["name"] == "Michał Dąbrowski"
    assert "'31/02/2012' is not a date" in doc["skipped"][0]["reasons"][0]
    kinds = {(a["upn"], a["action"]) for a in doc["actions"]}
    assert (BAD_DOB, "pa_letter_1") not in kinds
    assert sum(1 for _, k in kinds if k == "pa_letter_1") == 9  # the other nine
    assert sum(1 for _, k in kinds if k == "cme_referral") == 4
    assert err.lstrip().startswith("Fix first: 1 pupil")
    assert "may be incomplete or wrong" not in err  # nothing school-wide is wrong
    _, _table, err = cli("plan", "--config", str(cfg))
    assert "Fix first" in err
    assert BAD_DOB in err


def test_run_does_everyone_elses_work_with_the_problems_first(
    broken: tuple[Path, list[tuple[str, date]]],
) -> None:
    cfg, stale = broken
    code, out, _ = cli("run", "--config", str(cfg))
    assert code == 1  # something is held back: a person must act first
    lines = [x for x in out.splitlines() if x.strip()]
    assert lines[1].startswith("Fix first: 1 pupil")
    assert "Stopped" not in out
    assert "blocks only `mergekit offroll` writes" in out
    docx = cfg.parent / "out" / "2026-11-27" / "docx"
    made = [p.name for p in docx.glob("*.docx")]
    assert made
    assert not [n for n in made if BAD_DOB in n]
    assert sum(1 for n in made if "pa_letter_1" in n) == 9
    wb = load_workbook(cfg.parent / "out" / "2026-11-27" / "worklist.xlsx")
    assert wb.sheetnames[:2] == ["Fix first", "Register"]
    fix = [r for r in wb["Fix first"].iter_rows(min_row=3, values_only=True) if r[0]]
    assert [r[0] for r in fix] == [BAD_DOB]
    register = [r for r in wb["Register"].iter_rows(min_row=3, values_only=True) if r[0]]
    assert sorted((r[0], r[2]) for r in register) == sorted((u, f"{d:%d/%m/%Y}") for u, d in stale)
    assert {r[6] for r in register} == {"recode to the reason, or O"}
    assert wb["Day 1 calls"].max_row > 3  # everyone else's calls are there


def test_send_builds_everyone_elses_emails_after_the_run(
    broken: tuple[Path, list[tuple[str, date]]],
) -> None:
    """`mergekit send` (a dry run) goes on past one pupil's bad row, as `run` did."""
    cfg, _ = broken
    code, out, err = cli("send", "--config", str(cfg))
    assert code == 0, out + err
    outbox = cfg.parent / "out" / "2026-11-27" / "outbox"
    emails = [p.name for p in outbox.rglob("*.eml")]
    assert emails
    assert not [n for n in emails if BAD_DOB in n]
    assert "error" not in err.lower()


def test_offroll_writes_are_refused_and_say_why(
    broken: tuple[Path, list[tuple[str, date]]],
) -> None:
    cfg, _ = broken
    before = (cfg.parent / "transfer_list.xlsx").read_bytes()
    r = CliRunner().invoke(
        main,
        [
            "offroll",
            "add",
            "A331499918013",
            "--config",
            str(cfg),
            "--leaving-date",
            "2026-11-27",
            "--reason",
            "Moved abroad",
        ],
    )
    assert r.exit_code != 0
    assert "nothing written - the transfer list has 2 errors" in r.output
    assert "Only `mergekit offroll` writes wait for this" in r.output
    assert (cfg.parent / "transfer_list.xlsx").read_bytes() == before
