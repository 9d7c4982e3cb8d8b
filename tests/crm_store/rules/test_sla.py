"""SLA clocks and ticket status rules on plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.config import CrmConfig, SlaTarget
from cti.crm_store.rules.sla import (
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    TRANSITIONS,
    Clocks,
    breaches,
    current_due,
    due_times,
    first_response,
    late,
    may_move,
    stamps,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_due_times_come_from_the_priority_policy_counted_from_opening() -> None:
    policy = {"urgent": SlaTarget(first_response_hours=1, resolution_hours=8)}
    assert due_times(policy, "urgent", T0) == (T0 + H, T0 + 8 * H)
    naive = datetime(2026, 3, 2, 10, 0)  # read back from SQLite
    assert due_times(policy, "urgent", naive) == (T0 + H, T0 + 8 * H)
    assert set(CrmConfig().sla) == set(TICKET_PRIORITIES)  # the default policy covers all


def test_status_moves_closed_is_final() -> None:
    assert set(TRANSITIONS) == set(TICKET_STATUSES)
    assert may_move("new", "solved") and may_move("solved", "open")
    assert may_move("closed", "closed")  # staying is no move
    assert not may_move("closed", "open")
    assert not may_move("open", "new")


@pytest.mark.parametrize(
    ("status", "responded", "resolved", "expected"),
    [
        ("new", None, None, (None, None)),
        ("open", None, None, ("now", None)),
        ("solved", None, None, ("now", "now")),
        ("closed", "t0", "t0", ("t0", "t0")),  # stamps already there stay
        ("open", "t0", "t0", ("t0", None)),  # reopening clears the resolution
    ],
)
def test_status_stamps_first_response_and_resolution(
    status: str, responded: str | None, resolved: str | None, expected: tuple[str | None, ...]
) -> None:
    now = T0 + 5 * H
    when = {"now": now, "t0": T0, None: None}
    got = stamps(status, when[responded], when[resolved], now)
    assert got == tuple(when[e] for e in expected)


def test_the_first_public_comment_is_the_first_response() -> None:
    now = T0 + H
    assert first_response(True, "new", None, now) == ("open", now)
    assert first_response(True, "pending", None, now) == ("pending", now)
    assert first_response(True, "new", T0, now) == ("new", T0)  # responded already
    assert first_response(False, "new", None, now) == ("new", None)  # internal note


def test_a_clock_is_late_when_it_stopped_after_its_due_time_or_runs_past_it() -> None:
    assert not late(None, None, T0)
    assert late(T0, None, T0 + H)
    assert not late(T0 + H, None, T0)
    assert late(T0, T0 + H, T0)  # stopped late, whatever now is
    assert not late(T0 + H, T0, T0 + 9 * H)  # stopped in time
    assert late(datetime(2026, 3, 2, 10, 0), None, T0 + H)  # naive means UTC


def test_breaches_and_the_due_time_a_card_shows() -> None:
    clocks = Clocks(T0 + H, None, T0 + 8 * H, None)
    assert breaches(clocks, T0) == (False, False)
    assert breaches(clocks, T0 + 2 * H) == (True, False)
    assert current_due(clocks, T0) == (T0 + H, False)  # first response still due
    assert current_due(clocks, T0 + 2 * H) == (T0 + H, True)
    responded = Clocks(T0 + H, T0 + H / 2, T0 + 8 * H, None)
    assert current_due(responded, T0 + 2 * H) == (T0 + 8 * H, False)  # now the resolution
    late_reply = Clocks(T0 + H, T0 + 2 * H, T0 + 8 * H, None)
    assert current_due(late_reply, T0 + 3 * H) == (T0 + 8 * H, True)  # breached once: shown
