"""mergekit.toml: every key, its type, default and meaning, in one place.

The dataclasses below *are* the schema: the loader checks types from their annotations, the
starter file written by ``mergekit init`` and the key reference in ``docs/config.md`` come from
their ``doc`` metadata. An unknown key is a warning with "did you mean"; a wrong type or a
missing required value is an error naming the key and its line in the file.

One module on purpose (about 640 lines): the schema is the documentation of every key, and
reads as one reference; splitting it would scatter the sections staff look up together.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from collections.abc import Iterator
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from mergekit.core.actions import ACTIONS
from mergekit.core.errors import ConfigError, Problem, warning

CONFIG_NAME = "mergekit.toml"


def doc(text: str, default: Any = MISSING, *, example: Any = MISSING) -> Any:
    """A config key: its help text and default (no default = required). ``example`` is the
    placeholder ``mergekit init`` writes instead of the default: a value still equal to it has
    not been filled in, and documents that print it are not made."""
    meta = {"doc": text}
    if example is not MISSING:
        meta["example"] = example
    if default is MISSING:
        return field(metadata=meta)
    if isinstance(default, list | dict):
        return field(default_factory=_copier(default), metadata=meta)
    return field(default=default, metadata=meta)


def _copier(default: list[Any] | dict[str, Any]) -> Any:
    return lambda: type(default)(default)


@dataclass(frozen=True)
class SchoolSettings:
    name: str = doc("School name as printed on letters.", example="Your School Name")
    address: list[str] = doc(
        "Postal address lines, postcode last.",
        [],
        example=["School Road", "Town", "AB1 2CD"],
    )
    phone: str = doc("Main office phone number.", "")
    email: str = doc("Office email address printed on letters.", "")
    website: str = doc("School website, if you want it on the letterhead.", "")
    head_teacher: str = doc(
        "Head teacher's name (signs letters and the Remove From Roll form).", ""
    )
    head_teacher_title: str = doc("Job title under the head teacher's signature.", "Headteacher")
    dsl: str = doc("Designated Safeguarding Lead's name.", "")
    dsl_email: str = doc("Designated Safeguarding Lead's email.", "")
    attendance_officer: str = doc("Attendance officer's name (contact person on forms).", "")
    attendance_officer_title: str = doc("Attendance officer's job title.", "Attendance Officer")
    attendance_officer_email: str = doc("Attendance officer's email.", "")
    attendance_officer_phone: str = doc("Attendance officer's direct phone.", "")
    urn: str = doc("School URN or LAESTAB number, if forms ask for it.", "")


@dataclass(frozen=True)
class CouncilSettings:
    name: str = doc("The local authority's name.", "", example="Your Council")
    cme_team: str = doc(
        "Name of the council's Children Missing Education team.", "Children Missing Education Team"
    )
    cme_contact: str = doc("Named officer in the CME team, if any.", "")
    cme_email: str = doc(
        "Where CME referrals and Remove From Roll forms are emailed.",
        "",
        example="cme@your-council.example.gov.uk",
    )
    cme_phone: str = doc("CME team phone.", "")
    admissions_email: str = doc("Council admissions team email (off-roll notifications).", "")
    address: list[str] = doc("Council postal address lines.", [])


@dataclass(frozen=True)
class FileSettings:
    tracking: str = doc(
        "The attendance tracking workbook (.xlsx, .xlsm, .xls or .csv), relative to this file.",
        "tracking.xlsx",
    )
    transfer_list: str = doc(
        "The transfer list workbook with the Off Roll tab.", "transfer_list.xlsx"
    )
    ledger: str = doc(
        "The ledger: mergekit's record of everything done (SQLite file).", "mergekit-ledger.sqlite"
    )
    output: str = doc("Folder for each day's run (letters, forms, PDFs, emails).", "out")
    backups: str = doc(
        "Folder for the copy of the transfer list kept before the first write of each day.",
        "backups",
    )
    templates: str = doc(
        "Folder of your own templates (docx/, pdf/, email/); empty means the "
        "ones bundled with mergekit.",
        "",
    )


@dataclass(frozen=True)
class SheetSettings:
    """Sheet names, only needed when mergekit cannot recognise a sheet by its header row."""

    pupils: str = doc("Sheet with one row per pupil.", "")
    contacts: str = doc("Sheet with parents/carers, one row per contact.", "")
    marks: str = doc("Sheet of session marks (UPN, Date, AM, PM).", "")
    contact_log: str = doc("Sheet logging first-day-absence contact attempts.", "")
    letters: str = doc("Sheet of letters already sent (UPN, Letter, Date sent).", "")
    events: str = doc("Sheet of planned moves / home-education requests.", "")
    off_roll: str = doc("The transfer list's Off Roll tab.", "")


@dataclass(frozen=True)
class Term:
    start: date
    end: date


@dataclass(frozen=True)
class CalendarSettings:
    terms: list[Term] = doc(
        "Each half term as { start = YYYY-MM-DD, end = YYYY-MM-DD }; the gaps are holidays.",
        [],
    )
    inset_days: list[date] = doc("Staff training days (no pupils).", [])
    closures: list[date] = doc("Other days the school is shut (polling day, snow).", [])
    bank_holidays: str | bool = doc(
        'Bank holidays to leave out: "england-and-wales", or false to list them yourself '
        "in closures.",
        "england-and-wales",
    )


@dataclass(frozen=True)
class PolicySettings:
    first_compulsory_year: int = doc("Youngest National Curriculum year the rules apply to.", 1)
    last_compulsory_year: int = doc(
        "Oldest NC year the rules apply to (11: sixth form is not compulsory school age).", 11
    )
    vulnerable_flags: list[str] = doc(
        "Flags that make a pupil vulnerable for day-1 social-worker contact; join two with + "
        "when both are needed.",
        [
            "looked_after",
            "child_protection_plan",
            "child_in_need_plan",
            "domestic_abuse_notification+early_help",
        ],
    )
    pa_threshold_percent: float = doc("Warning letters go when attendance is below this.", 90.0)
    pa_rule: str = doc(
        '"policy": attendance strictly below the threshold; "dfe": absence of '
        "10% or more (exactly 90.0% counts).",
        "policy",
    )
    min_possible_sessions: int = doc(
        "No letter or severe-absence alert before a pupil has this many possible sessions "
        "this year; the attendance-drop check needs this many before and within its window.",
        20,
    )
    letter_interval_school_days: int = doc(
        "School days between one warning letter and the next.", 15
    )
    severe_absence_percent: float = doc("Absence at or above this is severe (alert the DSL).", 50.0)
    penalty_threshold_sessions: int = doc(
        "Unauthorised sessions (G N O U) that trigger a penalty-notice review.", 10
    )
    penalty_window_weeks: int = doc("Rolling window, in school weeks, for that count.", 10)
    drop_window_school_days: int = doc("Recent window for a sudden drop in attendance.", 20)
    drop_points: float = doc("Percentage points below the earlier year that count as a drop.", 10.0)
    cme_inform_days: int = doc(
        "Unexplained absence (school days, no contact) before telling the CME team.", 5
    )
    cme_referral_days: int = doc("... before completing the CME referral form.", 10)
    remove_from_roll_days: int = doc("... before the Remove From Roll checklist.", 20)
    registration_closes: str = doc(
        "When the morning register closes (HH:MM, 24-hour clock). Before then, no marks for "
        "today is expected; after it, a tracking workbook without today's marks is an old "
        "export, and what needs today's marks waits for a new one.",
        "09:30",
    )
    n_code_limit_school_days: int = doc(
        "An N mark older than this must be recoded (to O if no reason is found).", 5
    )
    offroll_overdue_school_days: int = doc(
        "An Off Roll step open this many school days after the leaving date is overdue.", 10
    )

    def registration_time(self) -> time:
        """``registration_closes`` as a time (checked when the config is loaded)."""
        hours, minutes = self.registration_closes.strip().split(":")
        return time(int(hours), int(minutes))


@dataclass(frozen=True)
class MailSettings:
    host: str = doc("SMTP server.", "localhost")
    port: int = doc("SMTP port (587 STARTTLS, 465 SSL, 25 plain).", 587)
    security: str = doc(
        '"starttls", "ssl", or "none" (only allowed to a loopback address).', "starttls"
    )
    username: str = doc("SMTP login; no AUTH when empty.", "")
    password_env: str = doc(
        "Environment variable holding the SMTP password (never put the password in this file).",
        "MERGEKIT_SMTP_PASSWORD",
    )
    keyring_service: str = doc(
        "OS keyring service to read the password from when the environment variable is not set.",
        "mergekit",
    )
    from_: str = doc('Sender, e.g. "Attendance Office <attendance@example.org>".', "")
    reply_to: str = doc("Reply-To address (the attendance office).", "")
    bcc: str = doc("Optional copy of every message to the school's log mailbox.", "")
    rate_per_minute: int = doc("Most messages sent per minute.", 60)
    retries: int = doc("Retries on a temporary (4xx) failure.", 3)
    retry_wait_seconds: float = doc("First back-off wait; doubles each retry.", 2.0)
    timeout_seconds: float = doc("SMTP connection timeout.", 30.0)
    # -- how mail leaves the school (issue 12): see the README's "Set up email" sections ------
    data_timeout_seconds: float = doc(
        "Longest wait for the server to confirm it has a message once its text was handed "
        "over (RFC 5321 suggests 10 minutes); only after it is the message 'unknown'.",
        600.0,
    )
    transport: str = doc(
        '"smtp" (any SMTP server) or "graph" (Microsoft Graph sendMail: Microsoft 365, also '
        "with SMTP AUTH turned off for the tenant).",
        "smtp",
    )
    auth: str = doc(
        '"password" (SMTP login with username and the password) or "oauth2" (a token from '
        "Microsoft 365 or Google Workspace; the only way for Graph).",
        "password",
    )
    graph_url: str = doc(
        "Microsoft Graph's address; change only for a national cloud or a test server.",
        "https://graph.microsoft.com/v1.0",
    )
    oauth_provider: str = doc(
        'Who issues the tokens with auth = "oauth2": "microsoft" or "google".', "microsoft"
    )
    oauth_flow: str = doc(
        'How mergekit gets a token. Microsoft: "client_credentials" (an app registration, '
        'app-only) or "device_code" (a person signs in once: mergekit mail login). Google: '
        '"service_account" (domain-wide delegation) or "installed_app" (a person signs in '
        "once in a browser: mergekit mail login). The environment variable "
        "MERGEKIT_OAUTH_TOKEN, when set, is used as the token instead.",
        "client_credentials",
    )
    tenant_id: str = doc("Microsoft 365: the app registration's Directory (tenant) ID.", "")
    client_id: str = doc("Microsoft 365: the app registration's Application (client) ID.", "")
    authority_url: str = doc(
        "Microsoft: the sign-in authority (empty: https://login.microsoftonline.com/"
        "<tenant_id>). Google: the token endpoint (empty: https://oauth2.googleapis.com/token). "
        "Change only for a national cloud or a test server.",
        "",
    )
    client_secret_env: str = doc(
        "Environment variable holding the app's client secret (else the OS keyring: service "
        "keyring_service, user = client_id). Never put the secret in this file.",
        "MERGEKIT_OAUTH_CLIENT_SECRET",
    )
    client_certificate_env: str = doc(
        "Environment variable naming a PEM file with the app's certificate and its private "
        "key, used instead of a client secret when set.",
        "MERGEKIT_OAUTH_CERTIFICATE",
    )
    google_key_env: str = doc(
        "Google: environment variable naming the service account's JSON key file (else the "
        "OS keyring: service keyring_service, user google-service-account); for "
        '"installed_app", the OAuth client\'s JSON file (type Desktop app).',
        "MERGEKIT_GOOGLE_KEY",
    )
    token_cache: str = doc(
        "mergekit mail login: the file keeping the signed-in tokens when the OS keyring has "
        "no backend (readable by its owner only; relative to this file).",
        "mergekit-token-cache.json",
    )


@dataclass(frozen=True)
class PdfSettings:
    encrypt_emailed: bool = doc("Password-protect (AES-256) PDFs attached to email.", False)
    password_env: str = doc(
        "Environment variable holding the PDF password. There is no "
        "default password, and never the pupil's DOB or name.",
        "MERGEKIT_PDF_PASSWORD",
    )
    flatten: bool = doc("Make filled forms non-editable copies.", False)
    soffice: str = doc("Path to LibreOffice's soffice; empty finds it on PATH.", "")
    convert_timeout_seconds: float = doc("Longest a LibreOffice conversion may run.", 600.0)
    duplex: bool = doc(
        "Print pack for double-sided printing: a blank page after each document with an "
        "odd number of pages, so no sheet carries two families' letters. false for a "
        "single-sided printer.",
        True,
    )


@dataclass(frozen=True)
class RunSettings:
    today: date | None = doc(
        "Pin the date mergekit works for. Leave unset for a real school "
        "(the real date is used); the example school pins its demo day.",
        None,
    )


@dataclass(frozen=True)
class EvidenceSettings:
    attach_to_cme_referral: bool = doc(
        "Attach the pupil's evidence pack (`mergekit evidence`: register extract, chart, "
        "chronology, copies) to the CME referral email. `mergekit send` makes the pack first "
        "when the day has none.",
        False,
    )


@dataclass(frozen=True)
class FormMapping:
    """A council's own fillable PDF, tied to mergekit fields."""

    file: str = doc("The PDF form, relative to this file.")
    action: str = doc("Which action it is filled for (e.g. cme_referral).", "cme_referral")
    fields: dict[str, str] = doc("PDF field name = mergekit field (see `mergekit fields`).", {})


@dataclass(frozen=True)
class Settings:
    school: SchoolSettings = field(default_factory=SchoolSettings)
    council: CouncilSettings = field(default_factory=CouncilSettings)
    files: FileSettings = field(default_factory=FileSettings)
    sheets: SheetSettings = field(default_factory=SheetSettings)
    columns: dict[str, dict[str, str]] = doc(
        'Header overrides per sheet, e.g. [columns.pupils] dob = "Birth Date".', {}
    )
    templates: dict[str, str] = doc(
        'Your own Word template per action, e.g. pa_letter_1 = "my_letter_1.docx".', {}
    )
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    mail: MailSettings = field(default_factory=MailSettings)
    pdf: PdfSettings = field(default_factory=PdfSettings)
    forms: dict[str, FormMapping] = doc("Council PDF forms: [forms.NAME] file/action/fields.", {})
    run: RunSettings = field(default_factory=RunSettings)
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)

    # Not keys: where the file was and what loading it noticed.
    path: Path = field(default=Path(CONFIG_NAME), compare=False)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    unknown_keys: tuple[str, ...] = field(default=(), compare=False)  # dotted, as written
    _lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base / p

    def where(self, dotted_key: str) -> str:
        """'mergekit.toml line 7' for a key such as 'files.tracking'."""
        line = self._lines.get(dotted_key)
        return f"{self.path.name} line {line}" if line else self.path.name

    def require_file(self, key: str) -> Path:
        """The path of a [files] entry, or a ConfigError naming key and line."""
        value = getattr(self.files, key)
        path = self.resolve(value)
        if not path.is_file():
            hint = "put the file there or correct the path (relative to mergekit.toml)"
            raise ConfigError(
                f"{self.where('files.' + key)}: [files] {key} = {value!r}: "
                f"no such file {path} - {hint}"
            )
        return path

    @property
    def ledger_path(self) -> Path:
        return self.resolve(self.files.ledger)

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.files.output)


# ---------------------------------------------------------------------------------------------
# Loading


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: no such config file - check the --config path")
        return explicit
    candidate = (cwd or Path.cwd()) / CONFIG_NAME
    if not candidate.is_file():
        raise ConfigError(
            f"no {CONFIG_NAME} in {candidate.parent} - pass --config PATH, or run "
            "`mergekit init` to write a starter file (or `mergekit demo` to try the example)"
        )
    return candidate


def load_config(path: Path) -> Settings:
    """Read and check mergekit.toml. Raises ConfigError listing every error found."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror}) - check the path") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text - save it as UTF-8") from e
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(
            f"{path.name}: {e} - fix the TOML syntax (quote text values, dates as YYYY-MM-DD)"
        ) from e
    if not raw:
        raise ConfigError(
            f"{path}: the file is empty - run `mergekit init` in the school's folder for a "
            "starter mergekit.toml, or restore yours from a backup"
        )
    if "school" not in raw:
        raise ConfigError(
            f"{path.name}: [school] needs 'name' - add a [school] section with the "
            'school\'s name, e.g. name = "Northgate Park Academy"'
        )
    lines = _key_lines(text)
    loader = _Loader(path.name, lines)
    values = loader.section(Settings, raw, "")
    if loader.errors:
        raise ConfigError("\n".join([*loader.errors, *(str(w) for w in loader.warnings)]))
    settings = Settings(
        **values,
        path=path,
        warnings=tuple(loader.warnings),
        unknown_keys=tuple(loader.unknown),
        _lines=lines,
    )
    _check_semantics(settings, loader)
    if loader.errors:
        raise ConfigError("\n".join(loader.errors))
    return settings


_TABLE_RE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(r"""^\s*("[^"]+"|'[^']+'|[A-Za-z0-9_\-.]+)\s*=""")


def _key_lines(text: str) -> dict[str, int]:
    """Line number of every 'table.key' (and of each table header) in the file."""
    lines: dict[str, int] = {}
    table = ""
    depth = 0  # inside a multi-line array or inline table, keys belong to the outer key
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0:
            m = _TABLE_RE.match(line)
            if m:
                table = ".".join(p.strip().strip("\"'") for p in m.group(1).split("."))
                lines.setdefault(table, number)
                continue
            k = _KEY_RE.match(line)
            if k:
                key = k.group(1).strip("\"'")
                lines.setdefault(f"{table}.{key}" if table else key, number)
        code = line.split("#", 1)[0]
        depth = max(
            0, depth + code.count("[") + code.count("{") - code.count("]") - code.count("}")
        )
    return lines


class _Loader:
    def __init__(self, filename: str, lines: dict[str, int]) -> None:
        self.filename = filename
        self.lines = lines
        self.errors: list[str] = []
        self.warnings: list[Problem] = []
        self.unknown: list[str] = []

    def at(self, key: str) -> str:
        line = self.lines.get(key) or self.lines.get(key.rsplit(".", 1)[0])
        return f"{self.filename} line {line}" if line else self.filename

    def section(self, cls: type, raw: Any, prefix: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.errors.append(f"{self.at(prefix)}: [{prefix}] must be a table of keys")
            return {}
        hints = typing.get_type_hints(cls)
        known = {
            f.name.rstrip("_"): f for f in fields(cls) if f.init and not f.name.startswith("_")
        }
        known.pop("path", None)
        known.pop("warnings", None)
        known.pop("unknown_keys", None)
        out: dict[str, Any] = {}
        seen: set[str] = set()
        for key, value in raw.items():
            dotted = f"{prefix}.{key}" if prefix else key
            f = known.get(key)
            if f is None:
                self.unknown.append(dotted)
                guess = difflib.get_close_matches(key, list(known), n=1)
                where = f"[{prefix}]" if prefix else "the top level"
                hint = f" - did you mean '{guess[0]}'?" if guess else " - it is ignored"
                self.warnings.append(
                    warning(
                        f"unknown key '{key}' in {where}{hint}",
                        file=self.at(dotted),
                        group="config",
                    )
                )
                continue
            seen.add(f.name)
            converted = self.value(hints[f.name], value, dotted)
            if converted is not _BAD:
                out[f.name] = converted
        for name, f in known.items():
            if f.default is MISSING and f.default_factory is MISSING and f.name not in seen:
                where = f"[{prefix}]" if prefix else "the file"
                self.errors.append(f"{self.at(prefix)}: {where} needs '{name}' - add it")
        return out

    def value(self, tp: Any, value: Any, dotted: str) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (types.UnionType, typing.Union):
            if value is None and type(None) in args:
                return None
            for option in args:
                if option is type(None):
                    continue
                if _matches(option, value):
                    return self.value(option, value, dotted)
            return self.bad(dotted, value, " or ".join(_type_name(a) for a in args))
        if is_dataclass(tp) and isinstance(tp, type):
            values = self.section(tp, value, dotted)
            try:
                return tp(**values)
            except TypeError:
                return _BAD  # missing required keys were already reported
        if origin is list:
            if not isinstance(value, list):
                return self.bad(dotted, value, f"a list of {_type_name(args[0])}")
            items = [self.value(args[0], v, dotted) for v in value]
            return _BAD if any(i is _BAD for i in items) else items
        if origin is dict:
            if not isinstance(value, dict):
                return self.bad(dotted, value, "a table")
            out = {k: self.value(args[1], v, f"{dotted}.{k}") for k, v in value.items()}
            return _BAD if any(v is _BAD for v in out.values()) else out
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if _matches(tp, value):
            return value
        return self.bad(dotted, value, _type_name(tp))

    def bad(self, dotted: str, value: Any, expected: str) -> Any:
        self.errors.append(
            f"{self.at(dotted)}: {dotted} = {value!r} is not {expected} - "
            f"see docs/config.md for this key"
        )
        return _BAD


_BAD = object()


def _matches(tp: Any, value: Any) -> bool:
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is date:
        return isinstance(value, date)
    if tp is str:
        return isinstance(value, str)
    if is_dataclass(tp) or typing.get_origin(tp) is dict:
        return isinstance(value, dict)
    if typing.get_origin(tp) is list:
        return isinstance(value, list)
    return False


def _type_name(tp: Any) -> str:
    if tp is str:
        return "text in quotes"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if tp is date:
        return "a date (YYYY-MM-DD, no quotes)"
    if tp is type(None):
        return "unset"
    if is_dataclass(tp):
        return "a table"
    if typing.get_origin(tp) is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    return "a table"


def _check_policy_ranges(p: PolicySettings, loader: _Loader) -> None:
    """Percentages within 0-100, intervals and day counts at least 1, NC years -2 to 14."""
    for f in fields(p):
        value = getattr(p, f.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        at = loader.at(f"policy.{f.name}")
        if f.name.endswith("_percent") or f.name == "drop_points":
            if not 0 <= value <= 100:
                loader.errors.append(
                    f"{at}: [policy] {f.name} = {value} is not a percentage between 0 and 100 "
                    f"- write it like {f.default}"
                )
        elif f.name.endswith("_compulsory_year"):
            if not -2 <= value <= 14:
                loader.errors.append(
                    f"{at}: [policy] {f.name} = {value} is not a National Curriculum year "
                    f"(-2 to 14) - write it like {f.default}"
                )
        elif value < 1:
            loader.errors.append(
                f"{at}: [policy] {f.name} = {value} must be 1 or more (a count of days, "
                f"sessions or weeks) - write it like {f.default}"
            )
    if p.first_compulsory_year > p.last_compulsory_year:
        loader.errors.append(
            f"{loader.at('policy.first_compulsory_year')}: [policy] first_compulsory_year "
            f"({p.first_compulsory_year}) is after last_compulsory_year "
            f"({p.last_compulsory_year}) - swap them"
        )


def _check_semantics(s: Settings, loader: _Loader) -> None:
    """Checks beyond types: values that parse but cannot be right."""
    errs = loader.errors
    _check_policy_ranges(s.policy, loader)
    for i, term in enumerate(s.calendar.terms):
        if term.end < term.start:
            errs.append(
                f"{loader.at('calendar.terms')}: term {i + 1} ends ({term.end}) before "
                f"it starts ({term.start}) - swap the dates"
            )
    if s.calendar.bank_holidays not in (False, "england-and-wales"):
        errs.append(
            f"{loader.at('calendar.bank_holidays')}: bank_holidays must be "
            '"england-and-wales" or false'
        )
    if s.policy.pa_rule not in ("policy", "dfe"):
        errs.append(f'{loader.at("policy.pa_rule")}: pa_rule must be "policy" or "dfe"')
    closes = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", s.policy.registration_closes)
    if closes is None or int(closes.group(1)) > 23 or int(closes.group(2)) > 59:
        errs.append(
            f"{loader.at('policy.registration_closes')}: registration_closes = "
            f'{s.policy.registration_closes!r} is not a time - write it as "09:30"'
        )
    if s.mail.security not in ("starttls", "ssl", "none"):
        errs.append(f'{loader.at("mail.security")}: security must be "starttls", "ssl" or "none"')
    _check_mail(s, loader)
    from mergekit.core.model import FLAG_NAMES

    for flag in (p for combo in s.policy.vulnerable_flags for p in combo.split("+")):
        if flag.strip() not in FLAG_NAMES:
            guess = difflib.get_close_matches(flag.strip(), FLAG_NAMES, n=1)
            hint = f" - did you mean '{guess[0]}'?" if guess else f" - use one of {FLAG_NAMES}"
            errs.append(f"{loader.at('policy.vulnerable_flags')}: unknown flag '{flag}'{hint}")
    for action in s.templates:
        if action not in ACTIONS:
            guess = difflib.get_close_matches(action, ACTIONS, n=1)
            hint = f" - did you mean '{guess[0]}'?" if guess else ""
            errs.append(
                f"{loader.at('templates.' + action)}: [templates] {action}: not an action{hint}"
            )
    for name, form in s.forms.items():
        if form.action not in ACTIONS:
            errs.append(
                f"{loader.at(f'forms.{name}.action')}: [forms.{name}] action = "
                f"{form.action!r} is not an action"
            )


OAUTH_FLOWS = {
    "microsoft": ("client_credentials", "device_code"),
    "google": ("service_account", "installed_app"),
}


def _check_mail(s: Settings, loader: _Loader) -> None:
    """[mail] transport, auth and the OAuth keys fit together."""
    errs = loader.errors
    m = s.mail
    if m.transport not in ("smtp", "graph"):
        errs.append(f'{loader.at("mail.transport")}: transport must be "smtp" or "graph"')
    if m.auth not in ("password", "oauth2"):
        errs.append(f'{loader.at("mail.auth")}: auth must be "password" or "oauth2"')
    if not re.match(r"https?://[^/\s]+", m.graph_url.strip()):
        errs.append(
            f"{loader.at('mail.graph_url')}: graph_url = {m.graph_url!r} is not an http(s) "
            "address - leave it out to use https://graph.microsoft.com/v1.0"
        )
    if m.authority_url.strip() and not re.match(r"https?://[^/\s]+", m.authority_url.strip()):
        errs.append(
            f"{loader.at('mail.authority_url')}: authority_url = {m.authority_url!r} is not "
            "an http(s) address - leave it empty for the provider's own"
        )
    if m.transport == "graph" and m.auth != "oauth2":
        errs.append(
            f'{loader.at("mail.auth")}: transport = "graph" signs in only with a token - '
            'set auth = "oauth2" (see the README: Set up email for Microsoft 365)'
        )
    if m.oauth_provider not in OAUTH_FLOWS:
        errs.append(
            f'{loader.at("mail.oauth_provider")}: oauth_provider must be "microsoft" or "google"'
        )
        return
    if m.transport == "graph" and m.oauth_provider != "microsoft":
        errs.append(
            f'{loader.at("mail.oauth_provider")}: transport = "graph" is Microsoft 365\'s - '
            'Google Workspace sends with transport = "smtp" (smtp.gmail.com)'
        )
    flows = OAUTH_FLOWS[m.oauth_provider]
    if m.oauth_flow not in flows:
        errs.append(
            f"{loader.at('mail.oauth_flow')}: oauth_flow = {m.oauth_flow!r} is not one for "
            f"{m.oauth_provider} - use " + " or ".join(f'"{f}"' for f in flows)
        )


# ---------------------------------------------------------------------------------------------
# Documentation of the keys (for `mergekit init` and docs/config.md)


@dataclass(frozen=True)
class KeyDoc:
    section: str
    key: str
    type_name: str
    default: Any
    doc: str
    example: Any


def iter_keys(cls: type = Settings, prefix: str = "") -> Iterator[KeyDoc]:
    """Every documented key, section by section."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name.startswith("_") or f.name in ("path", "warnings", "unknown_keys"):
            continue
        tp = hints[f.name]
        key = f.name.rstrip("_")
        if is_dataclass(tp) and isinstance(tp, type):
            yield from iter_keys(tp, f"{prefix}.{key}" if prefix else key)
            continue
        default = (
            f.default
            if f.default is not MISSING
            else (f.default_factory() if f.default_factory is not MISSING else MISSING)
        )
        yield KeyDoc(
            prefix,
            key,
            _type_name(tp),
            default,
            f.metadata.get("doc", ""),
            f.metadata.get("example", MISSING),
        )


def toml_value(value: Any) -> str:
    """A Python value written as TOML (for the starter file and docs)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if is_dataclass(value) and not isinstance(value, type):
        return toml_value({f.name: getattr(value, f.name) for f in fields(value)})
    return '""'
