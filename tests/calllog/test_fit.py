"""Hostile PBX values (issue 12): a record with values that do not fit its columns is still
stored, on both backends, with those values cleaned, the rest intact and one warning."""

from __future__ import annotations

import logging

import pytest

from cti.ami.events import AgentRing, CallRecord, OriginateInfo, TalkSegment, Transfer
from cti.calllog.fit import INT_MAX, fit_record
from cti.calllog.service import CallLog
from cti.crm_store.repos.calllog import text_limits
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.store import Store
from tests.calllog.records import T0, call

HUGE_ID = "1700000000." + "9" * 300


def hostile(linkedid: str = HUGE_ID) -> CallRecord:
    return call(
        linkedid,
        from_name="Ivan\x00 Petrov\x1b[31m" + "x" * 400,
        from_number="8495\x001234567",
        to_number="101",
        hangup_cause=10**20,  # an AMI Cause: of 21 digits
        agents_rung=("101\x00", "1" * 100),
        agent="101",
        ring_seconds=float("inf"),
        queue="sales\n",
        rings=(AgentRing("101\x00", T0, T0, True),),
        talks=(TalkSegment("101", T0, T0, float("nan")),),
        transfers=(Transfer("blind", "101", "2\x0002"),),
        originate=OriginateInfo("act\x00ion", {"CAMPAIGN\x00": "spring\x00", "LEAD": "7"}, "acc"),
        recording="/rec/\x00" + "r" * 900,
    )


async def test_a_call_with_values_that_do_not_fit_is_stored_cleaned(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cti.calllog.service")
    log = CallLog(store)
    try:
        assert await log.record(hostile())
        assert not await log.record(hostile())  # still idempotent
        page = await log.search(CallQuery())
        (stored,) = page.items
        detail = await log.detail(stored.id)
    finally:
        log.close()
    assert stored.linkedid == HUGE_ID[:64]
    assert stored.from_name is not None and stored.from_name.startswith("Ivan Petrov[31mxxx")
    assert len(stored.from_name) == 200
    assert stored.external_number == "+74951234567"  # the NUL gone, the number intact
    assert stored.hangup_cause is None and stored.ring_seconds is None
    assert stored.queue == "sales"
    assert stored.agents_rung == ["101", "1" * 32]
    assert (stored.status, stored.agent, stored.talk_seconds) == ("answered", "101", 8.0)
    assert stored.started_at is not None and stored.recording == "/rec/" + "r" * 495
    assert stored.originate_variables == {"CAMPAIGN": "spring", "LEAD": "7"}
    assert stored.campaign == "spring"
    assert [r.agent for r in detail.rings] == ["101"]
    assert [t.hold_seconds for t in detail.talks] == [None]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per record written, not one per field
    assert warnings[0].startswith(f"call lab/{HUGE_ID[:64]}: PBX values")
    for name in ("linkedid", "from_name", "from_number", "hangup_cause", "ring_seconds"):
        assert name in warnings[0]


def test_a_record_that_fits_is_returned_as_it_is() -> None:
    record = call("1700000000.1")
    assert fit_record(record, text_limits()) == (record, {})
    top = call("1700000000.2", hangup_cause=INT_MAX)
    assert fit_record(top, text_limits())[1] == {}
    below = call("1700000000.3", hangup_cause=-1)
    assert fit_record(below, text_limits())[1] == {"hangup_cause": "out of range, dropped"}
