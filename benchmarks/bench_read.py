"""How fast mergekit reads workbooks, next to plain openpyxl read-only in the same run.

    python benchmarks/bench_read.py [--cache DIR]

Two workbooks are generated (synthetic, cached between runs):
* 2,000 pupils with a full year of session marks (380 sessions each: 760,000 marks);
* a 50,000-pupil sheet (a council-wide file), target: read in under 1 s on 2 cores.
For each, the script prints mergekit's time and the time openpyxl (read_only=True,
values_only=True) takes just to iterate the same cells, and the ratio.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from stdnum.gb.upn import calc_check_digit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from excel_like import write_xlsx

from mergekit.core.config import load_config
from mergekit.read.tracking import read_tracking_file

PUPIL_HEADER = [
    "UPN",
    "Admission No",
    "Legal Surname",
    "Legal Forename",
    "Middle Names",
    "Preferred Forename",
    "DOB",
    "Gender",
    "Year",
    "Reg Group",
    "Ethnicity",
    "First Language",
    "Address Line 1",
    "Address Line 2",
    "Address Line 3",
    "Postcode",
    "FSM",
    "SEN Status",
    "EHCP",
    "Looked After",
    "Child Protection Plan",
    "Child In Need Plan",
    "Domestic Abuse Notification",
    "Early Help",
    "Gypsy Roma Traveller",
    "Refugee/Asylum Seeker",
    "Temporary Accommodation",
    "Open Social Care Case",
    "Social Worker Name",
    "Social Worker Email",
    "Social Worker Phone",
    "Key Worker",
]
SURNAMES = [
    "Adeyemi",
    "Brennan",
    "Chowdhury",
    "Davies",
    "Evans",
    "Fischer",
    "Ghosh",
    "Hughes",
    "Iqbal",
    "Jones",
    "Kowalski",
    "Lewis",
    "Mensah",
    "Nguyen",
    "O'Brien",
    "Patel",
]
FORENAMES = ["Amara", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hassan", "Isla", "Jack"]


def _upn(i: int) -> str:
    body = f"331{4000 + i // 1000:04d}26{i % 1000:03d}"
    return calc_check_digit(body) + body


def _pupil_row(rng: random.Random, i: int) -> list[object]:
    year = 7 + i % 5
    yn = ["N"] * 30 + ["Y"]
    return [
        _upn(i),
        f"{i:06d}",
        rng.choice(SURNAMES),
        rng.choice(FORENAMES),
        "",
        "",
        date(2026 - year - 5, 1 + i % 12, 1 + i % 28),
        rng.choice("MF"),
        year,
        f"{year}{'ABCDEF'[i % 6]}",
        "White British",
        "English",
        f"{i % 200} Elm Row",
        "Exampleton",
        "",
        f"ZZ{1 + i % 9} {i % 10}AB",
        rng.choice(yn),
        "",
        "N",
        *(rng.choice(yn) for _ in range(9)),
        "",
        "",
        "",
        "",
    ]


def make_pupils_book(path: Path, n: int, *, marks_days: int = 0) -> None:
    """Written Excel-style (shared strings, styled date serials) so the figures match what a
    school's own workbook would give."""
    rng = random.Random(n)
    pupils = [["Council-wide pupil list"], PUPIL_HEADER, *(_pupil_row(rng, i) for i in range(n))]
    sheets: list[tuple[str, list[list[object]]]] = [("Pupils", pupils)]
    if marks_days:
        day = date(2025, 9, 1)
        days: list[date] = []
        while len(days) < marks_days:
            if day.weekday() < 5:
                days.append(day)
            day += timedelta(days=1)
        codes = ["/"] * 40 + ["L", "I", "M", "N", "O", "G", "U", "C"]
        marks: list[list[object]] = [["UPN", "Date", "AM", "PM"]]
        for i in range(n):
            upn = _upn(i)
            for d in days:
                am = rng.choice(codes)
                marks.append([upn, d, am, "\\" if am == "/" else am])
        sheets.append(("Marks", marks))
    write_xlsx(path, sheets)


def _config(folder: Path, book: Path) -> Path:
    cfg = folder / "mergekit.toml"
    cfg.write_text(f'[school]\nname = "Bench"\n[files]\ntracking = "{book}"\n', encoding="utf-8")
    return cfg


def time_mergekit(book: Path, folder: Path) -> tuple[float, int]:
    settings = load_config(_config(folder, book))
    start = time.perf_counter()
    result = read_tracking_file(book, settings)
    elapsed = time.perf_counter() - start
    assert not result.errors, result.errors[:3]
    return elapsed, len(result.data.pupils)


def time_openpyxl(book: Path) -> float:
    start = time.perf_counter()
    wb = load_workbook(book, read_only=True, data_only=True)
    cells = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            cells += len(row)
    wb.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "mk-bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    cases = [
        ("2,000 pupils + a full year of marks (760,000)", "year-2000-xl.xlsx", 2000, 190),
        ("50,000-pupil sheet", "pupils-50000-xl.xlsx", 50_000, 0),
    ]
    for label, name, n, days in cases:
        book = args.cache / name
        if not book.exists():
            print(f"generating {book} ...", flush=True)
            make_pupils_book(book, n, marks_days=days)
        ours, pupils = time_mergekit(book, args.cache)
        theirs = time_openpyxl(book)
        print(
            f"{label}: mergekit {ours:.2f} s ({pupils:,} pupils into the model), "
            f"openpyxl read-only iteration {theirs:.2f} s, ratio {theirs / ours:.1f}x faster"
        )


if __name__ == "__main__":
    main()
