"""Phone normalization: every spelling of one number meets in one E.164 string."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from cti.crm_store.phones import _fast_international, digits, normalize, tail, time_zone_for


@pytest.mark.parametrize(
    "raw",
    [
        "+79161234567",
        "89161234567",
        "9161234567",
        "8 (916) 123-45-67",
        "0079161234567",
        " +7 916 123 45 67 ",
    ],
)
def test_russian_spellings_normalize_to_one_e164(raw: str) -> None:
    assert normalize(raw, "RU") == "+79161234567"


@pytest.mark.parametrize("raw", ["", "abc", "123", "+1 555 123 4567", "8" * 70])
def test_unusable_numbers_are_none(raw: str) -> None:
    assert normalize(raw, "RU") is None


def test_region_reads_national_numbers() -> None:
    assert normalize("020 7946 0018", "GB") == "+442079460018"
    assert normalize("(212) 555-0100", "US") == "+12125550100"


def test_digits_and_tail() -> None:
    assert digits("+7 (916) 123-45-67") == "79161234567"
    assert tail("+79161234567", 7) == "1234567"
    assert tail("12", 7) == "12"


def test_time_zone_only_when_unambiguous() -> None:
    assert time_zone_for("+74951234567") == "Europe/Moscow"
    assert time_zone_for("+78001234567") is None  # toll-free: all of Russia
    assert time_zone_for("+12125550100") == "America/New_York"
    assert time_zone_for("not a number") is None


def _reference(text: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text, "ZZ")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def test_fast_path_agrees_with_phonenumbers_everywhere() -> None:
    """Every answer of the fast path equals phonenumbers' own (random numbers, all regions)."""
    rng = random.Random(7)
    kinds = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE]
    checked = fast_hits = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for _ in range(8):
                body = list(e164[1:])
                for _ in range(rng.randrange(0, 3)):
                    body[rng.randrange(len(body))] = str(rng.randrange(10))
                if rng.random() < 0.2:
                    body.append(str(rng.randrange(10)))
                text = "+" + "".join(body)
                if rng.random() < 0.5:
                    text = (
                        phonenumbers.format_number(
                            phonenumbers.parse(text, None),
                            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                        )
                        if _reference(text)
                        else text
                    )
                fast = _fast_international(text)
                checked += 1
                if fast is not None:
                    fast_hits += 1
                    assert fast == _reference(text), text
                assert normalize(text, "RU") == _reference(text), text
    assert checked > 2000
    assert fast_hits > checked // 2  # the fast path carries most valid numbers
