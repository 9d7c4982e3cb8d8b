"""AMI ingest benchmark: bytes → AmiParser → CallTracker → call records, on one core.

Builds a large trace by concatenating every recorded trace (``../shared/ami-traces``) many
times with renamed Uniqueid/Linkedid/channel ids, then measures in the same run:

* ``cti``: our whole ingest path as the live connection runs it (parse, skipping the events
  the tracker does not use, + track + finished records);
* ``cti parser only``: AmiParser alone;
* ``panoramisk bare``: panoramisk's own ``AMIProtocol.data_received`` splitting and
  ``Message.from_line`` on the same bytes, with message dispatch replaced by a counter.

Also the tracker's memory for 1,000 concurrent calls (tracemalloc). Run:
``.venv/bin/python bench/bench_ingest.py [--min-events 100000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from panoramisk.ami_protocol import AMIProtocol

from cti.ami.events import CallEnded
from cti.ami.parser import AmiParser, parse_bytes
from cti.ami.tracker import CallTracker

TRACES = Path(__file__).resolve().parents[1].parent / "shared" / "ami-traces"
CHUNK = 64 * 1024
_ID = re.compile(rb"(\d{10}\.\d+)")
_CHAN = re.compile(rb"-([0-9a-f]{8})(?=;[12]|\r\n)")


def renamed(data: bytes, copy: int) -> bytes:
    """The trace with every Uniqueid/Linkedid and channel sequence number made unique."""
    tag = b"_%d" % copy
    data = _ID.sub(lambda m: m.group(1) + tag, data)
    return _CHAN.sub(lambda m: b"-%08x" % ((int(m.group(1), 16) + copy * 0x10000) % 2**32), data)


def build_trace(min_events: int) -> tuple[bytes, int]:
    """(bytes, messages) of the concatenated, renamed recorded traces."""
    files = sorted(p for p in TRACES.rglob("*.ami") if p.stem != "login")
    if not files:
        sys.exit(f"no traces under {TRACES}")
    one = b"".join(p.read_bytes().rstrip(b"\r\n") + b"\r\n\r\n" for p in files)
    per_copy = len(parse_bytes(one))
    copies = -(-min_events // per_copy)
    data = b"".join(renamed(one, k) for k in range(copies))
    return data, per_copy * copies


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def run_cti(parts: list[bytes]) -> int:
    tracker = CallTracker("bench")
    parser = AmiParser(tracker.events, tracker.prefilters)  # as the live connection
    feed = tracker.feed
    calls = 0
    for part in parts:
        for msg in parser.feed(part):
            for event in feed(msg):
                if isinstance(event, CallEnded):
                    calls += 1
    for msg in parser.close():
        feed(msg)
    return calls


def run_parser(parts: list[bytes]) -> int:
    parser = AmiParser()
    count = 0
    for part in parts:
        count += len(parser.feed(part))
    return count + len(parser.close())


class _BareProtocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol, its parsing untouched; dispatching replaced by a counter."""

    def __init__(self) -> None:
        self.connection_made(None)
        self.encoding = "utf8"  # what panoramisk's Manager sets
        self.count = 0

    def handle_message(self, message: object) -> None:
        self.count += 1


def run_panoramisk(parts: list[bytes]) -> int:
    proto = _BareProtocol()
    for part in parts:
        proto.data_received(part)
    return int(proto.count)


def best_rate(fn: Callable[[list[bytes]], int], parts: list[bytes], events: int, n: int) -> float:
    """Events per second of the best of ``n`` runs (GC collected between runs)."""
    times = []
    for _ in range(n):
        gc.collect()
        start = time.perf_counter()
        fn(parts)
        times.append(time.perf_counter() - start)
    return events / min(times)


def memory_per_1000_calls() -> tuple[float, tuple[int, int]]:
    """KiB the tracker holds for 1,000 concurrent calls (queue call, both agents ringing)."""
    trace = (TRACES / "asterisk22" / "queue-answered.ami").read_bytes()
    copies = [parse_bytes(renamed(trace, k)) for k in range(1000)]
    cut = next(i for i, m in enumerate(copies[0]) if m.get("Event") == "AgentConnect")
    tracker = CallTracker("bench")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for messages in copies:  # 1,000 calls, all up at once
        for msg in messages[:cut]:
            tracker.feed(msg)
    gc.collect()
    during = tracemalloc.get_traced_memory()[0]
    live = len(tracker.live_calls())
    for messages in copies:
        for msg in messages[cut:]:
            tracker.feed(msg)
    tracemalloc.stop()
    if live != 1000:
        sys.exit(f"expected 1000 live calls, got {live}")
    return (during - before) / 1024, tracker.state_size


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    data, events = build_trace(args.min_events)
    parts = chunks(data)
    calls = run_cti(parts)
    if run_parser(parts) != events or run_panoramisk(parts) != events:
        sys.exit("parsers disagree on the number of messages")
    rates = {
        "cti (parse + track + records)": best_rate(run_cti, parts, events, args.repeat),
        "cti parser only": best_rate(run_parser, parts, events, args.repeat),
        "panoramisk bare parse": best_rate(run_panoramisk, parts, events, args.repeat),
    }
    bare = rates["panoramisk bare parse"]
    kib, state = memory_per_1000_calls()
    print(f"trace: {len(data) / 1e6:.1f} MB, {events} messages, {calls} calls")
    print(f"machine: nproc={os.cpu_count()} cpu={cpu_model()!r} python={platform.python_version()}")
    print(f"{'path':32} {'events/s':>12} {'x bare':>8}")
    for name, rate in rates.items():
        print(f"{name:32} {rate:12,.0f} {rate / bare:8.2f}")
    print(f"tracker memory, 1,000 concurrent calls: {kib:,.0f} KiB ({kib / 1000:.2f} KiB/call)")
    print(f"state after they all ended (calls, channels): {state}")


if __name__ == "__main__":
    main()
