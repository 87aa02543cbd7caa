"""The words an email says to its reader, made from the facts: today's register marks, whom it
greets, the school's attempts to reach the family.

Outgoing text is written for the person who reads it. The planner's reason
(``Action.reason``) is a note for staff ("...: complete the CME referral form", "contact social
worker ... 07700 900953") and never goes into an email; these functions say what the reader
needs instead, and only what the records show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mergekit.core.attendance import CODE_MEANINGS, PRESENT

# Titles that start a name cell ("Mr Samir Qadri (Children in Need Team)").
TITLES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "rev",
        "revd",
        "sir",
        "dame",
        "lady",
        "lord",
        "cllr",
    }
)
# Words that begin a surname of several words ("Mr Jan van der Berg" -> "Mr van der Berg").
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "di", "du", "la", "le", "del"})
# A team or role written after the name: "(Children in Need Team)", "[CIN]", ", Early Help".
_AFTER_NAME = re.compile(r"\s*(\(.*|\[.*|,.*|\s-\s.*)$")

# What a register code says about where the pupil was, for a professional who knows the child.
# Absence codes finish "absent ...: <words>"; present codes finish "was <words> this morning".
_ABSENT_WORDS: Mapping[str, str] = {
    "I": "illness reported to the school",
    "M": "a medical or dental appointment",
    "G": "a holiday the school has not agreed",
    "C": "leave of absence agreed by the school",
    "C1": "leave agreed by the school for a licensed performance or employment abroad",
    "C2": "an agreed part-time timetable",
    "J1": "an interview for work or for a place at another school or college",
    "S": "study leave",
    "T": "travelling with a parent for work, agreed by the school",
    "R": "a day of religious observance",
    "E": "suspended or excluded, with no alternative provision arranged",
}
_PRESENT_WORDS: Mapping[str, str] = {
    "/": "in school",
    "\\": "in school",
    "L": "in school (late, before the register closed)",
    "K": "at education arranged by the local authority",
    "V": "on an educational visit with the school",
    "P": "at an approved sporting activity",
    "W": "on work experience",
    "B": "at an approved educational activity",
}
# Codes that mean the school does not know why the pupil is away.
UNEXPLAINED_TODAY = frozenset({"N", "O"})
_NOT_CONFIRMED = "the school has not yet been able to confirm why"
_NOT_KNOWN = "the reason is not known"


def greeting_name(name: str) -> str:
    """How to greet one person named in a cell: 'Mr Samir Qadri (Children in Need Team)' ->
    'Mr Qadri'; without a title, the full name without the team ('Samir Qadri')."""
    plain = " ".join(_AFTER_NAME.sub("", name.strip()).split())
    words = plain.split()
    if len(words) >= 2 and words[0].rstrip(".").casefold() in TITLES:
        title, rest = words[0], words[1:]
        start = len(rest) - 1
        for i in range(1, len(rest) - 1):
            if rest[i].casefold() in _PARTICLES:
                start = i
                break
        return " ".join([title, *rest[start:]])
    return plain


def salutation(names: Iterable[str], fallback: str = "Dear colleague") -> str:
    """'Dear Mr Qadri' or 'Dear Mr Qadri and Ms Leeson'; ``fallback`` when nobody is named."""
    greeted = [g for g in dict.fromkeys(greeting_name(n) for n in names) if g]
    return f"Dear {' and '.join(greeted)}" if greeted else fallback


def _absent(code: str) -> str:
    if code == "N":
        return _NOT_CONFIRMED
    if code == "O":
        return _NOT_KNOWN
    return _ABSENT_WORDS.get(code) or CODE_MEANINGS.get(code) or f"register code {code}"


def _present(code: str) -> str:
    return _PRESENT_WORDS.get(code, "in school")


def todays_absence(name: str, day: str, am: str, pm: str) -> str:
    """One sentence saying what today's AM and PM marks record, e.g. 'Tyrese Grant was in
    school this morning, 27 November 2026, and left at lunchtime for a medical or dental
    appointment.' Only N says the school has not yet confirmed why; a blank mark (the
    register not taken yet) says nothing about that session."""
    am, pm = am.strip(), pm.strip()
    away_am = bool(am) and am not in PRESENT
    away_pm = bool(pm) and pm not in PRESENT
    if away_am and away_pm:
        if am == pm:
            return _whole_day(name, day, am)
        return (
            f"{name} is absent today, {day}. This morning: {_absent(am)}. "
            f"This afternoon: {_absent(pm)}."
        )
    if away_pm:
        if am:
            return f"{name} was {_present(am)} this morning, {day}, {_afternoon(pm)}."
        return _one_session(name, day, pm, "this afternoon")
    if away_am:
        if pm:
            return f"{name} {_morning(am, day)} and was {_present(pm)} in the afternoon."
        return _one_session(name, day, am, "this morning")
    if am or pm:
        return f"{name} was {_present(am or pm)} today, {day}."
    return f"{name} has no attendance mark recorded yet today, {day}."


def _one_session(name: str, day: str, code: str, when: str) -> str:
    """A sentence for the one session marked so far (the other register not taken yet)."""
    if code == "N":
        return f"{name} is not in school {when}, {day}, and {_NOT_CONFIRMED}."
    if code == "U":
        return f"{name} arrived at school {when}, {day}, after the register had closed."
    return f"{name} is absent {when}, {day}: {_absent(code)}."


def _whole_day(name: str, day: str, code: str) -> str:
    if code == "N":
        return f"{name} is not in school today, {day}, and {_NOT_CONFIRMED}."
    if code == "O":
        return f"{name} is not in school today, {day}, and {_NOT_KNOWN}."
    if code == "U":
        return f"{name} arrived at school today, {day}, after the registers had closed."
    if code == "M":
        return f"{name} is absent today, {day}, for a medical or dental appointment."
    return f"{name} is absent today, {day}: {_absent(code)}."


def _afternoon(code: str) -> str:
    """The end of 'X was in school this morning, <day>, ...' for an afternoon absence."""
    if code == "M":
        return "and left at lunchtime for a medical or dental appointment"
    if code == "N":
        return f"but is not in school this afternoon, and {_NOT_CONFIRMED}"
    if code == "U":
        return "and came back after the afternoon register had closed"
    return f"and is absent this afternoon: {_absent(code)}"


def _morning(code: str, day: str) -> str:
    """'X <...> and was in school in the afternoon' for a morning absence."""
    if code == "U":
        return f"arrived at school this morning, {day}, after the register had closed,"
    return f"was not in school this morning, {day} ({_absent(code)}),"


def reason_known(am: str, pm: str) -> bool:
    """False when a mark of today says the school does not know why the pupil is away."""
    return not ({am.strip(), pm.strip()} & UNEXPLAINED_TODAY)


def contact_attempts(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The school's attempts to reach the family since the absence began (the CME steps'
    evidence): how many, and by which means ('phone call, text message and home visit')."""
    tries: Sequence[Any] = evidence.get("contact_attempts") or ()
    methods = list(
        dict.fromkeys(
            str(t.get("method", "")).strip().lower()
            for t in tries
            if isinstance(t, Mapping) and str(t.get("method", "")).strip()
        )
    )
    joined = (
        ", ".join(methods[:-1]) + " and " + methods[-1] if len(methods) > 1 else "".join(methods)
    )
    return {"count": len(tries), "methods": joined}
