"""Export memory: the peak Python allocation of a call-history export as the row count grows.

    .venv/bin/python bench/bench_export.py [--rows 10000,100000,1000000] [--batch 2000]

A temporary SQLite store is filled with generated calls (every column an export writes
has a value); each run exports all of them, as ``GET /api/downloads/{token}`` does (keyset
batches of ``--batch`` through ``CallLog.batches``), to CSV (chunks dropped as they come:
the network's part) and to XLSX (XlsxWriter ``constant_memory`` into a temporary file, then
read back in chunks). ``tracemalloc`` reports the peak of the Python heap during each run:
flat memory means the peak does not grow with the rows. Time is printed too, for scale;
it is not a target (tracemalloc slows the run several times over; without it an
export reads about 15,000 calls a second on the benchmark machine).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench_lookup import machine_facts
from sqlalchemy import insert

from cti.calllog.exports import csv_chunks, xlsx_chunks
from cti.calllog.service import CallLog
from cti.crm_store.models.calls import Call, CallAgent
from cti.crm_store.schemas.calls import CallFilter
from cti.crm_store.store import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def fill(store: Store, start: int, end: int, rng: random.Random) -> None:
    for first in range(start, end, 20_000):
        calls, agents = [], []
        for i in range(first, min(end, first + 20_000)):
            agent = str(1000 + rng.randrange(200))
            calls.append(
                {
                    "id": i + 1, "pbx": "bench", "linkedid": f"{i}.0", "direction": "inbound",
                    "from_number": f"+7916{i:07d}", "from_name": "=Caller " + str(i),
                    "to_number": "500", "external_number": f"+7916{i:07d}",
                    "external_tail": f"{i:07d}", "queue": "support", "agents_rung": [agent],
                    "agent": agent, "status": "answered", "started_at": T0 + timedelta(seconds=i),
                    "answered_at": T0 + timedelta(seconds=i + 5),
                    "ended_at": T0 + timedelta(seconds=i + 95), "ring_seconds": 5.0,
                    "talk_seconds": 90.0, "ivr_seconds": 3.0, "queue_wait_seconds": 12.5,
                    "hold_seconds": 0.0, "disposition": "resolved", "campaign": None,
                    "hangup_cause": 16, "transfers": [], "partial": False, "clock": "pbx",
                }
            )  # fmt: skip
            at = T0 + timedelta(seconds=i)
            agents.append({"call_id": i + 1, "extension": agent, "started_at": at})
        async with store.sessions() as session:
            await session.execute(insert(Call), calls)
            await session.execute(insert(CallAgent), agents)
            await session.commit()


async def drain(chunks: AsyncIterator[bytes]) -> int:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
    return size


async def measure(work: Callable[[], Awaitable[int]]) -> tuple[float, float, int]:
    """(peak MiB, seconds, bytes) of one export."""
    tracemalloc.start()
    t0 = time.perf_counter()
    size = await work()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20, seconds, size


async def main(rows: list[int], batch: int) -> list[str]:
    lines = [
        f"Call-history export, keyset batches of {batch:,}, SQLite; peak = tracemalloc peak "
        "of the Python heap during the export",
        "",
        "| rows | format | peak MiB | seconds (traced) | output MiB |",
        "|---:|---|---:|---:|---:|",
    ]
    rng = random.Random(5)
    zone = ZoneInfo("Europe/Moscow")
    with tempfile.TemporaryDirectory(prefix="cti-bench-export-") as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{Path(tmp) / 'export.db'}")
        log = CallLog(store)
        filled = 0
        try:
            for n in sorted(rows):
                await fill(store, filled, n, rng)
                filled = n
                for fmt in ("csv", "xlsx"):
                    make = csv_chunks if fmt == "csv" else xlsx_chunks

                    async def run(make=make) -> int:  # type: ignore[no-untyped-def]
                        batches = log.batches(CallFilter(), size=batch)
                        return await drain(make(batches, zone))

                    peak, seconds, size = await measure(run)
                    lines.append(
                        f"| {n:,} | {fmt} | {peak:.1f} | {seconds:.1f} | {size / 2**20:.1f} |"
                    )
                    print(lines[-1], file=sys.stderr)
        finally:
            log.close()
            await store.close()
    return [*lines, "", machine_facts()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    counts = [int(x) for x in args.rows.split(",")]
    print("\n".join(asyncio.run(main(counts, args.batch))))
