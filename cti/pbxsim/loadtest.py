"""Load test of the simulator alone: ``python -m cti.pbxsim.loadtest [SECONDS] [RATE]``.

Runs generated traffic in real time (default 60 s at 50 calls/s, talk time lognormal with
mean 25 s) with one AMI client draining every byte, and prints events/s, bytes/s, the
simulator's CPU share, peak concurrent calls, worst event-loop lag and peak RSS. This is
the background load of the benchmarks, so its own cost must stay small.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time

from cti.pbxsim.server import PbxSimulator
from cti.pbxsim.traffic import TrafficProfile


async def run(seconds: float, rate: float) -> str:
    sim = PbxSimulator(
        users={"cti": "load"},
        agents=[str(a) for a in range(100, 160)],
        queues={"support": [str(a) for a in range(200, 210)]},
        timestamps=True,
    )
    await sim.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    await reader.readline()
    writer.write(b"Action: Login\r\nUsername: cti\r\nSecret: load\r\n\r\n")
    counts = [0, 0]  # bytes, messages

    async def drain() -> None:
        while chunk := await reader.read(1 << 20):
            counts[0] += len(chunk)
            counts[1] += chunk.count(b"\r\n\r\n")

    task = asyncio.create_task(drain())
    numbers = [f"+7495{n:07d}" for n in range(1000)]
    profile = TrafficProfile(calls_per_second=rate, numbers=numbers, talk_mean=25, seed=1)
    sim.start_traffic(profile)
    lag = 0.0
    peak = 0
    t0, c0 = time.monotonic(), time.process_time()
    while time.monotonic() - t0 < seconds:
        tick = time.monotonic()
        await asyncio.sleep(0.05)
        lag = max(lag, time.monotonic() - tick - 0.05)
        peak = max(peak, sim.active_calls)
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    writer.close()
    await sim.stop()
    await asyncio.gather(task, return_exceptions=True)
    return (
        f"{wall:.0f} s at {rate:g} calls/s: {counts[1] / wall:,.0f} messages/s, "
        f"{counts[0] / wall / 1e6:.2f} MB/s, CPU {100 * cpu / wall:.0f}% of one core, "
        f"peak {peak} concurrent calls, max loop lag {lag * 1000:.0f} ms, peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:3]]
    print(asyncio.run(run(*(args + [60.0, 50.0][len(args) :]))))
