"""The event bus: every subscriber gets what it asked for, a failing one costs only itself."""

from __future__ import annotations

import asyncio

import pytest

from cti.ami.events import CallEnded, CallEvent, CallStarted, PbxRestarted
from cti.bus import EventBus
from tests.calllog.test_consumer import T0, ended


def drained(queue: asyncio.Queue[CallEvent]) -> list[CallEvent]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def test_queues_get_every_event_or_only_their_kinds(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    everything = bus.subscribe_queue()
    finished = bus.subscribe_queue(kinds=(CallEnded,))

    def broken(_: CallEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    events: list[CallEvent] = [
        CallStarted(ended("1.1").call, T0),
        ended("1.1"),
        PbxRestarted("lab", None),
    ]
    for event in events:
        bus.publish(event)
    assert drained(everything) == events
    assert drained(finished) == [events[1]]  # the call log wakes only for finished calls
    assert sum("boom" in (r.exc_text or "") for r in caplog.records) == 3
