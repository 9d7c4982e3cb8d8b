"""What one exported call looks like: the columns, and each cell as text or a number.

Times are written in the export's time zone (the filter's ``tz``) with their offset, so a
spreadsheet shows the hours the manager asked about. Text that a spreadsheet would read as
a formula (a first character ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: a
caller name ``=HYPERLINK(…)`` is caller-controlled) gets a leading ``'`` in CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from cti.crm_store.schemas.calls import CallOut

Cell = str | float | int | None

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _time(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def _columns() -> list[tuple[str, Callable[[CallOut, ZoneInfo], Cell]]]:
    return [
        ("id", lambda c, z: c.id),
        ("started_at", lambda c, z: _time(c.started_at, z)),
        ("answered_at", lambda c, z: _time(c.answered_at, z)),
        ("ended_at", lambda c, z: _time(c.ended_at, z)),
        ("direction", lambda c, z: c.direction),
        ("status", lambda c, z: c.status),
        ("from_number", lambda c, z: c.from_number),
        ("from_name", lambda c, z: c.from_name),
        ("to_number", lambda c, z: c.to_number),
        ("external_number", lambda c, z: c.external_number),
        ("queue", lambda c, z: c.queue),
        ("agent", lambda c, z: c.agent),
        ("agents_rung", lambda c, z: " ".join(c.agents_rung)),
        ("ivr_seconds", lambda c, z: c.ivr_seconds),
        ("queue_wait_seconds", lambda c, z: c.queue_wait_seconds),
        ("ring_seconds", lambda c, z: c.ring_seconds),
        ("talk_seconds", lambda c, z: c.talk_seconds),
        ("hold_seconds", lambda c, z: c.hold_seconds),
        ("disposition", lambda c, z: c.disposition),
        ("campaign", lambda c, z: c.campaign),
        ("contact_id", lambda c, z: c.contact_id),
        ("hangup_cause", lambda c, z: c.hangup_cause),
        ("recorded", lambda c, z: "yes" if c.recording else "no"),
        ("pbx", lambda c, z: c.pbx),
        ("linkedid", lambda c, z: c.linkedid),
    ]


COLUMNS = _columns()
HEADER = [name for name, _ in COLUMNS]


def cells(call: CallOut, zone: ZoneInfo) -> list[Cell]:
    """The export row of ``call``."""
    return [get(call, zone) for _, get in COLUMNS]


def csv_safe(value: Cell) -> Cell:
    """Text a spreadsheet would run as a formula, made plain text (a leading ``'``)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
