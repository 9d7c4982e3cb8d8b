"""Finished-call records for the call log tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cti.ami.events import CallRecord

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
IVAN = "+74951234567"


def call(linkedid: str, status: str = "answered", **kw: object) -> CallRecord:
    """An inbound call from Ivan at ``T0`` (fields overridable)."""
    fields: dict[str, object] = {
        "pbx": "lab",
        "linkedid": linkedid,
        "direction": "inbound",
        "from_number": "84951234567",
        "from_name": "Ivan Petrov",
        "to_number": "101",
        "queue": None,
        "agents_rung": ("101",),
        "agent": "101" if status == "answered" else None,
        "status": status,
        "started_at": T0,
        "answered_at": T0 + timedelta(seconds=2) if status == "answered" else None,
        "ended_at": T0 + timedelta(seconds=10),
        "ring_seconds": 2.0,
        "talk_seconds": 8.0 if status == "answered" else None,
        "hangup_cause": 16,
    }
    fields.update(kw)
    return CallRecord(**fields)  # type: ignore[arg-type]
