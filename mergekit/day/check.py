"""`mergekit check`: read the configured workbooks and report every problem, grouped.

The reader reports what is wrong inside single cells; the checks here look across rows and
against the school calendar: marks on days the school was shut, ``N`` marks left longer than the
law allows, pupils nobody can be written to, a workbook without today's register, and settings
the letters print that are blank or still the starter's placeholders.

Every problem has a scope (:class:`~mergekit.core.errors.Scope`), and blocks only what depends
on it (docs/blocking.md):

* a pupil's problem (a bad cell in one of their rows: DOB, UPN, a mark) keeps that pupil out of
  letters and forms (:attr:`SchoolData.fix_first`), listed first; everyone else is planned;
* a transfer-list problem blocks only `mergekit offroll` writes;
* a school-wide problem that makes counts wrong (no terms, marks on closed days, a missing
  sheet or column) stops every command that makes something (:attr:`CheckReport.blocking`).

Two school-wide kinds hold back only what depends on them (:attr:`CheckReport.held`): no
register for today holds the rules that need today's marks (day-1 calls, letters, alerts, CME
steps) but not a planned move; a blank setting holds only the documents and emails whose
templates print it. ``check`` itself exits 1 while any error remains.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import TYPE_CHECKING, Any

from mergekit.core.actions import DOCUMENT_ACTIONS, NEEDS_TODAYS_MARKS, NOTICES
from mergekit.core.calendar import SchoolCalendar
from mergekit.core.config import Settings
from mergekit.core.errors import MergekitError, Problem, Scope, Severity, error, warning
from mergekit.core.model import FixFirst, RegisterTask, SchoolData
from mergekit.merge.addressing import addressees
from mergekit.plan.register import RegisterGap, register_gap, register_pending
from mergekit.read.sheets import lock_file

if TYPE_CHECKING:
    from mergekit.merge.settingscheck import SettingProblem
from mergekit.read.tracking import ReadResult, pupil_row_name, read_tracking
from mergekit.read.transferlist import read_transfer_list

GROUP_TITLES = {
    "register": "Today's register",
    "config": "Configuration",
    "file": "Files",
    "sheets": "Sheets",
    "columns": "Columns",
    "pupils": "Pupils",
    "contacts": "Contacts",
    "marks": "Session marks",
    "calendar": "Marks and the school calendar",
    "contact_log": "Contact log",
    "letters": "Letters already sent",
    "events": "Events",
    "off_roll": "Transfer list (Off Roll)",
    "post": "Pupils who cannot be written to",
}


@dataclass
class CheckReport:
    today: date
    result: ReadResult | None
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    # Errors that hold back only some actions, and which: (problem, actions).
    scoped: list[tuple[Problem, tuple[str, ...]]] = field(default_factory=list)
    register: RegisterGap | None = None  # no marks for today after registration
    unfilled: list[str] = field(default_factory=list)  # printed settings blank or placeholders

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def blocking(self) -> list[Problem]:
        """School-wide errors that stop everything (the others hold back only what depends on
        them: one pupil's documents, `offroll` writes, or the actions in :attr:`held`)."""
        scoped = {id(p) for p, _ in self.scoped}
        return [p for p in self.errors if id(p) not in scoped and p.scope is Scope.SCHOOL]

    @property
    def pupil_errors(self) -> list[Problem]:
        return [p for p in self.errors if p.scope is Scope.PUPIL]

    @property
    def transfer_errors(self) -> list[Problem]:
        """Errors in the transfer list: they block only `mergekit offroll` writes."""
        return [p for p in self.errors if p.scope is Scope.TRANSFER]

    @property
    def fix_first(self) -> tuple[FixFirst, ...]:
        """The pupils kept out of letters and forms, and why (listed first everywhere)."""
        return self.result.data.fix_first if self.result is not None else ()

    @property
    def held(self) -> dict[str, list[Problem]]:
        """action -> the errors that hold it back."""
        out: dict[str, list[Problem]] = {}
        for problem, actions in self.scoped:
            for a in actions:
                out.setdefault(a, []).append(problem)
        return out

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def grouped(self) -> list[tuple[str, list[Problem]]]:
        groups: dict[str, list[Problem]] = defaultdict(list)
        for p in self.problems:
            groups[p.group or "file"].append(p)
        order = list(GROUP_TITLES)
        return [
            (GROUP_TITLES.get(g, g), ps)
            for g, ps in sorted(
                groups.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)
            )
        ]

    def summary(self) -> str:
        parts = [f"{n:,} {what}" for what, n in self.counts.items()]
        errs, warns = len(self.errors), len(self.warnings)
        read = f"{', '.join(parts)} read" if parts else "nothing read"
        return f"{read}; {errs} error{'s' * (errs != 1)}, {warns} warning{'s' * (warns != 1)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "ok": self.ok,
            "counts": self.counts,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.as_dict() for p in self.problems],
        }


def run_check(
    settings: Settings, calendar: SchoolCalendar, today: date, now: time | None = None
) -> CheckReport:
    """Read everything the config names and check it, for the school day ``today``; ``now``
    is the time of day when that is the real date (None: another day, its register closed).
    Never raises for bad data: a workbook that cannot be opened at all is reported as an error
    in the report."""
    problems: list[Problem] = list(settings.warnings)
    scoped: list[tuple[Problem, tuple[str, ...]]] = []
    result: ReadResult | None = None
    gap: RegisterGap | None = None
    try:
        result = read_tracking(settings)
    except MergekitError as e:
        problems.append(error(str(e), group="file"))
    if result is not None:
        closes = settings.policy.registration_time()
        gap = register_gap(result.data, today, now, closes)
        file = settings.resolve(settings.files.tracking).name
        sheet = result.sheets_found.get("marks", "")
        if gap is not None:
            p = error(gap.message(), file=file, sheet=sheet, group="register", hint=gap.hint())
            problems.append(p)
            scoped.append((p, NEEDS_TODAYS_MARKS))
        elif register_pending(result.data, today, now, closes):
            problems.append(
                warning(
                    f"no marks for {today:%A %d/%m/%Y} yet: it is {now:%H:%M}, before "
                    f"registration closes at {closes:%H:%M}",
                    file=file,
                    sheet=sheet,
                    group="register",
                    hint="the first-day calls need today's register: export it after "
                    "registration and run again",
                )
            )
        problems.extend(result.problems)
        cal, tasks = _calendar_checks(result, calendar, settings, today)
        problems.extend(cal)
        problems.extend(post_problems(result.data, settings))
        problems.extend(_future_letters(result, settings, today))
        result.data = replace(
            result.data, fix_first=fix_first(result, problems), register_tasks=tuple(tasks)
        )
    problems.extend(_transfer_list_problems(settings))
    unfilled = _settings_problems(settings)
    for u in unfilled:
        problems.append(u.problem)
        scoped.append((u.problem, u.actions))
    counts = dict(result.counts) if result else {}
    return CheckReport(today, result, problems, counts, scoped, gap, [u.key for u in unfilled])


def _settings_problems(settings: Settings) -> list[SettingProblem]:
    """Settings the documents and emails print that are blank or placeholders; a template
    that cannot be read is left to `mergekit templates check`."""
    from mergekit.merge.settingscheck import setting_problems

    try:
        return setting_problems(settings, (*DOCUMENT_ACTIONS, *sorted(NOTICES)))
    except MergekitError:
        return []


def fix_first(result: ReadResult, problems: list[Problem]) -> tuple[FixFirst, ...]:
    """One entry per pupil with an error in their own rows, in workbook order."""
    reasons: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for p in problems:
        if p.severity is not Severity.ERROR or p.scope is not Scope.PUPIL:
            continue
        reasons.setdefault(p.upn, []).append(str(p))
        if not names.get(p.upn):
            names[p.upn] = pupil_row_name(result, p)
    return tuple(FixFirst(upn, names.get(upn, ""), tuple(rs)) for upn, rs in reasons.items())


_OFFROLL_ONLY = "this blocks only `mergekit offroll` writes; everything else goes on"


def _transfer_list_problems(settings: Settings) -> list[Problem]:
    path = settings.resolve(settings.files.transfer_list)
    if not path.exists():
        return [
            warning(
                f"{settings.where('files.transfer_list')}: transfer list {path.name} "
                "not found; `mergekit offroll` needs it",
                group="file",
            )
        ]
    out: list[Problem] = []
    if lock_file(path):
        out.append(
            warning(
                "the transfer list is open in Excel (its lock file is beside it)",
                file=path.name,
                group="file",
                hint="close it in Excel before `mergekit offroll` writes to it",
            )
        )
    try:
        tl = read_transfer_list(settings, path)
    except MergekitError as e:
        return [
            *out,
            error(str(e), group="off_roll", hint=_OFFROLL_ONLY, scope=Scope.TRANSFER),
        ]
    return [*out, *(_regroup(p, "off_roll") for p in tl.problems)]


def _regroup(p: Problem, group: str) -> Problem:
    """A transfer-list problem: it holds back only the Off Roll writes, and says so."""
    hint = p.hint
    if p.severity is Severity.ERROR:
        hint = f"{hint} ({_OFFROLL_ONLY})" if hint else _OFFROLL_ONLY
    return Problem(
        p.severity, p.message, p.file, p.sheet, p.cell, p.column, hint, group, Scope.TRANSFER
    )


def calendar_problems(
    result: ReadResult, calendar: SchoolCalendar, settings: Settings, today: date
) -> list[Problem]:
    """Marks on non-school days (one line per date) and N marks older than the legal limit."""
    return _calendar_checks(result, calendar, settings, today)[0]


def _calendar_checks(
    result: ReadResult, calendar: SchoolCalendar, settings: Settings, today: date
) -> tuple[list[Problem], list[RegisterTask]]:
    """Marks on non-school days (a school-wide error, one line per date: the counts are wrong)
    and every N mark older than the legal limit (a warning naming pupil, date and cell, and a
    register task: the rules count it as unauthorised absence, as the 2024 regulations do)."""
    data = result.data
    if not data.has_marks:
        return [], []
    file = settings.resolve(settings.files.tracking).name
    sheet = result.sheets_found.get("marks", "")
    out: list[Problem] = []
    tasks: list[RegisterTask] = []
    if not calendar.terms:
        return [
            error(
                "no terms in [calendar]: mergekit cannot tell school days from holidays",
                file=settings.where("calendar.terms"),
                group="calendar",
                hint="add the school's term dates to mergekit.toml",
            )
        ], []
    off_days: dict[date, list[str]] = defaultdict(list)
    limit = settings.policy.n_code_limit_school_days
    for upn, marks in data.marks.items():
        for day, (am, pm) in marks.items():
            if day > today:
                continue
            real = [c for c in (am, pm) if c and c != "#"]
            school_day = calendar.is_school_day(day)
            if real and not school_day:
                off_days[day].append(upn)
            if "N" not in (am, pm) or not school_day:
                continue
            age = calendar.school_days_after(day, today)
            if age <= limit:
                continue
            sessions = " and ".join(s for s, c in (("AM", am), ("PM", pm)) if c == "N")
            cell = result.n_cells.get((upn, day), "")
            name = _name(data, upn)
            out.append(
                warning(
                    f"{upn} ({name}) still has an N mark ({sessions}) from {day:%d/%m/%Y}, "
                    f"{age} school days ago: counted as unauthorised absence until recoded",
                    file=file,
                    sheet=sheet,
                    cell=cell,
                    column="AM" if am == "N" else "PM",
                    group="calendar",
                    hint=f"N must be replaced within {limit} school days: record the reason, "
                    "or O if none was found",
                    scope=Scope.PUPIL,
                    upn=upn,
                )
            )
            where = f"{sheet}!{cell}" if cell else sheet
            tasks.append(RegisterTask(upn, name, day, sessions, age, where))
    for day, upns in sorted(off_days.items()):
        why = calendar.why_not(day) or "not a school day"
        out.append(
            error(
                f"{len(upns)} pupil{'s have' if len(upns) != 1 else ' has'} marks on "
                f"{day:%A %d/%m/%Y}, which mergekit.toml says is not a school day ({why})",
                file=file,
                sheet=sheet,
                group="calendar",
                hint="correct [calendar] in mergekit.toml (terms, inset_days, closures), or the "
                f"marks' dates (first pupil: {upns[0]})",
            )
        )
    return out, tasks


def _future_letters(result: ReadResult, settings: Settings, today: date) -> list[Problem]:
    """A letter dated after the school day worked for: a typing error that would hold the
    next letter back (the interval counts from it)."""
    out: list[Problem] = []
    for upn, records in result.data.letters.items():
        for rec in records:
            if rec.date_sent <= today:
                continue
            src = rec.source
            out.append(
                error(
                    f"{upn} ({_name(result.data, upn)}): letter dated {rec.date_sent:%d/%m/%Y}, "
                    f"after today ({today:%d/%m/%Y})",
                    file=src.file if src else settings.resolve(settings.files.tracking).name,
                    sheet=src.sheet if src else "",
                    cell=f"row {src.row}" if src else "",
                    group="letters",
                    hint="correct the date the letter was sent (DD/MM/YYYY)",
                    scope=Scope.PUPIL,
                    upn=upn,
                )
            )
    return out


def post_problems(data: SchoolData, settings: Settings) -> list[Problem]:
    """Pupils of compulsory school age with no contact who can be sent a letter."""
    out: list[Problem] = []
    first, last = settings.policy.first_compulsory_year, settings.policy.last_compulsory_year
    for upn, pupil in data.pupils.items():
        if pupil.year is None or not first <= pupil.year <= last:
            continue
        postable = [c for c in addressees(data.contacts_of(upn)) if c.address.is_postable]
        if postable:
            continue
        src = pupil.source
        out.append(
            warning(
                f"{upn} ({pupil.full_name}, year {pupil.year}) has no contact with parental "
                "responsibility, living with them, with a postal address",
                file=src.file if src else "",
                sheet=src.sheet if src else "",
                cell=f"row {src.row}" if src else "",
                group="post",
                hint="add the address or parental responsibility on the contacts sheet",
            )
        )
    return out


def _name(data: SchoolData, upn: str) -> str:
    p = data.pupils.get(upn)
    return p.full_name if p else "unknown pupil"
