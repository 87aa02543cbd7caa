"""`mergekit offroll`: the Remove From Roll checklist rules, the writes and the ledger."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES
from offroll_builders import (
    COLUMN,
    EXISTING,
    PUPILS,
    make_tracking,
    make_transfer_list,
    parts,
    school,
    sheet_cells,
    write_config,
)

from mergekit.cli import main
from mergekit.core.errors import WriteBackError
from mergekit.core.ledger import Ledger
from mergekit.core.model import Leaver, Pupil
from mergekit.core.workspace import open_workspace
from mergekit.read.transferlist import read_transfer_list
from mergekit.transfer.offroll import (
    StepDates,
    add_leaver,
    check_new_leaver,
    leaver_statuses,
    offroll_status,
    open_steps,
    plan_set,
    same_pupil,
    set_steps,
    year_group_text,
)
from mergekit.transfer.xlsx.workbook import XlsxWorkbook

TODAY = date(2026, 11, 27)
MAYA, OLIVER, AMIRA, THEO = (p[0] for p in PUPILS[:4])


def _leaver(**kw: object) -> Leaver:
    base: dict[str, object] = {
        "name": "Maya Ashworth",
        "row": 9,
        "date_of_leaving": date(2026, 11, 20),
    }
    return Leaver(**{**base, **kw})  # type: ignore[arg-type]


def _pupil(**kw: object) -> Pupil:
    base: dict[str, object] = {
        "upn": MAYA,
        "surname": "Ashworth",
        "forename": "Maya",
        "dob": date(2012, 3, 14),
    }
    return Pupil(**{**base, **kw})  # type: ignore[arg-type]


# -- the rules (pure) -------------------------------------------------------------------------


def test_steps_are_refused_until_the_head_teachers_authorisation_is_recorded() -> None:
    with pytest.raises(
        WriteBackError,
        match="data team emailed cannot be recorded before the head teacher's authorisation",
    ):
        plan_set(_leaver(), StepDates(data_team_emailed=TODAY), TODAY)
    changes, _ = plan_set(
        _leaver(),
        StepDates(
            authorised_by="Mrs Helen Marsh",
            date_authorised=date(2026, 11, 19),
            data_team_emailed=TODAY,
        ),
        TODAY,
    )
    assert changes == {
        "authorised_by": "Mrs Helen Marsh",
        "date_authorised": date(2026, 11, 19),
        "data_team_emailed": TODAY,
    }


def test_the_leaving_date_may_not_be_before_the_authorisation() -> None:
    with pytest.raises(WriteBackError, match="no retrospective deletion"):
        plan_set(
            _leaver(),
            StepDates(authorised_by="Mrs Marsh", date_authorised=date(2026, 11, 24)),
            TODAY,
        )
    # Before the authorisation is recorded the leaving date can be corrected with it.
    changes, _ = plan_set(
        _leaver(),
        StepDates(
            authorised_by="Mrs Marsh",
            date_authorised=date(2026, 11, 24),
            date_of_leaving=date(2026, 11, 25),
        ),
        TODAY,
    )
    assert changes["date_of_leaving"] == date(2026, 11, 25)


def test_the_leaving_date_is_final_once_authorised() -> None:
    authorised = _leaver(authorised_by="Mrs Marsh", date_authorised=date(2026, 11, 18))
    with pytest.raises(WriteBackError, match="final once the head teacher's authorisation"):
        plan_set(authorised, StepDates(date_of_leaving=date(2026, 11, 21)), TODAY, replace=True)


def test_a_step_cannot_be_dated_before_its_authorisation() -> None:
    authorised = _leaver(authorised_by="Mrs Marsh", date_authorised=date(2026, 11, 18))
    with pytest.raises(WriteBackError, match="transfer list updated on 17/11/2026 would be before"):
        plan_set(authorised, StepDates(transfer_list_updated=date(2026, 11, 17)), TODAY)
    # Moving an authorisation after a step already recorded is caught the same way.
    emailed = _leaver(
        authorised_by="Mrs Marsh",
        date_authorised=date(2026, 11, 10),
        data_team_emailed=date(2026, 11, 12),
    )
    with pytest.raises(WriteBackError, match="data team emailed on 12/11/2026 would be before"):
        plan_set(emailed, StepDates(date_authorised=date(2026, 11, 13)), TODAY, replace=True)


def test_admissions_are_informed_only_once_the_child_has_left() -> None:
    authorised = _leaver(authorised_by="Mrs Marsh", date_authorised=date(2026, 11, 18))
    with pytest.raises(
        WriteBackError,
        match="admissions informed on 19/11/2026 would be before the date of leaving",
    ):
        plan_set(authorised, StepDates(admissions_informed=date(2026, 11, 19)), TODAY)
    changes, _ = plan_set(authorised, StepDates(admissions_informed=date(2026, 11, 20)), TODAY)
    assert changes == {"admissions_informed": date(2026, 11, 20)}


def test_future_dates_and_dates_before_admission_are_refused() -> None:
    authorised = _leaver(authorised_by="Mrs Marsh", date_authorised=date(2026, 11, 18))
    with pytest.raises(WriteBackError, match="is in the future"):
        plan_set(authorised, StepDates(data_team_emailed=date(2026, 11, 30)), TODAY)
    with pytest.raises(WriteBackError, match="before the pupil's admission on 19/11/2026"):
        plan_set(
            _leaver(),
            StepDates(authorised_by="Mrs Marsh", date_authorised=date(2026, 11, 18)),
            TODAY,
            admission=date(2026, 11, 19),
        )
    with pytest.raises(WriteBackError, match="date of leaving 30/11/2026 is in the future"):
        check_new_leaver(_pupil(), date(2026, 11, 30), "Moved", TODAY, [])
    with pytest.raises(WriteBackError, match="before the pupil's admission"):
        check_new_leaver(
            _pupil(admission_date=date(2026, 11, 1)), date(2026, 10, 30), "Moved", TODAY, []
        )


def test_recorded_values_are_kept_unless_replace_is_asked() -> None:
    done = _leaver(
        authorised_by="Mrs Marsh",
        date_authorised=date(2026, 11, 18),
        data_team_emailed=date(2026, 11, 19),
    )
    with pytest.raises(WriteBackError, match=r"already recorded as 19/11/2026 .* --replace"):
        plan_set(done, StepDates(data_team_emailed=date(2026, 11, 20)), TODAY)
    changes, unchanged = plan_set(done, StepDates(data_team_emailed=date(2026, 11, 19)), TODAY)
    assert (changes, unchanged) == ({}, ("data_team_emailed",))
    changes, _ = plan_set(
        done, StepDates(data_team_emailed=date(2026, 11, 20)), TODAY, replace=True
    )
    assert changes == {"data_team_emailed": date(2026, 11, 20)}


def test_authorisation_needs_a_name_and_a_date() -> None:
    with pytest.raises(WriteBackError, match="add --authorised-by NAME"):
        plan_set(_leaver(), StepDates(date_authorised=date(2026, 11, 18)), TODAY)


def test_a_pupil_already_on_the_tab_is_refused() -> None:
    with pytest.raises(WriteBackError, match="already on the Off Roll tab \\(row 9\\)"):
        check_new_leaver(_pupil(), date(2026, 11, 20), "Moved", TODAY, [_leaver()])


def test_rows_match_a_pupil_by_name_forms_and_dob() -> None:
    pupil = _pupil(middle_names="Rose")
    assert same_pupil(_leaver(name="ASHWORTH, Maya", dob=date(2012, 3, 14)), pupil)
    assert same_pupil(_leaver(name="Maya Rose Ashworth"), pupil)
    assert not same_pupil(_leaver(name="Maya Ashworth", dob=date(2013, 3, 14)), pupil)
    assert not same_pupil(_leaver(name="Mia Ashworth"), pupil)


def test_year_group_text_reads_like_the_checklist() -> None:
    assert year_group_text(_pupil(year=9, reg_group="9KM")) == "Y9 / 9KM"
    assert year_group_text(_pupil(year=0, reg_group="RB")) == "YR / RB"
    assert year_group_text(_pupil(reg_group="9KM")) == "9KM"


def test_status_lists_open_steps_oldest_first_and_flags_overdue() -> None:
    from mergekit.core.calendar import SchoolCalendar
    from mergekit.core.config import Term

    calendar = SchoolCalendar([Term(date(2026, 9, 1), date(2026, 12, 18))], bank_holidays=False)
    leavers = [
        _leaver(row=5, date_of_leaving=date(2026, 11, 20)),
        _leaver(
            row=6,
            date_of_leaving=date(2026, 11, 6),
            authorised_by="Mrs M",
            date_authorised=date(2026, 11, 5),
        ),
        _leaver(
            row=7,
            date_of_leaving=date(2026, 10, 1),
            authorised_by="Mrs M",
            date_authorised=date(2026, 10, 1),
            data_team_emailed=date(2026, 10, 1),
            transfer_list_updated=date(2026, 10, 1),
            admissions_informed=date(2026, 10, 2),
        ),
    ]
    statuses, estimated = leaver_statuses(leavers, calendar, TODAY, overdue_after=10)
    assert not estimated
    assert [s.leaver.row for s in statuses] == [6, 5]
    assert statuses[0].school_days == 15
    assert statuses[0].overdue
    assert statuses[0].open_steps == (
        "data_team_emailed",
        "transfer_list_updated",
        "admissions_informed",
    )
    assert statuses[1].school_days == 5
    assert not statuses[1].overdue
    assert open_steps(leavers[2]) == ()


# -- the operations on a real workbook --------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return school(tmp_path / "school")


def _ws(config: Path):  # type: ignore[no-untyped-def]
    return open_workspace(config)


def test_add_writes_the_pupils_row_below_the_last_leaver(config: Path) -> None:
    path = config.parent / "transfer_list.xlsx"
    before = parts(path)
    done = add_leaver(_ws(config), THEO, date(2026, 11, 25), "Moved to Wales", clock=lambda: TODAY)
    row = 4 + len(EXISTING)
    assert done.row == row
    assert {c.cell for c in done.changes} == {
        f"{COLUMN[f]}{row}"
        for f in ("name", "upn", "dob", "year_group", "date_of_leaving", "reason")
    }
    ws = openpyxl.load_workbook(path)["Off Roll"]
    assert [ws[f"{c}{row}"].value for c in "ABDF"] == [
        "Theo Dunmore",
        THEO,
        "Y9 / 9KM",
        "Moved to Wales",
    ]
    assert ws[f"C{row}"].value.date() == date(2012, 1, 20)
    assert ws[f"E{row}"].value.date() == date(2026, 11, 25)
    assert ws[f"E{row}"].number_format == "DD/MM/YYYY"
    after = parts(path)
    changed = {n for n in after if after[n] != before[n]}
    assert changed == {XlsxWorkbook.open(path).sheet_info("Off Roll").part}
    assert done.backup is not None
    assert done.backup.parent == config.parent / "backups"
    assert done.backup.read_bytes() != path.read_bytes()


def test_add_fills_a_preformatted_empty_row_keeping_its_formats(tmp_path: Path) -> None:
    config = school(tmp_path / "s", blank_styled_rows=5)
    path = config.parent / "transfer_list.xlsx"
    done = add_leaver(_ws(config), THEO, date(2026, 11, 25), "Moved", clock=lambda: TODAY)
    assert done.row == 7
    ws = openpyxl.load_workbook(path)["Off Roll"]
    assert ws["A7"].value == "Theo Dunmore"
    assert ws["A7"].fill.fgColor.rgb == ws["A8"].fill.fgColor.rgb == "FFFFF2CC"


def test_add_refuses_when_the_row_under_the_last_leaver_holds_something(config: Path) -> None:
    path = config.parent / "transfer_list.xlsx"
    book = XlsxWorkbook.open(path)
    book.worksheet("Off Roll").set("K7", "note: two more leavers to add")
    book.save()
    before = path.read_bytes()
    with pytest.raises(WriteBackError, match="row 7, under the last leaver, is not empty"):
        add_leaver(_ws(config), THEO, date(2026, 11, 25), "Moved")
    assert path.read_bytes() == before


def test_add_refuses_a_pupil_already_there_and_an_unknown_upn(config: Path) -> None:
    with pytest.raises(WriteBackError, match="already on the Off Roll tab \\(row 5\\)"):
        add_leaver(_ws(config), OLIVER, date(2026, 11, 25), "Moved")
    with pytest.raises(WriteBackError, match="no pupil with UPN"):
        add_leaver(_ws(config), "A999999999999", date(2026, 11, 25), "Moved")


def test_without_a_upn_column_rows_are_matched_by_name_and_dob(tmp_path: Path) -> None:
    config = school(tmp_path / "s", upn_column=False)
    with pytest.raises(WriteBackError, match="already on the Off Roll tab"):
        add_leaver(_ws(config), OLIVER, date(2026, 11, 25), "Moved")
    done = set_steps(
        _ws(config), OLIVER, StepDates(data_team_emailed=date(2026, 11, 9)), clock=lambda: TODAY
    )
    assert [(c.cell, c.new) for c in done.changes] == [("H5", "09/11/2026")]


def test_set_fills_several_cells_in_one_write_and_records_them(config: Path) -> None:
    path = config.parent / "transfer_list.xlsx"
    before = path.read_bytes()
    request = StepDates(
        authorised_by="Mrs Helen Marsh",
        date_authorised=date(2026, 11, 19),
        data_team_emailed=date(2026, 11, 23),
        transfer_list_updated=TODAY,
    )
    done = set_steps(_ws(config), AMIRA, request, clock=lambda: TODAY)
    assert [c.cell for c in done.changes] == ["G6", "H6", "I6", "J6"]
    ws = openpyxl.load_workbook(path)["Off Roll"]
    assert ws["G6"].value == "Mrs Helen Marsh"
    assert [ws[f"{c}6"].value.date() for c in "HIJ"] == [
        date(2026, 11, 19),
        date(2026, 11, 23),
        TODAY,
    ]
    assert ws["K6"].value is None
    backups = list((config.parent / "backups").iterdir())
    assert len(backups) == 1
    assert backups[0].read_bytes() == before
    with Ledger.open(config.parent / "ledger.sqlite") as ledger:
        history = [h.detail for h in ledger.history(AMIRA)]
    assert any("Off Roll!H6 date_authorised = '19/11/2026'" in h for h in history)
    assert sum("transfer_list.xlsx Off Roll!" in h for h in history) == 4


def test_set_on_a_step_before_authorisation_changes_nothing(config: Path) -> None:
    path = config.parent / "transfer_list.xlsx"
    before = path.read_bytes()
    with pytest.raises(WriteBackError, match="before the head teacher's authorisation"):
        set_steps(_ws(config), AMIRA, StepDates(data_team_emailed=TODAY))
    assert path.read_bytes() == before
    assert not (config.parent / "backups").exists()


def test_the_excel_lock_file_refuses_before_anything_is_read(config: Path) -> None:
    (config.parent / "~$transfer_list.xlsx").write_bytes(b"someone")
    with pytest.raises(WriteBackError, match="close the workbook in Excel and run again"):
        add_leaver(_ws(config), THEO, date(2026, 11, 25), "Moved")


def test_status_reads_the_tab(config: Path) -> None:
    report = offroll_status(_ws(config))
    assert [s.leaver.name for s in report.open] == ["Oliver Brennan", "Amira Chowdhury"]
    assert report.overdue[0].leaver.name == "Oliver Brennan"  # left 06/11: 15 school days ago


def test_written_values_re_read_with_the_reader(config: Path) -> None:
    add_leaver(_ws(config), THEO, date(2026, 11, 25), "@home education", clock=lambda: TODAY)
    ws = _ws(config)
    tl = read_transfer_list(ws.settings)
    theo = next(x for x in tl.leavers if x.upn == THEO)
    assert (theo.dob, theo.date_of_leaving, theo.reason) == (
        date(2012, 1, 20),
        date(2026, 11, 25),
        "@home education",
    )
    cells = sheet_cells(parts(tl.path)[XlsxWorkbook.open(tl.path).sheet_info("Off Roll").part])
    assert b"inlineStr" in cells[f"F{theo.row}"]


# -- the command line -------------------------------------------------------------------------


def test_cli_add_set_status_and_exit_codes(config: Path) -> None:
    runner = CliRunner()
    c = ["--config", str(config)]
    r = runner.invoke(
        main, ["offroll", "add", THEO, "--leaving-date", "25/11/2026", "--reason", "Moved", *c]
    )
    assert r.exit_code == 0, r.output
    assert "Added Theo Dunmore" in r.output
    assert "Off Roll row 7" in r.output
    r = runner.invoke(
        main, ["offroll", "add", THEO, "--leaving-date", "25/11/2026", "--reason", "Moved", *c]
    )
    assert r.exit_code == 1
    assert "already on the Off Roll tab (row 7)" in r.output
    r = runner.invoke(main, ["offroll", "set", THEO, "--data-team-emailed", *c])
    assert r.exit_code == 1
    assert "Error:" in r.output
    assert "authorisation" in r.output
    r = runner.invoke(
        main,
        [
            "offroll",
            "set",
            THEO,
            "--authorised-by",
            "Mrs Helen Marsh",
            "--authorised-date",
            "24/11/2026",
            "--data-team-emailed",
            *c,
        ],
    )
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(config.parent / "transfer_list.xlsx")["Off Roll"]
    assert ws["I7"].value.date() == TODAY  # "--data-team-emailed" alone: the workspace's today
    r = runner.invoke(main, ["offroll", "set", THEO, "--data-team-emailed", "27/11/2026", *c])
    assert r.exit_code == 0
    assert "Nothing to change" in r.output
    r = runner.invoke(main, ["offroll", "set", THEO, "--admissions-informed", "31/02/2026", *c])
    assert r.exit_code == 2
    assert "is not a date" in r.output
    r = runner.invoke(main, ["history", THEO, *c])
    assert r.exit_code == 0, r.output
    assert (
        "transfer list: transfer_list.xlsx Off Roll!I7 data_team_emailed = '27/11/2026'" in r.output
    )
    r = runner.invoke(main, ["offroll", "status", *c])
    assert r.exit_code == 1  # Oliver left 15 school days ago with steps open
    assert (
        r.output.index("Oliver Brennan")
        < r.output.index("Amira Chowdhury")
        < r.output.index("Theo Dunmore")
    )
    assert "OVERDUE" in r.output


def test_cli_status_exits_0_when_nothing_is_overdue(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    make_tracking(folder / "tracking.xlsx")
    make_transfer_list(folder / "transfer_list.xlsx")
    config = write_config(folder, today="2026-11-10")  # Oliver left 4 school days before
    r = CliRunner().invoke(main, ["offroll", "status", "--config", str(config)])
    assert r.exit_code == 0, r.output
    assert "0 overdue" in r.output


# -- the example school ----------------------------------------------------------------------


@pytest.mark.skipif(
    not (EXAMPLES / "transfer_list.xlsx").is_file(),
    reason="examples/transfer_list.xlsx not generated yet",
)
def test_the_example_transfer_list_keeps_everything_but_the_new_row(example_school: Path) -> None:
    ws = open_workspace(example_school)
    tl = read_transfer_list(ws.settings)
    from mergekit.read.tracking import read_tracking

    pupils = read_tracking(ws.settings).data.pupils
    on_tab = {x.upn for x in tl.leavers} | {x.name for x in tl.leavers}
    pupil = next(
        p
        for p in pupils.values()
        if p.upn not in on_tab
        and p.legal_name not in on_tab
        and (p.admission_date or date.min) < date(2026, 11, 20)
    )
    path = tl.path
    before = parts(path)
    part = XlsxWorkbook.open(path).sheet_info(tl.sheet).part
    done = add_leaver(ws, pupil.upn, date(2026, 11, 20), "=Moved abroad", clock=lambda: TODAY)
    after = parts(path)
    assert {n for n in after if after[n] != before[n]} <= {part, "xl/styles.xml"}
    old, new = sheet_cells(before[part]), sheet_cells(after[part])
    written = {c.cell for c in done.changes}
    # The example keeps empty, pre-formatted cells below its list: only written ones may differ.
    assert {k: v for k, v in old.items() if k not in written} == {
        k: v for k, v in new.items() if k not in written
    }
    again = read_transfer_list(ws.settings)
    added = next(x for x in again.leavers if x.row == done.row)
    assert (added.date_of_leaving, added.reason) == (date(2026, 11, 20), "=Moved abroad")
    shutil.rmtree(example_school.parent / "backups", ignore_errors=True)


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.skipif(
    not (EXAMPLES / "transfer_list.xlsx").is_file(),
    reason="examples/transfer_list.xlsx not generated yet",
)
def test_the_written_example_opens_in_libreoffice(example_school: Path, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    ws = open_workspace(example_school)
    tl = read_transfer_list(ws.settings)
    from mergekit.read.tracking import read_tracking

    taken = {x.upn for x in tl.leavers} | {x.name for x in tl.leavers}
    pupil = next(
        p
        for p in read_tracking(ws.settings).data.pupils.values()
        if p.upn not in taken and p.legal_name not in taken
        and (p.admission_date or date.min) < date(2026, 11, 20)
    )  # fmt: skip
    add_leaver(ws, pupil.upn, date(2026, 11, 20), "Moved abroad", clock=lambda: TODAY)
    out = tmp_path / "csv"
    csv_filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", csv_filter, "--outdir", str(out), str(tl.path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = (out / f"{tl.path.stem}-{tl.sheet}.csv").read_text(encoding="utf-8")
    assert f"{pupil.legal_name}," in text
    assert "20/11/2026,Moved abroad" in text
