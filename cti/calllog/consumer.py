"""The long-lived task that writes every finished call to the call log.

It drains its own :meth:`EventBus.subscribe_queue` queue, so a slow disk never delays the
screen-pop. A finished call waits up to ``linger`` seconds for the calls ending after it,
and what is queued then (up to ``max_batch``) is written in one transaction
(:meth:`CallLog.record_many`): at tens of calls per second that saves most of the ORM work.
In the daemon the writes themselves run on the call log's own thread
(:class:`~cti.calllog.writer.CallLogWriter`), not on the event loop the pops share. A store
error never loses a record: the batch is kept and retried with capped exponential backoff
(one ERROR line per outage, one INFO line when it recovers) while later records wait behind
it in order. When the store refuses a batch (a bug, not an outage) its records are written
one by one, so only the record it can never take is logged in full and skipped and cannot
block the log forever.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from cti.ami.events import CallEnded, CallEvent, CallRecord
from cti.crm_store.errors import TRANSIENT, is_permanent

log = logging.getLogger(__name__)

#: TRANSIENT errors (an unavailable store) are retried forever; a record the store refuses
#: for itself (:func:`~cti.crm_store.errors.is_permanent`) is tried this often, then skipped
PERMANENT_TRIES = 3
#: seconds a finished call waits for others to share its write: one transaction per call
#: costs ~4 ms of the event loop's CPU, one per 10-20 calls well under 1 ms per call
LINGER = 0.2


class CallWriter(Protocol):
    """Where records go: a :class:`~cti.calllog.service.CallLog`, or the daemon's
    :class:`~cti.calllog.writer.CallLogWriter` (the same on its own thread)."""

    async def record(self, record: CallRecord) -> bool: ...

    async def record_many(self, records: Sequence[CallRecord]) -> list[bool]: ...


class _Rejected(Exception):
    """The store refused the record itself (not an outage)."""


class CallLogConsumer:
    """Records the ``CallEnded`` events of ``queue`` through ``calllog`` (run as one task)."""

    def __init__(
        self,
        calllog: CallWriter,
        queue: asyncio.Queue[CallEvent],
        *,
        max_batch: int = 100,
        linger: float = LINGER,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self.calllog = calllog
        self.queue = queue
        self.max_batch = max(1, max_batch)
        self.linger = linger
        self.retry_min = retry_min
        self.retry_max = retry_max
        #: calls written / already present (duplicates) / failed attempts / skipped as bad
        self.stored = 0
        self.duplicates = 0
        self.failures = 0
        self.skipped = 0
        self._changed = asyncio.Condition()
        self._rng = random.Random()
        #: records taken from the queue and not yet stored or skipped (logged by ``drain``)
        self._unwritten: deque[CallRecord] = deque()

    async def run(self) -> None:
        """Drain the queue forever (cancel to stop; see :meth:`drain` for a clean stop)."""
        while True:
            events = [await self.queue.get()]
            try:
                self._take_queued(events)
                if any(isinstance(event, CallEnded) for event in events):
                    # let the calls ending meanwhile join this write (and the pops woken by
                    # the same AMI bytes go out first)
                    await asyncio.sleep(self.linger)
                    self._take_queued(events)
                    await self._store_batch(
                        [event.record for event in events if isinstance(event, CallEnded)]
                    )
            finally:
                for _ in events:
                    self.queue.task_done()

    def _take_queued(self, events: list[CallEvent]) -> None:
        """Add what is queued already (never waiting) to ``events``, up to ``max_batch``."""
        while len(events) < self.max_batch:
            try:
                events.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                return

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for queued records to be written; return how many
        are left (each is logged as JSON so an operator can replay it)."""
        try:
            async with asyncio.timeout(grace):
                await self.queue.join()
            return 0
        except TimeoutError:
            left = 0
            for record in self._unwritten:  # taken by a write still being retried
                left += 1
                log.error("call log: not stored at shutdown: %s", _as_json(record))
            while not self.queue.empty():
                event = self.queue.get_nowait()
                self.queue.task_done()
                if isinstance(event, CallEnded):
                    left += 1
                    log.error("call log: not stored at shutdown: %s", _as_json(event.record))
            return left

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (checked after every write attempt)."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def _store_batch(self, records: Sequence[CallRecord]) -> None:
        self._unwritten = deque(records)
        try:
            if len(records) > 1 and await self._store_together(records):
                return
            # one record, or the store refuses something in this batch: one by one, so that
            # only the record it can never take is skipped
            while self._unwritten:
                await self._store(self._unwritten[0])
                self._unwritten.popleft()
        finally:
            self._unwritten = deque()

    async def _store_together(self, records: Sequence[CallRecord]) -> bool:
        """Write ``records`` in one transaction, retrying through outages; False when the
        store refused the batch (then nothing of it is written)."""
        first = records[0]
        more = f" and {len(records) - 1} more"
        attempt = 0
        while True:
            try:
                written = await self.calllog.record_many(records)
            except TRANSIENT as exc:
                if is_permanent(exc):
                    break
                self.failures += len(records)
                if attempt == 0:
                    log.error(
                        "call log: cannot store call %s/%s%s (%s); keeping it and retrying",
                        first.pbx,
                        first.linkedid,
                        more,
                        _short(exc),
                    )
                await self._notify()
                await self._backoff(attempt)
                attempt += 1
                continue
            except Exception:  # a bug, not the store: the records one by one will tell which
                log.warning("call log: batch failed; writing it one by one", exc_info=True)
                break
            if attempt:
                log.info(
                    "call log: store is back; call %s/%s%s stored", first.pbx, first.linkedid, more
                )
            self.stored += sum(written)
            self.duplicates += len(written) - sum(written)
            await self._notify()
            return True
        if attempt:
            log.info(
                "call log: store is back; storing call %s/%s%s one by one",
                first.pbx,
                first.linkedid,
                more,
            )
        return False

    async def _backoff(self, attempt: int) -> None:
        cap = min(self.retry_max, self.retry_min * 2.0 ** min(attempt, 30))
        await asyncio.sleep(self._rng.uniform(self.retry_min, max(self.retry_min, cap)))

    async def _write(self, record: CallRecord) -> bool:
        try:
            return await self.calllog.record(record)
        except TRANSIENT as exc:
            if is_permanent(exc):
                raise _Rejected from exc
            raise

    async def _store(self, record: CallRecord) -> None:
        attempt = rejected = 0
        while True:
            try:
                written = await self._write(record)
            except _Rejected:
                rejected += 1
                if rejected < PERMANENT_TRIES:  # e.g. a user deleted mid-write: try again
                    continue
                self.skipped += 1
                log.exception("call log: record rejected, skipped: %s", _as_json(record))
                await self._notify()
                return
            except TRANSIENT as exc:
                self.failures += 1
                if attempt == 0:
                    log.error(
                        "call log: cannot store call %s/%s (%s); keeping it and retrying",
                        record.pbx,
                        record.linkedid,
                        _short(exc),
                    )
                await self._notify()
                await self._backoff(attempt)
                attempt += 1
                continue
            except Exception:
                self.skipped += 1
                log.exception("call log: record rejected, skipped: %s", _as_json(record))
                await self._notify()
                return
            if attempt:
                log.info("call log: store is back; call %s/%s stored", record.pbx, record.linkedid)
            if written:
                self.stored += 1
            else:
                self.duplicates += 1
            await self._notify()
            return

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}"


def _as_json(record: CallRecord) -> str:
    return json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True)
