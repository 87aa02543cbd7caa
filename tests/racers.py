"""Real mergekit processes racing each other, trial after trial.

Each racer is its own Python process that imports mergekit once, then, for each trial, waits
for a go file and runs one command through the real command line (``mergekit.cli.main``, as
the ``mergekit`` script does), reporting its exit code and output. Start-up (about a second
a process here) is paid once rather than per trial, so the issue's 20 trials of two at once
fit in the suite, and the commands start within a millisecond of each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_RACER = r"""
import contextlib, io, json, os, sys, time
from mergekit.cli import main
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    while not os.path.exists(job["go"]):
        time.sleep(0.0005)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(job["argv"], prog_name="mergekit")
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    print(json.dumps([code, out.getvalue(), err.getvalue()]), flush=True)
"""


class Racers:
    def __init__(self, count: int, scratch: Path) -> None:
        self._scratch = scratch
        self._trial = 0
        self._procs = [
            subprocess.Popen(
                [sys.executable, "-c", _RACER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for p in self._procs:
            assert p.stdout is not None
            assert json.loads(p.stdout.readline()) == "ready"

    def race(self, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        """Run one command in each racer at the same moment; their results, in order."""
        assert len(commands) == len(self._procs)
        self._trial += 1
        go = self._scratch / f"go-{self._trial}"
        for p, argv in zip(self._procs, commands, strict=True):
            assert p.stdin is not None
            p.stdin.write(json.dumps({"go": str(go), "argv": argv}) + "\n")
            p.stdin.flush()
        go.touch()
        results = []
        for p, argv in zip(self._procs, commands, strict=True):
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line, f"a racer died running {argv}"
            code, out, err = json.loads(line)
            results.append(subprocess.CompletedProcess(argv, code, out, err))
        return results

    def close(self) -> None:
        for p in self._procs:
            assert p.stdin is not None
            p.stdin.close()
        for p in self._procs:
            p.wait(timeout=60)
            assert p.stdout is not None
            p.stdout.close()


@contextmanager
def racers(count: int, scratch: Path) -> Iterator[Racers]:
    scratch.mkdir(parents=True, exist_ok=True)
    group = Racers(count, scratch)
    try:
        yield group
    finally:
        group.close()
