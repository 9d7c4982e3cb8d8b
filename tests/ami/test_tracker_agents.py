"""Device states and queue members as domain events (``DeviceStateChanged``,
``QueueMemberChanged``), from Asterisk 22 recordings and the shapes older versions send."""

from __future__ import annotations

from pathlib import Path

from cti.ami.events import CallEvent, DeviceStateChanged, QueueMemberChanged
from cti.ami.parser import parse_bytes
from cti.ami.tracker import CallTracker
from cti.config import PbxConfig

LAB = Path(__file__).resolve().parents[1] / "traces" / "asterisk22"


def replay(path: Path, tracker: CallTracker | None = None) -> list[CallEvent]:
    tracker = tracker or CallTracker("lab")
    return [e for msg in parse_bytes(path.read_bytes()) for e in tracker.feed(msg)]


def test_a_queue_members_ringing_shows_in_its_status() -> None:
    """queue-timeout: member 102 of ``sales`` rings 8 s, then is free: status 2 (in use: a
    Local channel's device is in use as soon as it exists, ringing or not), then 1."""
    members = [e for e in replay(LAB / "queue-timeout.ami") if isinstance(e, QueueMemberChanged)]
    assert [(m.queue, m.interface, m.extension, m.change) for m in members] == [
        ("sales", "Local/102@agents", "102", "status")
    ] * len(members)
    assert [m.status for m in members] == [2, 1]
    assert all(m.in_call is False and not m.paused and m.reason is None for m in members)
    assert all(m.ts is not None and m.pbx == "lab" for m in members)


def test_device_states_name_the_agent_extension_when_the_device_is_an_agents() -> None:
    states = [e for e in replay(LAB / "blind-transfer.ami") if isinstance(e, DeviceStateChanged)]
    by_device = {(s.device, s.extension) for s in states}
    assert ("Local/104@cti-agents", "104") in by_device
    assert ("Local/105@cti-agents", "105") in by_device
    assert ("Local/h30@customer-phone", None) in by_device
    assert {s.state for s in states} >= {"INUSE", "NOT_INUSE"}


def _feed(tracker: CallTracker, msg: dict[str, str]) -> list[CallEvent]:
    return tracker.feed(msg)


def test_older_asterisk_shapes_and_sip_devices() -> None:
    """Asterisk 11 sends ``QueueMemberPaused`` with ``Location`` and ``Reason``; a SIP
    phone's device is ``PJSIP/101``; a queue's own state device names no agent."""
    tracker = CallTracker("old")
    [paused] = _feed(
        tracker,
        {
            "Event": "QueueMemberPaused",
            "Queue": "support",
            "Location": "SIP/201",
            "MemberName": "Agent 201",
            "Paused": "1",
            "Reason": "lunch",
        },
    )
    assert paused == QueueMemberChanged(
        "old", "support", "SIP/201", "201", "paused", True, "lunch", None, None, None
    )
    [phone] = _feed(
        tracker, {"Event": "DeviceStateChange", "Device": "PJSIP/101", "State": "RINGING"}
    )
    assert (phone.device, phone.extension, phone.state) == ("PJSIP/101", "101", "RINGING")
    [queue] = _feed(
        tracker, {"Event": "DeviceStateChange", "Device": "Queue:support_avail", "State": "INUSE"}
    )
    assert queue.extension is None
    assert _feed(tracker, {"Event": "DeviceStateChange", "State": "INUSE"}) == []
    assert _feed(tracker, {"Event": "QueueMemberStatus", "Queue": "support"}) == []


def test_the_member_extension_follows_the_pbx_agent_patterns() -> None:
    """A member whose interface names no short number is an agent by ``agent_patterns``;
    else its ``StateInterface`` may name the phone."""
    tracker = CallTracker("site", PbxConfig(agent_patterns=(r"^PJSIP/op-",)))
    [named] = _feed(
        tracker,
        {
            "Event": "QueueMemberAdded",
            "Queue": "sales",
            "Interface": "Local/agent-ivan@from-queue/n",
            "StateInterface": "PJSIP/101",
            "Paused": "0",
            "Status": "1",
            "InCall": "0",
        },
    )
    assert (named.change, named.extension, named.paused, named.status) == ("added", "101", False, 1)
    [pattern] = _feed(
        tracker, {"Event": "DeviceStateChange", "Device": "PJSIP/op-7", "State": "INUSE"}
    )
    assert pattern.extension == "op-7"
