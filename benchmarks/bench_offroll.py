"""How long adding one leaver to a 50,000-row transfer list takes (target: under 1 s).

Run: python benchmarks/bench_offroll.py [--rows 50000] [--skip-openpyxl]

Prints, measured in the same run: the write itself (open the package, find the row, patch
the sheet, save atomically with a backup), the whole ``mergekit offroll add`` (which also
reads the tracking workbook and the transfer list with python-calamine), and openpyxl's
load + save of the same workbook for comparison.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import openpyxl
from openpyxl.cell import WriteOnlyCell

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "transfer"))
from offroll_builders import HEADERS, PUPILS, make_tracking, write_config

from mergekit.core.workspace import open_workspace
from mergekit.transfer.offroll import add_leaver
from mergekit.transfer.xlsx.workbook import XlsxWorkbook


def make_big(path: Path, rows: int) -> None:
    wb = openpyxl.Workbook(write_only=True)
    summary = wb.create_sheet("Summary")
    summary.append(["Leavers", f"=COUNTA('Off Roll'!A2:A{rows + 1})"])
    ws = wb.create_sheet("Off Roll")
    ws.append(HEADERS)

    def day(d: date) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, d)
        c.number_format = "DD/MM/YYYY"
        return c

    for i in range(rows):
        d = date(2010, 1, 1) + timedelta(days=i % 5000)
        ws.append(
            [
                f"Pupil{i} Surname{i}",
                f"X{i:012d}",
                day(d),
                "Y9 / 9KM",
                day(date(2020, 1, 1) + timedelta(days=i % 2000)),
                "Moved to another school in the area",
                "Mrs Head",
                day(date(2020, 1, 1) + timedelta(days=i % 2000)),
                day(date(2020, 1, 2) + timedelta(days=i % 2000)),
                day(date(2020, 1, 2) + timedelta(days=i % 2000)),
                day(date(2020, 1, 3) + timedelta(days=i % 2000)),
            ]
        )
    wb.create_sheet("Joiners").append(["Name", "Date joined"])
    wb.save(path)


def best_of(n: int, setup, run) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        setup()
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--skip-openpyxl", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        master = folder / "master.xlsx"
        t = time.perf_counter()
        make_big(master, args.rows)
        print(f"made a {args.rows:,}-row transfer list ({master.stat().st_size / 2**20:.1f} MiB) "
              f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
        make_tracking(folder / "tracking.xlsx")
        config = write_config(folder)
        target = folder / "transfer_list.xlsx"

        def fresh() -> None:
            shutil.copyfile(master, target)
            shutil.rmtree(folder / "backups", ignore_errors=True)

        def patch_only() -> None:
            book = XlsxWorkbook.open(target)
            sheet = book.worksheet("Off Roll", first_data_row=2)
            row = sheet.last_row + 1
            values = ["Theo Dunmore", PUPILS[3][0], date(2012, 1, 20), "Y9 / 9KM",
                      date(2026, 11, 25), "Moved"]  # fmt: skip
            for col, value in zip("ABCDEF", values, strict=True):
                sheet.set(f"{col}{row}", value)
            book.save(backups=folder / "backups", day=date(2026, 11, 27))

        def whole_command() -> None:
            add_leaver(open_workspace(config), PUPILS[3][0], date(2026, 11, 25), "Moved",
                       clock=lambda: date(2026, 11, 27))  # fmt: skip

        write = best_of(3, fresh, patch_only)
        tracemalloc.start()
        fresh()
        patch_only()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        command = best_of(3, fresh, whole_command)
        verdict = "under" if write < 1 else "OVER"
        print(f"write one leaver (mergekit.transfer.xlsx): {write:.2f} s, peak {peak / 2**20:.0f} MiB "
              f"({verdict} the 1 s target)")  # fmt: skip
        print(f"whole `offroll add` incl. reading both workbooks: {command:.2f} s")
        if args.skip_openpyxl:
            return
        fresh()
        t = time.perf_counter()
        wb = openpyxl.load_workbook(target)
        wb.save(target)
        took = time.perf_counter() - t
        print(f"openpyxl load + save of the same workbook: {took:.2f} s "
              f"({took / write:.0f}x the surgical write)")  # fmt: skip


if __name__ == "__main__":
    main()
