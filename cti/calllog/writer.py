"""The call log's own thread: finished calls are written away from the loop that pops.

Writing a batch of finished calls is ORM work, about half a millisecond of CPU per call in
steps of several milliseconds. Run on the daemon's event loop, each such step delays every
screen-pop whose AMI bytes arrive meanwhile. :class:`CallLogWriter` runs a
:class:`~cti.calllog.service.CallLog` on a thread of its own, with its own event loop and
its own connections to the same database, at a lower CPU priority (Linux: :data:`NICE`), so
that on a busy core the pops go first. The GIL still makes the two threads take turns, but
in slices of :data:`cti.runtime.SWITCH_INTERVAL` instead of whole write steps.

To the consumer it is a call log like any other: :meth:`record_many` returns what
:meth:`CallLog.record_many` returns and raises what the store raised (so retries and the
one-by-one fallback work unchanged), and cancelling the await cancels the write, which is
then rolled back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence

from cti.ami.events import CallRecord
from cti.calllog.service import CallLog
from cti.config import PhoneConfig
from cti.crm_store.store import Store

log = logging.getLogger(__name__)

#: how much lower the writer thread's CPU priority is (Linux nice increment; the database
#: driver's worker thread, started from it, inherits it)
NICE = 10


class CallLogWriter:
    """A :class:`CallLog` on ``url``, run on its own thread: :meth:`start`, write, :meth:`close`."""

    def __init__(self, url: str, phone: PhoneConfig | None = None, *, nice: int = NICE) -> None:
        self.url = url
        self.phone = phone or PhoneConfig()
        self.nice = nice
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._calllog: CallLog | None = None

    async def start(self) -> None:
        """Start the thread and open its store connections (raises what opening raised)."""
        if self._thread is not None:
            raise RuntimeError("call log writer already started")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name="calllog-writer", daemon=True
        )
        self._thread.start()
        try:
            await asyncio.wrap_future(ready)
        except BaseException:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
            raise

    async def record(self, record: CallRecord) -> bool:
        """:meth:`CallLog.record` on the writer's thread."""
        (written,) = await self.record_many([record])
        return written

    async def record_many(self, records: Sequence[CallRecord]) -> list[bool]:
        """:meth:`CallLog.record_many` on the writer's thread."""
        calllog, loop = self._calllog, self._loop
        if calllog is None or loop is None or loop.is_closed():
            raise RuntimeError("call log writer is not running")
        coro = calllog.record_many(list(records))
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    async def close(self) -> None:
        """Cancel what is still being written, close the connections, end the thread."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        self._thread = None

    # -- the writer's thread --------------------------------------------------------------
    def _main(self, ready: concurrent.futures.Future[None]) -> None:
        _lower_priority(self.nice)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        store: Store | None = None
        try:
            try:
                store = loop.run_until_complete(Store.open(self.url, self.phone, upgrade=False))
                self._calllog = CallLog(store)
            except BaseException as exc:
                ready.set_exception(exc)
                return
            self._loop = loop
            ready.set_result(None)
            loop.run_forever()
        finally:
            self._shut(loop, store)

    def _shut(self, loop: asyncio.AbstractEventLoop, store: Store | None) -> None:
        """On the writer's thread: cancel leftover writes (rolled back), close everything."""
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        if self._calllog is not None:
            self._calllog.close()
            self._calllog = None
        if store is not None:
            loop.run_until_complete(store.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


def _lower_priority(increment: int) -> None:
    """Lower the calling thread's CPU priority (Linux: per thread; elsewhere: skipped)."""
    if increment <= 0 or not sys.platform.startswith("linux"):
        return  # elsewhere PRIO_PROCESS takes a process id, not a thread's
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except OSError as exc:  # e.g. a sandbox that refuses: correct, only less prompt pops
        log.debug("call log writer: cannot lower its priority (%s)", exc)
