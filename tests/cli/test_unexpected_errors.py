"""A bug never prints pupil data: the terminal gets the error's kind and place in mergekit's
code, the full traceback goes to an owner-only report file in the current folder."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES

from mergekit.cli.base import MergekitGroup
from mergekit.core.errors import WorkbookError
from mergekit.read import values

SECRET = "Amelia Okonkwo-Reyes A123456789012"


@click.group(cls=MergekitGroup)
def app() -> None:
    pass


@app.command()
def buggy() -> None:
    # A fault whose message quotes the pupil it was working on.
    raise KeyError(f"no attendance row for {SECRET}")


class _Cell:
    """A cell value whose text cannot be made, with a message quoting the pupil."""

    def __str__(self) -> str:
        raise ValueError(f"cannot show {SECRET}")


@app.command()
def library_call() -> None:
    values.text(_Cell())


@app.command()
def explained() -> None:
    raise WorkbookError("tracking.xlsx, sheet Pupils, row 4, column UPN: not a UPN - correct it")


@app.command()
def stopped() -> None:
    raise click.Abort()


def test_an_unexpected_error_prints_its_kind_and_place_but_never_its_message(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(app, ["buggy"])
    assert result.exit_code == 1
    assert SECRET not in result.output
    assert "Amelia" not in result.output
    first = result.output.splitlines()[0]
    # Raised outside mergekit's own package (here, by the test's command): no place to name.
    assert first == (
        "Error: mergekit stopped on an unexpected error: KeyError in outside mergekit's code."
    )
    assert "Traceback" not in result.output
    assert "carries on from there" in result.output


def test_the_place_named_is_the_innermost_line_of_mergekit_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["library-call"])
    assert result.exit_code == 1
    assert SECRET not in result.output
    first = result.output.splitlines()[0]
    assert first.startswith("Error: mergekit stopped on an unexpected error: ValueError in ")
    assert " in mergekit/read/values.py line " in first
    assert first.endswith("(text).")


def test_the_full_traceback_is_kept_in_an_owner_only_report_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["buggy"])
    reports = list(tmp_path.glob("mergekit-error-*.txt"))
    assert len(reports) == 1
    assert str(reports[0]) in result.output
    assert stat.S_IMODE(reports[0].stat().st_mode) == 0o600
    text = reports[0].read_text()
    assert SECRET in text
    assert "Traceback (most recent call last)" in text
    assert "KeyError" in text


def test_a_folder_that_cannot_be_written_still_gives_the_safe_summary(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        folder.rmdir()  # the current folder removed under us (a share unmounted)
        result = CliRunner().invoke(app, ["buggy"])
    assert result.exit_code == 1
    assert SECRET not in result.output
    assert "Run it again with MERGEKIT_DEBUG=1 set to see the details" in result.output
    assert list(tmp_path.glob("**/mergekit-error-*")) == []


def test_mergekit_debug_shows_the_whole_traceback_for_developers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MERGEKIT_DEBUG", "1")
    result = CliRunner().invoke(app, ["buggy"])
    assert isinstance(result.exception, KeyError)
    assert SECRET in str(result.exception)


def test_explained_errors_and_aborts_are_unchanged(tmp_path: Path) -> None:
    explained = CliRunner().invoke(app, ["explained"])
    assert explained.exit_code == 1
    assert explained.output == (
        "Error: tracking.xlsx, sheet Pupils, row 4, column UPN: not a UPN - correct it\n"
    )
    aborted = CliRunner().invoke(app, ["stopped"])
    assert aborted.exit_code == 1
    assert aborted.output == "Aborted!\n"
    assert list(tmp_path.glob("mergekit-error-*.txt")) == []


def test_output_cut_short_by_its_reader_is_a_quiet_exit_not_a_fault(tmp_path: Path) -> None:
    """`mergekit fields | head`: the reader closes the pipe first; no error report, no
    traceback, and the exit code says the output was not all written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mergekit", "fields", "--config", str(EXAMPLES / "mergekit.toml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # before mergekit has written anything
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err == b""
    assert list(tmp_path.glob("mergekit-error-*")) == []
