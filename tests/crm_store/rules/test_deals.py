"""Deal rules: pipeline stages; winning, losing and reopening."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.crm_store.rules.deals import check_stage, closing
from cti.errors import ValidationError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PIPELINE = ("lead", "won-over")


def test_a_stage_must_be_in_the_pipeline() -> None:
    check_stage("lead", PIPELINE)
    with pytest.raises(ValidationError, match="unknown stage 'x'; pipeline: lead, won-over") as e:
        check_stage("x", PIPELINE)
    assert e.value.details == {"fields": {"stage": "unknown stage 'x'; pipeline: lead, won-over"}}


def test_a_new_deal_is_open_unless_created_won_or_lost() -> None:
    assert closing({"status": "open"}, None, NOW) == {"closed_at": None, "lost_reason": None}
    assert closing({}, None, NOW) == {"closed_at": None, "lost_reason": None}
    assert closing({"status": "won", "lost_reason": "x"}, None, NOW) == {
        "closed_at": NOW,
        "lost_reason": None,
    }


def test_a_lost_deal_needs_a_reason_given_or_kept() -> None:
    with pytest.raises(ValidationError, match="lost_reason"):
        closing({"status": "lost"}, ("open", None), NOW)
    with pytest.raises(ValidationError, match="lost_reason"):
        closing({"status": "lost", "lost_reason": "  "}, ("open", None), NOW)
    assert closing({"status": "lost", "lost_reason": "price"}, ("open", None), NOW) == {
        "closed_at": NOW
    }
    assert closing({"lost_reason": "timing"}, ("lost", "price"), NOW) == {}  # stays closed
    with pytest.raises(ValidationError):
        closing({"lost_reason": None}, ("lost", "price"), NOW)


def test_reopening_clears_the_close_and_an_unchanged_status_stamps_nothing() -> None:
    assert closing({"status": "open"}, ("lost", "price"), NOW) == {
        "closed_at": None,
        "lost_reason": None,
    }
    assert closing({"title": "x"}, ("open", None), NOW) == {}
    assert closing({"title": "x"}, ("won", None), NOW) == {"lost_reason": None}
