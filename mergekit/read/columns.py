"""Which header means which field: canonical fields per sheet kind and their MIS synonyms.

Headers are compared after :func:`normalise` (case, spaces and punctuation ignored, ``%`` read as
"pct"), so ``Date of Birth``, ``DATE OF BIRTH:`` and ``date_of_birth`` are one header. Long
synonyms also match as a prefix, for checklist headers such as ``DATE DATA TEAM EMAILED TO TAKE
STUDENT OFF ROLE:``. Sources for the synonyms: ``shared/research/domain.md`` §8 (SIMS, Arbor,
Bromcom exports) and the school's Appendix B checklist.

Most of its 750 lines are the synonym tables, one field per line so a new MIS spelling is a
one-line change; the matching code is short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a field holds, which decides how its cells are parsed."""

    TEXT = "text"
    ID = "id"  # kept as text: leading zeros and letters matter
    UPN = "upn"
    DATE = "date"
    INT = "int"
    YEAR = "year"  # NC year: "Year 9", "Y9", "R"
    FLAG = "flag"  # Y/N/Yes/No/True/1/✓
    PERCENT = "percent"
    PHONE = "phone"
    CODE = "code"  # an attendance code


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    synonyms: tuple[str, ...]
    label: str  # how messages name the field when the header is missing
    # Fallback for long checklist headers: every one of these words appears in the header.
    contains: tuple[str, ...] = ()


def _f(name: str, kind: Kind, *synonyms: str, contains: tuple[str, ...] = ()) -> Field:
    return Field(name, kind, synonyms, synonyms[0], contains)


_ADDRESS = (
    _f(
        "address_1",
        Kind.TEXT,
        "Address Line 1",
        "Address 1",
        "Address1",
        "Street",
        "House Name/Number and Street",
        "Address",
    ),
    _f("address_2", Kind.TEXT, "Address Line 2", "Address 2", "Address2", "Locality", "District"),
    _f(
        "address_3",
        Kind.TEXT,
        "Address Line 3",
        "Address 3",
        "Address3",
        "Town",
        "Town/City",
        "City",
    ),
    _f("address_4", Kind.TEXT, "Address Line 4", "Address 4", "Address4", "County"),
    _f("postcode", Kind.TEXT, "Postcode", "Post Code", "Postal Code", "Zip"),
)

PUPILS: tuple[Field, ...] = (
    _f("upn", Kind.UPN, "UPN", "Unique Pupil Number", "Pupil UPN", "Student UPN"),
    _f("former_upn", Kind.TEXT, "Former UPN", "Previous UPN", "Old UPN"),
    _f(
        "admission_no",
        Kind.ID,
        "Admission No",
        "Adno",
        "Admission Number",
        "Adm No",
        "MIS ID",
        "Pupil ID",
        "Student ID",
        "Person ID",
    ),
    _f(
        "admission_date",
        Kind.DATE,
        "Admission Date",
        "Date of Admission",
        "Entry Date",
        "Date of Entry",
        "Start Date",
        "Date Joined",
    ),
    _f(
        "surname",
        Kind.TEXT,
        "Legal Surname",
        "Surname",
        "Last Name",
        "Legal Last Name",
        "Family Name",
    ),
    _f(
        "forename",
        Kind.TEXT,
        "Legal Forename",
        "Forename",
        "First Name",
        "Legal First Name",
        "Given Name",
        "Forenames",
    ),
    _f(
        "middle_names",
        Kind.TEXT,
        "Middle Names",
        "Middle Name",
        "Middle Name(s)",
        "Legal Middle Names",
        "Middle",
    ),
    _f(
        "preferred_forename",
        Kind.TEXT,
        "Preferred Forename",
        "Preferred First Name",
        "Known As",
        "KnownAsFirstName",
        "Preferred Name",
        "Chosen Name",
    ),
    _f(
        "preferred_surname",
        Kind.TEXT,
        "Preferred Surname",
        "Preferred Last Name",
        "KnownAsLastName",
    ),
    _f(
        "full_name",
        Kind.TEXT,
        "Name",
        "Student Name",
        "Pupil Name",
        "Student",
        "Pupil",
        "Surname Forename",
        "Full Name",
    ),
    _f("aliases", Kind.TEXT, "Aliases", "Alias", "Also Known As", "AKA", "Former Names"),
    _f("dob", Kind.DATE, "DOB", "Date of Birth", "Birth Date", "Birthdate", "D.O.B"),
    _f("gender", Kind.TEXT, "Gender", "Sex", "Legal Sex"),
    _f(
        "year",
        Kind.YEAR,
        "Year",
        "Year Group",
        "NC Year",
        "Curriculum Year",
        "National Curriculum Year",
        "Yr",
        "Year Taught In",
    ),
    _f(
        "reg_group",
        Kind.TEXT,
        "Reg Group",
        "Registration Group",
        "Reg",
        "Form",
        "Tutor Group",
        "Registration Form",
        "Form Group",
        "Tutor",
        "Reg Grp",
        "Class",
    ),
    _f("ethnicity", Kind.TEXT, "Ethnicity", "Ethnic Group", "Ethnic Origin", "Ethnic"),
    _f("first_language", Kind.TEXT, "First Language", "Home Language", "Language", "Main Language"),
    # The DfE "Proficiency in English" scale (A new to English .. E fluent, N not yet assessed),
    # the only thing that answers "Does the child speak English?" on a CME referral.
    _f(
        "english_proficiency",
        Kind.TEXT,
        "English Proficiency",
        "Proficiency in English",
        "EAL",
        "EAL Proficiency",
        "EAL Stage",
        "EAL Level",
        "English Proficiency Level",
        "Proficiency in English Code",
        "English as an Additional Language",
    ),
    *_ADDRESS,
    _f(
        "previous_addresses",
        Kind.TEXT,
        "Previous Addresses",
        "Previous Address",
        "Former Addresses",
        "Former Address",
    ),
    _f(
        "fsm",
        Kind.FLAG,
        "FSM",
        "Free School Meals",
        "FSM Eligible",
        "FSM Eligibility",
        "Eligible for FSM",
    ),
    _f("sen", Kind.TEXT, "SEN", "SEN Status", "SEND", "SEN Provision", "SEND Status", "SEN Need"),
    _f("ehcp", Kind.FLAG, "EHCP", "EHC Plan", "Education Health and Care Plan"),
    _f(
        "looked_after",
        Kind.FLAG,
        "Looked After",
        "CLA",
        "LAC",
        "Child Looked After",
        "Looked After Child",
        "In Care",
        "CLA Status",
    ),
    _f(
        "child_protection_plan",
        Kind.FLAG,
        "Child Protection Plan",
        "CP Plan",
        "CPP",
        "CP",
        "On CP Plan",
    ),
    _f("child_in_need_plan", Kind.FLAG, "Child In Need Plan", "CIN Plan", "CIN", "Child In Need"),
    _f(
        "domestic_abuse_notification",
        Kind.FLAG,
        "Domestic Abuse Notification",
        "DA Notification",
        "Operation Encompass",
        "Encompass",
        "Domestic Abuse",
    ),
    _f("early_help", Kind.FLAG, "Early Help", "EH", "Early Help Plan", "Early Help Involvement"),
    _f(
        "gypsy_roma_traveller",
        Kind.FLAG,
        "Gypsy Roma Traveller",
        "GRT",
        "Gypsy Roma or Traveller",
        "Traveller",
    ),
    _f(
        "refugee_asylum_seeker",
        Kind.FLAG,
        "Refugee/Asylum Seeker",
        "Refugee or Asylum Seeker",
        "Refugee Asylum Seeker",
        "Refugee",
        "Asylum Seeker",
    ),
    _f(
        "temporary_accommodation",
        Kind.FLAG,
        "Temporary Accommodation",
        "In Temporary Accommodation",
    ),
    _f(
        "open_social_care_case",
        Kind.FLAG,
        "Open Social Care Case",
        "Open to Social Care",
        "Open Case to Social Care",
        "Social Care Case",
        "Open Case",
    ),
    _f("young_carer", Kind.FLAG, "Young Carer"),
    _f("social_worker_name", Kind.TEXT, "Social Worker Name", "Social Worker", "SW Name"),
    _f("social_worker_email", Kind.TEXT, "Social Worker Email", "SW Email"),
    _f(
        "social_worker_phone",
        Kind.PHONE,
        "Social Worker Phone",
        "Social Worker Telephone",
        "SW Phone",
    ),
    _f("key_worker_name", Kind.TEXT, "Key Worker", "Key Worker Name", "Keyworker"),
    _f("key_worker_email", Kind.TEXT, "Key Worker Email", "Keyworker Email"),
    _f(
        "key_worker_phone",
        Kind.PHONE,
        "Key Worker Phone",
        "Keyworker Phone",
        "Key Worker Telephone",
    ),
    _f(
        "possible_sessions",
        Kind.INT,
        "Possible Sessions",
        "Possible Marks",
        "Possible",
        "Sessions Possible",
        "possibleSessions",
    ),
    _f(
        "present_sessions",
        Kind.INT,
        "Present",
        "Present Marks",
        "Attended",
        "attendedSessions",
        "Sessions Present",
        "Present Sessions",
    ),
    _f(
        "attendance_pct",
        Kind.PERCENT,
        "Attendance %",
        "% Attendance",
        "Attendance Percentage",
        "Attendance",
        "% Present",
        "Attendance Pct",
    ),
)

_PERSON_NAME = (
    _f(
        "name",
        Kind.TEXT,
        "Contact Name",
        "Name",
        "Parent Name",
        "Full Name",
        "Parent/Carer",
        "Parent Carer Name",
        "Carer Name",
    ),
    _f("title", Kind.TEXT, "Title", "Contact Title", "Salutation Title"),
    _f("forename", Kind.TEXT, "Contact Forename", "Forename", "First Name", "Contact First Name"),
    _f("surname", Kind.TEXT, "Contact Surname", "Surname", "Last Name", "Contact Last Name"),
)

CONTACTS: tuple[Field, ...] = (
    _f("upn", Kind.UPN, "UPN", "Pupil UPN", "Student UPN", "Unique Pupil Number"),
    _f(
        "priority",
        Kind.INT,
        "Priority",
        "Contact Priority",
        "Contact Order",
        "Order",
        "Contact Number",
    ),
    *_PERSON_NAME,
    _f(
        "relationship",
        Kind.TEXT,
        "Relationship",
        "Relationship to Pupil",
        "Relationship to Student",
        "Relationship to Child",
        "Relation",
    ),
    _f(
        "parental_responsibility",
        Kind.FLAG,
        "Parental Responsibility",
        "PR",
        "Has Parental Responsibility",
    ),
    _f(
        "lives_with_pupil",
        Kind.FLAG,
        "Lives With Pupil",
        "Lives With Student",
        "Lives With Child",
        "Resides With Pupil",
        "Lives With",
        "Same Address",
    ),
    *_ADDRESS,
    _f(
        "landline",
        Kind.PHONE,
        "Landline",
        "Home Telephone",
        "Home Phone",
        "Telephone",
        "Phone",
        "Tel",
    ),
    _f("mobile", Kind.PHONE, "Mobile", "Mobile Telephone", "Mobile Phone", "Mobile Number"),
    _f("work_phone", Kind.PHONE, "Work Telephone", "Work Phone", "Work Number"),
    _f(
        "email",
        Kind.TEXT,
        "Email",
        "Email Address",
        "Personal Email Address",
        "E-mail",
        "Contact Email",
    ),
    _f(
        "home_language", Kind.TEXT, "Home Language", "Language", "First Language", "Family Language"
    ),
    _f(
        "interpreter_needed",
        Kind.FLAG,
        "Interpreter Needed",
        "Interpreter Required",
        "Interpreter",
        "Needs Interpreter",
    ),
    _f(
        "no_contact",
        Kind.FLAG,
        "No Contact",
        "No-Contact Flag",
        "No Contact Flag",
        "Do Not Contact",
        "Contact Not Allowed",
        "Court Order",
    ),
)

MARKS: tuple[Field, ...] = (
    _f("upn", Kind.UPN, "UPN", "Pupil UPN", "Student UPN", "Unique Pupil Number"),
    _f("date", Kind.DATE, "Date", "Session Date", "Mark Date", "Attendance Date", "Day"),
    _f("am", Kind.CODE, "AM", "AM Mark", "Morning", "AM Code", "AM Session"),
    _f("pm", Kind.CODE, "PM", "PM Mark", "Afternoon", "PM Code", "PM Session"),
    _f("session", Kind.TEXT, "Session", "AM/PM", "Session Type"),
    _f("mark", Kind.CODE, "Mark", "Code", "Attendance Code", "Attendance Mark"),
)

CONTACT_LOG: tuple[Field, ...] = (
    _f("upn", Kind.UPN, "UPN", "Pupil UPN", "Student UPN", "Unique Pupil Number"),
    _f("date", Kind.DATE, "Date", "Contact Date", "Date of Contact", "Attempt Date"),
    _f("method", Kind.TEXT, "Method", "Contact Method", "Type", "Contact Type", "How"),
    _f(
        "contact_made",
        Kind.FLAG,
        "Contact Made",
        "Contact Made?",
        "Successful",
        "Spoke to Parent",
        "Contacted",
        "Contact Successful",
    ),
    _f("notes", Kind.TEXT, "Notes", "Note", "Comments", "Details", "Outcome"),
)

LETTERS: tuple[Field, ...] = (
    _f("upn", Kind.UPN, "UPN", "Pupil UPN", "Student UPN", "Unique Pupil Number"),
    _f(
        "letter",
        Kind.TEXT,
        "Letter",
        "Letter Type",
        "Letter Sent",
        "Stage",
        "Letter Stage",
        "Warning Letter",
    ),
    _f("date_sent", Kind.DATE, "Date Sent", "Sent", "Date", "Sent On", "Letter Date"),
)

EVENTS: tuple[Field, ...] = (
    _f("upn", Kind.UPN, "UPN", "Pupil UPN", "Student UPN", "Unique Pupil Number"),
    _f("event", Kind.TEXT, "Event", "Event Type", "Type", "Request", "Notification"),
    _f(
        "date_received",
        Kind.DATE,
        "Date Received",
        "Received",
        "Date",
        "Date Notified",
        "Request Date",
    ),
    _f(
        "effective_date",
        Kind.DATE,
        "Date of Move",
        "Move Date",
        "Effective Date",
        "Leaving Date",
        "Intended Date",
        "From Date",
        "Start Date",
    ),
    _f("new_address", Kind.TEXT, "New Address", "Forwarding Address", "Destination Address"),
    _f(
        "new_country",
        Kind.TEXT,
        "New Country",
        "Country",
        "Destination Country",
        "Moving To Country",
    ),
    _f("new_school", Kind.TEXT, "New School", "Destination School", "Next School"),
    _f("informed", Kind.TEXT, "Who Was Informed", "Informed", "People Informed"),
    _f("notes", Kind.TEXT, "Notes", "Note", "Comments", "Details"),
)

OFF_ROLL: tuple[Field, ...] = (
    _f("name", Kind.TEXT, "Name", "Student Name", "Pupil Name", "Student", "Pupil"),
    _f("upn", Kind.TEXT, "UPN", "Unique Pupil Number"),
    _f("dob", Kind.DATE, "D.O.B", "DOB", "Date of Birth"),
    _f(
        "year_group",
        Kind.TEXT,
        "Year/Tutor Group",
        "Year Tutor Group",
        "Year/Form",
        "Year Group",
        "Tutor Group",
        "Form",
    ),
    _f(
        "date_of_leaving",
        Kind.DATE,
        "Date of Leaving",
        "Leaving Date",
        "Date Left",
        "Date of Leaving School",
    ),
    _f("reason", Kind.TEXT, "Reason for Leaving", "Reason", "Leaving Reason"),
    _f(
        "authorised_by",
        Kind.TEXT,
        "Authorised by Headteacher/Signature",
        "Authorised by Headteacher",
        "Authorised By",
        "Headteacher Signature",
        "Authorised by Head Teacher",
        contains=("authorised", "by"),
    ),
    _f(
        "date_authorised",
        Kind.DATE,
        "Date Authorised",
        "Authorised Date",
        "Date of Authorisation",
        contains=("date", "authorised"),
    ),
    _f(
        "data_team_emailed",
        Kind.DATE,
        "Date Data Team Emailed",
        "Data Team Emailed",
        "Date Data Team Emailed to Take Student Off Roll",
        contains=("data", "team"),
    ),
    _f(
        "transfer_list_updated",
        Kind.DATE,
        "Date Updated Transfer List Spreadsheet",
        "Date Updated Transfer List",
        "Transfer List Updated",
        contains=("transfer", "list"),
    ),
    _f(
        "admissions_informed",
        Kind.DATE,
        "Date Admissions Informed",
        "Admissions Informed",
        "Date LA Admissions Informed",
        "Date Coventry Admissions Informed",
        contains=("admissions",),
    ),
)


@dataclass(frozen=True, slots=True)
class SheetSpec:
    """A kind of sheet: its fields and the header signature that recognises it."""

    name: str  # key in [sheets] / [columns] and in messages
    title: str  # how messages name it
    fields: tuple[Field, ...]
    # Each inner tuple is "one of these"; every group must be present.
    signature: tuple[tuple[str, ...], ...]
    required: tuple[tuple[str, ...], ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


SHEETS: dict[str, SheetSpec] = {
    "pupils": SheetSpec(
        "pupils",
        "pupils",
        PUPILS,
        signature=(("upn",), ("surname", "full_name"), ("dob", "year")),
        required=(
            ("upn",),
            ("surname", "full_name"),
            ("forename", "full_name"),
            ("dob",),
            ("year",),
            ("reg_group",),
        ),
    ),
    "contacts": SheetSpec(
        "contacts",
        "contacts (parents/carers)",
        CONTACTS,
        signature=(
            ("upn",),
            ("name", "surname"),
            ("relationship", "parental_responsibility", "priority"),
        ),
        required=(("upn",), ("name", "surname")),
    ),
    "marks": SheetSpec(
        "marks",
        "session marks",
        MARKS,
        signature=(("upn",), ("date",), ("am", "mark")),
        required=(("upn",), ("date",), ("am", "mark"), ("pm", "session")),
    ),
    "contact_log": SheetSpec(
        "contact_log",
        "contact log",
        CONTACT_LOG,
        signature=(("upn",), ("date",), ("contact_made",)),
        required=(("upn",), ("date",), ("contact_made",)),
    ),
    "letters": SheetSpec(
        "letters",
        "letters sent",
        LETTERS,
        signature=(("upn",), ("letter",), ("date_sent",)),
        required=(("upn",), ("letter",), ("date_sent",)),
    ),
    "events": SheetSpec(
        "events",
        "events (planned moves, home education)",
        EVENTS,
        signature=(("upn",), ("event",), ("date_received",)),
        required=(("upn",), ("event",), ("date_received",)),
    ),
    "off_roll": SheetSpec(
        "off_roll",
        "Off Roll",
        OFF_ROLL,
        signature=(("name",), ("date_of_leaving",), ("reason", "authorised_by")),
        required=(
            ("name",),
            ("date_of_leaving",),
            ("reason",),
            ("authorised_by",),
            ("date_authorised",),
            ("data_team_emailed",),
            ("transfer_list_updated",),
            ("admissions_informed",),
        ),
    ),
}

TRACKING_SHEETS = ("pupils", "contacts", "marks", "contact_log", "letters", "events")

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_PREFIX_MIN = 12  # synonyms at least this long also match as the start of a longer header


def normalise(header: object) -> str:
    """'Date of Birth', 'DATE OF BIRTH:' and 'date_of_birth' all become 'dateofbirth'."""
    text = str(header).casefold().replace("%", " pct ").replace("&", " and ")
    return _NON_ALNUM.sub("", text)


def header_index(spec: SheetSpec, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """normalised header -> field name, overrides first (a school's own header names)."""
    index: dict[str, str] = {}
    for name, header in (overrides or {}).items():
        index[normalise(header)] = name
    for f in spec.fields:
        for syn in (f.name, *f.synonyms):
            index.setdefault(normalise(syn), f.name)
    return index


def match_header(
    header: object, index: dict[str, str], spec: SheetSpec | None = None
) -> str | None:
    """The field a header names, or None: exact, then the longest long-synonym prefix, then
    (with ``spec``) a field whose ``contains`` words all appear in the header."""
    key = normalise(header)
    if not key:
        return None
    found = index.get(key)
    if found:
        return found
    best: tuple[int, str] | None = None
    for syn, name in index.items():
        if len(syn) >= _PREFIX_MIN and key.startswith(syn) and (best is None or len(syn) > best[0]):
            best = (len(syn), name)
    if best:
        return best[1]
    if spec is not None:
        for f in spec.fields:
            if f.contains and all(word in key for word in f.contains):
                return f.name
    return None


def reference_markdown() -> str:
    """docs/columns.md: every field of every sheet and the headers mergekit knows for it."""
    out = [
        "# Workbook columns mergekit recognises",
        "",
        "Generated from `mergekit/read/columns.py`",
        "(`python -m mergekit.read.columns > docs/columns.md`); a test keeps it in step.",
        "",
        "mergekit finds each sheet by its header row (anywhere in the first 10 rows), whatever",
        "the sheet is called. Headers match ignoring case, spaces and punctuation, so",
        "`Date of Birth`, `DATE OF BIRTH:` and `date_of_birth` are the same. If your MIS uses",
        "another name, tell mergekit in mergekit.toml, e.g.",
        "",
        "```toml",
        "[columns.pupils]",
        'dob = "Birth Date"',
        "```",
        "",
    ]
    for kind, spec in SHEETS.items():
        required = {group[0] for group in spec.required}
        out += [
            f"## {spec.title} (`[columns.{kind}]`)",
            "",
            "| field | headers mergekit knows |",
            "|---|---|",
        ]
        for f in spec.fields:
            names = ", ".join(f"`{s}`" for s in f.synonyms)
            mark = " (required)" if f.name in required else ""
            out.append(f"| `{f.name}`{mark} | {names} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - regenerates docs/columns.md
    import sys

    sys.stdout.write(reference_markdown())
