"""The warning letters say what the school's settings say: at pa_threshold_percent = 95 a
letter reads "below 95%", never "below 90%" beside an attendance of 93.6%; under the DfE rule
(exactly the threshold counts) it reads "90% or below". On the example school, through
`mergekit letters`, the Word files read back."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from document_builders import docx_text

from mergekit.cli import main
from mergekit.core.config import load_config
from mergekit.merge.fields import policy_context


def with_policy(cfg: Path, **values: str) -> None:
    text = cfg.read_text(encoding="utf-8")
    for key, value in values.items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, key
    cfg.write_text(text, encoding="utf-8")


def letters(cfg: Path, *args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["letters", "--config", str(cfg), *args])
    assert result.exit_code == 0, result.output
    folder = cfg.parent / "out" / "2026-11-27" / "docx"
    return {p.name: docx_text(p) for p in sorted(folder.glob("*_pa_letter_*.docx"))}


def test_at_95_percent_the_letters_say_below_95(example_school: Path) -> None:
    with_policy(example_school, pa_threshold_percent="95")
    made = letters(example_school)
    assert len(made) > 17  # more pupils are below 95% than below 90%
    for name, text in made.items():
        assert "below 95%" in text, name
        assert "below 90%" not in text, name
        shown = re.search(r"attendance has been (\d+\.\d+)%", text)
        assert shown is not None, name
        assert float(shown.group(1)) < 95, name
    some = [t for t in made.values() if re.search(r"has been 9[0-4]\.\d%", t)]
    assert some, "a pupil between 90% and 95% gets a letter saying below 95%"
    first = next(t for n, t in made.items() if n.endswith("_pa_letter_1.docx"))
    assert "attendance below 95%" in first  # the heading
    assert "In England, a pupil who misses 10% or more of their school sessions" in first


def test_under_the_dfe_rule_exactly_the_threshold_counts(example_school: Path) -> None:
    with_policy(example_school, pa_rule='"dfe"')
    made = letters(example_school, "--only", "pa_letter_2")
    assert made
    for name, text in made.items():
        assert "still 90% or below" in text, name
        assert "below 90%" not in text, name


def test_policy_fields_are_written_as_a_letter_prints_them(example_school: Path) -> None:
    with_policy(example_school, pa_threshold_percent="92.5")
    fields = policy_context(load_config(example_school))
    assert fields["pa_threshold_percent"] == "92.5"
    assert fields["below_threshold"] == "below 92.5%"
    assert fields["penalty_threshold_sessions"] == 10
    listed = CliRunner().invoke(main, ["fields", "--config", str(example_school)])
    assert "policy.below_threshold" in listed.output
