"""cti's own Asterisk 22 recordings (``tests/traces/asterisk22``) give the right records.

Each trace was recorded with ``Timestamp:`` headers; the same bytes without them, fed with
those times as receipt times (what the live connection does on a site with Asterisk's
default ``timestampevents = no``), must give the same record on the receipt clock, and
without any time the same outcome with no times at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cti.ami.events import CallEnded, CallRecord
from cti.ami.parser import parse_bytes
from cti.ami.replay import replay_files
from cti.ami.tracker import CallTracker

LAB = Path(__file__).resolve().parents[1] / "traces" / "asterisk22"
IVAN = "+74951234567"

#: per trace: exact fields of ``CallRecord.to_json()``, and ``about`` figures (± 0.1 s)
EXPECTED: dict[str, dict[str, Any]] = {
    "click-to-dial-answered": {
        "direction": "outbound",
        "from": "103",
        "to": "79161110001",
        "agent": "103",
        "agents_rung": [],
        "status": "answered",
        "answered_by": "external",
        "talks": ["103"],
        "about": {"ring_seconds": 1.0, "talk_seconds": 2.0, "ivr_seconds": 0.0},
    },
    "click-to-dial-congestion": {
        "direction": "outbound",
        "to": "79161110004",
        "agent": "103",
        "status": "failed",
        "answered_by": None,
        "answered_at": None,
        "talks": [],
    },
    "click-to-dial-noroute": {
        "direction": "outbound",
        "from": "103",
        "to": "89161110005",
        "agent": "103",
        "status": "failed",
        "hangup_cause": 1,
        "answered_at": None,
    },
    "outbound-congestion": {
        "direction": "outbound",
        "to": "79161110004",
        "agent": None,
        "status": "failed",
        "hangup_cause": 34,
    },
    "outbound-invalid": {
        "direction": "outbound",
        "to": "89161110005",
        "status": "failed",
        "originate": {
            "action_id": "outbound-invalid-dialer-1",
            "variables": {"CAMPAIGN": "spring-promo"},
            "account": None,
        },
    },
    "queue-timeout": {
        "direction": "inbound",
        "from": IVAN,
        "queue": "sales",
        "agents_rung": ["102"],
        "status": "missed",
        "answered_at": None,
        "about": {"queue_wait_seconds": 8.0, "ring_seconds": 8.0},
    },
    "queue-abandoned": {
        "direction": "inbound",
        "queue": "sales",
        "status": "abandoned",
        "answered_at": None,
        "about": {"queue_wait_seconds": 4.0, "ring_seconds": 4.0},
    },
    "ivr-then-queue": {
        "direction": "inbound",
        "from": IVAN,
        "to": "510",
        "queue": "support",
        "agents_rung": ["201", "202"],
        "agent": "201",
        "status": "answered",
        "answered_by": "agent",
        "talks": ["201"],
        "rings": [("201", True), ("202", False)],
        "about": {
            "ivr_seconds": 3.0,
            "queue_wait_seconds": 2.0,
            "ring_seconds": 2.0,
            "talk_seconds": 3.5,
        },
    },
    "ivr-answered": {
        "direction": "inbound",
        "to": "700",
        "agent": None,
        "status": "answered",
        "answered_by": "pbx",
        "about": {"ivr_seconds": 4.0, "talk_seconds": 4.0},
    },
    "ivr-caller-hangs-up": {
        "direction": "inbound",
        "to": "510",
        "queue": None,
        "status": "answered",
        "answered_by": "pbx",
        "about": {"ivr_seconds": 2.5},
    },
    "blind-transfer": {
        "direction": "inbound",
        "agent": "104",
        "status": "answered",
        "transfers": [{"kind": "blind", "by": "104", "to": "105"}],
        "talks": ["104", "105"],
        "about": {"hold_seconds": 0.0},
    },
    "attended-transfer": {
        "direction": "inbound",
        "agent": "104",
        "status": "answered",
        "transfers": [{"kind": "attended", "by": "104", "to": "105"}],
        "talks": ["104", "105"],
    },
    "blonde-transfer": {
        "direction": "inbound",
        "agent": "104",
        "status": "answered",
        "transfers": [{"kind": "blonde", "by": "104", "to": "106"}],
        "talks": ["104", "106"],
        "about": {"hold_seconds": 2.0},
    },
}


def lab(name: str) -> Path:
    return LAB / f"{name}.ami"


def test_every_recording_has_its_expectation() -> None:
    assert sorted(p.stem for p in LAB.glob("*.ami")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_gives_the_expected_record(name: str) -> None:
    [record] = replay_files([lab(name)], pbx="lab")
    got = record.to_json()
    want = dict(EXPECTED[name])
    about = want.pop("about", {})
    talks = want.pop("talks", None)
    rings = want.pop("rings", None)
    for key, value in want.items():
        assert got[key] == value, key
    for key, value in about.items():
        assert got[key] == pytest.approx(value, abs=0.1), key
    if talks is not None:
        assert [t.agent for t in record.talks] == talks
    if rings is not None:
        assert [(r.agent, r.answered) for r in record.rings] == rings
    assert record.clock == "pbx" and not record.partial
    assert record.started_at is not None and record.ended_at is not None
    _consistent(record)


def _consistent(record: CallRecord) -> None:
    """What every timed record keeps: answered ⇔ an answer time; parts inside the call."""
    assert (record.status == "answered") == (record.answered_at is not None)
    assert (record.status == "answered") == (record.answered_by is not None)
    assert record.started_at is not None and record.ended_at is not None
    for talk in record.talks:
        assert talk.started_at is not None and talk.ended_at is not None
        assert record.started_at <= talk.started_at <= talk.ended_at <= record.ended_at
        assert talk.hold_seconds is not None and talk.seconds is not None
        assert 0.0 <= talk.hold_seconds <= talk.seconds + 1e-6
    for ring in record.rings:
        assert ring.started_at is not None and ring.ended_at is not None
        assert ring.started_at <= ring.ended_at
    if record.talks and record.talk_seconds is not None:
        assert sum(t.seconds or 0.0 for t in record.talks) <= record.talk_seconds + 1e-6


_STAMP = re.compile(rb"Timestamp: ([0-9.]+)\r\n")


def _without_times(name: str) -> tuple[list[dict[str, str]], list[float]]:
    """The trace's messages with ``Timestamp`` removed, and each one's time."""
    messages = parse_bytes(lab(name).read_bytes())
    times: list[float] = []
    last = 0.0
    for msg in messages:
        last = float(msg.pop("Timestamp", last))
        times.append(last)
    return messages, times


def _records(
    tracker: CallTracker, messages: list[dict[str, str]], times: list[float] | None
) -> list[CallRecord]:
    out: list[CallRecord] = []
    for i, msg in enumerate(messages):
        received = times[i] if times is not None else None
        out += [e.record for e in tracker.feed(msg, received) if isinstance(e, CallEnded)]
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_receipt_times_give_the_same_record(name: str) -> None:
    """A site with ``timestampevents = no``: cti stamps each message when it reads it."""
    [stamped] = replay_files([lab(name)], pbx="lab")
    messages, times = _without_times(name)
    [received] = _records(CallTracker("lab"), messages, times)
    assert received.clock == "receipt"
    assert received.to_json() | {"clock": "pbx"} == stamped.to_json()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_times_at_all_give_the_same_outcome_and_no_times(name: str) -> None:
    [stamped] = replay_files([lab(name)], pbx="lab")
    messages, _ = _without_times(name)
    [bare] = _records(CallTracker("lab"), messages, None)
    assert bare.clock is None
    assert (bare.started_at, bare.answered_at, bare.ended_at) == (None, None, None)
    assert (bare.ring_seconds, bare.talk_seconds, bare.ivr_seconds) == (None, None, None)
    assert (bare.queue_wait_seconds, bare.hold_seconds) == (None, None)
    for key in ("direction", "from_number", "to_number", "agent", "status", "answered_by"):
        assert getattr(bare, key) == getattr(stamped, key), key
    assert bare.transfers == stamped.transfers
    assert [t.agent for t in bare.talks] == [t.agent for t in stamped.talks]


def test_a_phone_on_hold_counts_on_the_call_and_on_its_agents_part() -> None:
    """``Hold``/``Unhold`` as a SIP phone sends them (the Local-channel lab has no phone hold
    button: the events are inserted into the recorded queue call, shaped as Asterisk's)."""
    messages = parse_bytes(lab("ivr-then-queue").read_bytes())
    at = next(i for i, m in enumerate(messages) if m.get("Event") == "AgentConnect")
    agent = messages[at]["DestChannel"]
    uid = messages[at]["DestUniqueid"]
    t = float(messages[at]["Timestamp"])

    def hold(event: str, when: float) -> dict[str, str]:
        return {
            "Event": event,
            "Channel": agent,
            "Uniqueid": uid,
            "Linkedid": messages[at]["Linkedid"],
            "MusicClass": "default",
            "Timestamp": f"{when:.6f}",
        }

    messages[at + 1 : at + 1] = [hold("Hold", t + 0.5), hold("Unhold", t + 1.75)]
    tracker = CallTracker("lab")
    [record] = _records(tracker, messages, None)
    assert record.hold_seconds == pytest.approx(1.25)
    [talk] = record.talks
    assert (talk.agent, talk.hold_seconds) == ("201", pytest.approx(1.25))
    _consistent(record)
