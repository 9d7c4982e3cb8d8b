"""PBX values made to fit the call log's columns, so that one bad field never costs the call.

A PBX (or whatever speaks AMI to us) may send a caller name longer than its column, NUL
bytes or other control characters (PostgreSQL refuses NUL in text outright), a Uniqueid
of hundreds of characters or a number too large for an integer column. Any of these made
the whole record unstorable, and the call was lost. :func:`fit_record` returns the record
with each such value cleaned (control characters removed, text cut to its column's
length, a non-finite duration or an out-of-range integer dropped) and the names of the
fields it changed, for the caller to log once per call. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cti.ami.events import CallRecord, OriginateInfo, TalkSegment, Transfer

#: C0 controls (NUL, escape, newlines, …) and DEL: never part of a name, number or id
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the largest value an ``Integer`` column holds on every backend (PostgreSQL: int4)
INT_MAX = 2**31 - 1
#: text kept of a value that has no column of its own (inside a JSON column)
JSON_TEXT = 500

_TEXT = ("pbx", "linkedid", "from_number", "from_name", "to_number", "queue", "agent")
_FLOATS = ("ring_seconds", "talk_seconds", "ivr_seconds", "queue_wait_seconds", "hold_seconds")


class _Fixes:
    """Which fields were changed, and how (``field: what``), in the order found."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def text(self, name: str, value: str | None, size: int) -> str | None:
        if value is None:
            return None
        clean = _CONTROL.sub("", value)
        how = "control characters removed" if clean != value else ""
        if len(clean) > size:
            clean = clean[:size]
            how = f"{how}, cut to {size} characters" if how else f"cut to {size} characters"
        if how:
            self.found.setdefault(name, how)
        return clean

    def number(self, name: str, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            self.found.setdefault(name, f"{value} dropped")
            return None
        return value


def fit_record(record: CallRecord, limits: Mapping[str, int]) -> tuple[CallRecord, dict[str, str]]:
    """``record`` with every value fitted to its column (``limits``: column → length), and
    the fields changed (field → what was done); the record itself when nothing was."""
    fix = _Fixes()
    values: dict[str, Any] = {
        name: fix.text(name, getattr(record, name), limits[name]) for name in _TEXT
    }
    values["recording"] = fix.text("recording", record.recording, limits["recording"])
    values["amd_status"] = fix.text("amd_status", record.amd_status, JSON_TEXT)
    for name in _FLOATS:
        values[name] = fix.number(name, getattr(record, name))
    cause = record.hangup_cause
    if cause is not None and not 0 <= cause <= INT_MAX:
        fix.found["hangup_cause"] = "out of range, dropped"
        cause = None
    values["hangup_cause"] = cause
    ext = limits["extension"]
    values["agents_rung"] = tuple(fix.text("agents_rung", a, ext) or "" for a in record.agents_rung)
    values["rings"] = tuple(
        replace(r, agent=fix.text("rings.agent", r.agent, ext) or "") for r in record.rings
    )
    values["talks"] = tuple(_talk(t, fix, ext) for t in record.talks)
    values["transfers"] = tuple(
        Transfer(t.kind, fix.text("transfers", t.by, ext), fix.text("transfers", t.to, JSON_TEXT))
        for t in record.transfers
    )
    if record.originate is not None:
        values["originate"] = _originate(record.originate, fix, limits)
    if not fix.found:
        return record, {}
    return replace(record, **values), fix.found


def _talk(talk: TalkSegment, fix: _Fixes, size: int) -> TalkSegment:
    hold = fix.number("talks.hold_seconds", talk.hold_seconds)
    return replace(talk, agent=fix.text("talks.agent", talk.agent, size) or "", hold_seconds=hold)


def _originate(orig: OriginateInfo, fix: _Fixes, limits: Mapping[str, int]) -> OriginateInfo:
    variables = {
        fix.text("originate_variables", k, JSON_TEXT) or "": fix.text(
            "originate_variables", v, JSON_TEXT
        )
        or ""
        for k, v in orig.variables.items()
    }
    return OriginateInfo(
        action_id=fix.text("originate_action_id", orig.action_id, limits["originate_action_id"]),
        variables=variables,
        account=fix.text("account", orig.account, limits["account"]),
    )


def describe(found: Mapping[str, str]) -> str:
    """``found`` for a log line: ``from_name (cut to 200 characters), hangup_cause (…)``."""
    return ", ".join(f"{name} ({how})" for name, how in found.items())
