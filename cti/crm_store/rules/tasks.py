"""Task and note rules: callback numbers, closing and reopening a task, what a note needs.

A callback needs a number. Task numbers are stored as E.164 when they parse (the call log
matches callbacks on it), else as their digits, with the indexed tail of the last N digits.
Closing a task stamps ``done_at``; reopening clears it and the system's ``done_reason``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cti.config import PhoneConfig
from cti.crm_store.phones import digits, normalize, tail
from cti.crm_store.rules.fields import invalid

#: what a note (and a task) may be attached to
LINKS = ("contact_id", "deal_id", "ticket_id", "call_id")


def stored_number(value: str, config: PhoneConfig, field: str = "phone") -> tuple[str, str]:
    """(number to store, its tail): E.164 when it parses, else its digits."""
    e164 = normalize(value, config.default_region)
    number = e164 or digits(value)
    if not number:
        raise invalid(field, f"not a phone number: {value!r}")
    return number, tail(number, config.tail_digits)


def check_callback(kind: str, phone: str | None) -> None:
    if kind == "callback" and not phone:
        raise invalid("phone", "required for a callback")


def done_change(done: bool, was: bool, now: datetime) -> dict[str, Any]:
    """The columns that change when a task's ``done`` is set (nothing when it stays)."""
    if done == was:
        return {}
    if done:
        return {"done": True, "done_at": now}
    return {"done": False, "done_at": None, "done_reason": None}


def check_note_links(values: Mapping[str, Any]) -> None:
    if not any(values.get(link) is not None for link in LINKS):
        raise invalid("contact_id", "a note needs contact_id, deal_id, ticket_id or call_id")
