"""Password-protected workbooks read with their password (issue 11.5) and packages that would
unpack to far more than a school's workbook refused unread, fast (issue 17.6)."""

from __future__ import annotations

import io
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from mergekit.core.errors import WorkbookError
from mergekit.read.sheets import PASSWORD_ENV, read_workbook

BROKEN = Path(__file__).resolve().parents[1] / "data" / "broken"


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


def test_a_protected_workbook_reads_with_the_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shutil.copy(BROKEN / "password_protected.xlsx", tmp_path / "tracking.xlsx")
    monkeypatch.setenv(PASSWORD_ENV, "example")
    sheets = read_workbook(Path(path))
    pupils = next(s for s in sheets if s.name == "Pupils")
    assert any(r and r[0] == "UPN" for r in pupils.rows[:5])
    assert len(pupils.rows) > 3


def test_a_wrong_or_missing_password_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(shutil.copy(BROKEN / "password_protected.xlsx", tmp_path / "tracking.xlsx"))
    with pytest.raises(
        WorkbookError, match=f"none was given - set the environment variable {PASSWORD_ENV}"
    ):
        read_workbook(path)
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(WorkbookError, match=r"tracking\.xlsx: the workbook's password is wrong"):
        read_workbook(path)


def _small(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["UPN", "Surname"])
    wb.save(path)
    return path


def test_a_zip_bomb_shared_strings_part_is_refused_unread_within_seconds(tmp_path: Path) -> None:
    path = _small(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        # 40 MB of the same bytes compress to about 40 KB: a 1000-fold ratio.
        zf.writestr("xl/sharedStrings.xml", b"<si><t>x</t></si>" * (40 * 1024 * 1024 // 17))
    assert path.stat().st_size < 1024 * 1024
    start = time.monotonic()
    with pytest.raises(WorkbookError, match=r"bomb.xlsx: part xl/sharedStrings.xml would unpack"):
        read_workbook(path)
    assert time.monotonic() - start < 5


def test_a_sheet_of_a_million_rows_is_refused_with_the_fix(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["UPN", "Surname"])
    ws.cell(1_048_576, 1).value = "x"  # Excel's last row: a used range to the bottom
    path = tmp_path / "tall.xlsx"
    wb.save(path)
    start = time.monotonic()
    with pytest.raises(WorkbookError, match=r"declares 1,048,576 rows.*delete the empty"):
        read_workbook(path)
    assert time.monotonic() - start < 5


def test_a_protected_bomb_is_refused_after_decrypting_before_unpacking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = _small(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(plain, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", b"<si><t>x</t></si>" * (40 * 1024 * 1024 // 17))
    out = io.BytesIO()
    with plain.open("rb") as fh:
        OOXMLFile(fh).encrypt("pw", out)
    path = tmp_path / "locked.xlsx"
    path.write_bytes(out.getvalue())
    monkeypatch.setenv(PASSWORD_ENV, "pw")
    with pytest.raises(WorkbookError, match="would unpack"):
        read_workbook(path)
