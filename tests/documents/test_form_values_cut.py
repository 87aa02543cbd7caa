"""A value too long for its box on a council form (issue 16.3): the filled form's document
says what was cut, and `mergekit run`'s "Needs a person" lists it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mergekit.core.workspace import open_workspace
from mergekit.day.check import CheckReport
from mergekit.day.pipeline import RunReport
from mergekit.day.school import load_school
from mergekit.documents.make import make_forms

pytestmark = pytest.mark.poppler

SURNAME = "Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh-Montgomery-Smythe-Vanderbilt"


def test_a_cut_form_value_is_listed_under_needs_a_person(example_school: Path) -> None:
    ws = open_workspace(example_school)
    data = load_school(ws)
    first = make_forms(ws, data, due=True, forms=["cme_referral"])
    upn = first.documents[0].pupil.upn  # a pupil whose referral is due today
    pupil = replace(data.pupils[upn], surname=SURNAME)
    data = replace(data, pupils={**data.pupils, upn: pupil})

    result = make_forms(ws, data, upns=[upn], forms=["cme_referral"], pdf=True)

    doc = next(d for d in result.documents if d.pupil.upn == upn)
    assert doc.pdf is not None
    assert doc.to_check, "the surname does not fit the form's box, so it must be reported"
    report = RunReport(ws, CheckReport(ws.today, None), documents=result)
    listed = [line for line in report.needs_a_person() if line.startswith(upn)]
    assert listed
    assert any("pupil_surname" in line and "was cut off" in line for line in listed)
    assert doc.pdf.name in listed[0]
