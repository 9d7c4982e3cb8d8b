"""The event bus: every subscriber gets every event, a failing one costs only itself."""

from __future__ import annotations

import pytest

from cti.ami.events import CallEvent, CallStarted, PbxRestarted
from cti.bus import EventBus
from tests.calllog.test_consumer import T0, ended


def test_every_subscriber_gets_every_event_and_a_failing_one_costs_only_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    first: list[CallEvent] = []
    second: list[CallEvent] = []
    bus.subscribe(first.append)

    def broken(_: CallEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(second.append)
    events: list[CallEvent] = [
        CallStarted(ended("1.1").call, T0),
        ended("1.1"),
        PbxRestarted("lab", None),
    ]
    for event in events:
        bus.publish(event)
    unsubscribe()
    bus.publish(events[0])
    assert first == [*events, events[0]]
    assert second == events
    assert sum("boom" in (r.exc_text or "") for r in caplog.records) == 4
