"""Every setting a template or email prints must be filled in, and not still what `mergekit
init` wrote, before a document is made: the error names the key (and, for a misspelt key,
says "did you mean"). The templates are read to find the settings, so a school's own template
is held to what it prints. The example school's own example.org / example.gov.uk addresses are
real values there, not placeholders."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner, Result
from document_builders import docx_text

from mergekit.cli import main
from mergekit.core.actions import DOCUMENT_ACTIONS
from mergekit.core.config import load_config
from mergekit.merge.settingscheck import printed_settings, setting_problems, settings_used


def cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def config_errors(cfg: Path) -> list[str]:
    result = cli("check", "--config", str(cfg), "--json")
    return [
        p["text"]
        for p in json.loads(result.stdout)["problems"]
        if p["group"] == "config" and p["severity"] == "error"
    ]


def test_the_starter_config_fails_check_naming_each_setting(tmp_path: Path) -> None:
    assert cli("init", str(tmp_path)).exit_code == 0
    errors = config_errors(tmp_path / "mergekit.toml")
    named = {e.split(": ", 1)[1].split(" is ", 1)[0].split(" = ", 1)[0] for e in errors}
    assert named >= {
        "[school] name",
        "[school] address",
        "[school] phone",
        "[school] head_teacher",
        "[school] attendance_officer",
        "[council] name",
        "[council] cme_email",
    }
    name = next(e for e in errors if "[school] name" in e)
    assert name.startswith('mergekit.toml line 9: [school] name = "Your School Name" is the ')
    assert "placeholder `mergekit init` wrote" in name
    assert name.endswith("- put your own in mergekit.toml")
    cme = next(e for e in errors if "[council] cme_email" in e)
    assert '"cme@your-council.example.gov.uk" is the placeholder' in cme
    assert "cme_referral, remove_from_roll and planned_move templates print it" in cme
    head = next(e for e in errors if "[school] head_teacher " in e)
    assert "[school] head_teacher is empty, but the pa_letter_2, pa_letter_3, remove_from_roll" in (
        head
    )


def test_the_example_school_has_every_printed_setting_filled_in(example_school: Path) -> None:
    assert config_errors(example_school) == []
    settings = load_config(example_school)
    assert settings.council.cme_email == "cme@example.gov.uk"  # invented, but its own value
    assert setting_problems(settings, DOCUMENT_ACTIONS) == []


def misspell_head_teacher(cfg: Path) -> None:
    text = cfg.read_text(encoding="utf-8")
    assert 'head_teacher = "Mrs Helen Marsh"' in text
    cfg.write_text(text.replace("head_teacher = ", "head_teachr = ", 1), encoding="utf-8")


def test_a_misspelt_key_is_an_error_with_did_you_mean(example_school: Path) -> None:
    misspell_head_teacher(example_school)
    result = cli("check", "--config", str(example_school))
    assert result.exit_code == 1
    assert (
        "  error   mergekit.toml: [school] head_teacher is empty, but the pa_letter_2, "
        "pa_letter_3, remove_from_roll and planned_move templates print it: they are not made "
        "until it is filled in (line 10 has 'head_teachr': did you mean 'head_teacher'?) - set "
        "it in mergekit.toml"
    ) in result.output.splitlines()


def test_letters_that_print_a_blank_setting_are_held_and_the_others_made(
    example_school: Path,
) -> None:
    misspell_head_teacher(example_school)
    result = cli("letters", "--config", str(example_school))
    assert result.exit_code == 1
    out = result.output
    assert "Not made until the settings are filled in (7):" in out  # 5 letters 2, 2 letters 3
    assert "[school] head_teacher is empty" in out
    run = example_school.parent / "out" / "2026-11-27"
    made = sorted(p.name for p in (run / "docx").glob("*.docx"))
    assert len(made) == 10
    assert all(name.endswith("_pa_letter_1.docx") for name in made)
    for name in made:  # the letters made have no hole where a setting goes
        text = docx_text(run / "docx" / name)
        assert "Ms Priya Lal" in text
        assert "  or " not in text
    # Filled in, the held letters are made (nothing else was recorded for them).
    cfg = example_school.read_text(encoding="utf-8")
    example_school.write_text(cfg.replace("head_teachr = ", "head_teacher = "), encoding="utf-8")
    again = cli("letters", "--config", str(example_school))
    assert again.exit_code == 0, again.output
    letter_3 = next((run / "docx").glob("*_pa_letter_3.docx"))
    assert "arrange a meeting with Mrs Helen Marsh or a senior member of staff" in docx_text(
        letter_3
    )


# ---------------------------------------------------------------------------------------------
# What counts as printed


def printed(source: str) -> set[str]:
    return printed_settings(jinja2.Environment().parse(source))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Dear {{ school.head_teacher }}", {"school.head_teacher"}),
        ("{{ school.attendance_officer_title|lower }}", {"school.attendance_officer_title"}),
        ("{% if school.urn %}URN {{ school.urn }}{% endif %}", set()),
        ("{{ school.attendance_officer or 'the office' }}", set()),
        ("{{ school.attendance_officer_phone or school.phone }}", {"school.phone"}),
        ("{{ school.website|default('') }}", set()),
        ("{% for line in school.address_lines %}{{ line }}{% endfor %}", {"school.address"}),
        ("{{ council.name if council.name else 'the council' }}", set()),
        ("{% if pupil.sen %}{{ council.cme_team }}{% endif %}", {"council.cme_team"}),
        ("{{ pupil.forename }} {{ policy.pa_threshold_percent }}", set()),
    ],
)
def test_a_setting_counts_as_printed_unless_the_template_guards_it(
    source: str, expected: set[str]
) -> None:
    assert printed(source) == expected


def test_a_schools_own_template_is_held_to_what_it_prints(example_school: Path) -> None:
    settings = load_config(example_school)
    assert "pa_letter_1" not in settings_used(settings, ["pa_letter_1"]).get("school.dsl", [])
    own = example_school.parent / "templates" / "email"
    own.mkdir(parents=True)
    (own / "pa_letter.subject.txt").write_text("Attendance", encoding="utf-8")
    (own / "pa_letter.txt").write_text(
        "{% include '_sign.txt' %}", encoding="utf-8"
    )  # the DSL, through an include
    (own / "_sign.txt").write_text("Safeguarding: {{ school.dsl }}", encoding="utf-8")
    text = example_school.read_text(encoding="utf-8")
    example_school.write_text(
        text.replace('dsl = "Mr Daniel Osei"', 'dsl = ""').replace(
            "[files]\n", '[files]\ntemplates = "templates"\n'
        ),
        encoding="utf-8",
    )
    settings = load_config(example_school)
    assert settings_used(settings, ["pa_letter_1"])["school.dsl"] == ["pa_letter_1"]
    (problem,) = [p for p in setting_problems(settings, ["pa_letter_1"]) if p.key == "school.dsl"]
    assert problem.actions == ("pa_letter_1",)


def test_a_day_1_notice_whose_email_prints_a_blank_setting_is_not_written(
    example_school: Path,
) -> None:
    text = example_school.read_text(encoding="utf-8")
    example_school.write_text(text.replace('dsl = "Mr Daniel Osei"', 'dsl = ""'), encoding="utf-8")
    outbox = example_school.parent / "out" / "2026-11-27" / "outbox"
    outbox.parent.mkdir(parents=True)  # the day's run folder, before any document is made
    result = cli("send", "--config", str(example_school))
    assert result.exit_code == 0, result.output
    assert (
        "[school] dsl is empty, but the vulnerable_day1_contact template prints it: it is not "
        "made until it is filled in - set it in mergekit.toml - the day-1 notices were not "
        "written"
    ) in result.output
    assert not list(outbox.glob("*vulnerable_day1_contact*"))
    # Filled in, the same send writes the four notices the plan lists.
    example_school.write_text(text, encoding="utf-8")
    assert cli("send", "--config", str(example_school)).exit_code == 0
    assert len(list(outbox.glob("*vulnerable_day1_contact*"))) == 4
