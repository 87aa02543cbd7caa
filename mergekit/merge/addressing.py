"""Who gets which document: the names a letter is addressed to, brothers and sisters at one
address addressed alike, and what the run's manifest says of each document's recipients.

Both the letters (``mergekit.documents``) and the emails (``mergekit.mail``) address pupils'
families the same way, from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from mergekit.core.actions import FORMS
from mergekit.core.config import Settings
from mergekit.core.model import Contact, SchoolData


def addressees(contacts: Sequence[Contact]) -> list[Contact]:
    """Who a letter is addressed to: contacts with parental responsibility who live with the
    pupil, not flagged no-contact, in priority order (at most two names on the envelope).

    A child in foster, kinship or residential care lives with a carer who seldom holds
    parental responsibility (the local authority does): when nobody with it lives with the
    pupil, the letter goes to the carer they live with."""
    to = [c for c in contacts if c.receives_letters]
    if not to:
        to = [
            c
            for c in contacts
            if c.lives_with_pupil and not c.no_contact and "carer" in c.relationship.casefold()
        ]
    return to[:2]


def household_addressees(data: SchoolData) -> dict[str, list[Contact]]:
    """Who each pupil's letters go to. Brothers and sisters living at the same address with the
    same parents get exactly the same names, in the same order: those of the first of them in
    hand-out order."""
    first: dict[tuple[frozenset[str], str], list[Contact]] = {}
    out: dict[str, list[Contact]] = {}
    for pupil in sorted(data.pupils.values(), key=lambda p: p.sort_key):
        to = addressees(data.contacts_of(pupil.upn))
        if not to:
            out[pupil.upn] = []
            continue
        key = (frozenset(_person_key(c) for c in to), _address_key(to[0]))
        out[pupil.upn] = first.setdefault(key, to) if key[1] else to
    return out


def _person_key(c: Contact) -> str:
    return " ".join(c.name.casefold().split())


def _address_key(c: Contact) -> str:
    a = c.address
    if not a.is_postable:
        return ""
    line = " ".join(a.lines[0].casefold().replace(",", " ").split())
    return f"{line}|{a.postcode.replace(' ', '').upper()}"


def recipients_text(settings: Settings, action: str, to: Sequence[Contact]) -> tuple[str, bool]:
    """The manifest's recipients for one document, and whether it can be posted."""
    if action in FORMS:
        c = settings.council
        team = f"{c.cme_team} <{c.cme_email}>" if c.cme_email else c.cme_team
        if action == "remove_from_roll":
            head = settings.school.head_teacher or "the head teacher"
            return f"{head} (to sign); {team}", True
        return team, True
    people = [f"{p.name} <{p.email}>" if p.email else p.name for p in to]
    postable = bool(to) and to[0].address.is_postable
    where = f"post: {to[0].address.one_line()}" if postable else "cannot post: no postal address"
    return "; ".join([*people, where]) if people else where, postable
