"""The words emails say to their readers: today's marks, greetings, contact attempts."""

from __future__ import annotations

import pytest

from mergekit.mail.wording import (
    contact_attempts,
    greeting_name,
    reason_known,
    salutation,
    todays_absence,
)

DAY = "27 November 2026"


@pytest.mark.parametrize(
    ("am", "pm", "expected"),
    [
        (
            "N",
            "N",
            "Tyrese Grant is not in school today, 27 November 2026, and the school has not yet "
            "been able to confirm why.",
        ),
        (
            "I",
            "I",
            "Tyrese Grant is absent today, 27 November 2026: illness reported to the school.",
        ),
        (
            "/",
            "M",
            "Tyrese Grant was in school this morning, 27 November 2026, and left at lunchtime "
            "for a medical or dental appointment.",
        ),
        (
            "/",
            "N",
            "Tyrese Grant was in school this morning, 27 November 2026, but is not in school "
            "this afternoon, and the school has not yet been able to confirm why.",
        ),
        (
            "M",
            "\\",
            "Tyrese Grant was not in school this morning, 27 November 2026 (a medical or dental "
            "appointment), and was in school in the afternoon.",
        ),
        (
            "N",
            "",
            "Tyrese Grant is not in school this morning, 27 November 2026, and the school has "
            "not yet been able to confirm why.",
        ),
        (
            "M",
            "I",
            "Tyrese Grant is absent today, 27 November 2026. This morning: a medical or dental "
            "appointment. This afternoon: illness reported to the school.",
        ),
        (
            "O",
            "O",
            "Tyrese Grant is not in school today, 27 November 2026, and the reason is not known.",
        ),
        (
            "V",
            "G",
            "Tyrese Grant was on an educational visit with the school this morning, 27 November "
            "2026, and is absent this afternoon: a holiday the school has not agreed.",
        ),
    ],
)
def test_todays_absence_says_what_the_two_marks_record(am: str, pm: str, expected: str) -> None:
    assert todays_absence("Tyrese Grant", DAY, am, pm) == expected


@pytest.mark.parametrize(
    ("am", "pm"), [("I", "I"), ("/", "M"), ("M", "\\"), ("E", "E"), ("C", ""), ("/", "R")]
)
def test_only_n_says_the_school_does_not_know_why(am: str, pm: str) -> None:
    text = todays_absence("A B", DAY, am, pm)
    assert "confirm why" not in text
    assert "not in school today" not in text
    assert reason_known(am, pm)


@pytest.mark.parametrize(("am", "pm"), [("N", "N"), ("/", "N"), ("N", ""), ("O", "I")])
def test_n_or_o_today_means_the_reason_is_not_known(am: str, pm: str) -> None:
    assert not reason_known(am, pm)


@pytest.mark.parametrize(
    ("cell", "greeting"),
    [
        ("Mr Samir Qadri (Children in Need Team)", "Mr Qadri"),
        ("Ms Abena Owusu-Reid (Children in Care Team)", "Ms Owusu-Reid"),
        ("Ms Hannah Leeson, Early Help", "Ms Leeson"),
        ("Dr Ayo Bello - CAMHS", "Dr Bello"),
        ("Mr Jan van der Berg", "Mr van der Berg"),
        ("Samir Qadri (Children in Need Team)", "Samir Qadri"),
        ("Mrs Khan", "Mrs Khan"),
        ("Sam Worker", "Sam Worker"),
    ],
)
def test_greeting_is_title_and_surname_else_the_full_name_without_the_team(
    cell: str, greeting: str
) -> None:
    assert greeting_name(cell) == greeting


def test_salutation_joins_several_people_and_falls_back_when_nobody_is_named() -> None:
    both = ["Mr Samir Qadri (Children in Need Team)", "Ms Hannah Leeson (Early Help)"]
    assert salutation(both) == "Dear Mr Qadri and Ms Leeson"
    assert salutation(["", " "]) == "Dear colleague"


def test_contact_attempts_counts_them_and_names_each_means_once() -> None:
    evidence = {
        "contact_attempts": [
            {"method": "Text message"},
            {"method": "Phone call"},
            {"method": "Phone call"},
            {"method": "Home visit"},
        ]
    }
    assert contact_attempts(evidence) == {
        "count": 4,
        "methods": "text message, phone call and home visit",
    }
    assert contact_attempts({}) == {"count": 0, "methods": ""}
