"""The long-lived task that writes every finished call to the call log.

It drains its own :meth:`EventBus.subscribe_queue` queue, so a slow disk never delays the
screen-pop. A store error never loses a record: the record is kept and retried with capped
exponential backoff (one ERROR line per outage, one INFO line when it recovers) while later
records wait behind it in order. Only a record the store can never take (a bug, not an
outage) is logged in full and skipped, so it cannot block the log forever.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from cti.ami.events import CallEnded, CallEvent, CallRecord
from cti.calllog.service import CallLog

log = logging.getLogger(__name__)

#: errors of an unavailable store (database down, locked, network, schema being migrated);
#: retried forever
TRANSIENT: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)
#: SQLSTATE classes of a store that is up but refuses this very record (22 data exception,
#: 23 integrity violation): retrying forever would block the whole log behind it
PERMANENT_SQLSTATE = ("22", "23")
PERMANENT_TRIES = 3


class _Rejected(Exception):
    """The store refused the record itself (not an outage)."""


def _permanent(exc: BaseException) -> bool:
    if isinstance(exc, DataError | IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(code, str) and code[:2] in PERMANENT_SQLSTATE


class CallLogConsumer:
    """Records the ``CallEnded`` events of ``queue`` through ``calllog`` (run as one task)."""

    def __init__(
        self,
        calllog: CallLog,
        queue: asyncio.Queue[CallEvent],
        *,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self.calllog = calllog
        self.queue = queue
        self.retry_min = retry_min
        self.retry_max = retry_max
        #: calls written / already present (duplicates) / failed attempts / skipped as bad
        self.stored = 0
        self.duplicates = 0
        self.failures = 0
        self.skipped = 0
        self._changed = asyncio.Condition()
        self._rng = random.Random()

    async def run(self) -> None:
        """Drain the queue forever (cancel to stop; see :meth:`drain` for a clean stop)."""
        while True:
            event = await self.queue.get()
            try:
                if isinstance(event, CallEnded):
                    # let what the same AMI batch woke (the screen-pop's frames) go first
                    await asyncio.sleep(0)
                    await self._store(event.record)
            finally:
                self.queue.task_done()

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for queued records to be written; return how many
        are left (each is logged as JSON so an operator can replay it)."""
        try:
            async with asyncio.timeout(grace):
                await self.queue.join()
            return 0
        except TimeoutError:
            left = 0
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

    async def _write(self, record: CallRecord) -> bool:
        try:
            return await self.calllog.record(record)
        except TRANSIENT as exc:
            if _permanent(exc):
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
                cap = min(self.retry_max, self.retry_min * 2.0 ** min(attempt, 30))
                attempt += 1
                await asyncio.sleep(self._rng.uniform(self.retry_min, max(self.retry_min, cap)))
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
