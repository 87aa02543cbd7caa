"""Data at rest (issue 17, point 7): what mergekit writes is owner-only (files 0600, the
folders it makes 0700) whatever the umask; temp files live in the destination folder as
``.mergekit-tmp-...``, are removed on every exit path, and a crash's leftovers are removed by
the next run. Real subprocesses run with umask 022 (the usual one) and are really killed."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mergekit.core.atomic import (
    TEMP_PREFIX,
    private_temp_dir,
    sweep_stale_temps,
    temp_name,
    write_atomic,
    write_atomic_with,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and signals")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def _umask_022(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        preexec_fn=lambda: os.umask(0o022),  # the umask is what is tested
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


_WRITE = """
import sys
from pathlib import Path
from mergekit.core.atomic import private_temp_dir, write_atomic
from mergekit.core.ledger import Ledger
root = Path(sys.argv[1])
write_atomic(root / "new" / "deeper" / "letter.docx", b"letter")
with Ledger.open(root / "school" / "ledger.sqlite") as ledger:
    ledger.conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    ledger.conn.execute("INSERT INTO t VALUES (1)")
    import stat
    for s in ("-wal", "-shm"):
        p = root / "school" / ("ledger.sqlite" + s)
        print(s, oct(stat.S_IMODE(p.stat().st_mode)))
with private_temp_dir() as tmp:
    print("tmp", oct(stat.S_IMODE(tmp.stat().st_mode)), tmp.name)
"""


def test_files_and_folders_are_owner_only_under_the_usual_umask(tmp_path: Path) -> None:
    proc = _umask_022("-c", _WRITE, str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert _mode(tmp_path / "new") == _mode(tmp_path / "new" / "deeper") == 0o700
    assert _mode(tmp_path / "new" / "deeper" / "letter.docx") == 0o600
    assert _mode(tmp_path / "school") == 0o700
    assert _mode(tmp_path / "school" / "ledger.sqlite") == 0o600
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert lines["-wal"] == lines["-shm"] == "0o600"  # SQLite's side files, while open
    mode, name = lines["tmp"].split()
    assert mode == "0o700"
    assert name.startswith(TEMP_PREFIX)
    assert not (Path(tempfile.gettempdir()) / name).exists()  # removed when done


def test_an_existing_ledger_is_made_owner_only(tmp_path: Path) -> None:
    from mergekit.core.ledger import Ledger

    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).conn.close()
    path.chmod(0o644)  # as an older mergekit left it under umask 022
    Ledger.open(path).conn.close()
    assert _mode(path) == 0o600


def test_a_run_of_the_example_school_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    """`mergekit worklist` and `plan --xlsx` (the ledger, the run folder, its workbooks) under
    umask 022, with a crash's leftovers planted where it writes: all removed."""
    school = tmp_path / "school"
    shutil.copytree(
        EXAMPLES, school, ignore=shutil.ignore_patterns("out", "backups", "*.sqlite*", "~$*")
    )
    run = school / "out" / "2026-11-27"
    dead = _dead_pid()
    host = temp_name("x").split("-")[2]
    planted: list[Path] = []

    def plant(folder: Path, name: str) -> None:
        planted.append(folder / f"{TEMP_PREFIX}{host}-{dead}-0badf00d-{name}")
        planted[-1].write_bytes(b"a crashed write: a copy of the letters")

    plant(school, "mergekit-ledger.sqlite")
    config = str(school / "mergekit.toml")
    proc = _umask_022("-m", "mergekit", "worklist", "--config", config, cwd=school)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plant(run, "plan.xlsx")
    proc = _umask_022(
        "-m", "mergekit", "plan", "--xlsx", str(run / "plan.xlsx"), "--config", config, cwd=school
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p for p in planted if p.exists()] == []
    written = [school / "out", *run.rglob("*")]
    written += list(school.glob("*.sqlite*"))
    assert (run / "worklist.xlsx") in written
    assert (run / "plan.xlsx") in written
    loose = {str(p.relative_to(school)): oct(_mode(p)) for p in written if _mode(p) & 0o077}
    assert loose == {}
    assert _mode(school / "out") == _mode(run) == 0o700


_KILLED = """
import os, sys, time
from pathlib import Path
from mergekit.core.atomic import write_atomic_with
def write(fh):
    fh.write(b"half a letter")
    fh.flush()
    print("half", flush=True)
    time.sleep(60)
write_atomic_with(Path(sys.argv[1]), write)
"""


def test_a_kill_mid_write_leaves_the_old_file_and_the_next_write_removes_the_temp(
    tmp_path: Path,
) -> None:
    target = tmp_path / "worklist.xlsx"
    target.write_bytes(b"yesterday's list")
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(target)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "half\n"  # the hook: killed in the middle of it
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert target.read_bytes() == b"yesterday's list"
    (left,) = [p for p in tmp_path.iterdir() if p != target]
    assert left.name.startswith(TEMP_PREFIX)
    assert left.name.endswith("-worklist.xlsx")
    assert _mode(left) == 0o600  # even half a letter is owner-only
    # The next mergekit writing in this folder (a new process) removes the leftover.
    again = _umask_022(
        "-c",
        "import sys; from pathlib import Path; from mergekit.core.atomic "
        "import write_atomic; write_atomic(Path(sys.argv[1]), b'new')",
        str(target),
    )
    assert again.returncode == 0, again.stderr
    assert sorted(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"new"


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, ValueError])
def test_the_temp_file_is_removed_on_every_exit_path(
    tmp_path: Path, error: type[BaseException]
) -> None:
    target = tmp_path / "plan.xlsx"
    write_atomic(target, b"old")

    def write(fh: object) -> None:
        raise error()

    with pytest.raises(error):
        write_atomic_with(target, write)  # type: ignore[arg-type]
    assert sorted(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"old"


def test_a_private_temp_dir_is_removed_on_ctrl_c(tmp_path: Path) -> None:
    made: list[Path] = []

    def convert() -> None:
        with private_temp_dir(tmp_path) as tmp:
            made.append(tmp)
            (tmp / "letter.docx").write_bytes(b"x")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert()
    assert not made[0].exists()


def test_a_run_sweeps_what_a_crash_left_in_an_earlier_days_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = _dead_pid()
    host = temp_name("x").split("-")[2]
    crashed = out / "2026-11-26" / "docx" / f"{TEMP_PREFIX}{host}-{dead}-0badf00d-letter.docx"
    sent = out / "2026-11-26" / "outbox" / "sent" / f"{TEMP_PREFIX}{host}-{dead}-0badf00d-x.eml"
    live = out / "2026-11-26" / "pdf" / temp_name("letter.pdf")  # this process: at work
    for p in (crashed, sent, live):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    assert sorted(sweep_stale_temps(out)) == sorted([crashed, sent])
    assert live.exists()
