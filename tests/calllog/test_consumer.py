"""The call log consumer keeps a record through a store outage and writes it once it is back;
it writes what is queued in one transaction, and a record the store refuses costs only itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text

from cti.ami.events import CallEnded, CallInfo, CallRecord, CallStarted, PbxRestarted
from cti.calllog.consumer import CallLogConsumer
from cti.calllog.service import CallLog
from cti.crm_store.schemas.calls import CallQuery
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
    consumer = CallLogConsumer(log, retry_min=0.001, retry_max=0.004)
    task = asyncio.create_task(consumer.run())
    try:
        await rename(sqlite_store, "calls", "calls_away")  # the store "fails": no calls table
        consumer.add(CallStarted(ended("1.1").call, T0))
        consumer.add(ended("1.1"))
        consumer.add(ended("1.2"))
        await consumer.until(lambda: consumer.failures >= 3)
        assert consumer.stored == 0
        await rename(sqlite_store, "calls_away", "calls")
        await consumer.until(lambda: consumer.stored == 2)
        consumer.add(ended("1.1"))  # e.g. a resync repeating a call: no second row
        consumer.add(PbxRestarted("lab", None))
        assert await consumer.drain(5.0) == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert consumer.duplicates == 1 and consumer.skipped == 0
    page = await log.search(CallQuery())
    assert sorted(c.linkedid for c in page.items) == ["1.1", "1.2"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "1.1" in errors[0].getMessage()  # once, not per retry
    assert any("store is back" in r.getMessage() for r in caplog.records)


async def test_drain_reports_and_logs_what_could_not_be_written(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = CallLogConsumer(CallLog(sqlite_store))
    consumer.add(ended("2.1"))  # nobody runs the consumer: nothing gets written
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
    consumer = CallLogConsumer(log, retry_min=0.001, retry_max=0.004)
    task = asyncio.create_task(consumer.run())
    try:
        consumer.add(ended("bad"))
        consumer.add(ended("3.1"))
        await consumer.until(lambda: consumer.stored == 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert consumer.skipped == 1 and consumer.failures == 0
    assert [c.linkedid for c in (await log.search(CallQuery())).items] == ["3.1"]
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and '"linkedid": "bad"' in skipped[0].getMessage()


async def reject(store: Store, linkedid: str) -> None:
    """Make the (SQLite) store refuse the call with this linkedid, as a bad record would be."""
    async with store.engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TRIGGER reject_{linkedid} BEFORE INSERT ON calls "
                f"WHEN NEW.linkedid = '{linkedid}' "
                "BEGIN SELECT RAISE(ABORT, 'rejected by the store'); END"
            )
        )


async def run_until(consumer: CallLogConsumer, predicate: Callable[[], bool]) -> None:
    """Run ``consumer`` until ``predicate`` holds, then stop it."""
    task = asyncio.create_task(consumer.run())
    try:
        await consumer.until(predicate)
        assert await consumer.drain(5.0) == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize(("calls", "max_batch", "commits"), [(50, 100, 1), (25, 10, 3)])
async def test_what_is_queued_is_written_in_one_transaction_per_batch(
    sqlite_store: Store, calls: int, max_batch: int, commits: int
) -> None:
    log = CallLog(sqlite_store)
    consumer = CallLogConsumer(log, max_batch=max_batch)
    for i in range(calls):
        consumer.add(ended(f"4.{i}"))
    consumer.add(PbxRestarted("lab", None))  # not a call: only acknowledged
    seen: list[object] = []

    def committed(conn: object) -> None:
        seen.append(conn)

    event.listen(sqlite_store.engine.sync_engine, "commit", committed)
    try:
        await run_until(consumer, lambda: consumer.stored == calls)
    finally:
        event.remove(sqlite_store.engine.sync_engine, "commit", committed)
    assert len(seen) == commits
    assert (consumer.stored, consumer.duplicates, consumer.failures, consumer.skipped) == (
        calls,
        0,
        0,
        0,
    )
    assert await log.count(CallQuery()) == calls


async def test_a_refused_record_is_skipped_and_the_rest_of_its_batch_stored(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await reject(sqlite_store, "bad")
    log = CallLog(sqlite_store)
    consumer = CallLogConsumer(log, retry_min=0.001, retry_max=0.004)
    for linkedid in ("5.1", "5.2", "bad", "5.3", "5.1"):
        consumer.add(ended(linkedid))
    await run_until(consumer, lambda: consumer.stored + consumer.duplicates == 4)
    assert (consumer.stored, consumer.duplicates, consumer.skipped, consumer.failures) == (
        3,
        1,
        1,
        0,
    )
    page = await log.search(CallQuery())
    assert [c.linkedid for c in page.items] == ["5.3", "5.2", "5.1"]  # in order, newest first
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and '"linkedid": "bad"' in skipped[0].getMessage()


async def test_a_batch_kept_through_an_outage_is_stored_once_in_order(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cti.calllog.consumer")
    log = CallLog(sqlite_store)
    assert await log.record(ended("6.0").record)
    consumer = CallLogConsumer(log, retry_min=0.001, retry_max=0.004)
    linkedids = ["6.1", "6.0", "6.2", "6.3", "6.2", "6.4"]
    for linkedid in linkedids:
        consumer.add(ended(linkedid))
    await rename(sqlite_store, "calls", "calls_away")
    task = asyncio.create_task(consumer.run())
    try:
        await consumer.until(lambda: consumer.failures >= 2 * len(linkedids))
        assert consumer.stored == 0
        await rename(sqlite_store, "calls_away", "calls")
        await consumer.until(lambda: consumer.stored + consumer.duplicates == len(linkedids))
        assert await consumer.drain(5.0) == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (consumer.stored, consumer.duplicates, consumer.skipped) == (4, 2, 0)
    page = await log.search(CallQuery())
    assert [c.linkedid for c in page.items] == ["6.4", "6.3", "6.2", "6.1", "6.0"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "6.1 and 5 more" in errors[0].getMessage()
    assert sum("store is back" in r.getMessage() for r in caplog.records) == 1


async def test_drain_reports_a_batch_still_being_retried(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = CallLogConsumer(CallLog(sqlite_store), retry_min=0.001, retry_max=0.004)
    await rename(sqlite_store, "calls", "calls_away")
    for linkedid in ("7.1", "7.2"):
        consumer.add(ended(linkedid))
    task = asyncio.create_task(consumer.run())
    try:
        await consumer.until(lambda: consumer.failures >= 2)  # both taken, being retried
        consumer.add(ended("7.3"))
        assert await consumer.drain(0.01) == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    logged = [r.getMessage() for r in caplog.records if "not stored at shutdown" in r.getMessage()]
    assert [m.count('"linkedid": "7.') for m in logged] == [1, 1, 1]
    assert all(any(f'"7.{i}"' in m for m in logged) for i in (1, 2, 3))
