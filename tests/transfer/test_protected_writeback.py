"""`mergekit offroll` writes into a password-protected transfer list and leaves it protected
with the same password (issue 11.5): decrypted only in memory, the backup the encrypted original,
a wrong or missing password a clear error that changes nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import msoffcrypto
import openpyxl
import pytest
from click.testing import CliRunner
from msoffcrypto.format.ooxml import OOXMLFile
from offroll_builders import EXISTING, PUPILS, school

from mergekit.cli import main
from mergekit.read.sheets import PASSWORD_ENV

PASSWORD = "Northgate-Off-Roll-2026"
THEO = PUPILS[3][0]
ADD = ["offroll", "add", THEO, "--leaving-date", "25/11/2026", "--reason", "Moved to Wales"]


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


def _encrypt(path: Path, password: str) -> None:
    out = io.BytesIO()
    with path.open("rb") as fh:
        OOXMLFile(fh).encrypt(password, out)
    path.write_bytes(out.getvalue())


def _is_encrypted(path: Path) -> bool:
    with path.open("rb") as fh:
        return bool(msoffcrypto.OfficeFile(fh).is_encrypted())


def _plain(data: bytes, password: str) -> bytes:
    out = io.BytesIO()
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password=password)
    office.decrypt(out)
    return out.getvalue()


def _decrypted(path: Path, password: str) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(_plain(path.read_bytes(), password)))


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _values(wb: openpyxl.Workbook) -> dict[str, list[tuple[object, ...]]]:
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


@pytest.fixture
def protected_school(tmp_path: Path) -> tuple[Path, Path, dict[str, list[tuple[object, ...]]]]:
    """(config, the protected transfer list, its cell values before any write)."""
    config = school(tmp_path / "school")
    path = config.parent / "transfer_list.xlsx"
    before = _values(openpyxl.load_workbook(path))
    _encrypt(path, PASSWORD)
    return config, path, before


def _folder_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_add_writes_the_row_and_the_workbook_stays_protected_with_the_same_password(
    protected_school: tuple[Path, Path, dict[str, list[tuple[object, ...]]]],
) -> None:
    config, path, before = protected_school
    original = path.read_bytes()
    files_before = _folder_files(config.parent)
    r = CliRunner().invoke(main, [*ADD, "--config", str(config)], env={PASSWORD_ENV: PASSWORD})
    assert r.exit_code == 0, r.output
    row = 4 + len(EXISTING)
    assert f"Off Roll row {row}" in r.output
    assert _is_encrypted(path)
    wb = _decrypted(path, PASSWORD)
    ws = wb["Off Roll"]
    assert [ws[f"{c}{row}"].value for c in "ABDF"] == [
        "Theo Dunmore",
        THEO,
        "Y9 / 9KM",
        "Moved to Wales",
    ]
    assert ws[f"E{row}"].number_format == "DD/MM/YYYY"
    after = _values(wb)
    assert after.keys() == before.keys()
    assert {t: rows for t, rows in after.items() if t != "Off Roll"} == {
        t: rows for t, rows in before.items() if t != "Off Roll"
    }
    assert after["Off Roll"][: row - 1] == before["Off Roll"][: row - 1]
    assert after["Off Roll"][row:] == before["Off Roll"][row:]
    # Surgical, as on an unprotected workbook: only the Off Roll sheet's part changed.
    old, new = _parts(_plain(original, PASSWORD)), _parts(_plain(path.read_bytes(), PASSWORD))
    assert old.keys() == new.keys()
    assert len([n for n in old if old[n] != new[n]]) == 1
    # The backup is the original, encrypted file; no temp file (decrypted or not) is left.
    backups = list((config.parent / "backups").iterdir())
    assert len(backups) == 1
    assert backups[0].read_bytes() == original
    assert _is_encrypted(backups[0])
    new_files = _folder_files(config.parent) - files_before
    assert {f.split("/")[0] for f in new_files} <= {"backups", "ledger.sqlite"}


def test_set_on_a_protected_list_keeps_it_protected(
    protected_school: tuple[Path, Path, dict[str, list[tuple[object, ...]]]],
) -> None:
    config, path, _ = protected_school
    runner = CliRunner()
    env = {PASSWORD_ENV: PASSWORD}
    c = ["--config", str(config)]
    assert runner.invoke(main, [*ADD, *c], env=env).exit_code == 0
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
            *c,
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert _is_encrypted(path)
    ws = _decrypted(path, PASSWORD)["Off Roll"]
    row = 4 + len(EXISTING)
    assert ws[f"G{row}"].value == "Mrs Helen Marsh"
    assert ws[f"A{row}"].value == "Theo Dunmore"


@pytest.mark.parametrize("password", ["not-the-password", None])
def test_a_wrong_or_missing_password_is_a_clear_error_and_changes_nothing(
    protected_school: tuple[Path, Path, dict[str, list[tuple[object, ...]]]],
    password: str | None,
) -> None:
    config, path, _ = protected_school
    original = path.read_bytes()
    files_before = _folder_files(config.parent)
    env = {PASSWORD_ENV: password} if password else {}
    r = CliRunner().invoke(main, [*ADD, "--config", str(config)], env=env)
    assert r.exit_code != 0
    assert "transfer_list.xlsx" in r.output
    expected = "password is wrong" if password else "protected with a password, and none was given"
    assert expected in " ".join(r.output.split())
    assert PASSWORD_ENV in " ".join(r.output.split())
    assert path.read_bytes() == original
    assert _folder_files(config.parent) - files_before <= {"ledger.sqlite"}
