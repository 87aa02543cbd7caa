"""A strike (Approve = N in plan.xlsx) holds on later days until a person lifts it with a Y,
or the condition changes and the plan says so. On the example school: staff strike Aoife
Gallagher's first warning letter and Lily Chen's day-1 call on Thursday 26/11/2026; on Friday
27/11 the letter is still struck, and the call (a new day, a new occurrence) is planned again
with a note. The ledger is re-read with sqlite3 to see what was recorded."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES
from openpyxl import load_workbook
from policy_builders import (
    TODAY,
    School,
    calendar,
    coded,
    plan,
    policy,
    present_days,
    pupil,
    school_days,
)

from mergekit.cli import main
from mergekit.core.ledger import SCHEMA_VERSION, Ledger, StrikeRecord
from mergekit.core.model import Action
from mergekit.plan.planning import LAPSED, review_plan
from mergekit.plan.policy import letter_condition_since

AOIFE = "L331499916008"  # pa_letter_1 due on 26/11 and on 27/11
LILY = "U331499919008"  # N all day on 26/11 and on 27/11: a day-1 call each day
THURSDAY = "26/11/2026"


def cli(cfg: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, [*args[:1], "--config", str(cfg), *args[1:]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def set_approve(path: Path, marks: dict[tuple[str, str], str]) -> None:
    wb = load_workbook(path)
    ws = wb["Plan"]
    for row in ws.iter_rows(min_row=2):
        key = (row[0].value, row[4].value)
        if key in marks:
            row[7].value = marks[key]
    wb.save(path)


def strikes(cfg: Path) -> dict[str, tuple[str, str, str, str | None, str]]:
    """UPN -> (action, stage, day struck, day lifted, why), read back from the ledger."""
    conn = sqlite3.connect(cfg.parent / "mergekit-ledger.sqlite")
    try:
        rows = conn.execute(
            "SELECT upn, action, stage, day, lifted_day, lifted_why FROM strikes ORDER BY id"
        )
        return {r[0]: tuple(r[1:]) for r in rows}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def struck_on_thursday(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example school after Thursday's letters, with two actions struck in Thursday's
    plan.xlsx (the template every test copies)."""
    folder = tmp_path_factory.mktemp("strikes") / "school"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("out", "*.sqlite*"))
    cfg = folder / "mergekit.toml"
    review = folder / "out" / "2026-11-26" / "plan.xlsx"
    assert cli(cfg, "plan", "--today", THURSDAY, "--xlsx", str(review)).exit_code == 0
    set_approve(review, {(AOIFE, "pa_letter_1"): "N", (LILY, "first_day_contact"): "N"})
    done = cli(cfg, "letters", "--today", THURSDAY)
    assert done.exit_code == 0, done.output
    assert "Struck in the reviewed plan, not made (1):" in done.output
    return cfg


@pytest.fixture
def school(struck_on_thursday: Path, tmp_path: Path) -> Path:
    target = tmp_path / "school"
    shutil.copytree(struck_on_thursday.parent, target)
    return target / "mergekit.toml"


def test_the_first_command_that_honours_a_strike_records_it_with_its_stage(school: Path) -> None:
    assert strikes(school) == {
        AOIFE: ("pa_letter_1", "2026-27", "2026-11-26", None, ""),
        LILY: ("first_day_contact", "2026-11-26", "2026-11-26", None, ""),
    }
    shown = cli(school, "history", AOIFE).output
    assert "struck pa_letter_1: N in plan.xlsx on school day 26/11/2026 (stage 2026-27)" in shown


def test_a_struck_letter_is_not_made_on_the_next_day_and_it_says_so(school: Path) -> None:
    result = cli(school, "letters")
    assert result.exit_code == 0, result.output
    assert (
        f"  {AOIFE}  Aoife Gallagher              pa_letter_1  (struck on 26/11/2026; write Y "
        "in today's plan.xlsx to lift)"
    ) in result.output
    docx = school.parent / "out" / "2026-11-27" / "docx"
    assert not list(docx.glob(f"*{AOIFE}*")), "the struck letter was made"
    conn = sqlite3.connect(school.parent / "mergekit-ledger.sqlite")
    done = conn.execute("SELECT COUNT(*) FROM actions WHERE upn = ?", (AOIFE,)).fetchone()[0]
    conn.close()
    assert done == 0


def test_the_plan_shows_a_held_strike_and_its_json_leaves_it_out(school: Path) -> None:
    table = cli(school, "plan")
    line = next(x for x in table.stdout.splitlines() if AOIFE in x)
    assert line.endswith("[struck on 26/11/2026]")
    assert "1 action struck on an earlier day is still struck" in table.stderr
    doc = json.loads(cli(school, "plan", "--json").stdout)
    assert list(doc) == ["today", "actions", "skipped"]
    assert all(list(a) == ["upn", "name", "action", "reason", "evidence"] for a in doc["actions"])
    assert (AOIFE, "pa_letter_1") not in {(a["upn"], a["action"]) for a in doc["actions"]}
    assert (LILY, "first_day_contact") in {(a["upn"], a["action"]) for a in doc["actions"]}


def test_a_new_occurrence_is_planned_again_and_the_plan_says_why(school: Path) -> None:
    result = cli(school, "plan")
    assert (
        f"Note: {LILY} Lily Chen: first_day_contact was struck on 26/11/2026, but this is a new "
        "occurrence (stage 2026-11-27; the strike was for 2026-11-26), so it is planned again"
    ) in result.stderr
    line = next(x for x in result.stdout.splitlines() if LILY in x and "marked N" in x)
    assert "[struck" not in line
    # The next command that writes the ledger records that the old strike stopped holding,
    # and the note is still given for the rest of the day.
    assert cli(school, "letters").exit_code == 0
    assert strikes(school)[LILY][3:] == (
        "2026-11-27",
        f"{LAPSED}this is a new occurrence (stage 2026-11-27; the strike was for 2026-11-26)",
    )
    assert "Lily Chen: first_day_contact was struck on 26/11/2026" in cli(school, "plan").stderr


def test_writing_y_in_todays_plan_lifts_the_strike(school: Path) -> None:
    review = school.parent / "out" / "2026-11-27" / "plan.xlsx"
    assert cli(school, "plan", "--xlsx", str(review)).exit_code == 0
    rows = {
        (r[0], r[4]): (r[7], r[8])
        for r in load_workbook(review)["Plan"].iter_rows(min_row=2, values_only=True)
    }
    assert rows[(AOIFE, "pa_letter_1")] == (
        "N",
        "struck on 26/11/2026 and still struck: write Y to lift it",
    )
    assert rows[(LILY, "first_day_contact")][0] == "Y"
    set_approve(review, {(AOIFE, "pa_letter_1"): "Y"})
    result = cli(school, "letters")
    assert result.exit_code == 0, result.output
    assert list((school.parent / "out" / "2026-11-27" / "docx").glob(f"*{AOIFE}_pa_letter_1.docx"))
    assert strikes(school)[AOIFE] == (
        "pa_letter_1",
        "2026-27",
        "2026-11-26",
        "2026-11-27",
        "Y written in plan.xlsx",
    )


# ---------------------------------------------------------------------------------------------
# A letter's stage is the whole year: the strike stops holding when the pupil recovers and
# falls back (pure rules, on a small invented school).


def recovers_then_falls_back() -> tuple[School, str]:
    """Joined on 12/10; away 3-4 Nov (below 90% from 4/11), back above it from 16/11, away
    again from 24/11 (below again)."""
    s = School()
    marks = present_days(date(2026, 10, 12), TODAY)
    marks |= coded(school_days(date(2026, 11, 3), date(2026, 11, 4)), "I")
    marks |= coded(school_days(date(2026, 11, 24), TODAY), "I")
    return s, s.add(pupil(1), marks)


def below(marks: dict[date, tuple[str, str]], day: date) -> bool:
    sessions = [c for d, pair in marks.items() if d <= day for c in pair if c]
    return sum(c in "/\\" for c in sessions) * 10 < 9 * len(sessions)


def test_the_letter_condition_since_is_the_start_of_the_current_stretch_below() -> None:
    s, upn = recovers_then_falls_back()
    data = s.data()
    marks = dict(data.marks_of(upn))
    days = [d for d in calendar().days if date(2026, 10, 12) <= d <= TODAY]
    assert below(marks, date(2026, 11, 9))
    assert not below(marks, date(2026, 11, 20))
    stretch = []  # the school days below 90%, counting back from today
    for d in reversed(days):
        if not below(marks, d):
            break
        stretch.append(d)
    first_below_again = stretch[-1]
    assert first_below_again == date(2026, 11, 24)  # by construction, and by the oracle
    since = letter_condition_since(data, calendar(), policy(), upn, TODAY)
    assert since == first_below_again
    assert letter_condition_since(data, calendar(), policy(), upn, date(2026, 11, 20)) is None


def test_a_letter_strike_lapses_when_the_pupil_fell_below_again_after_it() -> None:
    s, upn = recovers_then_falls_back()
    data = s.data()
    today_plan = plan(data)
    letter = next(a for a in today_plan.actions if a.kind == "pa_letter_1")
    struck = StrikeRecord(
        1, upn, "pa_letter_1", letter.stage, "2026-27", date(2026, 11, 9), "", "plan.xlsx", "x"
    )

    def since(a: Action) -> date | None:
        return letter_condition_since(data, calendar(), policy(), a.upn, TODAY)

    lapsed = review_plan(today_plan, None, [struck], since)
    assert next(a for a in lapsed.plan.actions if a.key() == letter.key()).approved
    assert [s.key() for s, _ in lapsed.lapse] == [letter.key()]
    assert any("recovered after it was struck" in n for n in lapsed.plan.notes)
    # Struck on 25/11, inside the current stretch below: it still holds.
    held = review_plan(today_plan, None, [replace(struck, day=date(2026, 11, 25))], since)
    assert not next(a for a in held.plan.actions if a.key() == letter.key()).approved
    assert held.lapse == ()
    assert list(held.held) == [letter.key()]


def test_an_older_ledger_is_read_as_it_is_and_upgraded_when_written(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        run = ledger.start_run("test", TODAY)
        ledger.record_document(run, "A1", "docx", "out/a.docx", "ab" * 32)
    conn = sqlite3.connect(path)  # make it the schema-1 ledger an older mergekit wrote
    conn.executescript(
        "DROP TABLE strikes; ALTER TABLE documents DROP COLUMN replaced_by; "
        "PRAGMA user_version = 1;"
    )
    conn.close()
    old = Ledger.open_readonly(path)
    assert old is not None
    with old:
        assert old.version == 1
        assert old.strikes() == []
        assert [d.path for d in old.documents()] == ["out/a.docx"]
    with Ledger.open(path) as ledger:
        assert ledger.strikes() == []
        run = ledger.start_run("test", TODAY)
        again = ledger.record_document(run, "A1", "docx", "out/a.docx", "cd" * 32)
        assert [(d.sha256[:2], d.replaced_by) for d in ledger.documents()] == [
            ("ab", again),
            ("cd", None),
        ]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
