"""`mergekit templates copy` says exactly which line of mergekit.toml to add or change, and
following it to the letter gives a config that loads and uses the copied templates (adding a
second [files] table, the old advice, is a TOML error)."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mergekit.cli import main
from mergekit.core.config import load_config
from mergekit.core.setting_advice import how_to_set

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _follow(config: Path, advice: str) -> None:
    """Do what the advice says, as a person would in a text editor."""
    lines = config.read_text(encoding="utf-8").splitlines()
    wanted = [  # the lines to write: indented under the advice
        w.strip()
        for w in advice.splitlines()
        if w.startswith("  ") and ("=" in w or w.strip().startswith("["))
    ]
    if m := re.search(r"\(line (\d+)\): add this line under it", advice):
        lines[int(m.group(1)) : int(m.group(1))] = wanted
    elif m := re.search(r"\(line (\d+): .*\): change that line to", advice):
        lines[int(m.group(1)) - 1] = wanted[0]
    elif "add these two lines at the end" in advice:
        lines += wanted
    else:
        raise AssertionError(f"advice a person could not follow: {advice}")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def school(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "school"
    shutil.copytree(
        EXAMPLES, folder, ignore=shutil.ignore_patterns("out", "backups", "*.sqlite*", "~$*")
    )
    monkeypatch.chdir(folder)
    return folder / "mergekit.toml"


def test_copy_into_a_config_with_a_files_table_says_where_to_add_the_line(school: Path) -> None:
    text = school.read_text(encoding="utf-8")
    assert "[files]" in text
    with pytest.raises(tomllib.TOMLDecodeError, match=r"Cannot declare \('files',\) twice"):
        tomllib.loads(text + '\n[files]\ntemplates = "templates"\n')  # the old advice

    result = CliRunner().invoke(main, ["templates", "copy"])
    assert result.exit_code == 0, result.output
    line = text.splitlines().index("[files]") + 1
    assert f"mergekit.toml already has a [files] table (line {line}): add this line" in (
        result.output
    )
    assert '\n  templates = "templates"\n' in result.output
    _follow(school, result.output)
    settings = load_config(school)
    assert settings.files.templates == "templates"
    assert settings.files.tracking == "tracking.xlsx", "the rest of [files] is unchanged"
    assert "# mergekit settings for the example school" in school.read_text(encoding="utf-8")

    check = CliRunner().invoke(main, ["templates", "check"])
    assert check.exit_code == 0, check.output
    assert "pa_letter_1 (pa_letter_1.docx)" in check.output
    again = CliRunner().invoke(main, ["templates", "copy"])
    assert "0 templates copied. mergekit.toml already has [files] templates" in again.output


def test_a_templates_line_already_there_is_named_to_be_changed(tmp_path: Path) -> None:
    config = tmp_path / "mergekit.toml"
    config.write_text(
        '# ours\n[files]\ntracking = "t.xlsx"\n# our templates\ntemplates = ""  # none yet\n\n'
        '[school]\nname = "Northgate"\n',
        encoding="utf-8",
    )
    advice = how_to_set(config, "files", "templates", "ours")
    assert advice.text.startswith(
        'mergekit.toml already sets templates in its [files] table (line 5: templates = ""'
    )
    _follow(config, advice.text)
    assert load_config(config).files.templates == "ours"
    assert "# our templates" in config.read_text(encoding="utf-8")


def test_a_config_without_a_files_table_gets_both_lines(tmp_path: Path) -> None:
    config = tmp_path / "mergekit.toml"
    config.write_text('[school]\nname = "Northgate"\n', encoding="utf-8")
    advice = how_to_set(config, "files", "templates", "C:/School/templates")
    assert "has no [files] table: add these two lines at the end" in advice.text
    _follow(config, advice.text)
    assert load_config(config).files.templates == "C:/School/templates"


def test_other_spellings_of_the_files_table_are_pointed_at_not_guessed(tmp_path: Path) -> None:
    config = tmp_path / "mergekit.toml"
    config.write_text(
        '[school]\nname = "N"\n\n[other]\nfiles = 1\n', encoding="utf-8"
    )  # a key called files elsewhere is no [files] table
    assert "has no [files] table" in how_to_set(config, "files", "templates", "t").text
    config.write_text('files = { tracking = "t.xlsx" }\n', encoding="utf-8")
    advice = how_to_set(config, "files", "templates", "t")
    assert advice.text == 'mergekit.toml sets files in one line (line 1): add templates = "t" to it'


def test_nothing_to_do_when_already_set_and_a_missing_config_is_said(tmp_path: Path) -> None:
    config = tmp_path / "mergekit.toml"
    config.write_text('[files]\ntemplates = "t"\n', encoding="utf-8")
    advice = how_to_set(config, "files", "templates", "t")
    assert not advice.needed
    assert "nothing to change" in advice.text
    missing = how_to_set(tmp_path / "none.toml", "files", "templates", "t")
    assert "write it with `mergekit init`" in missing.text
