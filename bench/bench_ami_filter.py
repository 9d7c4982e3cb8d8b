"""AMI traffic per call with and without cti's event filter, measured on a real Asterisk.

``tests/traces/asterisk22/*.ami`` were recorded from Asterisk 22 as an AMI user that gets
every event; ``tests/traces/asterisk22/filtered/*.ami`` are the same scenarios recorded as
the least-privilege user that ``cti ami manager-conf`` prints (its ``eventfilter`` lines in
manager.conf). For each scenario: bytes and events per call before and after, whether both
give the same call record, and the CPU time cti spends parsing and tracking each (best of
``--repeat``). Run: ``.venv/bin/python bench/bench_ami_filter.py [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from cti.ami.events import CallRecord
from cti.ami.replay import replay_bytes

LAB = Path(__file__).resolve().parents[1] / "tests" / "traces" / "asterisk22"
#: what a record must keep under the filter (times differ: two separate recordings)
SAME = ("direction", "from", "to", "queue", "agents_rung", "agent", "status", "transfers")


def events(data: bytes) -> int:
    return data.count(b"\r\nEvent: ") + data.startswith(b"Event: ")


def cost(data: bytes, repeat: int) -> float:
    """Best CPU seconds of parse + track of ``data``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        replay_bytes(data)
        best = min(best, time.process_time() - start)
    return best


def same(a: CallRecord, b: CallRecord) -> bool:
    ja, jb = a.to_json(), b.to_json()
    agents = ([t.agent for t in a.talks], [r.agent for r in a.rings])
    return all(ja[k] == jb[k] for k in SAME) and agents == (
        [t.agent for t in b.talks],
        [r.agent for r in b.rings],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: nproc={os.cpu_count()} python={platform.python_version()}")
    head = f"{'scenario':26} {'bytes':>7} {'→':>7} {'events':>6} {'→':>5} {'cpu µs':>7} {'→':>6}"
    print(head + "  same record")
    totals = [0, 0, 0, 0, 0.0, 0.0]
    for path in sorted(LAB.glob("*.ami")):
        full, narrow = path.read_bytes(), (LAB / "filtered" / path.name).read_bytes()
        [before], [after] = replay_bytes(full), replay_bytes(narrow)
        row = [len(full), len(narrow), events(full), events(narrow)]
        cpu = [cost(full, args.repeat) * 1e6, cost(narrow, args.repeat) * 1e6]
        for i, value in enumerate(row + cpu):
            totals[i] += value
        print(
            f"{path.stem:26} {row[0]:7,} {row[1]:7,} {row[2]:6} {row[3]:5} "
            f"{cpu[0]:7.0f} {cpu[1]:6.0f}  {'yes' if same(before, after) else 'NO'}"
        )
    n = len(list(LAB.glob("*.ami")))
    print(
        f"{'per call (mean)':26} {totals[0] / n:7,.0f} {totals[1] / n:7,.0f} "
        f"{totals[2] / n:6.0f} {totals[3] / n:5.0f} {totals[4] / n:7.0f} {totals[5] / n:6.0f}"
    )
    print(
        f"filtered / all: bytes {totals[1] / totals[0]:.0%}, events {totals[3] / totals[2]:.0%},"
        f" cti CPU {totals[5] / totals[4]:.0%}"
    )


if __name__ == "__main__":
    main()
