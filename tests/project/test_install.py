"""mergekit as a user gets it: built into a wheel, installed outside the repository, and
`mergekit demo` run in a folder that knows nothing of the checkout (templates and the example
school must ship inside the package)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, installed into a private folder (its dependencies
    are those of the running test environment)."""
    base = tmp_path_factory.mktemp("install")
    wheels = base / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("mergekit-*.whl")
    target = base / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return target


def test_the_wheel_ships_templates_and_the_example_school(installed: Path) -> None:
    bundled = installed / "mergekit" / "_bundled"
    for name in (
        "templates/docx/pa_letter_1.docx",
        "templates/pdf/cme_referral.pdf",
        "templates/pdf/fonts/DejaVuSans-mergekit.ttf",
        "templates/email/pa_letter.txt",
        "examples/mergekit.toml",
        "examples/tracking.xlsx",
        "examples/transfer_list.xlsx",
    ):
        assert (bundled / name).is_file(), name
    wheel_names = zipfile.ZipFile(next((installed.parent / "wheels").glob("*.whl"))).namelist()
    assert not [n for n in wheel_names if "/out/" in n or n.endswith(".sqlite")]


def test_demo_runs_from_an_installed_package_outside_the_repository(
    installed: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    where = subprocess.run(
        [sys.executable, "-c", "import mergekit; print(mergekit.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(installed))  # not the checkout's editable copy
    done = subprocess.run(
        [sys.executable, "-m", "mergekit", "demo"],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    run = tmp_path / "mergekit-demo" / "out" / "2026-11-27"
    assert 25 == len(list((run / "docx").glob("*.docx")))
    assert 25 == len(list((run / "pdf").glob("*.pdf")))
    assert (run / "print-pack.pdf").is_file()
    assert list((run / "outbox").glob("*.eml"))
