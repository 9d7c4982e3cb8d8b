"""CallTracker: domain events, live state, resync, restarts, and what it does with bad input."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

from cti.ami.events import (
    AgentRinging,
    AgentStoppedRinging,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallQueued,
    CallRecord,
    CallStarted,
    PbxRestarted,
)
from cti.ami.parser import parse_bytes
from cti.ami.replay import replay_bytes
from cti.ami.tracker import CallTracker
from tests.ami.tracehelp import ASTERISK22, CACOFONISK, TRACES, needs_traces, trace_files

pytestmark = needs_traces

Msg = dict[str, str]


def load(name: str) -> list[Msg]:
    folder = ASTERISK22 if "/" not in name else CACOFONISK
    return parse_bytes((folder / f"{name}.ami").read_bytes())


def run(tracker: CallTracker, messages: Iterable[Mapping[str, str]]) -> list[CallEvent]:
    return [event for msg in messages for event in tracker.feed(msg)]


def records(events: Iterable[CallEvent]) -> list[CallRecord]:
    return [e.record for e in events if isinstance(e, CallEnded)]


def until(messages: Sequence[Msg], event: str, **fields: str) -> int:
    """Index just after the first ``event`` whose fields start with the given values."""
    for i, msg in enumerate(messages):
        if msg.get("Event") == event and all(
            msg.get(k, "\0").startswith(v) for k, v in fields.items()
        ):
            return i + 1
    raise AssertionError(f"no {event} {fields}")


def test_inbound_answered_event_sequence() -> None:
    events = run(CallTracker("lab"), load("inbound-answered"))
    kinds = [(type(e).__name__, getattr(e, "agent", None)) for e in events]
    assert kinds == [
        ("CallStarted", None),
        ("AgentRinging", "101"),
        ("CallAnswered", "101"),
        ("CallEnded", None),
    ]
    ringing = events[1]
    assert isinstance(ringing, AgentRinging)
    assert ringing.call.direction == "inbound"
    assert ringing.call.from_number == "+74951234567"
    assert ringing.call.external_number == "+74951234567"
    assert ringing.call.pbx == "lab"


def test_queue_events() -> None:
    events = run(CallTracker(), load("queue-answered"))
    queued = [(e.action, e.queue) for e in events if isinstance(e, CallQueued)]
    assert queued == [("join", "support"), ("leave", "support")]
    assert [e.agent for e in events if isinstance(e, AgentRinging)] == ["201", "202"]
    assert [e.agent for e in events if isinstance(e, AgentStoppedRinging)] == ["202"]
    assert [e.agent for e in events if isinstance(e, CallAnswered)] == ["201"]


def test_dialer_call_info_carries_the_campaign() -> None:
    events = run(CallTracker(), load("outbound-answered"))
    answered = [e for e in events if isinstance(e, CallAnswered) and e.agent == "103"]
    assert answered and answered[0].call.campaign == "spring-promo"
    assert answered[0].call.external_number == "79161110001"


def test_live_state_while_ringing_and_dropped_after() -> None:
    tracker = CallTracker()
    messages = load("inbound-missed")
    cut = until(messages, "DialBegin", DestExten="102")
    run(tracker, messages[:cut])
    [live] = tracker.live_calls()
    assert live.call_id == "1795421466.4"
    assert tracker.ringing_agents(live.call_id) == ["102"]
    assert tracker.answered_agent(live.call_id) is None
    run(tracker, messages[cut:])
    assert tracker.live_calls() == []
    assert tracker.ringing_agents(live.call_id) == []
    assert tracker.state_size == (0, 0)


def test_answered_agent_for_a_reconnecting_operator() -> None:
    tracker = CallTracker()
    messages = load("inbound-answered")
    run(
        tracker,
        messages[: until(messages, "DialEnd", DialStatus="ANSWER", DestChannel="Local/101@")],
    )
    [live] = tracker.live_calls()
    assert tracker.answered_agent(live.call_id) == "101"
    assert tracker.ringing_agents(live.call_id) == []


def _show_channels(messages: Sequence[Msg], upto: int) -> list[Msg]:
    """CoreShowChannel events for the channels alive after ``messages[:upto]``."""
    alive: dict[str, Msg] = {}
    for msg in messages[:upto]:
        uid = msg.get("Uniqueid")
        if msg.get("Event") == "Hangup" and uid:
            alive.pop(uid, None)
        elif uid and "Channel" in msg and "Linkedid" in msg:
            alive[uid] = {**alive.get(uid, {}), **msg, "Event": "CoreShowChannel"}
    return list(alive.values())


def test_resync_ends_calls_that_are_gone() -> None:
    tracker = CallTracker()
    messages = load("inbound-answered")
    run(tracker, messages[: until(messages, "BridgeEnter")])
    [ended] = records(tracker.resync([]))
    assert ended.partial and ended.agent == "101" and ended.status == "answered"
    assert tracker.state_size == (0, 0)
    # the rest of the call (seen after the reconnect) must not create a second record
    assert records(run(tracker, messages[until(messages, "BridgeEnter") :])) == []


def test_resync_keeps_calls_that_continue() -> None:
    tracker = CallTracker()
    messages = load("queue-answered")
    cut = until(messages, "AgentConnect")
    run(tracker, messages[:cut])
    assert tracker.resync(_show_channels(messages, cut)) == []
    [record] = records(run(tracker, messages[cut:]))
    assert not record.partial
    assert record.agent == "201" and record.queue == "support"


def test_resync_starts_unknown_calls_as_partial() -> None:
    messages = load("inbound-answered")
    cut = until(messages, "BridgeEnter")
    tracker = CallTracker()  # joined mid-call: never saw the start
    events = tracker.resync(_show_channels(messages, cut))
    assert [type(e) for e in events] == [CallStarted, CallAnswered]
    answered = events[1]
    assert isinstance(answered, CallAnswered) and answered.agent == "101"
    assert answered.call.from_number == "+74951234567"
    [record] = records(run(tracker, messages[cut:]))
    assert record.partial and record.agent == "101" and record.status == "answered"


def test_flush_ends_open_calls_partial() -> None:
    tracker = CallTracker()
    messages = load("inbound-missed")
    run(tracker, messages[: until(messages, "DialBegin", DestExten="102")])
    [record] = records(tracker.flush())
    assert record.partial and record.status == "missed" and record.agents_rung == ("102",)
    assert tracker.state_size == (0, 0)


def _booted(uptime: int) -> Msg:
    return {"Event": "FullyBooted", "Status": "Fully Booted", "Uptime": str(uptime)}


def test_fully_booted_after_a_restart_ends_live_calls() -> None:
    tracker = CallTracker("pbx1")
    messages = load("inbound-answered")  # starts with FullyBooted, Uptime 5
    run(tracker, messages[: until(messages, "BridgeEnter")])
    events = tracker.feed(_booted(2))
    assert isinstance(events[-1], PbxRestarted) and events[-1].pbx == "pbx1"
    [record] = records(events)
    assert record.partial
    assert tracker.live_calls() == []


def test_fully_booted_on_a_reconnect_keeps_live_calls() -> None:
    tracker = CallTracker()
    messages = load("inbound-answered")
    run(tracker, messages[: until(messages, "BridgeEnter")])
    assert tracker.feed(_booted(50)) == []
    assert len(tracker.live_calls()) == 1


def test_unknown_channels_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    messages = load("inbound-answered")
    start = until(messages, "BridgeCreate")  # joined after the call started
    tracker = CallTracker()
    with caplog.at_level(logging.INFO, logger="cti.ami.tracker"):
        [record] = records(run(tracker, messages[start:]))
    assert record.partial
    noted = [r.getMessage() for r in caplog.records if "unknown channel" in r.getMessage()]
    uids = {m.split("(")[-1].split(")")[0] for m in noted}
    assert len(noted) == len(uids) >= 2  # once per channel, not per event
    assert tracker.errors == 0


ALL_TRACES = [p for p in trace_files(TRACES, "**/*.ami")]


def _replay(messages: Iterable[Mapping[str, str]]) -> list[dict[str, object]]:
    tracker = CallTracker()
    out = records(run(tracker, messages)) + records(tracker.flush())
    assert tracker.errors == 0
    return sorted((r.to_json() for r in out), key=lambda r: str(r["linkedid"]))


@pytest.mark.parametrize("path", ALL_TRACES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_duplicated_events_change_nothing(path: Path) -> None:
    messages = parse_bytes(path.read_bytes())
    assert _replay(m for msg in messages for m in (msg, msg)) == _replay(messages)


def test_concurrent_calls_interleaved_give_the_same_records() -> None:
    names = ["inbound-answered", "queue-answered", "outbound-answered", "outbound-busy"]
    streams = [[m for m in load(n) if m.get("Event") != "FullyBooted"] for n in names]
    mixed: list[Msg] = []
    for i in range(max(map(len, streams))):
        mixed.extend(s[i] for s in streams if i < len(s))
    alone = [r for stream in streams for r in _replay(stream)]
    assert _replay(mixed) == sorted(alone, key=lambda r: str(r["linkedid"]))


@pytest.mark.parametrize("seed", range(5))
def test_out_of_order_and_missing_fields_never_crash(seed: int) -> None:
    rng = random.Random(seed)
    messages = [dict(m) for p in ALL_TRACES for m in parse_bytes(p.read_bytes())]
    for i in range(0, len(messages) - 1, 7):  # swap some neighbours
        messages[i], messages[i + 1] = messages[i + 1], messages[i]
    for msg in messages:  # and drop one field of every message
        keys = [k for k in msg if k != "Event"]
        if keys:
            del msg[rng.choice(keys)]
    tracker = CallTracker()
    out = records(run(tracker, messages)) + records(tracker.flush())
    assert tracker.errors == 0
    linkedids = [r.linkedid for r in out]
    assert len(linkedids) == len(set(linkedids))
    assert tracker.state_size == (0, 0)


def test_a_bad_message_does_not_poison_other_calls() -> None:
    messages = load("inbound-answered")
    cut = until(messages, "DialBegin", DestExten="101")
    poison: list[Msg] = [
        {"Event": "DialBegin", "Uniqueid": "1795421459.0", "DestUniqueid": ""},
        {"Event": "Hangup", "Uniqueid": "no-such", "Cause": "abc"},
        {"Event": "Cdr", "UniqueID": "1795421459.0", "StartTime": "not a time"},
        {"Event": "BlindTransfer", "Result": "Success"},
        {"Event": "AttendedTransfer", "OrigTransfererLinkedid": "1795421459.0"},
        {"Event": "FullyBooted", "Uptime": "x"},
        {"Event": "QueueCallerJoin"},
        {"Event": "OriginateResponse", "Reason": "4"},
    ]
    mixed = messages[:cut] + poison + messages[cut:]
    clean = _replay(messages)
    got = _replay(mixed)
    assert [r["agent"] for r in got] == [r["agent"] for r in clean] == ["101"]
    assert got[0]["status"] == "answered"


def test_garbage_truncation_and_non_utf8_bytes() -> None:
    good = (ASTERISK22 / "inbound-answered.ami").read_bytes()
    other = (ASTERISK22 / "queue-answered.ami").read_bytes()
    noise = b"\xff\xfe\x00garbage line\r\n\xd0\x9f\xd1\r\nEvent: Hangup\r\nUniq\r\n\r\n"
    data = good + noise + other[: len(other) // 2]  # the queue call is cut in the middle
    out = replay_bytes(data)
    assert [(r.agent, r.partial) for r in out] == [("101", False), ("201", True)]
    assert out[1].queue == "support" and out[1].from_number == "+74951234567"


def test_timestamp_headers_give_the_times() -> None:
    base = 1_795_421_459.0
    stamped = [
        {**m, "Timestamp": f"{base + i:.6f}"} for i, m in enumerate(load("inbound-answered"))
    ]
    [record] = records(run(CallTracker(), stamped))
    first = next(i for i, m in enumerate(stamped) if m.get("Event") == "Newchannel")
    answer = until(stamped, "DialEnd", DialStatus="ANSWER", DestChannel="Local/101@") - 1
    last = max(i for i, m in enumerate(stamped) if m.get("Event") == "Hangup")
    assert record.started_at is not None and record.started_at.timestamp() == base + first
    assert record.answered_at is not None and record.answered_at.timestamp() == base + answer
    assert record.ended_at is not None and record.ended_at.timestamp() == base + last
    assert record.talk_seconds == last - answer


def test_state_is_dropped_after_every_trace() -> None:
    tracker = CallTracker()
    for path in ALL_TRACES:
        run(tracker, parse_bytes(path.read_bytes()))
    assert tracker.state_size == (0, 0)
    assert tracker.live_calls() == []


def test_mixmonitor_recording_is_on_the_record() -> None:
    messages = load("inbound-answered")
    cut = until(messages, "BridgeEnter")
    varset = {
        "Event": "VarSet",
        "Channel": messages[cut - 1]["Channel"],
        "Uniqueid": messages[cut - 1]["Uniqueid"],
        "Linkedid": "1795421459.0",
        "Variable": "MIXMONITOR_FILENAME",
        "Value": "/var/spool/asterisk/monitor/1795421459.0.wav",
    }
    [record] = records(run(CallTracker(), [*messages[:cut], varset, *messages[cut:]]))
    assert record.recording == "/var/spool/asterisk/monitor/1795421459.0.wav"


@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_varset_prefilter_reads_the_raw_block(eol: str) -> None:
    matters = CallTracker().prefilters["VarSet"]

    def block(*lines: str) -> str:
        return eol.join(["Event: VarSet", *lines])

    assert matters(block("ChannelState: 0", "Variable: LEAD_ID", "Value: 7"))
    assert matters(block("Variable: LEAD_ID", "ChannelState: 0"))  # the last line
    assert not matters(block("ChannelState: 6", "Variable: BRIDGEPEER", "Value: x"))
    assert not matters(block("ChannelState: 06", "Variable: X"))
    assert matters(block("ChannelState: 6", "Variable: MIXMONITOR_FILENAME", "Value: /a.wav"))


def test_resync_drops_a_ringing_leg_that_is_gone() -> None:
    tracker = CallTracker()
    messages = load("queue-answered")
    cut = until(messages, "DialState", DialStatus="RINGING")
    run(tracker, messages[:cut])
    [live] = tracker.live_calls()
    assert sorted(tracker.ringing_agents(live.call_id)) == ["201", "202"]
    still_up = [c for c in _show_channels(messages, cut) if "Local/202@" not in c["Channel"]]
    events = tracker.resync(still_up)
    assert [(type(e), getattr(e, "agent", None)) for e in events] == [(AgentStoppedRinging, "202")]
    assert tracker.ringing_agents(live.call_id) == ["201"]
