"""The call log consumer keeps a record through a store outage and writes it once it is back."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from cti.ami.events import CallEnded, CallEvent, CallInfo, CallRecord, CallStarted, PbxRestarted
from cti.calllog.consumer import CallLogConsumer
from cti.calllog.schemas import CallFilter
from cti.calllog.service import CallLog
from cti.crm_store.store import Store

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def ended(linkedid: str) -> CallEnded:
    info = CallInfo("lab", linkedid, "inbound", "+74951234567", "Ivan", "101")
    record = CallRecord(
        "lab", linkedid, "inbound", "+74951234567", "Ivan", "101", None, ("101",), "101",
        "answered", T0, T0, T0, 0.0, 0.0, 16,
    )  # fmt: skip
    return CallEnded(info, record, T0)


async def rename(store: Store, old: str, new: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text(f'ALTER TABLE "{old}" RENAME TO "{new}"'))


async def test_consumer_retries_while_the_store_is_down(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cti.calllog.consumer")
    log = CallLog(sqlite_store)
    queue: asyncio.Queue[CallEvent] = asyncio.Queue()
    consumer = CallLogConsumer(log, queue, retry_min=0.001, retry_max=0.004)
    task = asyncio.create_task(consumer.run())
    try:
        await rename(sqlite_store, "calls", "calls_away")  # the store "fails": no calls table
        queue.put_nowait(CallStarted(ended("1.1").call, T0))
        queue.put_nowait(ended("1.1"))
        queue.put_nowait(ended("1.2"))
        await consumer.until(lambda: consumer.failures >= 3)
        assert consumer.stored == 0
        await rename(sqlite_store, "calls_away", "calls")
        await consumer.until(lambda: consumer.stored == 2)
        queue.put_nowait(ended("1.1"))  # e.g. a resync repeating a call: no second row
        queue.put_nowait(PbxRestarted("lab", None))
        assert await consumer.drain(5.0) == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert consumer.duplicates == 1 and consumer.skipped == 0
    page = await log.search(CallFilter())
    assert sorted(c.linkedid for c in page.items) == ["1.1", "1.2"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "1.1" in errors[0].getMessage()  # once, not per retry
    assert any("store is back" in r.getMessage() for r in caplog.records)


async def test_drain_reports_and_logs_what_could_not_be_written(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    queue: asyncio.Queue[CallEvent] = asyncio.Queue()
    consumer = CallLogConsumer(CallLog(sqlite_store), queue)
    queue.put_nowait(ended("2.1"))  # nobody runs the consumer: nothing gets written
    assert await consumer.drain(0.01) == 1
    assert any('"linkedid": "2.1"' in r.getMessage() for r in caplog.records)


async def test_a_record_the_store_refuses_is_logged_and_skipped_not_retried_forever(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with sqlite_store.engine.begin() as conn:  # the store itself rejects one record
        await conn.execute(
            text(
                "CREATE TRIGGER reject_bad BEFORE INSERT ON calls WHEN NEW.linkedid = 'bad' "
                "BEGIN SELECT RAISE(ABORT, 'rejected by the store'); END"
            )
        )
    log = CallLog(sqlite_store)
    queue: asyncio.Queue[CallEvent] = asyncio.Queue()
    consumer = CallLogConsumer(log, queue, retry_min=0.001, retry_max=0.004)
    task = asyncio.create_task(consumer.run())
    try:
        queue.put_nowait(ended("bad"))
        queue.put_nowait(ended("3.1"))
        await consumer.until(lambda: consumer.stored == 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert consumer.skipped == 1 and consumer.failures == 0
    assert [c.linkedid for c in (await log.search(CallFilter())).items] == ["3.1"]
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and '"linkedid": "bad"' in skipped[0].getMessage()
