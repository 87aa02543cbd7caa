"""The example school: reproducible from its generator, clean under `mergekit check`, and each
scenario pupil named in examples/README.md really has the marks, letters and contacts that make
their case (counted here on the school calendar, independently of the generator)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from mergekit.cli import main
from mergekit.core.actions import ACTIONS
from mergekit.core.attendance import PRESENT, UNAUTHORISED, UNEXPLAINED, count_sessions
from mergekit.core.calendar import SchoolCalendar
from mergekit.core.config import Settings, load_config
from mergekit.core.model import EventKind, Pupil, SchoolData
from mergekit.read.tracking import read_tracking

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPT = ROOT / "scripts" / "make_example_school.py"
TODAY = date(2026, 11, 27)
YEAR_START = date(2026, 9, 1)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_example_school", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def sheet_values(path: Path) -> Iterator[tuple[str, Sequence[Sequence[object]]]]:
    # calamine reads the 1.5 MB tracking workbook in a tenth of openpyxl's time; the
    # generator writes no formulas, so cell values are the whole content compared.
    wb = CalamineWorkbook.from_path(str(path))
    for name in wb.sheet_names:
        yield name, wb.get_sheet_by_name(name).to_python()


# The generator (scripts/, which coverage does not measure) and openpyxl do nearly all the work
# here; tracing their millions of calls for the coverage figure would double the test's time.
@pytest.mark.usefixtures("coverage_paused")
@pytest.mark.slow
def test_regenerating_reproduces_the_committed_workbooks_and_readme(tmp_path: Path) -> None:
    generator = load_generator()
    assert generator.main(["--out", str(tmp_path)]) == 0
    for name in ("tracking.xlsx", "transfer_list.xlsx"):
        committed = list(sheet_values(EXAMPLES / name))
        fresh = list(sheet_values(tmp_path / name))
        assert [t for t, _ in fresh] == [t for t, _ in committed], name
        for (title, want), (_, got) in zip(committed, fresh, strict=True):
            assert len(got) == len(want), f"{name}!{title}: row count"
            for row, (a, b) in enumerate(zip(want, got, strict=True), start=1):
                assert a == b, f"{name}!{title} row {row}"
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert readme == (EXAMPLES / "README.md").read_text(encoding="utf-8")


def test_check_finds_no_errors_and_only_the_deliberate_address_warning(
    example_school: Path,
) -> None:
    result = CliRunner().invoke(main, ["check", "--config", str(example_school), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["errors"] == 0
    warnings = [p for p in report["problems"] if p["severity"] == "warning"]
    assert len(warnings) == 1
    assert SCENARIOS["no_postal_address"].upn in warnings[0]["message"]
    assert report["counts"]["pupils"] > 1200


def test_check_prints_a_clean_summary(example_school: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--config", str(example_school)])
    assert result.exit_code == 0, result.output
    assert "0 errors, 1 warning" in result.output


# ---------------------------------------------------------------------------------------------
# The scenario table in examples/README.md


class Row:
    def __init__(self, case: str, upn: str, name: str, actions: tuple[str, ...]) -> None:
        self.case, self.upn, self.name, self.actions = case, upn, name, actions


def readme_scenarios() -> dict[str, Row]:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    table = text.split("## The scenario pupils", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, Row] = {}
    for line in table.splitlines():
        m = re.match(r"^\| `(\w+)` \| (\w{13}) \| ([^|]+) \| [^|]+ \| ([^|]+) \|", line)
        if m:
            actions = tuple(re.findall(r"`(\w+)`", m.group(4)))
            rows[m.group(1)] = Row(m.group(1), m.group(2), m.group(3).strip(), actions)
    return rows


SCENARIOS = readme_scenarios()


@pytest.fixture(scope="module")
def school() -> tuple[Settings, SchoolCalendar, SchoolData]:
    settings = load_config(EXAMPLES / "mergekit.toml")
    result = read_tracking(settings)
    assert not result.errors
    return settings, SchoolCalendar.from_settings(settings.calendar), result.data


def test_readme_lists_a_pupil_for_every_rule_of_the_policy() -> None:
    fired = {a for row in SCENARIOS.values() for a in row.actions}
    assert fired == set(ACTIONS)
    assert len(SCENARIOS) >= 30


def test_the_calendar_has_55_school_days_up_to_the_example_day(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    settings, cal, data = school
    days = cal.between(YEAR_START, TODAY)
    assert len(days) == 55
    assert settings.run.today == TODAY
    full_term = data.marks_of(SCENARIOS["first_day_contact"].upn)
    assert sorted(full_term) == list(days)


def test_every_scenario_pupil_is_on_the_pupils_sheet_under_the_readme_name(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    _, _, data = school
    for row in SCENARIOS.values():
        pupil = data.pupils[row.upn]
        assert pupil.full_name == row.name, row.case


def run_of_unexplained(marks: dict[date, tuple[str, str]], cal: SchoolCalendar) -> list[date]:
    run: list[date] = []
    for day in reversed(cal.between(YEAR_START, TODAY)):
        am, pm = marks.get(day, ("", ""))
        if am not in UNEXPLAINED or pm not in UNEXPLAINED:
            break
        run.append(day)
    return run[::-1]


class Facts:
    """What the workbook says about one scenario pupil, counted on the school calendar."""

    def __init__(self, case: str, school: tuple[Settings, SchoolCalendar, SchoolData]) -> None:
        _, self.cal, self.data = school
        self.upn = SCENARIOS[case].upn
        self.pupil: Pupil = self.data.pupils[self.upn]
        self.marks = dict(self.data.marks_of(self.upn))
        self.today = self.marks.get(TODAY, ("", ""))
        self.ytd = count_sessions(self.marks, YEAR_START, TODAY)
        self.letters = [x for x in self.data.letters.get(self.upn, ()) if x.date_sent >= YEAR_START]
        self.old_letters = [
            x for x in self.data.letters.get(self.upn, ()) if x.date_sent < YEAR_START
        ]
        self.log = self.data.contact_log.get(self.upn, ())
        self.run = run_of_unexplained(self.marks, self.cal)
        self.events = self.data.events.get(self.upn, ())

    def since_last_letter(self) -> int:
        return self.cal.school_days_after(self.letters[-1].date_sent, TODAY)

    def unauthorised(self, start: date, end: date) -> int:
        return count_sessions(self.marks, start, end).unauthorised

    def contact_made_since_run_began(self) -> bool:
        return any(e.contact_made and self.run[0] <= e.date <= TODAY for e in self.log)


def get(school: tuple[Settings, SchoolCalendar, SchoolData], case: str) -> Facts:
    return Facts(case, school)


def test_first_day_pupils_have_n_today(school: tuple[Settings, SchoolCalendar, SchoolData]) -> None:
    assert get(school, "first_day_contact").today == ("N", "N")
    assert get(school, "first_day_contact_pm").today == ("/", "N")
    da_only = get(school, "da_notification_only")
    assert da_only.today == ("N", "N")
    assert "domestic_abuse_notification" in da_only.pupil.flags
    assert "early_help" not in da_only.pupil.flags


def test_vulnerable_pupils_are_absent_today_and_have_a_worker_to_call(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    lac = get(school, "vulnerable_looked_after")
    assert lac.pupil.has("looked_after")
    assert lac.today == ("I", "I")
    assert lac.pupil.social_worker.email.endswith("@example.gov.uk")
    cp = get(school, "vulnerable_cp_plan")
    assert cp.pupil.has("child_protection_plan")
    assert cp.today == ("N", "N")
    assert any(c.no_contact for c in cp.data.contacts_of(cp.upn))
    da = get(school, "vulnerable_da_early_help")
    assert {"domestic_abuse_notification", "early_help"} <= da.pupil.flags
    assert da.today == ("N", "N")
    assert da.pupil.key_worker.phone
    cin = get(school, "vulnerable_cin_pm")
    assert cin.pupil.has("child_in_need_plan")
    assert cin.today == ("/", "M")


def test_letter_scenarios_sit_on_the_edges_of_the_rules(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    first = get(school, "pa_letter_1")
    assert (first.ytd.present, first.ytd.possible) == (98, 110)
    assert not first.letters
    joiner = get(school, "exactly_90_joiner")
    assert joiner.pupil.admission_date == date(2026, 9, 10)
    assert min(joiner.marks) == date(2026, 9, 10)
    assert (joiner.ytd.present, joiner.ytd.possible) == (90, 100)
    newcomer = get(school, "new_joiner_under_20_sessions")
    assert newcomer.ytd.possible == 18
    assert newcomer.upn[-1].isalpha()  # a temporary UPN
    second = get(school, "pa_letter_2")
    assert [x.letter for x in second.letters] == ["pa_letter_1"]
    assert second.since_last_letter() == 15
    assert second.ytd.present * 10 < second.ytd.possible * 9
    waiting = get(school, "letter_2_not_due")
    assert waiting.since_last_letter() == 14
    assert waiting.ytd.present * 10 < waiting.ytd.possible * 9
    third = get(school, "pa_letter_3")
    assert [x.letter for x in third.letters] == ["pa_letter_1", "pa_letter_2"]
    assert third.since_last_letter() >= 15
    done = get(school, "all_letters_sent")
    assert [x.letter for x in done.letters] == ["pa_letter_1", "pa_letter_2", "pa_letter_3"]
    recovered = get(school, "recovered")
    assert len(recovered.letters) == 1
    assert recovered.ytd.present * 10 >= recovered.ytd.possible * 9
    last_year = get(school, "letters_last_year")
    assert not last_year.letters
    assert len(last_year.old_letters) == 3


def test_alert_scenarios_have_the_numbers_that_trigger_them(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    _, cal, _ = school
    severe = get(school, "severe_absence")
    assert severe.ytd.absent * 2 == severe.ytd.possible  # exactly 50%
    window = cal.last_school_weeks(TODAY, 10)
    assert window == (date(2026, 9, 14), TODAY)
    holiday = get(school, "penalty_notice_threshold")
    assert holiday.unauthorised(*window) == 10
    assert {c for day, pair in holiday.marks.items() for c in pair if c in UNAUTHORISED} == {"G"}
    nine = get(school, "penalty_nine_in_window")
    assert nine.unauthorised(*window) == 9
    assert nine.unauthorised(YEAR_START, TODAY) == 10
    drop = get(school, "attendance_drop")
    recent_start = cal.back(TODAY, 19)
    assert recent_start == date(2026, 10, 23)
    before = count_sessions(drop.marks, YEAR_START, date(2026, 10, 22))
    recent = count_sessions(drop.marks, recent_start, TODAY)
    assert (before.present, before.possible) == (70, 70)
    assert (recent.present, recent.possible) == (32, 40)
    assert drop.ytd.present * 10 >= drop.ytd.possible * 9


def test_cme_scenarios_have_runs_of_the_right_length_and_no_contact(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    for case, length in (
        ("cme_inform", 5),
        ("cme_referral", 10),
        ("cme_referral_sibling", 10),
        ("remove_from_roll", 22),
        ("remove_from_roll_closure", 30),
    ):
        f = get(school, case)
        assert len(f.run) == length, case
        assert f.run[-1] == TODAY
        assert not f.contact_made_since_run_began(), case
    assert len(get(school, "run_of_4").run) == 4
    reached = get(school, "contact_made_day_4")
    assert len(reached.run) == 8
    made = [e.date for e in reached.log if e.contact_made]
    assert made == [reached.run[3]]  # the fourth day of the run


def test_long_runs_cross_half_term_inset_and_the_closure(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    _, cal, _ = school
    run = get(school, "remove_from_roll").run
    assert run[0] == date(2026, 10, 21)
    assert date(2026, 11, 2) not in run
    assert not cal.is_school_day(date(2026, 11, 2))
    assert not cal.is_school_day(date(2026, 10, 28))  # half term
    closure = get(school, "remove_from_roll_closure").run
    assert closure[0] == date(2026, 10, 8)
    assert cal.why_not(date(2026, 10, 9)) == "closure"


def test_cme_referral_siblings_share_their_parents(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    _, _, data = school
    sister, brother = SCENARIOS["cme_referral"].upn, SCENARIOS["cme_referral_sibling"].upn
    assert brother in {p.upn for p in data.siblings_of(sister)}
    assert sister in {p.upn for p in data.siblings_of(brother)}


def test_event_scenarios_are_recorded(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    move = get(school, "planned_move").events
    assert [e.kind for e in move] == [EventKind.PLANNED_MOVE]
    abroad = get(school, "planned_move_abroad").events
    assert [(e.kind, e.new_country) for e in abroad] == [(EventKind.PLANNED_MOVE, "Portugal")]
    ehe = get(school, "home_education").events
    assert [e.kind for e in ehe] == [EventKind.HOME_EDUCATION]


def test_pupils_no_rule_applies_to(school: tuple[Settings, SchoolCalendar, SchoolData]) -> None:
    sixth = get(school, "sixth_form")
    assert sixth.pupil.year == 12
    assert len(sixth.run) >= 5
    assert sixth.ytd.present * 10 < sixth.ytd.possible * 9
    dual = get(school, "dual_registered")
    wednesdays = [d for d in dual.marks if d.weekday() == 2]
    assert all(dual.marks[d] == ("D", "D") for d in wednesdays)
    assert (dual.ytd.present, dual.ytd.possible) == (80, 88)
    assert all(c in PRESENT or c in {"D", "I"} for pair in dual.marks.values() for c in pair)


def test_the_no_address_pupil_has_nobody_to_post_to(
    school: tuple[Settings, SchoolCalendar, SchoolData],
) -> None:
    _, _, data = school
    f = get(school, "no_postal_address")
    contacts = data.contacts_of(f.upn)
    assert contacts
    assert not any(c.receives_letters and c.address.is_postable for c in contacts)
    assert any(c.email for c in contacts)
