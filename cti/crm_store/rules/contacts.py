"""Contact and company rules: search keys, phone numbers in and out, what a contact needs.

Names are searched by prefix on lower-cased keys (``first last`` and ``last first``);
companies by their lower-cased, whitespace-collapsed name, which is also how an import
finds "the same company". Every stored phone is valid E.164 with its indexed tail; a
searched number that is not valid is matched by its last N digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from cti.config import PhoneConfig
from cti.crm_store.phones import digits, normalize, tail, time_zone_for
from cti.crm_store.rules.fields import invalid_field


class PhoneInput(Protocol):
    @property
    def number(self) -> str: ...

    @property
    def kind(self) -> str: ...


@dataclass(frozen=True, slots=True)
class PhoneValues:
    """A phone row as stored: what was typed, E.164, its indexed tail, its kind."""

    raw: str
    e164: str
    tail: str
    kind: str


def name_keys(first: str, last: str) -> tuple[str, str]:
    """Lower-cased ``first last`` and ``last first``: the indexed search keys of a contact."""
    return f"{first} {last}".strip().lower(), f"{last} {first}".strip().lower()


def company_key(name: str) -> str:
    """Lower-cased, whitespace-collapsed company name (search key; import reuses by it)."""
    return " ".join(name.split()).lower()


def phones(given: Sequence[PhoneInput], config: PhoneConfig, field: str) -> list[PhoneValues]:
    """The phones to store, normalized to E.164; an unusable number names its field
    (``phones[1].number``)."""
    rows = []
    for i, phone in enumerate(given):
        e164 = normalize(phone.number, config.default_region)
        if e164 is None:
            raise invalid_field(
                f"{field}[{i}].number", f"not a valid phone number: {phone.number!r}"
            )
        rows.append(PhoneValues(phone.number, e164, tail(e164, config.tail_digits), phone.kind))
    return rows


def time_zone(given: str | None, stored: Sequence[PhoneValues]) -> str | None:
    """The contact's time zone: as given, else the first phone's when it has exactly one."""
    if given is None and stored:
        return time_zone_for(stored[0].e164)
    return given


def check_name(first: str, last: str) -> None:
    if not first and not last:
        raise invalid_field("last_name", "first_name or last_name is required")


def phone_key(
    number: str, config: PhoneConfig, field: str = "phone"
) -> tuple[Literal["e164", "tail"], str]:
    """How a searched number is matched: its E.164, else (too short to be valid, another
    country's prefix …) its last N digits; fewer digits than that is an error."""
    e164 = normalize(number, config.default_region)
    if e164 is not None:
        return "e164", e164
    plain = digits(number)
    if len(plain) < config.tail_digits:
        raise invalid_field(field, f"give at least {config.tail_digits} digits")
    return "tail", plain[-config.tail_digits :]
