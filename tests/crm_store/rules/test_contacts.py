"""Contact rules: search keys, phones in and out, names, time zones."""

from __future__ import annotations

import pytest

from cti.config import PhoneConfig
from cti.crm_store.rules.contacts import (
    PhoneValues,
    check_name,
    company_key,
    name_keys,
    phone_key,
    phones,
    time_zone,
)
from cti.crm_store.schemas.contacts import PhoneIn
from cti.errors import ValidationError

RU = PhoneConfig(default_region="RU", tail_digits=7)


def test_search_keys() -> None:
    assert name_keys("Ivan", "Petrov") == ("ivan petrov", "petrov ivan")
    assert name_keys("", "Petrov") == ("petrov", "petrov")
    assert company_key("  Alfa   Trade\tLtd ") == "alfa trade ltd"


def test_phones_are_stored_as_e164_with_their_tail_or_name_the_bad_one() -> None:
    given = [PhoneIn(number="8 (495) 123-45-67"), PhoneIn(number="+44 20 7946 0958", kind="work")]
    assert phones(given, RU, "phones") == [
        PhoneValues("8 (495) 123-45-67", "+74951234567", "1234567", "mobile"),
        PhoneValues("+44 20 7946 0958", "+442079460958", "9460958", "work"),
    ]
    with pytest.raises(ValidationError) as bad:
        phones([given[0], PhoneIn(number="12")], RU, "phones")
    assert bad.value.details == {
        "field": "phones[1].number",
        "reason": "not a valid phone number: '12'",
    }


def test_a_time_zone_given_wins_else_the_first_phone_tells() -> None:
    moscow = PhoneValues("", "+74951234567", "1234567", "mobile")
    assert time_zone(None, [moscow]) == "Europe/Moscow"
    assert time_zone("Asia/Tokyo", [moscow]) == "Asia/Tokyo"
    assert time_zone(None, []) is None


def test_a_contact_keeps_a_first_or_a_last_name() -> None:
    check_name("Ivan", "")
    check_name("", "Petrov")
    with pytest.raises(ValidationError, match="first_name or last_name is required"):
        check_name("", "")


def test_a_searched_number_matches_by_e164_else_by_its_tail() -> None:
    assert phone_key("8 495 123 45 67", RU) == ("e164", "+74951234567")
    assert phone_key("123-45-67", RU) == ("tail", "1234567")
    with pytest.raises(ValidationError) as short:
        phone_key("12345", RU, "q")
    assert short.value.details == {"field": "q", "reason": "give at least 7 digits"}
