"""Interpreter settings that keep the daemon's event loop responsive: GIL hand-back and GC.

**GIL.** The database driver (aiosqlite) runs a worker thread. Each time the loop thread
waits in ``epoll`` or a socket call it lets go of the GIL, and by CPython's default it then
waits up to 5 ms to get it back from a busy worker: the pop of a call that rang meanwhile
waits too. :data:`SWITCH_INTERVAL` makes that hand-back 0.2 ms.

**GC.** CPython's full (generation 2) collections scan every tracked object and stop the
event loop while they run: with 1,000 operators connected the daemon holds ~250,000 of them,
and a pass took 100-200 ms on our 2-core benchmark machine, several times a minute at 50
calls/s. A pop that rang meanwhile waited for it. Freezing the survivors after each pass
(:func:`gc.freeze`) made passes cheaper but, by CPython's rule (a full pass once a quarter
more objects survived than the last one kept), far more frequent: still 25-50 ms stalls,
three in a 100-second benchmark run.

So :class:`GcPolicy` takes full collections off CPython's clock: what startup made (modules,
the app, the store) is frozen and never scanned again, the young generations are collected
as usual (mostly under 2 ms), and the full collection runs every ``full_every`` seconds
(``gc_sweep_every``, 10 minutes by default): one pause at a known rhythm instead of several
a minute. Reference cycles that became garbage after reaching the old generation wait for
that sweep, except after a wave of closed connections: each closed WebSocket leaves ~11 KiB
of aiohttp's reference cycles behind (``bench/bench_ws_memory.py``: 1,000 clients coming and
going grew the daemon by 11 MiB a round, for good), so :meth:`GcPolicy.garbage` counts them
and ``garbage_limit`` closed connections bring the sweep forward, at most every
``min_gap`` seconds.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: seconds a thread may hold the GIL while another waits for it (CPython's default: 0.005)
SWITCH_INTERVAL = 0.0002


#: a generation-2 threshold CPython never reaches: full collections run on the policy's clock
_NEVER = 1 << 30


@dataclass
class GcStats:
    sweeps: int = 0
    last_sweep_ms: float = 0.0


class GcPolicy:
    """Run :meth:`run` as a task of the daemon; cancel it to stop (CPython's own thresholds
    and an unfrozen heap come back)."""

    def __init__(
        self, full_every: float = 600.0, *, garbage_limit: int = 200, min_gap: float = 30.0
    ) -> None:
        self.full_every = full_every
        self.garbage_limit = garbage_limit
        self.min_gap = min_gap
        self.stats = GcStats()
        self._garbage = 0
        self._last = time.monotonic()
        self._wake = asyncio.Event()

    def garbage(self, count: int = 1) -> None:
        """``count`` things that leave reference cycles ended (closed connections): past
        ``garbage_limit`` the next sweep comes early (not before ``min_gap`` seconds)."""
        self._garbage += count
        if self._garbage >= self.garbage_limit:
            self._wake.set()

    def sweep(self) -> None:
        """One full collection (of everything but the frozen startup objects)."""
        started = time.perf_counter()
        found = gc.collect()
        _trim()
        self._garbage = 0
        self._last = time.monotonic()
        self.stats.sweeps += 1
        self.stats.last_sweep_ms = (time.perf_counter() - started) * 1000
        log.debug("gc: full sweep in %.1f ms, %d objects freed", self.stats.last_sweep_ms, found)

    async def run(self) -> None:
        thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()  # modules, the app, the store: never scanned again
        gc.set_threshold(thresholds[0], thresholds[1], _NEVER)
        try:
            while True:
                due = self._last + self.full_every - time.monotonic()
                try:
                    await asyncio.wait_for(self._wake.wait(), max(0.0, due))
                except TimeoutError:
                    pass  # the regular sweep
                else:  # brought forward by garbage: not sooner than min_gap after the last
                    self._wake.clear()
                    gap = self._last + min(self.min_gap, self.full_every) - time.monotonic()
                    if gap > 0:
                        await asyncio.sleep(gap)
                self.sweep()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()


def _trim() -> None:
    """Give the C heap's free pages back to the system after a sweep (glibc's
    ``malloc_trim``; elsewhere nothing): freed memory shows as a lower RSS, not only as room
    Python reuses."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()
