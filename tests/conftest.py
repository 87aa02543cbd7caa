"""Shared fixtures: hermetic environment, the example school in a temp folder, real-world files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TEMPLATES = ROOT / "templates"
# Real workbooks, PDFs and Word files no one here wrote; never copied into the repo.
REALWORLD = ROOT.parent / "shared" / "realworld"

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)


def realworld(kind: str) -> list[Path]:
    """Files of one kind (xlsx, pdf, docx) from ../shared/realworld, or skip saying why."""
    folder = REALWORLD / kind
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent: the real-world {kind} files live outside the repo")
    return sorted(p for p in folder.iterdir() if p.is_file())


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the user's environment or writes to the current folder."""
    import os

    for name in list(os.environ):
        if name.startswith("MERGEKIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def coverage_paused() -> Iterator[None]:
    """Coverage tracing paused for one test (none when coverage is not running: --no-cov).
    pytest-cov's own no_cover marker fails under --no-cov, so the test suite does this itself."""
    import coverage

    cov = coverage.Coverage.current()
    if cov is None:
        yield
        return
    cov.stop()
    try:
        yield
    finally:
        cov.start()


@pytest.fixture
def example_school(tmp_path: Path) -> Path:
    """A private copy of examples/ (config, workbooks); returns the mergekit.toml path."""
    target = tmp_path / "school"
    shutil.copytree(
        EXAMPLES, target, ignore=shutil.ignore_patterns("out", "backups", "*.sqlite*", "~$*")
    )
    return target / "mergekit.toml"
