"""Agent states: the PBX's device and queue member events move them, wrap-up ends with a
disposition or its time, pauses keep their reasons, and only free agents are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.dialer.agents import (
    UNAVAILABLE,
    Agent,
    AgentState,
    call_ended,
    device_changed,
    disposition_set,
    expire,
    free_agents,
    join,
    leave,
    pause,
    queue_member_changed,
    unpause,
)

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WRAP = 15.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def agent(state: AgentState, reason: str | None = None, wrap: float | None = None) -> Agent:
    return Agent(state, T0, reason, at(wrap) if wrap is not None else None)


def dev(a: Agent, state: str, seconds: float = 1) -> Agent:
    return device_changed(a, state, at(seconds), WRAP)


def queue(
    a: Agent,
    change: str = "status",
    *,
    paused: bool = False,
    reason: str | None = None,
    status: int | None = None,
    seconds: float = 1,
) -> Agent:
    return queue_member_changed(
        a,
        change=change,
        paused=paused,
        reason=reason,
        status=status,
        now=at(seconds),
        wrap_up_seconds=WRAP,
    )


# --- device states -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "device", "expected"),
    [
        ("free", "RINGING", "ringing"),
        ("free", "INUSE", "on-call"),  # a call the agent placed: not free either
        ("free", "BUSY", "on-call"),
        ("free", "ONHOLD", "on-call"),
        ("free", "RINGINUSE", "on-call"),
        ("ringing", "INUSE", "on-call"),
        ("ringing", "NOT_INUSE", "free"),  # rang, not answered
        ("on-call", "NOT_INUSE", "wrap-up"),
        ("on-call", "ONHOLD", "on-call"),
        ("wrap-up", "NOT_INUSE", "wrap-up"),  # only a disposition or the time ends it
        ("wrap-up", "RINGING", "ringing"),
        ("free", "NOT_INUSE", "free"),
        ("free", "UNAVAILABLE", "paused"),
        ("on-call", "INVALID", "paused"),
        ("logged-out", "RINGING", "logged-out"),
    ],
)
def test_device_states_move_the_agent(start: AgentState, device: str, expected: str) -> None:
    assert dev(agent(start), device).state == expected


@pytest.mark.parametrize("device", ["UNKNOWN", "", "SOMETHING_NEW"])
def test_device_states_that_say_nothing_change_nothing(device: str) -> None:
    a = agent("on-call")
    assert dev(a, device) is a


def test_a_lowercase_or_padded_device_state_is_read() -> None:
    assert dev(agent("free"), " ringing ").state == "ringing"


def test_a_call_ending_starts_a_wrap_up_that_ends_by_itself() -> None:
    a = dev(agent("on-call"), "NOT_INUSE", seconds=100)
    assert a == Agent("wrap-up", at(100), None, at(100 + WRAP))
    assert expire(a, at(100 + WRAP - 1)) is a
    assert expire(a, at(100 + WRAP)) == Agent("free", at(100 + WRAP))
    assert free_agents({"101": a}, at(100 + WRAP - 1)) == []
    assert free_agents({"101": a}, at(100 + WRAP)) == ["101"]


def test_a_disposition_ends_the_wrap_up() -> None:
    a = call_ended(agent("on-call"), at(50), WRAP)
    assert a.state == "wrap-up"
    assert disposition_set(a, at(55)) == Agent("free", at(55))
    # a late disposition for an agent already free changes nothing
    free = agent("free")
    assert disposition_set(free, at(60)) is free


def test_no_wrap_up_time_frees_the_agent_at_once() -> None:
    assert device_changed(agent("on-call"), "NOT_INUSE", at(5), 0).state == "free"
    assert call_ended(agent("on-call"), at(5), 0) == Agent("free", at(5))


def test_the_call_end_reported_twice_keeps_the_first_deadline() -> None:
    a = dev(agent("on-call"), "NOT_INUSE", seconds=10)
    assert call_ended(a, at(12), WRAP) is a  # our own bookkeeping, after the PBX said it
    assert dev(a, "NOT_INUSE", seconds=13) is a


def test_a_missed_ring_by_our_own_bookkeeping_frees_the_agent() -> None:
    assert call_ended(agent("ringing"), at(20), WRAP) == Agent("free", at(20))
    for state in ("free", "paused", "logged-out"):
        a = agent(state)  # type: ignore[arg-type]
        assert call_ended(a, at(20), WRAP) is a


def test_an_unchanged_state_keeps_its_start() -> None:
    a = agent("on-call")
    assert dev(a, "INUSE", seconds=30) is a
    assert dev(a, "BUSY", seconds=30) is a  # still on a call
    moved = dev(a, "RINGING", seconds=30)
    assert moved.since == at(30)


# --- pauses --------------------------------------------------------------------------------


def test_an_agent_paused_for_a_reason_stays_paused_whatever_the_phone_does() -> None:
    a = pause(agent("free"), "lunch", at(1))
    assert a == Agent("paused", at(1), "lunch")
    for device in ("RINGING", "INUSE", "NOT_INUSE", "UNAVAILABLE"):
        assert dev(a, device) is a
    assert free_agents({"101": a}, at(2)) == []


def test_a_phone_that_goes_away_pauses_until_it_is_back() -> None:
    a = dev(agent("free"), "UNAVAILABLE", seconds=5)
    assert a == Agent("paused", at(5), UNAVAILABLE)
    assert dev(a, "INVALID", seconds=6) is a
    assert dev(a, "NOT_INUSE", seconds=9) == Agent("free", at(9))
    assert dev(a, "INUSE", seconds=9).state == "on-call"


def test_unpause_follows_the_phone() -> None:
    a = agent("paused", "training")
    assert unpause(a, at(3)) == Agent("free", at(3))
    assert unpause(a, at(3), "INUSE").state == "on-call"
    assert unpause(a, at(3), "UNAVAILABLE") == Agent("paused", at(3), UNAVAILABLE)
    free = agent("free")
    assert unpause(free, at(3)) is free


def test_join_leave_and_pause_of_a_logged_out_agent() -> None:
    a = join(at(0))
    assert a == Agent("free", at(0))
    gone = leave(a, at(10))
    assert gone == Agent("logged-out", at(10))
    assert pause(gone, "lunch", at(11)) is gone
    assert pause(a, "", at(1)).reason == "paused"


# --- queue member events -------------------------------------------------------------------


def test_queue_pause_with_its_reason_and_unpause_by_status() -> None:
    a = queue(agent("free"), "paused", paused=True, reason="break", status=1, seconds=2)
    assert a == Agent("paused", at(2), "break")
    # a status event of the paused member keeps the reason
    assert queue(a, paused=True, reason=None, status=1, seconds=3) is a
    # another reason replaces it
    assert queue(a, paused=True, reason="meeting", seconds=4).reason == "meeting"
    # unpaused while the phone is in use: on a call
    b = queue(a, "unpaused", paused=False, status=2, seconds=5)
    assert b == Agent("on-call", at(5))
    assert queue(a, "unpaused", paused=False, status=None, seconds=5).state == "free"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (1, "free"),
        (2, "on-call"),
        (3, "on-call"),
        (4, "paused"),
        (5, "paused"),
        (6, "ringing"),
        (7, "on-call"),
        (8, "on-call"),
        (0, "free"),  # unknown: nothing changes
        (None, "free"),
        (42, "free"),
    ],
)
def test_queue_member_status_numbers(status: int | None, expected: str) -> None:
    assert queue(agent("free"), status=status).state == expected


def test_removed_from_the_queue_logs_out_and_added_logs_in() -> None:
    a = queue(agent("on-call"), "removed", seconds=7)
    assert a == Agent("logged-out", at(7))
    assert queue(a, status=1) is a  # a stray status of a member that left
    back = queue(a, "added", status=1, seconds=9)
    assert back == Agent("free", at(9))
    assert queue(a, "added", status=6, seconds=9).state == "ringing"
    assert queue(a, "added", paused=True, reason="late", seconds=9) == Agent(
        "paused", at(9), "late"
    )


# --- who is free ---------------------------------------------------------------------------


def test_free_agents_counts_only_free_ones_longest_free_first() -> None:
    agents = {
        "101": Agent("free", at(30)),
        "102": Agent("free", at(10)),
        "103": Agent("ringing", at(0)),
        "104": Agent("on-call", at(0)),
        "105": Agent("wrap-up", at(0), None, at(20)),  # free since 20
        "106": Agent("wrap-up", at(0), None, at(90)),
        "107": Agent("paused", at(0), "lunch"),
        "108": Agent("logged-out", at(0)),
    }
    assert free_agents(agents, at(60)) == ["102", "105", "101"]
    assert free_agents({}, at(60)) == []


def test_free_agents_reads_naive_times_as_utc() -> None:
    naive = {
        "101": Agent("free", datetime(2026, 12, 7, 12, 0, 30)),
        "102": Agent("wrap-up", datetime(2026, 12, 7, 12), None, datetime(2026, 12, 7, 12, 0, 5)),
    }
    assert free_agents(naive, at(60)) == ["102", "101"]
