"""The school's tracking workbook to the model, collecting every problem.

Sheets are recognised by their header row (anywhere in the first 10 rows) whatever they are
called; ``[sheets]`` and ``[columns]`` in mergekit.toml override. A bad cell never stops the
read: it becomes a :class:`~mergekit.core.errors.Problem` naming file, sheet, cell and column,
and the rest of the workbook is still read so staff can fix everything in one go.

The pupils, contacts, marks, contact log, letters and events sheets are each read by their own
function here (about 630 lines: one reader per sheet, read in one pass that shares the
pupils found); :mod:`mergekit.read.rows` finds the sheets and parses the cells.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mergekit.core.actions import ACTIONS
from mergekit.core.config import Settings
from mergekit.core.errors import Problem, Scope, Severity, WorkbookError, warning
from mergekit.core.model import (
    FLAG_NAMES,
    Address,
    AttendanceSummary,
    Contact,
    ContactLogEntry,
    DayMarks,
    Event,
    EventKind,
    LetterRecord,
    Person,
    Pupil,
    SchoolData,
)
from mergekit.read import values as v
from mergekit.read.columns import SHEETS, TRACKING_SHEETS, Kind
from mergekit.read.rows import _as_date, _as_float, _as_int, _gc_paused, _locate, _Rows
from mergekit.read.sheets import (
    HEADER_SEARCH_ROWS as HEADER_ROWS,
)
from mergekit.read.sheets import (
    HeaderMatch,
    RawSheet,
    column_letter,
    lock_file,
    read_workbook,
)


@dataclass
class ReadResult:
    data: SchoolData
    problems: list[Problem] = field(default_factory=list)
    sheets_found: dict[str, str] = field(default_factory=dict)  # kind -> sheet name
    counts: dict[str, int] = field(default_factory=dict)
    # Cell of every N mark, so checks can point at the cell to recode: (upn, date) -> "C57".
    n_cells: dict[tuple[str, date], str] = field(default_factory=dict)
    pupils_match: HeaderMatch | None = None  # the pupils sheet's header (names for problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]


def read_tracking(settings: Settings) -> ReadResult:
    """Read the tracking workbook named in the config into the model."""
    path = settings.require_file("tracking")
    return read_tracking_file(path, settings)


def read_tracking_file(path: Path, settings: Settings) -> ReadResult:
    with _gc_paused():
        return _read_tracking_file(path, settings)


def _read_tracking_file(path: Path, settings: Settings) -> ReadResult:
    file = path.name
    problems: list[Problem] = []
    lock = lock_file(path)
    if lock is not None:
        problems.append(
            warning(
                "the workbook is open in Excel (its lock file is beside it); mergekit reads the "
                "last "
                "saved copy",
                file=file,
                hint="save your changes in Excel before running",
                group="file",
            )
        )
    sheets = read_workbook(path)
    if not sheets:
        raise WorkbookError(f"{file}: the workbook has no worksheets - check the file")
    found = _locate(file, sheets, settings, TRACKING_SHEETS, problems, required=("pupils",))
    if "pupils" not in found:
        return ReadResult(SchoolData(pupils={}), problems)
    pupils = _read_pupils(file, found["pupils"], problems)
    counts = {"pupils": len(pupils)}
    contacts = (
        _read_contacts(file, found["contacts"], pupils, problems) if "contacts" in found else {}
    )
    counts["contacts"] = sum(len(c) for c in contacts.values())
    if "contacts" not in found:
        problems.append(
            warning(
                "no contacts sheet found: letters cannot be addressed",
                file=file,
                group="sheets",
                hint="add a sheet of parents/carers with UPN, Contact Name, "
                "Relationship, Parental Responsibility",
            )
        )
    n_cells: dict[tuple[str, date], str] = {}
    grid = None
    if "marks" not in found:
        taken = {m.sheet.name for m in found.values()}
        grid = next((g for x in sheets if x.name not in taken and (g := _grid(x))), None)
        if grid is not None:
            found["marks"] = grid[0]
    first_problem = len(problems)
    marks = _read_marks(file, found["marks"], pupils, problems, n_cells) if "marks" in found else {}
    if grid is not None:
        _regrid(grid, problems, first_problem, n_cells)
    counts["marks"] = 2 * sum(len(m) for m in marks.values())
    log = (
        _read_contact_log(file, found["contact_log"], pupils, problems)
        if "contact_log" in found
        else {}
    )
    counts["contact log entries"] = sum(len(x) for x in log.values())
    letters = _read_letters(file, found["letters"], pupils, problems) if "letters" in found else {}
    counts["letters"] = sum(len(x) for x in letters.values())
    events = _read_events(file, found["events"], pupils, problems) if "events" in found else {}
    counts["events"] = sum(len(x) for x in events.values())
    data = SchoolData(
        pupils=pupils,
        contacts=contacts,
        marks=marks,
        contact_log=log,
        letters=letters,
        events=events,
        has_marks="marks" in found,
    )
    sheets_found = {k: m.sheet.name for k, m in found.items()}
    problems = _pupil_scoped(problems, found, pupils)
    return ReadResult(data, problems, sheets_found, counts, n_cells, found["pupils"])


_ROW = re.compile(r"(\d+)$")
_SESSION = {"AM": "am", "PM": "pm"}


def _grid(sheet: RawSheet) -> tuple[HeaderMatch, dict[tuple[int, str], str]] | None:
    """Marks laid out as a register grid (a row per pupil, a column per session: dates over
    an AM/PM header row, a title row above) as the long UPN, Date, AM, PM layout, and where
    each of its cells came from: (long row, field) -> the grid's cell."""
    rows = sheet.rows
    for h in range(min(HEADER_ROWS, len(rows))):
        heads = [v.text(c).upper() for c in rows[h]]
        sessions = [i for i, t in enumerate(heads) if t in _SESSION]
        if len(sessions) < 2:
            continue
        upn_col = next(
            (
                i
                for r in range(h + 1)
                for i, c in enumerate(rows[r])
                if v.text(c).casefold() in ("upn", "pupil upn", "student upn")
            ),
            None,
        )
        if upn_col is None or h == 0:
            return None
        day: date | None = None
        dated: dict[int, date] = {}
        for i in range(min(sessions), max(sessions) + 1):
            for r in range(h - 1, -1, -1):
                cell = rows[r][i] if i < len(rows[r]) else None
                if v.is_blank(cell):
                    continue
                try:
                    day = v.parse_date(cell)
                except v.BadValue:
                    continue
                break
            if day is not None and i in sessions:
                dated[i] = day
        if not dated:
            return None
        out: list[list[object]] = [["UPN", "Date", "AM", "PM"]]
        where: dict[tuple[int, str], str] = {}
        for r in range(h + 1, len(rows)):
            row = rows[r]
            if upn_col >= len(row) or v.is_blank(row[upn_col]):
                continue
            by_day: dict[date, dict[str, object]] = {}
            for i, d in dated.items():
                by_day.setdefault(d, {})[heads[i]] = row[i] if i < len(row) else None
                # The Excel row it will have in the long layout (its header is row 1).
                long_row = len(out) + list(by_day).index(d) + 1
                where[(long_row, _SESSION[heads[i]])] = f"{column_letter(i)}{r + sheet.first_row}"
                where[(long_row, "upn")] = f"{column_letter(upn_col)}{r + sheet.first_row}"
                where[(long_row, "date")] = f"{column_letter(i)}{h + sheet.first_row - 1}"
            for d, pair in by_day.items():
                out.append([row[upn_col], d, pair.get("AM"), pair.get("PM")])
        long = RawSheet(sheet.name, out, 1)
        return HeaderMatch(long, 0, {"upn": 0, "date": 1, "am": 2, "pm": 3}, out[0]), where  # type: ignore[arg-type]
    return None


def _regrid(
    grid: tuple[HeaderMatch, dict[tuple[int, str], str]],
    problems: list[Problem],
    first: int,
    n_cells: dict[tuple[str, date], str],
) -> None:
    """Problems and N cells of a register grid read as the long layout, pointed back at the
    grid's own cells."""
    match, where = grid
    fields = {"A": "upn", "B": "date", "C": "am", "D": "pm"}
    for k in range(first, len(problems)):
        p = problems[k]
        m = re.fullmatch(r"([A-D])(\d+)", p.cell)
        if m is None or p.sheet != match.sheet.name:
            continue
        row = int(m.group(2))
        cell = where.get((row, fields[m.group(1)]), p.cell)
        upn = v.upn_key(match.sheet.rows[row - 1][0]) if row - 1 < len(match.sheet.rows) else ""
        problems[k] = Problem(
            p.severity,
            p.message,
            p.file,
            p.sheet,
            cell,
            p.column,
            p.hint,
            p.group,
            Scope.PUPIL,
            upn,
        )
    for key, cell in n_cells.items():
        m = re.fullmatch(r"([A-D])(\d+)", cell)
        if m is not None:
            n_cells[key] = where.get((int(m.group(2)), fields[m.group(1)]), cell)


def _pupil_scoped(
    problems: list[Problem], found: dict[str, HeaderMatch], pupils: dict[str, Pupil]
) -> list[Problem]:
    """Every problem in one data row of a sheet keyed by UPN belongs to that row's pupil:
    it holds back that pupil's letters and forms only (mergekit.day.check). Problems with no
    row (a missing sheet or column) stay school-wide."""
    by_sheet = {m.sheet.name: m for m in found.values() if "upn" in m.columns}
    out: list[Problem] = []
    for p in problems:
        if p.scope is Scope.PUPIL:  # placed already (a register grid's marks)
            out.append(p)
            continue
        match = by_sheet.get(p.sheet)
        hit = _ROW.search(p.cell) if match is not None else None
        if match is None or hit is None:
            out.append(p)
            continue
        index = int(hit.group(1)) - match.sheet.first_row
        if index <= match.header_row or index >= len(match.sheet.rows):
            out.append(p)
            continue
        row = match.sheet.rows[index]
        col = match.columns["upn"]
        upn = v.upn_key(row[col]) if col < len(row) else ""
        out.append(
            Problem(
                p.severity,
                p.message,
                p.file,
                p.sheet,
                p.cell,
                p.column,
                p.hint,
                p.group,
                Scope.PUPIL,
                upn or f"{p.sheet} row {hit.group(1)}",
            )
        )
    return out


def pupil_row_name(result: ReadResult, problem: Problem) -> str:
    """The pupil's name for a pupil-scope problem: from the model, else from the pupils
    sheet's row (a pupil whose UPN is the problem is not in the model)."""
    pupil = result.data.pupils.get(problem.upn)
    if pupil is not None:
        return pupil.full_name
    match = result.pupils_match
    hit = _ROW.search(problem.cell)
    if match is None or hit is None or problem.sheet != match.sheet.name:
        return ""
    index = int(hit.group(1)) - match.sheet.first_row
    if not match.header_row < index < len(match.sheet.rows):
        return ""
    row = match.sheet.rows[index]
    parts = [
        v.text(row[match.columns[f]])
        for f in ("forename", "surname", "full_name")
        if f in match.columns and match.columns[f] < len(row)
    ]
    return " ".join(p for p in parts if p)


def _read_pupils(file: str, match: HeaderMatch, problems: list[Problem]) -> dict[str, Pupil]:
    rows = _Rows(file, SHEETS["pupils"], match, problems)
    data, cols = rows.columns()
    n = len(data)
    pupils: dict[str, Pupil] = {}
    first_row: dict[str, int] = {}
    text = {
        f.name: rows.texts(cols, f.name, n)
        for f in SHEETS["pupils"].fields
        if f.kind in (Kind.TEXT, Kind.ID) and not f.name.startswith("address")
    }
    dobs = rows.typed(data, cols, "dob")
    years = rows.typed(data, cols, "year")
    admitted = rows.typed(data, cols, "admission_date")
    flags_by_row: list[set[str]] = [set() for _ in range(n)]
    for flag in (f for f in FLAG_NAMES if rows.has(f)):
        for i, on in enumerate(rows.typed(data, cols, flag, False)):
            if on:
                flags_by_row[i].add(flag)
    address_cols = [rows.texts(cols, f"address_{k}", n) for k in range(1, 5)]
    postcodes = rows.texts(cols, "postcode", n)
    summary = rows.has("possible_sessions") or rows.has("attendance_pct")
    upns = cols.get("upn", [None] * n)
    rows_of = [r for r, _ in data]
    for name in _NAME_FIELDS:
        if name in text and rows.has(name):
            text[name] = [
                clean_name(rows, rows_of[i], name, x) if x else x for i, x in enumerate(text[name])
            ]
    for i, (r, row) in enumerate(data):
        upn_raw = upns[i]
        if v.is_blank(upn_raw):
            rows.bad(r, "upn", "UPN is blank", "every pupil needs their 13-character UPN")
            continue
        try:
            upn = v.parse_upn(upn_raw)
        except v.BadValue as bad:
            rows.bad(r, "upn", bad.message, bad.hint)
            continue
        if upn in pupils:
            rows.bad(
                r,
                "upn",
                f"UPN {upn} appears twice (also row {first_row[upn]})",
                "each pupil must have one row - delete or correct the duplicate",
            )
            continue
        surname = text["surname"][i]
        forename = text["forename"][i]
        if not surname and rows.has("full_name"):
            surname, forename = _split_name(text["full_name"][i])
        if not surname:
            rows.bad(
                r,
                "surname" if rows.has("surname") else "full_name",
                "surname is blank",
                "fill in the pupil's legal surname",
            )
        dob, year = dobs[i], years[i]
        if dob is None and rows.has("dob") and v.is_blank(rows.raw(row, "dob")):
            rows.bad(r, "dob", "date of birth is blank", "fill it in as DD/MM/YYYY")
        if year is None and rows.has("year") and v.is_blank(rows.raw(row, "year")):
            rows.bad(r, "year", "year group is blank", "fill in the NC year, e.g. 9")
        parts = [col[i] for col in address_cols]
        if any("," in p or "\n" in p for p in parts) or not postcodes[i]:
            address = rows.address(r, row)
        else:
            address = Address(tuple(p for p in parts if p), postcodes[i].upper())
        pupil = Pupil(
            upn=upn,
            surname=surname,
            forename=forename,
            middle_names=text["middle_names"][i],
            preferred_forename=text["preferred_forename"][i],
            preferred_surname=text["preferred_surname"][i],
            aliases=text["aliases"][i],
            former_upn=text["former_upn"][i].upper(),
            admission_no=text["admission_no"][i],
            admission_date=_as_date(admitted[i]),
            dob=_as_date(dob),
            gender=text["gender"][i],
            year=year if isinstance(year, int) else None,
            reg_group=text["reg_group"][i],
            ethnicity=text["ethnicity"][i],
            first_language=text["first_language"][i],
            english_proficiency=text["english_proficiency"][i],
            address=address,
            previous_addresses=text["previous_addresses"][i],
            sen=text["sen"][i],
            flags=frozenset(flags_by_row[i]),
            social_worker=_person(rows, r, row, text, i, "social_worker"),
            key_worker=_person(rows, r, row, text, i, "key_worker"),
            summary=AttendanceSummary(
                _as_int(rows.get(r, row, "possible_sessions")),
                _as_int(rows.get(r, row, "present_sessions")),
                _as_float(rows.get(r, row, "attendance_pct")),
            )
            if summary
            else None,
            source=rows.source(r),
        )
        pupils[upn] = pupil
        first_row[upn] = r
    return pupils


# Fields printed on letters, forms and emails as a name: control characters are removed and
# an impossible length refused, per pupil (issue 17.3).
_NAME_FIELDS = (
    "surname",
    "forename",
    "middle_names",
    "preferred_forename",
    "preferred_surname",
    "full_name",
    "social_worker_name",
    "key_worker_name",
)
MAX_NAME = 100
# C0/C1 controls (line breaks and tabs included) become a space: they stand between words.
# The invisible ones (bidi marks, embeddings, overrides and isolates, zero-width space, BOM)
# go without one: "Li<RLO>am" is "Liam". Right-to-left letters, emoji and the joiners that
# Persian names and emoji sequences need (U+200C, U+200D) are names like any other.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_name(rows: _Rows, r: int, name: str, value: str) -> str:
    """A name cell with control characters removed (a warning naming the cell), or ''
    with an error when it is longer than any real name (the pupil is then held back)."""
    cleaned = " ".join(_CONTROLS.sub(" ", _INVISIBLE.sub("", value)).split())
    if cleaned != value:
        rows.bad(
            r,
            name,
            "control characters or line breaks removed from the name",
            "retype the name in the MIS without them",
            Severity.WARNING,
        )
    if len(cleaned) > MAX_NAME:
        rows.bad(
            r,
            name,
            f"the name is {len(cleaned)} characters long, more than any real name "
            f"({MAX_NAME} at most)",
            "correct the cell: it may hold notes or a pasted list",
        )
        return cleaned[:MAX_NAME]
    return cleaned


def _person(
    rows: _Rows, r: int, row: list[object], text: dict[str, Sequence[str]], i: int, who: str
) -> Person:
    name, email = text[f"{who}_name"][i], text[f"{who}_email"][i]
    phone = rows.get(r, row, f"{who}_phone", "") if rows.has(f"{who}_phone") else ""
    return Person(name, email, str(phone)) if name or email or phone else _NOBODY


_NOBODY = Person()


def _split_name(full: str) -> tuple[str, str]:
    """'Smith, John' or 'SMITH John' -> ('Smith', 'John')."""
    if "," in full:
        surname, _, forename = full.partition(",")
        return surname.strip(), forename.strip()
    parts = full.split()
    if len(parts) >= 2 and parts[0].isupper() and not parts[1].isupper():
        return parts[0].title(), " ".join(parts[1:])
    return (parts[-1], " ".join(parts[:-1])) if parts else ("", "")


def _unknown_pupil(rows: _Rows, r: int, upn: str, pupils: dict[str, Pupil], what: str) -> bool:
    if upn in pupils:
        return False
    rows.bad(
        r,
        "upn",
        f"{what} for UPN {upn!r}, who is not on the pupils sheet",
        "correct the UPN, or add the pupil to the pupils sheet",
    )
    return True


def _read_contacts(
    file: str, match: HeaderMatch, pupils: dict[str, Pupil], problems: list[Problem]
) -> dict[str, tuple[Contact, ...]]:
    rows = _Rows(file, SHEETS["contacts"], match, problems)
    out: dict[str, list[Contact]] = defaultdict(list)
    for r, row in rows:
        upn = v.upn_key(rows.raw(row, "upn"))
        if _unknown_pupil(rows, r, upn, pupils, "contact"):
            continue
        title = rows.text(r, row, "title")
        forename = rows.text(r, row, "forename")
        surname = rows.text(r, row, "surname")
        name = rows.text(r, row, "name") or " ".join(p for p in (title, forename, surname) if p)
        name = clean_name(rows, r, "name", name) if name else name
        if not name:
            rows.bad(r, "name", "contact has no name", "fill in the contact's name")
            continue
        if not surname and not forename:
            forename, surname = _name_parts(name)
            title, forename = _title_of(forename) if not title else (title, forename)
        priority = rows.get(r, row, "priority", 99)
        pupil = pupils[upn]
        address = rows.address(r, row)
        lives_with = rows.get(r, row, "lives_with_pupil", None)
        out[upn].append(
            Contact(
                upn=upn,
                name=name,
                priority=priority if isinstance(priority, int) else 99,
                title=title,
                forename=forename,
                surname=surname,
                relationship=rows.text(r, row, "relationship"),
                parental_responsibility=bool(rows.get(r, row, "parental_responsibility", False)),
                # No "lives with" column: a contact at the pupil's address lives with the pupil.
                lives_with_pupil=bool(lives_with)
                if lives_with is not None or rows.has("lives_with_pupil")
                else (not address.lines or address == pupil.address),
                address=address if address.lines else pupil.address,
                landline=str(rows.get(r, row, "landline", "")),
                mobile=str(rows.get(r, row, "mobile", "")),
                work_phone=str(rows.get(r, row, "work_phone", "")),
                email=rows.text(r, row, "email"),
                home_language=rows.text(r, row, "home_language"),
                # No interpreter column: unknown (the CME form leaves it for staff), not "no".
                interpreter_needed=bool(rows.get(r, row, "interpreter_needed", False))
                if rows.has("interpreter_needed")
                else None,
                no_contact=bool(rows.get(r, row, "no_contact", False)),
                source=rows.source(r),
            )
        )
    return {upn: tuple(sorted(cs, key=lambda c: c.priority)) for upn, cs in out.items()}


_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "rev", "prof"}


def _title_of(forename: str) -> tuple[str, str]:
    first, _, rest = forename.partition(" ")
    if first.rstrip(".").casefold() in _TITLES:
        return first.rstrip("."), rest
    return "", forename


def _name_parts(name: str) -> tuple[str, str]:
    parts = name.split()
    return (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", name)


def _read_marks(
    file: str,
    match: HeaderMatch,
    pupils: dict[str, Pupil],
    problems: list[Problem],
    n_cells: dict[tuple[str, date], str],
) -> dict[str, dict[date, DayMarks]]:
    """Session marks, long form (UPN, Date, AM, PM) or one row per session (Session, Mark).

    The biggest sheet by far (a year is 380 sessions a pupil), so it is read column-wise and
    each distinct code is parsed once."""
    rows = _Rows(file, SHEETS["marks"], match, problems)
    data, cols = rows.columns()
    n = len(data)
    long_form = not rows.has("am") and rows.has("mark")
    codes = _Codes(rows, data)
    if long_form:
        sessions = [s.upper() for s in rows.texts(cols, "session", n)]
        am_codes = codes.column(cols, "mark")
        pm_codes = am_codes
    else:
        am_codes = codes.column(cols, "am")
        pm_codes = codes.column(cols, "pm")
    codes.report()
    dates = rows.typed(data, cols, "date")
    upn_col = cols.get("upn", [None] * n)
    keys: dict[object, str] = {}
    out: dict[str, dict[date, DayMarks]] = defaultdict(dict)
    unknown: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        raw = upn_col[i]
        upn = keys.get(raw) if raw.__class__ is str else None
        if upn is None:
            upn = keys[raw] = v.upn_key(raw)
        if upn not in pupils:
            unknown[upn].append(data[i][0])
            continue
        day = dates[i]
        if day.__class__ is not date:
            r, row = data[i]
            if day is None and v.is_blank(rows.raw(row, "date")):
                rows.bad(r, "date", "date is blank", "fill in the date as DD/MM/YYYY")
            continue
        days = out[upn]
        if long_form:
            session = sessions[i]
            am, pm = days.get(day, ("", ""))
            code = am_codes[i]
            if session.startswith("A"):
                am = code
            elif session.startswith("P"):
                pm = code
            else:
                rows.bad(data[i][0], "session", f"{session!r} is not AM or PM", "write AM or PM")
                continue
            days[day] = (am, pm)
            if code == "N":
                n_cells[(upn, day)] = rows.cell(data[i][0], "mark")
            continue
        am, pm = am_codes[i], pm_codes[i]
        if am == "N" or pm == "N":
            n_cells[(upn, day)] = rows.cell(data[i][0], "am" if am == "N" else "pm")
        if day in days:
            rows.bad(
                data[i][0],
                "date",
                f"a second row of marks for {upn} on {day:%d/%m/%Y}",
                "keep one row per pupil per day",
            )
            continue
        days[day] = (am, pm)
    for upn, rlist in unknown.items():
        label = f"UPN {upn!r}" if upn else "a blank UPN"
        more = f" (and {len(rlist) - 1} more rows)" if len(rlist) > 1 else ""
        problems.append(
            Problem(
                Severity.ERROR,
                f"marks for {label}, who is not on the pupils sheet{more}",
                file=file,
                sheet=match.sheet.name,
                cell=rows.cell(rlist[0], "upn"),
                column=rows.header("upn"),
                group="marks",
                hint="correct the UPN, or add the pupil to the pupils sheet",
            )
        )
    return {upn: dict(sorted(days.items())) for upn, days in out.items()}


class _Codes:
    """Attendance codes of a column, each distinct raw value parsed once. Bad codes are
    reported per cell (the first few of each); legacy codes once per code with a count."""

    LIMIT = 20

    def __init__(self, rows: _Rows, data: list[tuple[int, list[object]]]) -> None:
        self.rows = rows
        self.data = data
        self.notes: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.bad: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)

    def column(self, cols: dict[str, Sequence[object]], name: str) -> list[str]:
        col = cols.get(name)
        if col is None:
            return [""] * len(self.data)
        parsed: dict[object, tuple[str, str | None] | v.BadValue] = {}
        for raw in set(col):
            try:
                parsed[raw] = v.parse_code(raw)
            except v.BadValue as bad:
                parsed[raw] = bad
        out: list[str] = []
        for i, raw in enumerate(col):
            hit = parsed[raw]
            if isinstance(hit, v.BadValue):
                self.bad[(name, v.text(raw), hit.message, hit.hint)].append(i)
                out.append("")
                continue
            code, note = hit
            if note:
                self.notes[(name, note)].append(i)
            out.append(code)
        return out

    def report(self) -> None:
        for (name, _, message, hint), where in self.bad.items():
            for i in where[: self.LIMIT]:
                self.rows.bad(self.data[i][0], name, message, hint)
            if len(where) > self.LIMIT:
                self.rows.bad(
                    self.data[where[self.LIMIT]][0],
                    name,
                    f"{message} ({len(where) - self.LIMIT} more cells like this)",
                    hint,
                )
        for (name, note), where in self.notes.items():
            more = f" ({len(where)} cells, first shown)" if len(where) > 1 else ""
            self.rows.bad(
                self.data[where[0]][0],
                name,
                note + more,
                "use the 2024 code in the MIS",
                Severity.WARNING,
            )


def _read_contact_log(
    file: str, match: HeaderMatch, pupils: dict[str, Pupil], problems: list[Problem]
) -> dict[str, tuple[ContactLogEntry, ...]]:
    rows = _Rows(file, SHEETS["contact_log"], match, problems)
    out: dict[str, list[ContactLogEntry]] = defaultdict(list)
    for r, row in rows:
        upn = v.upn_key(rows.raw(row, "upn"))
        if _unknown_pupil(rows, r, upn, pupils, "contact log entry"):
            continue
        day = rows.get(r, row, "date")
        if not isinstance(day, date):
            if v.is_blank(rows.raw(row, "date")):
                rows.bad(r, "date", "date is blank", "fill in the date as DD/MM/YYYY")
            continue
        out[upn].append(
            ContactLogEntry(
                upn,
                day,
                rows.text(r, row, "method"),
                bool(rows.get(r, row, "contact_made", False)),
                rows.text(r, row, "notes"),
                rows.source(r),
            )
        )
    return {upn: tuple(sorted(es, key=lambda e: e.date)) for upn, es in out.items()}


_LETTER_NO = re.compile(r"(?:pa[\s_]*)?(?:warning\s*)?(?:letter)?[\s_#]*([123])\b", re.I)


_OTHER_NUMBER = re.compile(r"(?:pa[\s_]*)?(?:warning\s*)?(?:letter)?[\s_#]*(-?\d+)", re.I)


def letter_action(raw: str) -> str | None:
    """'Letter 1', 'PA letter 2', 'Warning letter 3', '1' or 'pa_letter_2' -> pa_letter_N;
    any action name as is."""
    s = raw.strip()
    if s.casefold() in ACTIONS:
        return s.casefold()
    m = _LETTER_NO.fullmatch(s) or _LETTER_NO.search(s)
    if m and ("letter" in s.casefold() or s.strip().isdigit() or "pa" in s.casefold()):
        return f"pa_letter_{m.group(1)}"
    return None


def _read_letters(
    file: str, match: HeaderMatch, pupils: dict[str, Pupil], problems: list[Problem]
) -> dict[str, tuple[LetterRecord, ...]]:
    rows = _Rows(file, SHEETS["letters"], match, problems)
    out: dict[str, list[LetterRecord]] = defaultdict(list)
    for r, row in rows:
        upn = v.upn_key(rows.raw(row, "upn"))
        if _unknown_pupil(rows, r, upn, pupils, "letter"):
            continue
        raw = rows.text(r, row, "letter")
        action = letter_action(raw)
        other = _OTHER_NUMBER.fullmatch(raw.strip())
        if action is None and other is not None:
            rows.bad(
                r,
                "letter",
                f"{raw!r}: attendance warning letters are numbered 1 to 3, not {other.group(1)}",
                "write Letter 1, Letter 2 or Letter 3",
            )
            continue
        if action is None:
            # A school's log holds other letters too (medical evidence requests...): not ours.
            rows.bad(
                r,
                "letter",
                f"{raw!r} is not an attendance warning letter, so mergekit skips it",
                "write Letter 1, Letter 2 or Letter 3 if it was one",
                Severity.WARNING,
            )
            continue
        day = rows.get(r, row, "date_sent")
        if not isinstance(day, date):
            if v.is_blank(rows.raw(row, "date_sent")):
                rows.bad(r, "date_sent", "date sent is blank", "fill in the date as DD/MM/YYYY")
            continue
        out[upn].append(LetterRecord(upn, action, day, rows.source(r)))
    return {upn: tuple(sorted(ls, key=lambda x: x.date_sent)) for upn, ls in out.items()}


_NOT_WRITTEN = re.compile(r"\b(verbal|verbally|phone|call|enquiry|enquired|asked|mentioned)\b")


def is_unwritten(raw: str) -> bool:
    """'Verbal EHE enquiry': the policy only acts on home-education requests made in writing."""
    return bool(_NOT_WRITTEN.search(raw.casefold()))


def event_kind(raw: str) -> EventKind | None:
    s = raw.casefold()
    if ("home" in s and "educ" in s) or re.search(r"\behe\b", s):
        return EventKind.HOME_EDUCATION
    if "move" in s or "moving" in s or "relocat" in s:
        return EventKind.PLANNED_MOVE
    return None


def _read_events(
    file: str, match: HeaderMatch, pupils: dict[str, Pupil], problems: list[Problem]
) -> dict[str, tuple[Event, ...]]:
    rows = _Rows(file, SHEETS["events"], match, problems)
    out: dict[str, list[Event]] = defaultdict(list)
    for r, row in rows:
        upn = v.upn_key(rows.raw(row, "upn"))
        if _unknown_pupil(rows, r, upn, pupils, "event"):
            continue
        raw = rows.text(r, row, "event")
        kind = event_kind(raw)
        if kind is None:
            rows.bad(
                r,
                "event",
                f"{raw!r} is not a planned move or home-education request, so mergekit skips it",
                "write 'Planned move' or 'Elective home education request' if it was one",
                Severity.WARNING,
            )
            continue
        if kind is EventKind.HOME_EDUCATION and is_unwritten(raw):
            rows.bad(
                r,
                "event",
                f"{raw!r}: home education requests count only when made in writing, so this "
                "row is not treated as one",
                "record the date the written request arrives as 'Elective home education request'",
                Severity.WARNING,
            )
            continue
        day = rows.get(r, row, "date_received")
        if not isinstance(day, date):
            if v.is_blank(rows.raw(row, "date_received")):
                rows.bad(
                    r, "date_received", "date received is blank", "fill in the date as DD/MM/YYYY"
                )
            continue
        out[upn].append(
            Event(
                upn,
                kind,
                day,
                _as_date(rows.get(r, row, "effective_date")),
                rows.text(r, row, "new_address"),
                rows.text(r, row, "new_country"),
                rows.text(r, row, "new_school"),
                rows.text(r, row, "informed"),
                rows.text(r, row, "notes"),
                rows.source(r),
            )
        )
    return {upn: tuple(sorted(es, key=lambda e: e.date_received)) for upn, es in out.items()}
