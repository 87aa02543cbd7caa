"""The 2024 DfE attendance codes and how each one counts.

Source: The School Attendance (Pupil Registration) (England) Regulations 2024, reg. 10, and
*Working together to improve school attendance* (summarised in shared/research/domain.md §2).
Sessions are always counted as integers; percentages are only for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

CODE_MEANINGS: MappingProxyType[str, str] = MappingProxyType(
    {
        "/": "present (AM)",
        "\\": "present (PM)",
        "L": "late, before the register closed",
        "K": "education arranged by the local authority",
        "V": "educational visit or trip",
        "P": "approved sporting activity",
        "W": "work experience",
        "B": "other approved educational activity",
        "D": "dual registered, at the other school",
        "C1": "leave: regulated performance or employment abroad",
        "M": "leave: medical or dental appointment",
        "J1": "leave: interview",
        "S": "leave: study leave",
        "X": "not of compulsory school age, not required to attend",
        "C2": "leave: temporary part-time timetable",
        "C": "leave: exceptional circumstances",
        "T": "parent travelling for work",
        "R": "religious observance",
        "I": "illness",
        "E": "suspended or excluded, no alternative provision",
        "Q": "unable to attend: no access arrangements",
        "Y1": "unable to attend: transport not available",
        "Y2": "unable to attend: widespread travel disruption",
        "Y3": "unable to attend: part of the school closed",
        "Y4": "unable to attend: whole school site closed",
        "Y5": "unable to attend: in criminal justice detention",
        "Y6": "unable to attend: public health guidance or law",
        "Y7": "unable to attend: other unavoidable cause",
        "G": "holiday not agreed by the school",
        "N": "reason not yet established",
        "O": "absent, other or unknown reason",
        "U": "arrived after the register closed",
        "Z": "prospective pupil, not yet on roll",
        "#": "planned school closure",
    }
)

VALID_CODES: frozenset[str] = frozenset(CODE_MEANINGS)
PRESENT: frozenset[str] = frozenset({"/", "\\", "L", "K", "V", "P", "W", "B"})
NOT_POSSIBLE: frozenset[str] = frozenset(
    {"D", "X", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "Z", "#"}
)
POSSIBLE: frozenset[str] = VALID_CODES - NOT_POSSIBLE
ABSENT: frozenset[str] = POSSIBLE - PRESENT
UNAUTHORISED: frozenset[str] = frozenset({"G", "N", "O", "U"})
AUTHORISED: frozenset[str] = ABSENT - UNAUTHORISED
# An "unexplained absence" day for the CME run and deletion ground reg. 9(1)(i).
UNEXPLAINED: frozenset[str] = frozenset({"G", "N", "O"})

# Pre-2024 codes still found in old exports, mapped explicitly (domain.md §2), never guessed.
LEGACY_CODES: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "H": ("C", "agreed family holiday, now leave of absence"),
        "F": ("C", "agreed extended holiday, now leave of absence"),
        "J": ("J1", "interview"),
        "Y": ("Y7", "unable to attend, other unavoidable cause"),
    }
)


def is_present(code: str) -> bool:
    return code in PRESENT


def is_possible(code: str) -> bool:
    return code in POSSIBLE


def is_absent(code: str) -> bool:
    return code in ABSENT


# ---------------------------------------------------------------------------------------------
# Counting sessions


@dataclass(frozen=True, slots=True)
class SessionCounts:
    """Whole-number session counts over a period; percentages only for display."""

    possible: int = 0
    present: int = 0
    authorised: int = 0
    unauthorised: int = 0

    @property
    def absent(self) -> int:
        return self.possible - self.present

    @property
    def percent(self) -> float:
        """Attendance %, for display only (rules compare the integers)."""
        return 100.0 * self.present / self.possible if self.possible else 100.0

    def percent_text(self) -> str:
        """'86.4' (one decimal place, UK style)."""
        return f"{self.percent:.1f}"


def count_sessions(
    marks: Mapping[date, tuple[str, str]],
    start: date,
    end: date,
    days: Iterable[date] | None = None,
) -> SessionCounts:
    """Counts over marks dated start..end inclusive (only ``days`` when given)."""
    possible = present = auth = unauth = 0
    items = ((d, marks[d]) for d in days if d in marks) if days is not None else marks.items()
    for d, pair in items:
        if d < start or d > end:
            continue
        for code in pair:
            if code in POSSIBLE:
                possible += 1
                if code in PRESENT:
                    present += 1
                elif code in UNAUTHORISED:
                    unauth += 1
                else:
                    auth += 1
    return SessionCounts(possible, present, auth, unauth)


# The 2024 groups of *Working together to improve school attendance* (Aug 2024), per code, and
# how each counts for statistics: what a register extract prints beside each code used.
_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("attending the school", frozenset({"/", "\\", "L"})),
    ("attending another place", frozenset({"K", "V", "P", "W", "B", "D"})),
    ("leave of absence", frozenset({"C1", "M", "J1", "S", "X", "C2", "C"})),
    ("other authorised absence", frozenset({"T", "R", "I", "E"})),
    ("unable to attend", frozenset({"Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"})),
    ("unauthorised absence", frozenset({"G", "N", "O", "U"})),
    ("administrative", frozenset({"Z", "#"})),
)


def category_of(code: str) -> str:
    """'leave of absence: authorised absence' - the 2024 group of a code and how it counts
    (present, authorised, unauthorised, or not a possible session)."""
    group = next((g for g, codes in _GROUPS if code in codes), "not a 2024 code")
    if code in PRESENT:
        counts = "present"
    elif code in UNAUTHORISED:
        counts = "unauthorised absence"
    elif code in AUTHORISED:
        counts = "authorised absence"
    elif code in NOT_POSSIBLE:
        counts = "not a possible session"
    else:
        counts = "not counted"
    return counts if group == counts else f"{group}: {counts}"
