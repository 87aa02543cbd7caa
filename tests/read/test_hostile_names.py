"""Hostile names (issue 17.3): a 300-character surname, control characters, line breaks, RTL
text and emoji are cleaned or refused per pupil at `check`, the cell named; never a traceback,
never the whole day; the terminal never receives a raw control character."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from policy_builders import (
    FILLED_IN_SETTINGS,
    TODAY,
    School,
    present_days,
    pupil,
    school_folder,
    ytd,
)

from mergekit.cli import main
from mergekit.core.model import Person as _P

LONG = "Longname" * 38  # 304 characters


def hostile_school(tmp_path: Path) -> Path:
    s = School()
    s.add(pupil(1, surname=LONG), ytd(TODAY, 100, 80))
    s.add(pupil(2, forename="\u202eRed\tRose"), ytd(TODAY, 100, 80))
    s.add(
        pupil(
            3,
            surname="Haddad",
            forename="مريم",
            flags=frozenset({"looked_after"}),
            social_worker=_P("Ms Sam\nWorker", "", "01632 960 111"),
        ),
        present_days(date(2026, 11, 2), TODAY) | {TODAY: ("N", "N")},
    )
    s.add(pupil(4, surname="Cohen", forename="נועה 🌟"), ytd(TODAY, 100, 80))
    # A bidi override inside a word, a zero-width space, and a Persian name whose
    # zero-width non-joiner is part of its spelling.
    s.add(pupil(5, forename="Li\u202eam", surname="Rez\u200ba"), ytd(TODAY, 100, 80))
    s.add(
        pupil(6, forename="\u0645\u0647\u200c\u0633\u0627", surname="Karimi"), ytd(TODAY, 100, 80)
    )
    cfg = school_folder(tmp_path / "school", s.data(), extra='[pdf]\nsoffice = "/x/soffice"\n')
    text = cfg.read_text(encoding="utf-8").replace('[school]\nname = "Testbridge School"\n', "")
    cfg.write_text(FILLED_IN_SETTINGS + text, encoding="utf-8")
    return cfg


def test_check_cleans_or_refuses_each_name_naming_the_cell(tmp_path: Path) -> None:
    cfg = hostile_school(tmp_path)
    r = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    assert r.exit_code == 1
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "\u202e" not in r.output
    assert "Pupils!B2 (Legal Surname): the name is 304 characters long" in r.output
    assert "Pupils!C3 (Legal Forename): control characters or line breaks removed" in r.output
    assert "Fix first: 1 pupil" in r.output
    assert pupil(1).upn in r.output.split("Fix first")[1]


def test_the_day_goes_on_for_everyone_else_without_a_traceback(tmp_path: Path) -> None:
    cfg = hostile_school(tmp_path)
    r = CliRunner().invoke(main, ["plan", "--config", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [s["upn"] for s in doc["skipped"]] == [pupil(1).upn]
    names = {a["upn"]: a["name"] for a in doc["actions"]}
    assert names[pupil(2).upn] == "Red Rose Testperson002"
    assert names[pupil(4).upn] == "נועה 🌟 Cohen"
    assert names[pupil(5).upn] == "Liam Reza"  # invisible characters go without a gap
    assert names[pupil(6).upn] == "\u0645\u0647\u200c\u0633\u0627 Karimi"  # ZWNJ kept
    sw = next(a for a in doc["actions"] if a["action"] == "vulnerable_day1_contact")
    assert "Ms Sam Worker" in sw["reason"]
    r = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    docx = cfg.parent / "out" / "2026-11-27" / "docx"
    made = [p.name for p in docx.glob("*.docx")]
    assert made
    assert not [n for n in made if pupil(1).upn in n]
