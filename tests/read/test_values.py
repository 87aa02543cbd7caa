"""Cell values as schools type them: dates, percentages, flags, UPNs, year groups, codes."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from stdnum.gb.upn import calc_check_digit

from mergekit.read import values as v


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (date(2012, 3, 14), date(2012, 3, 14)),
        (datetime(2012, 3, 14, 0, 0), date(2012, 3, 14)),
        ("14/03/2012", date(2012, 3, 14)),
        ("14-03-2012", date(2012, 3, 14)),
        ("14.03.2012", date(2012, 3, 14)),
        ("3/4/2012", date(2012, 4, 3)),  # UK order: 3 April, never 4 March
        ("14/03/12", date(2012, 3, 14)),
        ("14-Mar-2012", date(2012, 3, 14)),
        ("14 March 2012", date(2012, 3, 14)),
        ("1st Sept 2026", date(2026, 9, 1)),
        ("2012-03-14", date(2012, 3, 14)),
        (40982.0, date(2012, 3, 14)),  # an Excel serial from a cell without a date format
        ("  14/03/2012 ", date(2012, 3, 14)),
    ],
)
def test_dates_are_read_in_uk_order_from_every_shape(raw: object, expected: date) -> None:
    assert expected == v.parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31/02/2012", "'31/02/2012' is not a date"),
        ("03/14/2012", "looks like US order"),
        ("2026-13-01", "'2026-13-01' is not a date"),
        ("soon", "'soon' is not a date"),
        (True, "is not a date"),
    ],
)
def test_impossible_dates_are_refused_with_the_fix(raw: object, message: str) -> None:
    with pytest.raises(v.BadValue, match=message) as e:
        v.parse_date(raw)
    assert e.value.hint == "write it as DD/MM/YYYY"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.873, 87.3),
        (87.3, 87.3),
        ("87.3%", 87.3),
        ("87.3", 87.3),
        ("0.873", 87.3),
        (100, 100.0),
        ("100%", 100.0),
        (1, 100.0),
        (0, 0.0),
    ],
)
def test_percentages_in_all_three_shapes(raw: object, expected: float) -> None:
    assert expected == pytest.approx(v.parse_percent(raw))


@pytest.mark.parametrize("raw", ["n/a", "101%", -3, "eighty"])
def test_bad_percentages_are_refused(raw: object) -> None:
    with pytest.raises(v.BadValue):
        v.parse_percent(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Y", True),
        ("yes", True),
        ("TRUE", True),
        (1, True),
        ("✓", True),
        (True, True),
        ("N", False),
        ("No", False),
        ("false", False),
        (0, False),
        ("", False),
        (None, False),
    ],
)
def test_flags(raw: object, expected: bool) -> None:
    assert expected is v.parse_flag(raw)


def test_an_unclear_flag_is_an_error_not_a_guess() -> None:
    with pytest.raises(v.BadValue, match="not yes or no"):
        v.parse_flag("maybe")


def _upn(body: str) -> str:
    return calc_check_digit(body) + body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("B801200005001", "B801200005001"),  # DfE / python-stdnum worked example
        ("b801 2000 05001 ", "B801200005001"),  # trimmed, spaces removed, upper-cased
        ("G80120000101A", "G80120000101A"),  # temporary UPN (letter last)
        (_upn("331400025001"), "F331400025001"),  # Coventry-shaped synthetic vector
    ],
)
def test_valid_upns_are_normalised(raw: str, expected: str) -> None:
    assert expected == v.parse_upn(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("A801200005001", "wrong check letter (expected B)"),
        ("R900400001001", "900 is not an English LA code"),
        ("B8012000050", "has 11 characters"),
        ("", "UPN is blank"),
    ],
)
def test_bad_upns_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(v.BadValue) as e:
        v.parse_upn(raw)
    assert message in e.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (9, 9),
        (9.0, 9),
        ("9", 9),
        ("Year 9", 9),
        ("Y9", 9),
        ("yr 10", 10),
        ("R", 0),
        ("Reception", 0),
        ("N2", -2),
        ("12", 12),
    ],
)
def test_year_groups(raw: object, expected: int) -> None:
    assert expected == v.parse_year(raw)


def test_phone_typed_into_a_number_cell_gets_its_leading_zero_back() -> None:
    assert v.parse_phone(7700900123.0) == "07700900123"
    assert v.parse_phone("01632 960 400") == "01632 960 400"


@pytest.mark.parametrize(
    ("raw", "code", "noted"),
    [
        ("/", "/", False),
        ("\\", "\\", False),
        (" n ", "N", False),
        ("", "", False),
        ("-", "", False),
        ("Y3", "Y3", False),
        ("C1", "C1", False),
        ("H", "C", True),
        ("J", "J1", True),
        ("I01", "I", True),
    ],
)
def test_codes_are_checked_and_legacy_codes_mapped_explicitly(
    raw: str, code: str, noted: bool
) -> None:
    got, note = v.parse_code(raw)
    assert code == got
    assert noted is (note is not None)


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(v.BadValue, match="not a 2024 DfE attendance code"):
        v.parse_code("Q9")


def test_text_keeps_ids_as_text() -> None:
    assert v.text(123.0) == "123"
    assert v.text("  0042 ") == "0042"
    assert v.text("a  b\nc") == "a b c"
