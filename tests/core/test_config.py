"""mergekit.toml: types checked with key and line, unknown keys warned with "did you mean",
paths relative to the file, and a starter file / reference generated from the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mergekit.cli import main
from mergekit.core.config import find_config, load_config
from mergekit.core.errors import ConfigError
from mergekit.core.starter import config_reference, starter_toml

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mergekit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_without_warnings() -> None:
    s = load_config(ROOT / "examples" / "mergekit.toml")
    assert () == s.warnings
    assert "cme@example.gov.uk" == s.council.cme_email
    assert "Northgate Park Attendance <attendance@northgate.example.org>" == s.mail.from_


def test_unknown_key_is_a_warning_with_did_you_mean(tmp_path: Path) -> None:
    s = load_config(
        _write(tmp_path, '[school]\nname = "X"\n\n[policy]\npa_treshold_percent = 85\n')
    )
    (w,) = s.warnings
    assert str(w) == (
        "mergekit.toml line 5: unknown key 'pa_treshold_percent' in [policy] - "
        "did you mean 'pa_threshold_percent'?"
    )
    assert 90.0 == s.policy.pa_threshold_percent


def test_wrong_types_are_errors_naming_key_and_line(tmp_path: Path) -> None:
    text = (
        '[school]\nname = "X"\n[policy]\ncme_inform_days = "five"\n'
        '[calendar]\ninset_days = [2026-09-01, "2026-09-02"]\n'
    )
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, text))
    message = str(e.value)
    assert "mergekit.toml line 4: policy.cme_inform_days = 'five' is not a whole number" in message
    assert "mergekit.toml line 6: calendar.inset_days = '2026-09-02' is not a date" in message


def test_missing_required_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[school\] needs 'name'"):
        load_config(_write(tmp_path, '[school]\nphone = "1"\n'))


def test_values_that_parse_but_cannot_be_right_are_errors(tmp_path: Path) -> None:
    text = (
        '[school]\nname = "X"\n[policy]\npa_rule = "strict"\n'
        'vulnerable_flags = ["looked_afte"]\n[calendar]\n'
        "terms = [{ start = 2026-09-10, end = 2026-09-01 }]\n"
    )
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, text))
    message = str(e.value)
    assert 'pa_rule must be "policy" or "dfe"' in message
    assert "unknown flag 'looked_afte' - did you mean 'looked_after'?" in message
    assert "term 1 ends (2026-09-01) before it starts (2026-09-10)" in message


def test_missing_workbook_is_an_error_naming_key_and_line(tmp_path: Path) -> None:
    s = load_config(_write(tmp_path, '[school]\nname = "X"\n[files]\ntracking = "nope.xlsx"\n'))
    with pytest.raises(ConfigError) as e:
        s.require_file("tracking")
    assert str(e.value).startswith(
        "mergekit.toml line 4: [files] tracking = 'nope.xlsx': no such file"
    )


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    sub = tmp_path / "school"
    sub.mkdir()
    s = load_config(_write(sub, '[school]\nname = "X"\n[files]\noutput = "runs"\n'))
    assert sub / "runs" == s.output_dir


def test_config_is_found_in_the_current_folder_or_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --config PATH, or run `mergekit init`"):
        find_config(None, tmp_path)
    path = _write(tmp_path, '[school]\nname = "X"\n')
    assert path == find_config(None, tmp_path)


def test_bad_toml_syntax_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fix the TOML syntax"):
        load_config(_write(tmp_path, "[school\nname = X\n"))


def test_starter_file_loads_and_documents_every_section() -> None:
    text = starter_toml()
    for section in (
        "[school]",
        "[council]",
        "[files]",
        "[calendar]",
        "[policy]",
        "[mail]",
        "[pdf]",
        "# [columns.pupils]",
        "# [templates]",
        "# [forms.council_cme]",
    ):
        assert section in text


def test_starter_file_is_valid_config(tmp_path: Path) -> None:
    s = load_config(_write(tmp_path, starter_toml()))
    assert () == s.warnings
    assert "Your School Name" == s.school.name


def test_init_writes_the_starter_and_never_overwrites(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["init", str(tmp_path / "school")])
    assert 0 == first.exit_code, first.output
    written = (tmp_path / "school" / "mergekit.toml").read_text(encoding="utf-8")
    assert written == starter_toml()
    again = runner.invoke(main, ["init", str(tmp_path / "school")])
    assert 1 == again.exit_code
    assert "already exists - mergekit init never overwrites" in again.output
    assert written == (tmp_path / "school" / "mergekit.toml").read_text(encoding="utf-8")


def test_docs_config_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert config_reference() == committed, (
        "docs/config.md is stale: run `python -m mergekit.core.starter > docs/config.md`"
    )


def test_docs_columns_reference_is_up_to_date() -> None:
    from mergekit.read.columns import reference_markdown

    committed = (ROOT / "docs" / "columns.md").read_text(encoding="utf-8")
    assert reference_markdown() == committed, (
        "docs/columns.md is stale: run `python -m mergekit.read.columns > docs/columns.md`"
    )
