"""Replaying the Asterisk 22 traces gives exactly the records of their README table.

Times come from the ``Cdr`` events (the traces have no ``Timestamp:`` headers); the
agent's talk time is its own leg's CDR (answer → end). Originate outcomes: Reason 4
answered, 5 busy, 3 no-answer; 8 (congestion) and 0 (invalid) map to ``failed``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cti.ami.replay import replay_bytes, replay_files
from tests.ami.tracehelp import ASTERISK22, needs_traces

pytestmark = needs_traces

IVAN = "+74951234567"
DIALER = {"CAMPAIGN": "spring-promo", "LEAD_ID": "7741"}

EXPECTED: dict[str, dict[str, Any]] = {
    "inbound-answered": {
        "direction": "inbound",
        "from": IVAN,
        "from_name": "Ivan Petrov",
        "to": "101",
        "agents_rung": ["101"],
        "agent": "101",
        "status": "answered",
        "talk_seconds": 2.0,
        "hangup_cause": 16,
        "queue": None,
    },
    "inbound-missed": {
        "direction": "inbound",
        "from": IVAN,
        "to": "102",
        "agents_rung": ["102"],
        "agent": None,
        "status": "missed",
        "talk_seconds": None,
        "answered_at": None,
    },
    "outbound-answered": {
        "direction": "outbound",
        "to": "79161110001",
        "agent": "103",
        "status": "answered",
        "originate": {
            "action_id": "outbound-answered-dialer-1",
            "variables": DIALER,
            "account": "campaign-7",
        },
    },
    "outbound-busy": {
        "direction": "outbound",
        "to": "79161110002",
        "agent": None,
        "status": "busy",
        "originate": {
            "action_id": "outbound-busy-dialer-1",
            "variables": DIALER,
            "account": "campaign-7",
        },
    },
    "outbound-noanswer": {
        "direction": "outbound",
        "to": "79161110003",
        "agent": None,
        "status": "no-answer",
        "originate": {
            "action_id": "outbound-noanswer-dialer-1",
            "variables": DIALER,
            "account": "campaign-7",
        },
    },
    "queue-answered": {
        "direction": "inbound",
        "from": IVAN,
        "queue": "support",
        "agents_rung": ["201", "202"],
        "agent": "201",
        "status": "answered",
        "talk_seconds": 3.0,
    },
    "agi-survey": {
        "direction": "inbound",
        "from": IVAN,
        "to": "600",
        "agents_rung": [],
        "agent": None,
        "status": "answered",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_trace_gives_the_readme_record(name: str) -> None:
    records = replay_files([ASTERISK22 / f"{name}.ami"], pbx="lab")
    assert len(records) == 1
    record = records[0]
    got = record.to_json()
    for key, value in EXPECTED[name].items():
        assert got[key] == value, key
    assert got["pbx"] == "lab"
    assert not record.partial
    assert record.started_at is not None and record.ended_at is not None
    assert record.started_at.tzinfo is UTC
    for key in ("started_at", "answered_at", "ended_at"):
        if got[key] is not None:
            datetime.fromisoformat(got[key])


def test_inbound_answered_times_come_from_the_agent_cdr() -> None:
    [record] = replay_files([ASTERISK22 / "inbound-answered.ami"])
    assert record.started_at == datetime(2026, 11, 23, 8, 10, 59, tzinfo=UTC)
    assert record.answered_at == datetime(2026, 11, 23, 8, 11, 1, tzinfo=UTC)
    assert record.ended_at == datetime(2026, 11, 23, 8, 11, 3, tzinfo=UTC)
    assert record.ring_seconds == 2.0
    assert record.talk_seconds == 2.0


def test_all_traces_in_one_stream_give_all_calls_once() -> None:
    paths = sorted(ASTERISK22.glob("*.ami"))
    records = replay_files(paths)
    assert sorted(r.linkedid for r in records) == sorted({r.linkedid for r in records})
    assert len(records) == len(EXPECTED)
    assert not any(r.partial for r in records)


def _originate_response(reason: str, action: str) -> bytes:
    return (
        f"Event: OriginateResponse\r\nActionID: {action}\r\nResponse: Failure\r\n"
        "Channel: Local/79161110004@pstn\r\nContext: dialer-connected\r\nExten: s\r\n"
        f"Reason: {reason}\r\nUniqueid: <unknown>\r\n\r\n"
    ).encode()


@pytest.mark.parametrize(("reason", "status"), [("8", "failed"), ("0", "failed"), ("5", "busy")])
def test_originate_reason_codes(reason: str, status: str, tmp_path: Path) -> None:
    """The busy trace, its OriginateResponse swapped for another Reason (congestion …)."""
    data = (ASTERISK22 / "outbound-busy.ami").read_bytes().replace(b"79161110002", b"79161110004")
    start = data.index(b"Event: OriginateResponse")
    end = data.index(b"\r\n\r\n", start) + 4
    data = data[:start] + _originate_response(reason, "t-1") + data[end:]
    # the DialStatus (BUSY) and hangup cause (17) say "busy": the Reason must win
    [record] = replay_bytes(data)
    assert record.status == status
    assert record.originate is not None and record.originate.action_id == "t-1"
