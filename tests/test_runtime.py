"""The daemon's GC policy: full collections only on its own clock, nothing leaked for good."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable

from cti.runtime import GcPolicy


class Node:
    """A reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


async def _until(predicate: Callable[[], bool]) -> None:
    """Poll: the collector's state has no event to wait on."""
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def _full_passes() -> int:
    return int(gc.get_stats()[2]["collections"])


async def test_no_automatic_full_pass_and_the_sweep_frees_old_cycles() -> None:
    thresholds = gc.get_threshold()
    policy = GcPolicy(full_every=0.2)
    task = asyncio.create_task(policy.run())
    try:
        await _until(lambda: gc.get_freeze_count() > 0)  # startup objects: out of every scan
        node = Node()
        ref = weakref.ref(node)
        gc.collect(1)  # the cycle is old now (generation 2)
        del node
        before = _full_passes()
        # what would make CPython run full passes on its own: many surviving containers
        keep = [[i] for i in range(300_000)]
        gc.collect(1)  # young passes still run (and would free young cycles)
        assert _full_passes() == before and ref() is not None  # nothing scanned the old one
        await _until(lambda: ref() is None)  # the policy's sweep did
        assert policy.stats.sweeps >= 1 and _full_passes() > before
        del keep
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0  # as it was
