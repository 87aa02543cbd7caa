"""Turning cell values as schools really type them into clean Python values.

Every parser takes the raw cell (as calamine / openpyxl / csv give it: str, float, int, bool,
date, datetime or None) and returns the value, or raises :class:`BadValue` whose message and
hint are written for the person who will fix the cell. UK order only: ``03/04/2012`` is
3 April, and ``03/14/2012`` is an error, never 14 March.
"""

from __future__ import annotations

import operator
import re
from datetime import date, datetime, timedelta

from stdnum.gb import upn as _upn

from mergekit.core.attendance import LEGACY_CODES, VALID_CODES


class BadValue(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def text(raw: object) -> str:
    """Any cell as tidy text: whole floats lose their '.0', whitespace is collapsed."""
    if raw.__class__ is str:  # the common case first: this runs for most cells of a workbook
        s: str = raw.strip()
        if "  " in s or "\n" in s or "\t" in s:
            return " ".join(s.split())
        return s
    if raw is None:
        return ""
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, datetime):
        return raw.strftime("%d/%m/%Y") if raw.time() == datetime.min.time() else str(raw)
    if isinstance(raw, date):
        return raw.strftime("%d/%m/%Y")
    return " ".join(str(raw).split())


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


_EXCEL_EPOCH = date(1899, 12, 30)
_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_NAMED_DATE = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]+([A-Za-z]+)\.?[\s\-/.,]+(\d{2}|\d{4})$"
)
_DATE_HINT = "write it as DD/MM/YYYY"


def parse_date(raw: object) -> date:
    """A date from an Excel date, an Excel serial number, or UK text."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # A date cell without a date format reaches us as its serial number.
        if 1 <= raw < 2958466:
            return _EXCEL_EPOCH + timedelta(days=int(raw))
        raise BadValue(f"{text(raw)!r} is not a date", _DATE_HINT)
    s = text(raw)
    m = _NUMERIC_DATE.match(s)
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), _year(m.group(3))
        return _make_date(s, year, month, day)
    m = _ISO_DATE.match(s)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise BadValue(f"{s!r} is not a date", _DATE_HINT) from None
    m = _NAMED_DATE.match(s)
    if m and m.group(2).casefold() in _MONTHS:
        return _make_date(s, _year(m.group(3)), _MONTHS[m.group(2).casefold()], int(m.group(1)))
    raise BadValue(f"{s!r} is not a date", _DATE_HINT)


def _year(digits: str) -> int:
    y = int(digits)
    if len(digits) == 2:
        return 2000 + y if y < 70 else 1900 + y
    return y


def _make_date(s: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if month > 12 and day <= 12:
            raise BadValue(
                f"{s!r} is not a date (month {month}); it looks like US order", _DATE_HINT
            ) from None
        raise BadValue(f"{s!r} is not a date", _DATE_HINT) from None


def parse_percent(raw: object) -> float:
    """87.3 from 0.873, 87.3 or '87.3%'. A bare number of 1 or less is read as a fraction."""
    if isinstance(raw, bool):
        raise BadValue(f"{raw!r} is not a percentage", "write it as 87.3 or 87.3%")
    if isinstance(raw, int | float):
        value = float(raw)
        value = value * 100 if value <= 1 else value
    else:
        s = text(raw).replace(" ", "")
        had_sign = s.endswith("%")
        try:
            value = float(s.rstrip("%"))
        except ValueError:
            raise BadValue(
                f"{text(raw)!r} is not a percentage", "write it as 87.3 or 87.3%"
            ) from None
        if not had_sign and value <= 1:
            value *= 100
    if not 0 <= value <= 100:
        raise BadValue(f"{text(raw)!r} is not between 0% and 100%", "check the figure")
    return round(value, 6)


_TRUE = {"y", "yes", "true", "1", "✓", "✔", "x", "t", "on"}
_FALSE = {"n", "no", "false", "0", "f", "off", "-", "✗", "✘"}


FLAG_FAST: dict[object, bool] = {
    "Y": True,
    "N": False,
    "": False,
    "Yes": True,
    "No": False,
    "YES": True,
    "NO": False,
    "y": True,
    "n": False,
}


def parse_flag(raw: object) -> bool:
    """Y/N, Yes/No, True/False, 1/0, ✓ or x; blank is no."""
    if raw.__class__ is str and raw in FLAG_FAST:
        return FLAG_FAST[raw]
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        if raw in (0, 1):
            return bool(raw)
        raise BadValue(f"{text(raw)!r} is not yes or no", "write Y or N")
    s = text(raw).casefold()
    if not s or s in _FALSE:
        return False
    if s in _TRUE:
        return True
    raise BadValue(f"{text(raw)!r} is not yes or no", "write Y or N")


def parse_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise BadValue(f"{raw!r} is not a whole number", "write a number such as 12")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    s = text(raw).replace(",", "")
    if re.fullmatch(r"-?\d+(\.0+)?", s):
        return int(float(s))
    raise BadValue(f"{text(raw)!r} is not a whole number", "write a number such as 12")


_YEAR = re.compile(r"^(?:y|yr|year|nc|ncy|year group)?\s*(-?\d{1,2})$")


def parse_year(raw: object) -> int:
    """National Curriculum year: 9, 'Year 9', 'Y9', 'R'/'Reception' = 0, 'N1'/'N2' = -1/-2."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        number = float(raw)
        if number.is_integer() and -2 <= number <= 14:
            return int(number)
    s = text(raw).casefold()
    if s in ("r", "rec", "reception", "year r"):
        return 0
    if s in ("n1", "n2"):
        return -int(s[1])
    m = _YEAR.match(s)
    if m and -2 <= int(m.group(1)) <= 14:
        return int(m.group(1))
    raise BadValue(f"{text(raw)!r} is not a year group", "write the NC year, e.g. 9 or Year 9")


_UPN_SHAPE = re.compile(r"[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]")
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_LA_OK: dict[str, bool] = {}
_WEIGHTS = tuple(range(2, 13))
_ZERO_OFFSET = ord("0") * sum(_WEIGHTS)


def _la_known(la: str) -> bool:
    """Whether python-stdnum knows the LA code (cached: its validate() is slow per call)."""
    if la not in _LA_OK:
        probe = la + "000000000"
        _LA_OK[la] = _upn.is_valid(_upn.calc_check_digit(probe) + probe)
    return _LA_OK[la]


def _upn_fast(s: str) -> bool:
    """The DfE check-letter test without python-stdnum's per-call overhead."""
    if not _UPN_SHAPE.fullmatch(s) or not _la_known(s[1:4]):
        return False
    last = s[12]
    # Weighted sum of the digits in positions 2-12 from their ASCII codes, in C.
    total = sum(map(operator.mul, _WEIGHTS, s[1:12].encode())) - _ZERO_OFFSET
    total += 13 * (int(last) if last.isdigit() else _UPN_LETTERS.find(last) + 23)
    return s[0] == _UPN_LETTERS[total % 23]


def parse_upn(raw: object) -> str:
    """A UPN, upper-cased and trimmed, with its DfE check letter and LA code verified."""
    s = raw.upper() if raw.__class__ is str else ""
    if len(s) == 13 and _upn_fast(s):
        return s
    s = "".join(text(raw).split()).upper()
    if not s:
        raise BadValue("UPN is blank", "every pupil needs their 13-character UPN")
    if len(s) != 13:
        raise BadValue(f"UPN {s!r} has {len(s)} characters, not 13", "copy the UPN from the MIS")
    try:
        _upn.validate(s)
    except _upn.InvalidChecksum:
        want = _upn.calc_check_digit(s[1:])
        raise BadValue(
            f"UPN {s!r} has the wrong check letter (expected {want})", "copy the UPN from the MIS"
        ) from None
    except _upn.InvalidComponent:
        raise BadValue(
            f"UPN {s!r}: {s[1:4]} is not an English LA code", "copy the UPN from the MIS"
        ) from None
    except _upn.ValidationError:
        raise BadValue(
            f"UPN {s!r} is not in the DfE format (letter, 11 digits, digit or letter)",
            "copy the UPN from the MIS",
        ) from None
    return s


def upn_key(raw: object) -> str:
    """A UPN as used to join sheets, without validating it (validation is the pupils sheet's)."""
    return "".join(text(raw).split()).upper()


def parse_phone(raw: object) -> str:
    """Phone as text; a UK number typed into a number cell gets its leading zero back."""
    s = text(raw)
    digits = s.replace(" ", "")
    if isinstance(raw, int | float) and digits.isdigit() and len(digits) == 10:
        return "0" + digits
    return s


def parse_code(raw: object) -> tuple[str, str | None]:
    """An attendance mark: (code, note). '' for no mark; legacy codes mapped with a note."""
    s = text(raw).strip().upper()
    if s in ("", "-", "."):
        return "", None
    if s in VALID_CODES:
        return s, None
    if s in LEGACY_CODES:
        new, why = LEGACY_CODES[s]
        return new, f"legacy code {s!r} read as {new!r} ({why})"
    # SIMS 8 sub-codes such as I01, X01: the statutory code is the leading letter(s).
    m = re.fullmatch(r"([A-Z])\d{2}", s)
    if m and m.group(1) in VALID_CODES:
        return m.group(1), f"sub-code {s!r} read as {m.group(1)!r}"
    raise BadValue(
        f"{s!r} is not a 2024 DfE attendance code",
        "use a code from the DfE table (/ \\ L M I N O G U ...)",
    )
