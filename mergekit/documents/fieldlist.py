"""For staff who edit templates: ``mergekit fields`` (every merge field with a real or the
sample pupil's value) and the Word templates mergekit uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from mergekit.core.actions import DOCUMENT_ACTIONS, FORMS
from mergekit.core.config import Settings
from mergekit.core.errors import (
    MergekitError,
    WorkbookError,
)
from mergekit.core.model import Action, Pupil, SchoolData
from mergekit.core.workspace import Workspace
from mergekit.documents.make import _ledger_state
from mergekit.documents.produce import _context
from mergekit.documents.sample import sample_data
from mergekit.merge.addressing import household_addressees
from mergekit.merge.templates import template_path

# For staff who edit templates


@dataclass(frozen=True)
class FieldsListing:
    pupil: str  # who the values belong to, e.g. "A999... Amara Okafor (Year 9, 9KM)"
    fields: tuple[tuple[str, Any], ...]  # (dotted name, value) in context order
    notes: tuple[str, ...] = ()


def list_fields(ws: Workspace, data: SchoolData | None, upn: str | None = None) -> FieldsListing:
    """Every merge field with its value for one pupil: ``upn``; else the first pupil today's
    plan has a letter or form for (so the letter and action fields have values); else the first
    pupil with a postal address; else, when the workbook cannot be read, an invented pupil. The
    action fields come from the plan's action for that pupil (a document action first)."""
    from mergekit.merge.fields import flatten

    notes: list[str] = []
    planned: list[Action] = []
    history: Mapping[str, Mapping[int, date]] = {}
    if data is None or not data.pupils:
        data, pupil = sample_data(ws.today)
        notes.append("the tracking workbook could not be read: the values are an invented pupil's")
    else:
        try:
            from mergekit.plan import planning

            planned = sorted(
                planning.make_plan(ws, data).actions,
                key=lambda a: a.kind not in DOCUMENT_ACTIONS,
            )
            _, history = _ledger_state(ws, data)
        except (MergekitError, ValueError) as e:
            notes.append(f"the plan could not be made ({e}): the action fields are empty")
        pupil = _sample_pupil(ws, data, upn, planned)
    action = next((a for a in planned if a.upn == pupil.upn), None)
    from mergekit.merge.cmesteps import steps_taken

    steps = steps_taken(ws.settings, (a for a in planned if a.kind in FORMS), ws.today)
    home = household_addressees(data).get(pupil.upn)
    context = _context(ws, data, pupil, action, history, home, steps)
    if action is None:
        notes.append(
            f"no action is planned today for {pupil.upn}: the action.* and absence.* fields are "
            "empty here, and filled in when a document is made"
        )
    year = f"Year {pupil.year}, " if pupil.year is not None else ""
    label = f"{pupil.upn} {pupil.full_name} ({year}{pupil.reg_group})"
    return FieldsListing(label, tuple(flatten(context)), tuple(notes))


def _sample_pupil(
    ws: Workspace, data: SchoolData, upn: str | None, planned: Sequence[Action]
) -> Pupil:
    if upn is not None:
        found = data.pupils.get("".join(upn.split()).upper())
        if found is None:
            raise WorkbookError(
                f"{ws.settings.files.tracking}: no pupil with the UPN {upn!r} - check the UPN"
            )
        return found
    for a in planned:
        if a.kind in DOCUMENT_ACTIONS and a.upn in data.pupils:
            return data.pupils[a.upn]
    homes = household_addressees(data)
    ordered = sorted(data.pupils.values(), key=lambda p: p.sort_key)
    return next(
        (p for p in ordered if homes.get(p.upn) and homes[p.upn][0].address.is_postable),
        ordered[0],
    )


def templates_in_use(settings: Settings) -> list[tuple[str, Path]]:
    """(action, template file) for every document mergekit makes, with the school's own
    templates where the config names them."""
    return [(a, template_path(settings, a)) for a in DOCUMENT_ACTIONS]
