"""What the dialer gets from the tracker, per Originate outcome and agent event, replaying
cti's Asterisk 22 campaign recordings (``tests/traces/asterisk22/campaign``, README there).

Each scenario was recorded twice: as an AMI user receiving everything and (``filtered/``)
as the least-privilege user of ``cti ami manager-conf``, whose ``eventfilter`` lines must
let every event below through: both give the same domain events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cti.ami.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallQueued,
    CallRecord,
    CallStarted,
    DeviceStateChanged,
    OriginateFailed,
    QueueMemberChanged,
)
from cti.ami.parser import parse_bytes
from cti.ami.tracker import CallTracker

CAMPAIGN = Path(__file__).resolve().parents[1] / "traces" / "asterisk22" / "campaign"
FOLDERS = [CAMPAIGN, CAMPAIGN / "filtered"]
SALES = "+74950000000"

#: per dialer attempt: exact fields of ``CallRecord.to_json()``; ``about``: ± 0.1 s
CALLS: dict[str, dict[str, Any]] = {
    "campaign-answered": {
        "to": "79161110011",
        "queue": "campaign",
        "agents_rung": ["107"],
        "agent": "107",
        "status": "answered",
        "answered_by": "external",
        "hangup_cause": 16,
        "talks": ["107"],
        "attempt": "1001",
        "about": {"ring_seconds": 2.0, "queue_wait_seconds": 1.0},
    },
    "campaign-abandoned": {
        "to": "79161110011",
        "queue": "campaign-empty",
        "agents_rung": [],
        "agent": None,
        "status": "abandoned",
        "answered_by": "external",
        "talks": [],
        "attempt": "1002",
        # the connect limit (CTI_CONNECT_LIMIT=2), then the PBX hangs up
        "about": {"ring_seconds": 2.0, "queue_wait_seconds": 2.0, "talk_seconds": 2.0},
    },
    "campaign-busy": {
        "to": "79161110002",
        "status": "busy",
        "answered_at": None,
        "hangup_cause": 17,
        "attempt": "1003",
    },
    "campaign-noanswer": {
        "to": "79161110003",
        "status": "no-answer",
        "answered_at": None,
        "hangup_cause": 19,
        "attempt": "1004",
        "about": {"ring_seconds": 5.0},  # the Originate's Timeout
    },
    "campaign-congestion": {
        "to": "79161110004",
        "status": "failed",
        "answered_at": None,
        "hangup_cause": 34,
        "attempt": "1005",
    },
    "campaign-invalid": {
        "to": "79161110009",
        "status": "failed",
        "answered_at": None,
        "hangup_cause": 1,
        "attempt": "1006",
    },
    # Context cti-campaign-amd: AMD() first (a campaign with amd: true); the dialer's outcome
    # for a MACHINE is "machine", never a live answer nor an abandon
    "campaign-amd-machine": {
        "to": "79161110021",
        "status": "answered",
        "answered_by": "external",
        "amd_status": "MACHINE",  # LONGGREETING: it talked on without a pause
        "agent": None,
        "queue": None,
        "talks": [],
        "attempt": "1010",
        "about": {"ring_seconds": 2.0, "talk_seconds": 2.0},  # AMD's 1.5 s greeting limit
    },
    "campaign-amd-human": {
        "to": "79161110022",
        "status": "answered",
        "amd_status": "HUMAN",  # a short hello, then silence: on to the queue
        "queue": "campaign",
        "agent": "107",
        "talks": ["107"],
        "attempt": "1011",
        "about": {"ring_seconds": 2.0},
    },
}


def trace(folder: Path, name: str) -> Path:
    return folder / f"{name}.ami"


def replay(path: Path) -> list[CallEvent]:
    tracker = CallTracker("lab")
    events = [e for msg in parse_bytes(path.read_bytes()) for e in tracker.feed(msg)]
    leftover = tracker.flush()
    assert leftover == [], "every call ended within its recording"
    return events


def call_events(events: list[CallEvent]) -> list[str]:
    """The call's own events, in order (device states interleave as threads land)."""
    out = []
    for e in events:
        if isinstance(e, CallStarted | CallEnded):
            out.append(type(e).__name__)
        elif isinstance(e, CallAnswered | AgentRinging):
            out.append(f"{type(e).__name__} {e.agent}")
        elif isinstance(e, CallQueued):
            out.append(f"{e.action} {e.queue}")
    return out


def test_every_recording_has_its_expectation_in_both_folders() -> None:
    names = set(CALLS) | {"campaign-no-endpoint", "queue-member-actions", "device-state"}
    for folder in FOLDERS:
        assert {p.stem for p in folder.glob("*.ami")} == names, folder
        assert {p.stem for p in folder.glob("*.sent")} == names, folder


@pytest.mark.parametrize("folder", FOLDERS, ids=["all", "filtered"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_originate_outcome_gives_its_record(folder: Path, name: str) -> None:
    events = replay(trace(folder, name))
    [record] = [e.record for e in events if isinstance(e, CallEnded)]
    assert not [e for e in events if isinstance(e, OriginateFailed)]  # its call carries it
    got = record.to_json()
    want = dict(CALLS[name])
    about, talks, attempt = want.pop("about", {}), want.pop("talks", None), want.pop("attempt")
    assert got["direction"] == "outbound" and got["from"] == SALES
    for key, value in want.items():
        assert got[key] == value, key
    for key, value in about.items():
        assert got[key] == pytest.approx(value, abs=0.1), key
    if talks is not None:
        assert [t.agent for t in record.talks] == talks
    # the dialer's correlation: the ActionID it sent and the variables naming the attempt
    assert record.originate is not None
    assert record.originate.action_id == f"{name}-dialer-1"
    assert record.originate.variables["CTI_CAMPAIGN"] == "spring-promo"
    assert record.originate.variables["CTI_ATTEMPT"] == attempt
    assert (record.answered_at is not None) == (record.answered_by is not None)
    assert record.clock == "pbx" and not record.partial


@pytest.mark.parametrize("folder", FOLDERS, ids=["all", "filtered"])
def test_an_agent_answered_campaign_call(folder: Path) -> None:
    """The person answers (Reason 4), waits in queue ``campaign`` 1 s while 107 rings, 107
    takes the call and talks until hanging up."""
    events = replay(trace(folder, "campaign-answered"))
    assert call_events(events) == [
        "CallStarted",
        "CallAnswered None",
        "join campaign",
        "AgentRinging 107",
        "CallAnswered 107",
        "leave campaign",
        "CallEnded",
    ]
    [record] = [e.record for e in events if isinstance(e, CallEnded)]
    [talk] = record.talks
    assert record.answered_at is not None and talk.started_at is not None
    assert (talk.started_at - record.answered_at).total_seconds() == pytest.approx(1.0, abs=0.1)
    assert talk.seconds == pytest.approx(3.5, abs=0.2)
    member = [e for e in events if isinstance(e, QueueMemberChanged)]
    # ringing 107 is "in use" (2, a Local channel's device), then free again (1)
    assert [(m.extension, m.change, m.status, m.in_call) for m in member] == [
        ("107", "status", 2, False),
        ("107", "status", 1, False),
    ]
    devices = {
        (e.device, e.extension, e.state) for e in events if isinstance(e, DeviceStateChanged)
    }
    assert ("Local/107@cti-campaign-agents", "107", "INUSE") in devices
    assert ("Local/107@cti-campaign-agents", "107", "NOT_INUSE") in devices
    assert ("Local/79161110011@pstn", None, "INUSE") in devices


@pytest.mark.parametrize("folder", FOLDERS, ids=["all", "filtered"])
def test_no_agent_within_the_connect_limit_is_a_dialer_abandon(folder: Path) -> None:
    events = replay(trace(folder, "campaign-abandoned"))
    assert call_events(events) == [
        "CallStarted",
        "CallAnswered None",
        "join campaign-empty",
        "abandon campaign-empty",  # app_queue's record_abandoned on a timeout
        "leave campaign-empty",
        "CallEnded",
    ]


@pytest.mark.parametrize("folder", FOLDERS, ids=["all", "filtered"])
def test_an_originate_that_creates_no_channel_is_an_originate_failed(folder: Path) -> None:
    """``PJSIP/nobody`` on a PBX without chan_pjsip, and an unknown technology: only an
    ``OriginateResponse`` (Failure, Reason 0, Uniqueid ``<unknown>``) tells of them."""
    events = replay(trace(folder, "campaign-no-endpoint"))
    assert [(type(e), getattr(e, "action_id", None)) for e in events] == [
        (OriginateFailed, "campaign-no-endpoint-dialer-1"),
        (OriginateFailed, "campaign-no-endpoint-dialer-2"),
    ]
    first, second = events
    assert isinstance(first, OriginateFailed) and isinstance(second, OriginateFailed)
    assert (first.pbx, first.reason, first.channel) == ("lab", 0, "PJSIP/nobody")
    assert (second.reason, second.channel) == (0, "Nosuchtech/79161110011")
    assert first.ts is not None


@pytest.mark.parametrize("folder", FOLDERS, ids=["all", "filtered"])
def test_queue_member_added_paused_unpaused_removed(folder: Path) -> None:
    events = replay(trace(folder, "queue-member-actions"))
    members = [e for e in events if isinstance(e, QueueMemberChanged)]
    assert [(m.change, m.paused, m.reason) for m in members] == [
        ("added", False, None),
        ("paused", True, "lunch"),
        ("unpaused", False, None),
        ("removed", False, None),
    ]
    for m in members:
        assert (m.queue, m.interface, m.extension) == (
            "campaign",
            "Local/108@cti-campaign-agents",
            "108",
        )
        assert (m.status, m.in_call) == (1, False) and m.ts is not None
    # the queue's own pause device names no agent (it is not the phone in use)
    pause = [e for e in events if isinstance(e, DeviceStateChanged)]
    assert pause and all(
        e.device == "Queue:campaign_pause_Local/108@cti-campaign-agents" and e.extension is None
        for e in pause
    )
    assert [e.state for e in pause][-2:] == ["INUSE", "NOT_INUSE"]  # paused, unpaused


@pytest.mark.parametrize("folder", FOLDERS, ids=["all", "filtered"])
def test_an_agent_phone_goes_in_use_and_back(folder: Path) -> None:
    events = replay(trace(folder, "device-state"))
    states = [
        e.state
        for e in events
        if isinstance(e, DeviceStateChanged) and e.device == "Local/108@cti-campaign-agents"
    ]
    assert states[0] == "INUSE" and states[-1] == "NOT_INUSE"
    assert set(states) == {"INUSE", "NOT_INUSE"}
    assert all(e.extension == "108" for e in events if isinstance(e, DeviceStateChanged))


def _messages(name: str) -> list[dict[str, str]]:
    return parse_bytes(trace(CAMPAIGN, name).read_bytes())


def test_a_response_after_the_last_hangup_still_names_the_attempt() -> None:
    """campaign-noanswer: Asterisk sent the OriginateResponse just after the last Hangup;
    the record waits for it (it comes out with that message)."""
    messages = _messages("campaign-noanswer")
    names = [m.get("Event") for m in messages]
    response = names.index("OriginateResponse")
    assert names.index("Hangup") < response
    tracker = CallTracker("lab")
    ended_at = None
    record: CallRecord | None = None
    for i, msg in enumerate(messages):
        for e in tracker.feed(msg):
            if isinstance(e, CallEnded):
                ended_at, record = i, e.record
    assert ended_at == response
    assert record is not None and record.originate is not None
    assert record.originate.action_id == "campaign-noanswer-dialer-1"
    assert record.status == "no-answer"


def test_a_response_that_never_comes_holds_the_record_only_a_while() -> None:
    """Without its OriginateResponse the record still comes out: after 200 more messages,
    or at once on flush (with no ActionID: the variables still name the attempt)."""
    messages = [m for m in _messages("campaign-noanswer") if m.get("Event") != "OriginateResponse"]
    device = next(m for m in messages if m.get("Event") == "DeviceStateChange")
    tracker = CallTracker("lab")
    ended = [e for m in messages for e in tracker.feed(m) if isinstance(e, CallEnded)]
    assert ended == []
    waited = 0
    while not ended:
        waited += 1
        ended = [e for e in tracker.feed(device) if isinstance(e, CallEnded)]
    assert 190 <= waited <= 200
    [late] = ended
    assert late.record.originate is not None and late.record.originate.action_id is None
    assert late.record.originate.variables["CTI_ATTEMPT"] == "1004"
    assert late.record.ended_at is not None and late.ts == late.record.ended_at
    flushed = CallTracker("lab")
    for m in messages:
        flushed.feed(m)
    assert [type(e) for e in flushed.flush()] == [CallEnded]
