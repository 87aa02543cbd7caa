"""How long planning takes beyond reading the workbook: 2,000 pupils, a full year of marks.

    /work/venv/bin/python benchmarks/bench_plan.py [--pupils 2000] [--no-workbook]

Builds a school year (2025-26, the example school's calendar: 190+ school days, AM and PM
marks, so 380+ sessions per pupil) with a realistic spread of attendance, persistent absence,
unexplained-absence runs, contact logs and letters; writes it as a tracking workbook, then
times reading it and planning for the last school day separately. Target: planning under 1 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from policy_builders import (  # noqa: E402
    School,
    calendar,
    contact,
    pupil,
    write_config,
    write_workbook,
)

from mergekit.core.model import EventKind  # noqa: E402
from mergekit.core.workspace import open_workspace  # noqa: E402
from mergekit.plan.planning import make_plan  # noqa: E402
from mergekit.plan.policy import History, evaluate  # noqa: E402
from mergekit.read.tracking import read_tracking  # noqa: E402

YEAR_START, YEAR_END = date(2025, 9, 1), date(2026, 7, 22)


def build(n: int, seed: int = 2026) -> tuple[School, date]:
    rnd = random.Random(seed)
    days = calendar().between(YEAR_START, YEAR_END)
    today = days[-1]
    s = School()
    for i in range(1, n + 1):
        kind = rnd.random()
        # Absence rate: most pupils fine, a fifth persistently absent, a few severely.
        rate = 0.03 if kind < 0.7 else 0.12 if kind < 0.9 else 0.35 if kind < 0.97 else 0.6
        marks = {}
        for d in days:
            am = rnd.choice(["I", "O", "M", "N", "G"]) if rnd.random() < rate else "/"
            pm = rnd.choice(["I", "O", "U"]) if rnd.random() < rate else "\\"
            marks[d] = (am, pm)
        if rnd.random() < 0.02:  # a child missing education: the last 6-25 days unexplained
            for d in days[-rnd.randint(6, 25) :]:
                marks[d] = ("O", "O")
        if rnd.random() < 0.05:
            marks[today] = ("N", "N")
        flags = frozenset({"looked_after"}) if rnd.random() < 0.03 else frozenset()
        p = pupil(i, year=7 + i % 6, reg_group=f"{7 + i % 6}{'ABCDEF'[i % 6]}", flags=flags)
        upn = s.add(p, marks, contact(p.upn))
        if rate > 0.1 and rnd.random() < 0.5:
            s.letter(upn, 1, days[rnd.randint(20, 120)])
        if rnd.random() < 0.05:
            s.contact_log(upn, days[-rnd.randint(1, 10)], rnd.random() < 0.5)
        if rnd.random() < 0.005:
            s.event(upn, EventKind.PLANNED_MOVE, today - timedelta(days=rnd.randint(0, 20)))
    return s, today


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument(
        "--no-workbook", action="store_true", help="skip writing and reading the workbook"
    )
    args = parser.parse_args()
    n = args.pupils

    t0 = time.perf_counter()
    school, today = build(n)
    data = school.data()
    sessions = 2 * sum(len(m) for m in data.marks.values())
    print(
        f"built {n:,} pupils, {sessions:,} sessions ({sessions // n} each) "
        f"in {time.perf_counter() - t0:.1f} s"
    )

    read_s: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = write_config(folder, today)
        ws = open_workspace(cfg)
        if not args.no_workbook:
            t0 = time.perf_counter()
            write_workbook(folder / "tracking.xlsx", data)
            print(f"wrote tracking.xlsx in {time.perf_counter() - t0:.1f} s (not measured)")
            t0 = time.perf_counter()
            result = read_tracking(ws.settings)
            read_s = time.perf_counter() - t0
            assert len(result.data.pupils) == n, result.problems[:3]
            data = result.data

        # Planning: history from the (absent) ledger + the letters sheet, then every rule.
        ws.calendar.days  # noqa: B018  the calendar is built once per command, not per plan
        runs = []
        plan = None
        for _ in range(5):
            t0 = time.perf_counter()
            plan = make_plan(ws, data)
            runs.append(time.perf_counter() - t0)
        assert plan is not None
        evaluate_runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            evaluate(data, ws.calendar, ws.settings.policy, History(), ws.today)
            evaluate_runs.append(time.perf_counter() - t0)

    counts: dict[str, int] = {}
    for a in plan.actions:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    print(
        f"plan for {plan.today:%d/%m/%Y}: {len(plan.actions):,} actions: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    best, median = min(runs), statistics.median(runs)
    if read_s is not None:
        print(f"reading {n:,} pupils: {read_s:.2f} s")
    print(
        f"planning {n:,} pupils: {best:.2f} s beyond reading "
        f"(median {median:.2f} s of 5; evaluate() alone {min(evaluate_runs):.2f} s)"
    )
    if read_s is not None:
        print(f"planning / reading: {best / read_s:.2f}")
    print(f"target < 1 s: {'met' if best < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
