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
a minute. Reference cycles that became garbage
after reaching the old generation wait for that sweep.
"""

from __future__ import annotations

import asyncio
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

    def __init__(self, full_every: float = 600.0) -> None:
        self.full_every = full_every
        self.stats = GcStats()

    def sweep(self) -> None:
        """One full collection (of everything but the frozen startup objects)."""
        started = time.perf_counter()
        found = gc.collect()
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
                await asyncio.sleep(self.full_every)
                self.sweep()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
