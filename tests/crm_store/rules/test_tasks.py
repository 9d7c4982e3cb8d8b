"""Task and note rules: callback numbers, closing and reopening, what a note needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.config import PhoneConfig
from cti.crm_store.rules.tasks import (
    check_callback,
    check_note_links,
    done_change,
    stored_number,
)
from cti.errors import ValidationError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RU = PhoneConfig(default_region="RU", tail_digits=7)


def test_a_task_number_is_e164_when_it_parses_else_its_digits() -> None:
    assert stored_number("8 (495) 123-45-67", RU) == ("+74951234567", "1234567")
    assert stored_number("ext. 12-34", RU) == ("1234", "1234")
    with pytest.raises(ValidationError, match="not a phone number"):
        stored_number("call me", RU)


def test_a_callback_needs_a_number() -> None:
    check_callback("callback", "+74951234567")
    check_callback("todo", None)
    with pytest.raises(ValidationError, match="required for a callback"):
        check_callback("callback", "")


def test_closing_stamps_done_at_and_reopening_clears_the_systems_reason() -> None:
    assert done_change(True, False, NOW) == {"done": True, "done_at": NOW}
    assert done_change(False, True, NOW) == {"done": False, "done_at": None, "done_reason": None}
    assert done_change(True, True, NOW) == {}


def test_a_note_is_attached_to_something() -> None:
    check_note_links({"call_id": 3, "contact_id": None})
    with pytest.raises(ValidationError, match="a note needs contact_id"):
        check_note_links({"contact_id": None, "body": "x"})
