"""Finding a sheet by its header row and reading the rows under it: every cell parsed by its
field's kind and located (file, sheet, cell, column) so a bad value becomes a Problem, never
an exception; missing sheets and columns are reported with the closest match.
"""

from __future__ import annotations

import difflib
import gc
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from mergekit.core.config import Settings
from mergekit.core.errors import Problem, Severity, error, warning
from mergekit.core.model import (
    Address,
    Source,
)
from mergekit.read import values as v
from mergekit.read.columns import SHEETS, Kind, SheetSpec
from mergekit.read.sheets import (
    HeaderMatch,
    RawSheet,
    column_letter,
    find_header,
    partial_header,
    suggest_header,
)

# Parsers by field kind. Each takes the raw cell and returns the value or raises BadValue.
_PARSERS: dict[Kind, Callable[[object], object]] = {
    Kind.TEXT: v.text,
    Kind.ID: v.text,
    Kind.UPN: v.parse_upn,
    Kind.DATE: v.parse_date,
    Kind.INT: v.parse_int,
    Kind.YEAR: v.parse_year,
    Kind.FLAG: v.parse_flag,
    Kind.PERCENT: v.parse_percent,
    Kind.PHONE: v.parse_phone,
}


class _Rows:
    """Reads the data rows under one recognised header, parsing and locating every cell."""

    def __init__(
        self, file: str, spec: SheetSpec, match: HeaderMatch, problems: list[Problem]
    ) -> None:
        self.file = file
        self.spec = spec
        self.match = match
        self.problems = problems
        self.sheet = match.sheet.name
        self._fields = {f.name: f for f in spec.fields}
        self.row_problem = False

    def __iter__(self) -> Iterator[tuple[int, list[object]]]:
        rows = self.match.sheet.rows
        for i in range(self.match.header_row + 1, len(rows)):
            row = rows[i]
            if all(v.is_blank(c) for c in row):
                continue
            self.row_problem = False
            yield self.match.excel_row(i), row

    # Column-wise reading, for the big sheets: one fast pass per column handles the common
    # cell types; only unusual cells go through the full parser (which records problems).

    def columns(self) -> tuple[list[tuple[int, list[object]]], dict[str, Sequence[object]]]:
        """(data rows, field -> raw values of that column, one per data row)."""
        start = self.match.header_row + 1
        first = self.match.excel_row(start)
        # any() drops empty rows in C; rows of only spaces are rarer and dropped just below.
        rows = self.match.sheet.rows[start:]
        data = [(first + i, row) for i, row in enumerate(rows) if any(row)]
        data = [(r, row) for r, row in data if not all(v.is_blank(c) for c in row)]
        width = max(self.match.columns.values(), default=-1) + 1
        padded = [
            row if len(row) >= width else [*row, *[None] * (width - len(row))] for _, row in data
        ]
        table = list(zip(*padded, strict=False)) if padded else [()] * width  # padded: equal
        return data, {name: table[col] for name, col in self.match.columns.items()}

    def texts(self, cols: dict[str, Sequence[object]], name: str, n: int) -> Sequence[str]:
        col = cols.get(name)
        if col is None:
            return [""] * n
        return [x.strip() if x.__class__ is str and "  " not in x else v.text(x) for x in col]

    def typed(
        self,
        data: list[tuple[int, list[object]]],
        cols: dict[str, Sequence[object]],
        name: str,
        default: object = None,
    ) -> list[object]:
        """Parsed values of one column; blank cells give ``default``."""
        col = cols.get(name)
        if col is None:
            return [default] * len(data)
        kind = self._fields[name].kind
        slow = _SLOW
        out: list[object]
        if kind is Kind.FLAG:
            fast = v.FLAG_FAST
            out = [
                fast.get(x, slow) if x.__class__ is str else (default if x is None else slow)
                for x in col
            ]
        elif kind is Kind.DATE:
            out = [
                x if x.__class__ is date else (default if x is None or x == "" else slow)
                for x in col
            ]
        elif kind in (Kind.INT, Kind.YEAR):
            out = [
                x
                if x.__class__ is int
                else (
                    int(x)
                    if x.__class__ is float
                    and x.is_integer()
                    and (kind is Kind.INT or -2 <= x <= 14)
                    else (default if x is None or x == "" else slow)
                )
                for x in col
            ]
        else:
            out = [slow] * len(col)
        for i, value in enumerate(out):
            if value is slow:
                r, row = data[i]
                out[i] = self.get(r, row, name, default)
        return out

    def has(self, name: str) -> bool:
        return name in self.match.columns

    def raw(self, row: list[object], name: str) -> object:
        col = self.match.columns.get(name)
        if col is None or col >= len(row):
            return None
        return row[col]

    def get(self, excel_row: int, row: list[object], name: str, default: object = None) -> object:
        """The parsed value of a field, or ``default`` (blank cell, missing column, bad value:
        the last also records a problem)."""
        raw = self.raw(row, name)
        if v.is_blank(raw):
            return default
        f = self._fields[name]
        try:
            return _PARSERS[f.kind](raw)
        except v.BadValue as bad:
            self.bad(excel_row, name, bad.message, bad.hint)
            return default

    def text(self, excel_row: int, row: list[object], name: str) -> str:
        raw = self.raw(row, name)
        return "" if raw is None else v.text(raw)

    def bad(
        self,
        excel_row: int,
        name: str,
        message: str,
        hint: str = "",
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.row_problem = True
        self.problems.append(
            Problem(
                severity,
                message,
                file=self.file,
                sheet=self.sheet,
                cell=self.cell(excel_row, name),
                column=self.header(name),
                hint=hint,
                group=self.spec.name,
            )
        )

    def cell(self, excel_row: int, name: str) -> str:
        col = self.match.columns.get(name)
        return f"{column_letter(col)}{excel_row}" if col is not None else f"row {excel_row}"

    def header(self, name: str) -> str:
        col = self.match.columns.get(name)
        if col is None:
            return self._fields[name].label
        return self.match.headers[col] or self._fields[name].label

    def source(self, excel_row: int) -> Source:
        return Source(self.file, self.sheet, excel_row)

    def address(self, excel_row: int, row: list[object]) -> Address:
        parts = [self.text(excel_row, row, f"address_{i}") for i in range(1, 5)]
        postcode = self.text(excel_row, row, "postcode").upper()
        lines: list[str] = []
        for part in parts:
            # A single "Address" column often holds the whole address, comma or line separated.
            lines.extend(p.strip() for p in re.split(r"[,\n]", part) if p.strip())
        if not postcode and lines:
            m = _POSTCODE.search(lines[-1])
            if m:
                postcode = m.group(0).upper()
                rest = lines[-1][: m.start()].strip(" ,")
                lines = [*lines[:-1], rest] if rest else lines[:-1]
        return Address(tuple(lines), postcode)


_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$", re.IGNORECASE)
_SLOW = object()  # a cell the column fast path leaves to the full parser


def _locate(
    file: str,
    sheets: list[RawSheet],
    settings: Settings,
    kinds: tuple[str, ...],
    problems: list[Problem],
    required: tuple[str, ...],
) -> dict[str, HeaderMatch]:
    """Which sheet is which kind: by [sheets] name when given, else by header row."""
    found: dict[str, HeaderMatch] = {}
    taken: set[str] = set()
    by_name = {s.name: s for s in sheets}
    # Named sheets first, then recognise the rest by best header match.
    for kind in kinds:
        wanted = getattr(settings.sheets, kind)
        if not wanted:
            continue
        spec = SHEETS[kind]
        overrides = settings.columns.get(kind, {})
        sheet = by_name.get(wanted)
        if sheet is None:
            guess = difflib.get_close_matches(wanted, list(by_name), n=1)
            hint = (
                f"did you mean '{guess[0]}'?"
                if guess
                else f"the sheets are: {', '.join(by_name) or 'none'}"
            )
            problems.append(
                error(
                    f"[sheets] {kind} = {wanted!r}: no such sheet",
                    file=file,
                    hint=hint,
                    group="sheets",
                )
            )
            continue
        match = find_header(sheet, spec, overrides)
        if match is None:
            _report_missing_columns(file, sheet, spec, overrides, problems)
            continue
        found[kind] = match
        taken.add(sheet.name)
    candidates: list[tuple[int, str, HeaderMatch]] = []
    for kind in kinds:
        if kind in found:
            continue
        spec = SHEETS[kind]
        overrides = settings.columns.get(kind, {})
        for sheet in sheets:
            if sheet.name in taken:
                continue
            match = find_header(sheet, spec, overrides)
            if match is not None:
                candidates.append((len(match.columns), kind, match))
    # Greedy: the strongest match claims its sheet first.
    for _, kind, match in sorted(candidates, key=lambda c: -c[0]):
        if kind in found or match.sheet.name in taken:
            continue
        found[kind] = match
        taken.add(match.sheet.name)
    for kind in kinds:
        if kind in found:
            continue
        spec = SHEETS[kind]
        if kind in required:
            best = _closest_sheet(sheets, spec, settings.columns.get(kind, {}), taken)
            if best is not None:
                _report_missing_columns(file, best, spec, settings.columns.get(kind, {}), problems)
            else:
                problems.append(
                    error(
                        f"no sheet looks like the {spec.title} sheet",
                        file=file,
                        group="sheets",
                        hint=f"add a sheet whose header row has {_signature_text(spec)}, "
                        "or name it "
                        f'in mergekit.toml: [sheets] {kind} = "Sheet name"',
                    )
                )
    for kind, match in found.items():
        _report_required(file, match, SHEETS[kind], settings.columns.get(kind, {}), problems)
    return found


def _closest_sheet(
    sheets: list[RawSheet], spec: SheetSpec, overrides: dict[str, str], taken: set[str]
) -> RawSheet | None:
    best: tuple[int, RawSheet] | None = None
    for sheet in sheets:
        if sheet.name in taken:
            continue
        match = partial_header(sheet, spec, overrides)
        if match is not None and (best is None or len(match.columns) > best[0]):
            best = (len(match.columns), sheet)
    return best[1] if best and best[0] >= 2 else None


def _signature_text(spec: SheetSpec) -> str:
    return ", ".join(" or ".join(repr(spec.field(n).label) for n in g) for g in spec.signature)


def _report_missing_columns(
    file: str, sheet: RawSheet, spec: SheetSpec, overrides: dict[str, str], problems: list[Problem]
) -> None:
    match = partial_header(sheet, spec, overrides)
    headers = match.headers if match else []
    present = set(match.columns) if match else set()
    row = match.excel_header_row if match else 1
    suggested: set[str] = set()
    for group in spec.required:
        if any(name in present for name in group):
            continue
        label = spec.field(group[0]).label
        free = [h for h in headers if h and h not in _matched(match) and h not in suggested]
        # The group's main field first: 'Pupil Ref' is a worse guess for a forename than 'Given'.
        guess = next(
            (g for n in group if (g := suggest_header(spec.field(n).synonyms, free))), None
        )
        if guess:
            suggested.add(guess)
        hint = (
            f"did you mean '{guess}'? If so, rename the header or add "
            f'[columns.{spec.name}] {group[0]} = "{guess}" to mergekit.toml'
        )
        problems.append(
            error(
                f"missing column '{label}' in the {spec.title} sheet (header row {row})",
                file=file,
                sheet=sheet.name,
                hint=hint
                if guess
                else f"add a '{label}' column, or map yours with "
                f'[columns.{spec.name}] {group[0]} = "Your header"',
                group="columns",
            )
        )


def _matched(match: HeaderMatch | None) -> set[str]:
    """Headers already used for another field (never suggested for a missing one)."""
    return {match.headers[c] for c in match.columns.values()} if match else set()


def _report_required(
    file: str,
    match: HeaderMatch,
    spec: SheetSpec,
    overrides: dict[str, str],
    problems: list[Problem],
) -> None:
    if any(not any(n in match.columns for n in g) for g in spec.required):
        _report_missing_columns(file, match.sheet, spec, overrides, problems)
    for name, kept, ignored in match.duplicates:
        problems.append(
            warning(
                f"column {column_letter(ignored)} '{match.headers[ignored]}' also looks like "
                f"'{spec.field(name).label}'; using column {column_letter(kept)} "
                f"'{match.headers[kept]}'",
                file=file,
                sheet=match.sheet.name,
                group="columns",
                hint=f"to use the other, set [columns.{spec.name}] {name} = "
                f'"{match.headers[ignored]}"',
            )
        )
    for name in overrides:
        if name not in {f.name for f in spec.fields}:
            problems.append(
                warning(f"[columns.{spec.name}] {name}: unknown field", file=file, group="columns")
            )


def _as_date(x: object) -> date | None:
    return x if isinstance(x, date) else None


def _as_int(x: object) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _as_float(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Reading makes millions of small objects and no reference cycles; Python's cycle
    collector would otherwise rescan them all again and again (about a third of the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
