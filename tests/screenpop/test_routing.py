"""Routing a call event to operators, as a pure function: who gets the pop, who the event,
whether supervisors watching the call get it, and the call's state after it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.ami.events import (
    AgentRinging,
    AgentStoppedRinging,
    CallAnswered,
    CallEnded,
    CallInfo,
    CallQueued,
    CallRecord,
    CallStarted,
    CallTransferred,
    PbxRestarted,
    Transfer,
)
from cti.screenpop.routing import Ring, Route, reminder_to, route, shown_on_connect, watches

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CALL = CallInfo(
    pbx="lab",
    call_id="1.1",
    direction="inbound",
    from_number="+74951234567",
    from_name="Ivan",
    to_number="700",
    queue="support",
)
RINGING_TWO = Ring(frozenset({"201", "202"}), frozenset({"201", "202"}))


def ended() -> CallEnded:
    record = CallRecord(
        pbx="lab",
        linkedid="1.1",
        direction="inbound",
        from_number=CALL.from_number,
        from_name=None,
        to_number="700",
        queue="support",
        agents_rung=("201", "202"),
        agent="201",
        status="answered",
        started_at=T,
        answered_at=T,
        ended_at=T,
        ring_seconds=1.0,
        talk_seconds=5.0,
        hangup_cause=16,
    )
    return CallEnded(CALL, record, T)


def test_a_ringing_agent_gets_the_pop_and_so_do_the_watchers() -> None:
    to = route(Ring(), AgentRinging(CALL, "201", T))
    assert to == Route(
        Ring(frozenset({"201"}), frozenset({"201"})), pop=frozenset({"201"}), watchers=True
    )
    again = route(to.ring, AgentRinging(CALL, "202", T))
    assert again.ring == RINGING_TWO and again.pop == {"202"}  # only the new phone pops


def test_a_stopped_ring_goes_to_that_phone_only_and_it_stays_involved() -> None:
    to = route(RINGING_TWO, AgentStoppedRinging(CALL, "202", T))
    assert to.notify == {"202"} and not to.pop and not to.watchers
    assert to.ring == Ring(frozenset({"201"}), frozenset({"201", "202"}))


def test_an_answer_pops_the_answering_phone_and_tells_everyone_involved() -> None:
    to = route(RINGING_TWO, CallAnswered(CALL, "203", T))  # a pickup from a phone never rung
    assert to.pop == {"203"} and to.watchers
    assert to.notify == {"201", "202", "203"}
    assert to.ring == Ring(frozenset(), frozenset({"201", "202", "203"}), "203")
    unknown = route(RINGING_TWO, CallAnswered(CALL, None, T))
    assert not unknown.pop and unknown.ring.answered_by is None and not unknown.ring.ringing


def test_a_queue_move_is_for_the_watchers_only() -> None:
    to = route(RINGING_TWO, CallQueued(CALL, "support", "join", T))
    assert to == Route(RINGING_TWO, watchers=True)


def test_a_transfer_target_gets_the_pop_and_joins_the_call() -> None:
    to = route(RINGING_TWO, CallTransferred(CALL, Transfer("blind", "201", "305"), T))
    assert to.pop == {"305"} and to.notify == {"201", "202", "305"} and to.watchers
    nowhere = route(RINGING_TWO, CallTransferred(CALL, Transfer("blind", "201", None), T))
    assert not nowhere.pop and nowhere.notify == {"201", "202"}


@pytest.mark.parametrize("event", [ended(), PbxRestarted("lab", T)], ids=["ended", "restart"])
def test_an_end_goes_to_everyone_involved_and_the_watchers(event: object) -> None:
    to = route(RINGING_TWO, event)  # type: ignore[arg-type]
    assert to == Route(RINGING_TWO, notify=RINGING_TWO.rung, watchers=True)


def test_a_call_start_goes_to_nobody() -> None:
    assert route(Ring(), CallStarted(CALL, T)) == Route(Ring())


def test_supervisor_subscriptions() -> None:
    assert watches(True, (), None)
    assert watches(False, {"support"}, "support")
    assert not watches(False, {"sales"}, "support")
    assert not watches(False, {"support"}, None)


def test_a_connecting_operator_sees_calls_ringing_or_answered_at_their_phones() -> None:
    assert shown_on_connect(RINGING_TWO, ("202",))
    assert not shown_on_connect(RINGING_TWO, ("203",))
    answered = Ring(frozenset(), frozenset({"201"}), "201")
    assert shown_on_connect(answered, ("201", "209"))
    assert not shown_on_connect(Ring(frozenset(), frozenset({"201"})), ("201",))  # over


def test_reminders_go_to_the_assignee_else_to_the_queue_agents() -> None:
    agents = {"support": {"201", "202"}}
    assert reminder_to(7, "support", agents) == (7, frozenset())
    assert reminder_to(None, "support", agents) == (None, {"201", "202"})
    assert reminder_to(None, "sales", agents) == (None, frozenset())
    assert reminder_to(None, None, agents) == (None, frozenset())
