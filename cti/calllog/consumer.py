"""The long-lived task that writes every finished call to the call log.

Every finished call is first appended to the call log journal (:mod:`cti.calllog.journal`:
one ``write`` on local disk, on the event loop, as the tracker forgets the call), and this
task stores calls *from the journal*, oldest first, moving its cursor past each batch the
store took. So a ``kill -9``, a restart or an outage of any length loses no call: the next
run resumes at the cursor. A finished call waits up to ``linger`` seconds for the calls
ending after it, and what is pending then (up to ``max_batch``) is written in one
transaction (:meth:`CallLog.record_many`): at tens of calls per second that saves most of
the ORM work. In the daemon the writes themselves run on the call log's own thread
(:class:`~cti.calllog.writer.CallLogWriter`), not on the event loop the pops share. A store
error keeps the batch and retries it with capped exponential backoff (one ERROR line per
outage, one INFO line when it recovers) while later calls wait behind it in the journal.
When the store refuses a batch (a bug, not an outage) its records are written one by one,
so only the record it can never take is logged in full and skipped and cannot block the
log forever.
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
from cti.calllog.journal import CallJournal
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
    """Stores the calls of ``journal`` through ``calllog`` (run :meth:`run` as one task);
    :meth:`add` is the bus subscriber that journals each finished call."""

    def __init__(
        self,
        calllog: CallWriter,
        journal: CallJournal | None = None,
        *,
        max_batch: int = 100,
        linger: float = LINGER,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self.calllog = calllog
        self.journal = journal if journal is not None else CallJournal(None)
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
        self._wake = asyncio.Event()
        if self.journal.has_pending():
            self._wake.set()  # calls of an earlier run, not stored yet
        #: records taken from the journal and not yet stored or skipped
        self._unwritten: deque[CallRecord] = deque()

    def add(self, event: CallEvent) -> None:
        """Journal a finished call (other events are ignored); never raises, never waits."""
        if isinstance(event, CallEnded):
            self.journal.append(event.record)
            self._wake.set()

    async def run(self) -> None:
        """Store journaled calls forever (cancel to stop; see :meth:`drain` for a clean stop)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.journal.has_pending():
                continue
            # let the calls ending meanwhile join this write (and the pops woken by the same
            # AMI bytes go out first)
            await asyncio.sleep(self.linger)
            while self.journal.has_pending():
                batch = self.journal.take(self.max_batch)
                if self.journal.directory is not None:
                    await asyncio.to_thread(self.journal.sync)
                if batch.records:
                    await self._store_batch(batch.records)
                self.journal.ack(batch)
                await self._notify()

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for the journaled calls to be stored; return how many
        are left. On disk they stay in the journal for the next start; a memory-only
        journal logs each left call as JSON at ERROR so an operator can replay it."""
        try:
            async with asyncio.timeout(grace):
                await self.until(lambda: not self.journal.has_pending())
            return 0
        except TimeoutError:
            if self.journal.directory is not None:
                return self.journal.pending_count()
            left = self.journal.take(self.journal.pending_count()).records
            for record in left:
                log.error("call log: not stored at shutdown: %s", _as_json(record))
            return len(left)

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
