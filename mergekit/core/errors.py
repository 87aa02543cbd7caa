"""Errors and collected problems.

Library code raises a subclass of :class:`MergekitError` whose message starts with *where*
(file, sheet, cell, key) and ends with *what to do*. Only the CLI layer turns them into
``click.ClickException``; nothing in the library prints or exits.

Problems found while reading a whole workbook are not raised one at a time: they are
collected as :class:`Problem` values so staff see every one of them in a single report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class MergekitError(Exception):
    """Base class of every error mergekit means the user to read."""


class ConfigError(MergekitError):
    """mergekit.toml is missing, unreadable, or has a wrong value (message names key and line)."""


class WorkbookError(MergekitError):
    """A workbook cannot be opened or read at all (not a workbook, encrypted, empty, locked)."""


class CheckFailed(MergekitError):
    """``check`` found errors, so a command that produces documents refuses to start."""


class LedgerError(MergekitError):
    """The ledger file is unreadable, written by a newer mergekit, or a write failed."""


class LockedError(MergekitError):
    """Another mergekit holds the ledger or a workbook (the message names who, since when)."""


class TemplateError(MergekitError):
    """A Word or email template is broken or asks for a field that does not exist."""


class FormFieldError(MergekitError):
    """A PDF form cannot be filled (XFA-only, encrypted, a mapping names a missing field)."""


class ConversionError(MergekitError):
    """LibreOffice is missing, hung, or failed to convert a document."""


class WriteBackError(MergekitError):
    """A change to the transfer list was refused or could not be written safely."""


class MailError(MergekitError):
    """Building or sending email failed in a way that stops the whole batch."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Scope(StrEnum):
    """What a problem holds back (docs/blocking.md): one pupil's letters and forms, only
    `mergekit offroll` writes, or (a count-breaking problem) the whole school's planning."""

    PUPIL = "pupil"
    TRANSFER = "transfer"
    SCHOOL = "school"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    ``str(problem)`` gives the line staff read, for example
    ``tracking.xlsx: Pupils!F57 (DOB): '31/02/2012' is not a date - write it as DD/MM/YYYY``.
    """

    severity: Severity
    message: str
    file: str = ""
    sheet: str = ""
    cell: str = ""
    column: str = ""
    hint: str = ""
    group: str = ""
    scope: Scope = Scope.SCHOOL
    upn: str = ""  # the pupil a pupil-scope problem belongs to (as written in the workbook)

    @property
    def where(self) -> str:
        place = self.file
        if self.sheet:
            if self.cell.startswith("row "):
                target = f"{self.sheet} {self.cell}"
            else:
                target = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
            place = f"{place}: {target}" if place else target
        if self.column:
            place = f"{place} ({self.column})"
        return place

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} - {self.hint}" if self.hint else text

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": str(self.severity),
            "group": self.group,
            "file": self.file,
            "sheet": self.sheet,
            "cell": self.cell,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
            "text": str(self),
        }


def error(message: str, **where: Any) -> Problem:
    return Problem(Severity.ERROR, message, **where)


def warning(message: str, **where: Any) -> Problem:
    return Problem(Severity.WARNING, message, **where)
