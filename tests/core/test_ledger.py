"""The ledger: all-or-nothing writes, refusing a newer schema, idempotent records, read-only
opening, and what the plan learns from it."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from policy_builders import TODAY, School, actions, plan, pupil, single, ytd

from mergekit.core.errors import LedgerError
from mergekit.core.ledger import SCHEMA_VERSION, Ledger
from mergekit.plan.planning import load_history, record_actions


def count(path: Path, table: str = "actions") -> int:
    """Rows seen by a second, independent connection."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_a_crash_inside_a_transaction_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        run = ledger.start_run("test", TODAY)
        ledger.record_action(run, "A1", "pa_letter_1", "2026-27", "2026-27", TODAY)

        def crash_half_way() -> None:
            with ledger.transaction() as c:
                c.execute(
                    "INSERT INTO actions (run_id, upn, action, stage, academic_year, day, "
                    "created_at) VALUES (?, 'A2', 'pa_letter_1', '2026-27', '2026-27', ?, 'x')",
                    (run, TODAY.isoformat()),
                )
                assert count(path) == 1  # not visible to others before commit
                raise RuntimeError("power cut")

        with pytest.raises(RuntimeError, match="power cut"):
            crash_half_way()
        assert count(path) == 1
        assert [a.upn for a in ledger.actions()] == ["A1"]


def test_a_batch_is_recorded_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        run = ledger.start_run("test", TODAY)
        rows = [
            (run, "A1", "pa_letter_1", "2026-27", "2026-27", TODAY, "", {}),
            (run + 99, "A2", "pa_letter_1", "2026-27", "2026-27", TODAY, "", {}),  # no such run
        ]
        with pytest.raises(sqlite3.IntegrityError):
            ledger.record_actions(rows)
    assert count(path) == 0


def test_a_ledger_from_a_newer_mergekit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    for opener in (Ledger.open, Ledger.open_readonly):
        with pytest.raises(LedgerError, match="written by a newer mergekit") as err:
            opener(path)
        assert "upgrade mergekit" in str(err.value)


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_text("this is a spreadsheet, honest")
    with pytest.raises(LedgerError, match="not a mergekit ledger"):
        Ledger.open_readonly(path)


def test_an_empty_ledger_file_is_an_empty_history(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    sqlite3.connect(path).close()  # a 0-byte file, as a failed first run might leave
    assert Ledger.open_readonly(path) is None


def test_record_action_is_idempotent(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        run = ledger.start_run("test", TODAY)
        first = ledger.record_action(run, "A1", "cme_inform", "2026-11-20", "2026-27", TODAY)
        again = ledger.record_action(run, "A1", "cme_inform", "2026-11-20", "2026-27", TODAY)
        other = ledger.record_action(run, "A1", "cme_inform", "2026-11-23", "2026-27", TODAY)
        assert first == again != other
        assert len(ledger.actions()) == 2


def test_open_readonly_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    ledger = Ledger.open_readonly(path)
    assert ledger is not None
    with ledger, pytest.raises(LedgerError, match="could not save to the ledger"):
        ledger.start_run("test", TODAY)


def test_recorded_plan_becomes_history(tmp_path: Path) -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 80))
    data = s.data()
    first = plan(data)
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        run = ledger.start_run("test", TODAY)
        ids = record_actions(ledger, run, first.actions, TODAY)
        assert set(ids) == {a.key() for a in first.actions}
        history = load_history(ledger, data, TODAY)
    assert history.letters == {upn: {1: TODAY}}
    assert single(actions(first, "pa_letter_1")).key() in history.done
    assert plan(data, history=history).actions == ()
    # Fifteen school days later the next letter is due, and says when letter 1 went.
    later = date(2026, 12, 18)
    a = single(actions(plan(data, later, history=history), "pa_letter_2"))
    assert a.reason.endswith("letter 1 sent 27/11/2026")


def test_struck_actions_are_not_recorded(tmp_path: Path) -> None:
    from dataclasses import replace

    s = School()
    s.add(pupil(1), ytd(TODAY, 100, 80))
    s.add(pupil(2), ytd(TODAY, 100, 80))
    p = plan(s.data())
    struck = replace(p.actions[0], approved=False)
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        run = ledger.start_run("test", TODAY)
        ids = record_actions(ledger, run, [struck, p.actions[1]], TODAY)
        assert list(ids) == [p.actions[1].key()]
        assert [a.upn for a in ledger.actions()] == [p.actions[1].upn]


def test_history_merges_ledger_and_workbook_letters_keeping_the_later_date(
    tmp_path: Path,
) -> None:
    s = School()
    upn = s.add(pupil(1), ytd(TODAY, 100, 80))
    s.letter(upn, 1, date(2026, 10, 2))
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        run = ledger.start_run("test", date(2026, 10, 5))
        ledger.record_action(run, upn, "pa_letter_1", "2026-27", "2026-27", date(2026, 10, 5))
        ledger.record_action(run, upn, "pa_letter_2", "2025-26", "2025-26", date(2026, 3, 5))
        history = load_history(ledger, s.data(), TODAY)
    assert history.letters == {upn: {1: date(2026, 10, 5)}}
