"""The call log writer: the call log's writes on a thread of its own, with the same outcome
and the same errors, so the consumer's retries and fallback work through it unchanged."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from cti.calllog.consumer import CallLogConsumer
from cti.calllog.service import CallLog
from cti.calllog.writer import CallLogWriter
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.store import Store
from cti.errors import ConfigError
from tests.calllog.test_consumer import ended, reject, rename


@pytest.fixture
def sql_threads() -> Iterator[set[str]]:
    """Names of the threads that run SQL statements (any engine) while the test runs."""
    names: set[str] = set()

    def seen(*_: Any) -> None:
        names.add(threading.current_thread().name)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        yield names
    finally:
        event.remove(Engine, "before_cursor_execute", seen)


def writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "calllog-writer"]


async def test_writes_like_the_call_log_on_its_own_thread(
    store: Store, sql_threads: set[str]
) -> None:
    writer = CallLogWriter(store.url, store.phone)
    await writer.start()
    try:
        assert await writer.record_many([ended("1.1").record, ended("1.2").record]) == [
            True,
            True,
        ]
        assert await writer.record(ended("1.1").record) is False  # already stored
    finally:
        await writer.close()
    assert sql_threads == {"calllog-writer"}  # never the test's (the daemon's) event loop
    assert writer_threads() == []
    page = await CallLog(store).search(CallQuery())
    assert sorted(c.linkedid for c in page.items) == ["1.1", "1.2"]
    with pytest.raises(RuntimeError, match="not running"):
        await writer.record(ended("1.3").record)


async def test_the_consumer_retries_and_skips_through_the_writer(sqlite_store: Store) -> None:
    """Store errors cross the thread as raised: an outage is retried, a refusal skipped."""
    await reject(sqlite_store, "bad")
    writer = CallLogWriter(sqlite_store.url, sqlite_store.phone)
    await writer.start()
    consumer = CallLogConsumer(writer, retry_min=0.001, retry_max=0.004)
    task = asyncio.create_task(consumer.run())
    try:
        await rename(sqlite_store, "calls", "calls_away")
        for linkedid in ("2.1", "bad", "2.2"):
            consumer.add(ended(linkedid))
        await consumer.until(lambda: consumer.failures >= 3)
        assert consumer.stored == 0
        await rename(sqlite_store, "calls_away", "calls")
        assert await consumer.drain(5.0) == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await writer.close()
    assert (consumer.stored, consumer.skipped) == (2, 1)
    page = await CallLog(sqlite_store).search(CallQuery())
    assert [c.linkedid for c in page.items] == ["2.2", "2.1"]


@pytest.mark.parametrize("url", ["nosuchdb://somewhere/cti", "not a url"])
async def test_a_store_that_cannot_open_fails_start_and_leaves_no_thread(url: str) -> None:
    writer = CallLogWriter(url)
    with pytest.raises(ConfigError, match="database_url: not a URL cti can use"):
        await writer.start()
    assert writer_threads() == []
    await writer.close()  # nothing to close: no error
