"""Screen-pop latency: AMI bytes that make an agent ring → ``call.ringing`` at its WebSocket.

    .venv/bin/python bench/bench_pop.py [--contacts 1000000] [--operators 1000] [--rate 50]
        [--probes 1000] [--budget-ms 2] [--no-card] [--no-pin] [--trace]
        [--daemon-from OTHER_CHECKOUT] [--write-docs]

Setup (not measured): a SQLite store of N contacts (built once under ``bench/out/``, each run
works on a fresh copy; some contacts have open deals and tickets), 1,000 operators each with
an extension and a token, the PBX simulator (this process) and the cti daemon (a separate
process, as in production: store, AMI connection, tracker, call log, screen-pop hub)
connected to it, and one real WebSocket client per operator (this process). The daemon runs
on one core of its own, the simulator and the clients on the other(s) (``--no-pin``: shared).

Measured: probe calls from contacts of the store ring one operator each while the simulator
generates ``--rate`` calls/s of background traffic (direct, queue, missed, transfers, IVR,
dialer) to the same operators. t0 = just before the simulator writes the batch holding the
probe's ``DialBegin`` (what makes cti emit ``AgentRinging``) to the AMI socket; t1 = the
``call.ringing`` frame arrives at that operator's client; t2 = the complete card has arrived
(t1 when the pop was complete, else the ``pop.update``). CPU = the daemon's user+system time
over the measured interval (``/proc/<pid>/stat``), as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from argon2 import PasswordHasher
from pydantic import SecretStr

# the daemon under test may come from another checkout (``--daemon-from``: before/after runs);
# then this checkout's editable install must not answer for ``cti`` first
if os.environ.get("CTI_BENCH_DAEMON_FROM"):
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in f.__module__]
sys.path.insert(0, os.environ.get("CTI_BENCH_DAEMON_FROM") or str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cti.pbxsim.calls import AgentProfile, InboundCall
from cti.pbxsim.server import PbxSimulator
from cti.pbxsim.traffic import TrafficProfile

OUT = Path(__file__).resolve().parent / "out"
FIRST_EXT = 2000
SECRET = "bench-secret"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))]


# -- store -----------------------------------------------------------------------------------
async def bench_db(contacts: int) -> Path:
    """The cached store: N contacts (+ deals for every 10th, tickets for every 20th)."""
    # the driver's imports of the store: a daemon run ``--daemon-from`` an older checkout
    # imports this file too, and its store may be laid out otherwise
    from bench_lookup import fill_sqlite

    from cti.crm_store.migrate import schema_diff
    from cti.demo.seed import demo_people

    OUT.mkdir(exist_ok=True)
    path = OUT / f"pop-{contacts}.db"
    if path.exists():
        if not await schema_diff(f"sqlite+aiosqlite:///{path}"):
            return path
        print(f"{path.name} was built with another schema: building it again", flush=True)
        path.unlink()
    tmp = path.with_suffix(".tmp")
    for leftover in OUT.glob(tmp.name + "*"):
        leftover.unlink()
    t = time.perf_counter()
    print(f"building {path.name} ({contacts:,} contacts, cached for later runs) …", flush=True)
    await fill_sqlite(tmp, list(demo_people(contacts)))
    conn = sqlite3.connect(tmp)
    now = "2026-11-20 10:00:00.000000+00:00"
    conn.executemany(
        "INSERT INTO deals (title, contact_id, stage, amount, currency, status, created_at,"
        " updated_at) VALUES (?, ?, 'proposal', 1500, 'RUB', 'open', ?, ?)",
        ((f"Deal {i}", i, now, now) for i in range(1, contacts + 1, 10)),
    )
    conn.executemany(
        "INSERT INTO tickets (subject, description, contact_id, status, priority,"
        " first_response_due, resolution_due, first_response_breached, resolution_breached,"
        " created_at, updated_at) VALUES (?, '', ?, 'open', 'normal', ?, ?, 0, 0, ?, ?)",
        ((f"Ticket {i}", i, now, now, now, now) for i in range(1, contacts + 1, 20)),
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    tmp.rename(path)
    print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)
    return path


async def operators(url: str, n: int) -> tuple[dict[str, str], list[str]]:
    """Ensure ``n`` operators exist (ext 2000+i); fresh tokens; a sample of caller numbers."""
    from cti.crm_store.schemas.users import UserIn
    from cti.crm_store.services.users import UserService
    from cti.crm_store.store import Store

    store = await Store.open(url)
    users = UserService(store, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    tokens: dict[str, str] = {}
    try:
        for i in range(n):
            ext = str(FIRST_EXT + i)
            name = f"op{ext}"
            user = await users.by_username(name)
            if user is None:
                user = await users.create(
                    UserIn(username=name, password=SecretStr("bench-password"), extensions=[ext])
                )
            tokens[ext] = (await users.issue_token(user.id)).token
    finally:
        await store.close()
    conn = sqlite3.connect(url.split("///", 1)[1])
    numbers = [r[0] for r in conn.execute("SELECT e164 FROM phones ORDER BY random() LIMIT 20000")]
    conn.close()
    return tokens, numbers


# -- the daemon under test (a child process) ---------------------------------------------------
class LoopWatch:
    """Stalls of this process: event-loop lag over 2 ms and garbage-collector passes over
    0.5 ms, each as (start, milliseconds[, generation]) on the shared monotonic clock."""

    def __init__(self) -> None:
        self.lags: list[tuple[float, float]] = []
        self.gcs: list[tuple[float, float, int, int]] = []
        self._gc_start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_start = now
        elif (now - self._gc_start) > 0.0005:
            took = (now - self._gc_start) * 1000
            self.gcs.append((self._gc_start, took, info["generation"], info["collected"]))

    async def run(self) -> None:
        self._tick = time.perf_counter()
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            self._tick = now = time.perf_counter()
            lag = now - t - 0.001
            if lag > 0.002:
                self.lags.append((t + 0.001, lag * 1000))

    def sample_stalls(self, over: float = 0.004) -> None:
        """Watch from a thread: while the loop has not ticked for ``over`` seconds, sample
        what the loop thread runs (every 2 ms), to name the code behind long stalls."""
        self.stacks: collections.Counter[str] = collections.Counter()
        self._tick = time.perf_counter()
        main = threading.main_thread().ident or 0

        def watch() -> None:
            while True:
                time.sleep(0.003)
                if time.perf_counter() - self._tick > over:
                    frame = sys._current_frames().get(main)
                    names = []
                    while frame is not None:
                        code = frame.f_code
                        where = "/".join(code.co_filename.rsplit("/", 2)[-2:])
                        names.append(f"{where}:{code.co_name}:{frame.f_lineno}")
                        frame = frame.f_back
                    ours = [n for n in names[3:] if n.startswith(("cti/", "screenpop/", "ami/"))]
                    self.stacks[" < ".join(names[:3] + ours[:3])] += 1

        threading.Thread(target=watch, daemon=True, name="stall-sampler").start()

    def dump(self) -> dict[str, Any]:
        stacks = getattr(self, "stacks", collections.Counter())
        return {"lags": self.lags, "gcs": self.gcs, "stacks": stacks.most_common(25)}


def trace_daemon(path: str) -> Callable[[], None]:
    """Bench only: stamp, per call, when the AMI bytes that made it ring were read, when its
    ``call.ringing`` frame was built and when it was written to the first WebSocket; the
    returned function writes them (and the daemon's stalls) to ``path`` as JSON."""
    from cti.ami.events import AgentRinging
    from cti.ami.parser import AmiParser
    from cti.screenpop.clients import Client
    from cti.screenpop.hub import Hub

    read_at = [0.0]
    rang: dict[str, float] = {}
    built: dict[str, float] = {}
    sent: dict[str, float] = {}
    feed, handle, write = AmiParser.feed, Hub.handle, Client.write
    marker = b'{"type": "call.ringing", "call_id": "'

    def traced_feed(self: AmiParser, data: bytes) -> list[dict[str, str]]:
        read_at[0] = time.perf_counter()
        return feed(self, data)

    def traced_handle(self: Hub, event: Any) -> None:
        if isinstance(event, AgentRinging):
            rang.setdefault(event.call.call_id, read_at[0])
        handle(self, event)

    try:  # the pop's message builder: screenpop/frames.py, or a method of an older hub
        from cti.screenpop import frames

        ringing = frames.ringing

        def traced_ringing(call: Any, ring: Any, card: Any) -> dict[str, Any]:
            built.setdefault(call.call_id, time.perf_counter())
            return ringing(call, ring, card)

        frames.ringing = traced_ringing
    except ImportError:
        frame = Hub._ringing_frame  # type: ignore[attr-defined]

        def traced_frame(self: Hub, live: Any, job: Any) -> dict[str, Any]:
            built.setdefault(live.info.call_id, time.perf_counter())
            return frame(self, live, job)  # type: ignore[no-any-return]

        Hub._ringing_frame = traced_frame  # type: ignore[attr-defined]

    def traced_write(self: Client, data: bytes) -> bool:
        kept = write(self, data)
        at = data.find(marker, 0, 10 + len(marker))
        if at >= 0:
            start = at + len(marker)
            sent.setdefault(data[start : data.index(b'"', start)].decode(), time.perf_counter())
        return kept

    AmiParser.feed = traced_feed  # type: ignore[method-assign]
    Hub.handle = traced_handle  # type: ignore[method-assign]
    Client.write = traced_write  # type: ignore[method-assign]
    watch = LoopWatch()
    watch.sample_stalls()
    try:  # the card reads: crm_store/repos/cards.py, or crm_store/cards.py before the split
        from cti.crm_store.repos import cards as card_store
    except ImportError:
        from cti.crm_store import cards as card_store  # type: ignore[no-redef]

    read, loads = card_store._read, []

    def timed_read(*a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return read(*a, **kw)
        finally:
            loads.append((time.perf_counter() - t) * 1000)

    card_store._read = timed_read

    def dump() -> None:
        calls = {c: [rang.get(c), built.get(c), sent.get(c)] for c in built}
        Path(path).write_text(json.dumps({"calls": calls, "loads": loads, **watch.dump()}))

    async def start(app: Any) -> None:
        tasks.append(asyncio.get_running_loop().create_task(watch.run()))

    tasks: list[asyncio.Task[None]] = []

    trace_daemon.start = start  # type: ignore[attr-defined]
    return dump


def serve_child(args: argparse.Namespace) -> None:
    """``--serve``: run cti's daemon with the screen-pop (the budget set from the command line)."""
    from cti.config import load_settings
    from cti.daemon import serve
    from cti.screenpop import setup

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # before any thread starts: they inherit it
    import cti.daemon

    print(f"daemon: cti from {Path(cti.daemon.__file__).parent}", file=sys.stderr, flush=True)
    settings = load_settings()
    dump = trace_daemon(args.trace) if args.trace else None

    def hook(app: Any) -> None:
        if dump is not None:
            app.on_startup.append(trace_daemon.start)  # type: ignore[attr-defined]
        slow = os.environ.get("CTI_BENCH_SLOW_MS")  # with PYTHONASYNCIODEBUG=1: log long steps
        if slow:
            asyncio.get_running_loop().slow_callback_duration = float(slow) / 1000
        if args.no_card:
            setup(app, budget=args.budget_ms / 1000, source=None)
        else:
            setup(app, budget=args.budget_ms / 1000)

    profile_to = os.environ.get("CTI_BENCH_PROFILE")  # a cProfile dump of the daemon
    if profile_to:
        import cProfile

        with cProfile.Profile() as prof:
            asyncio.run(serve(settings, "127.0.0.1", args.port, extra_setup=[hook]))
        prof.dump_stats(profile_to)
        return
    try:
        asyncio.run(serve(settings, "127.0.0.1", args.port, extra_setup=[hook]))
    finally:
        if dump is not None:
            dump()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- measurement -------------------------------------------------------------------------------
@dataclass
class Probe:
    number: str
    ext: str
    t0: float | None = None
    t1: float | None = None
    t2: float | None = None
    complete: bool = False
    matched: bool = False  # the ringing frame already named the caller
    call_id: str | None = None


@dataclass
class Tally:
    probes: dict[str, Probe] = field(default_factory=dict)  # by caller number, while pending
    by_call: dict[str, Probe] = field(default_factory=dict)
    frames: int = 0
    pops: int = 0
    wrong: int = 0  # pops for a call that does not ring the receiving operator
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    finished: int = 0
    clients: int = 0
    hello_count: int = 0
    hellos: asyncio.Event = field(default_factory=asyncio.Event)


def hook_flush(sim: PbxSimulator, tally: Tally) -> None:
    """Stamp t0 when the batch holding a probe's DialBegin leaves for cti."""
    original = sim._flush

    def flush() -> None:
        waiting = [p for p in tally.probes.values() if p.t0 is None]
        if waiting and sim._pending:
            data = "".join(sim._pending)
            for probe in waiting:
                if probe.number in data and any(
                    m.startswith("Event: DialBegin") and probe.number in m
                    for m in data.split("\r\n\r\n")
                ):
                    probe.t0 = time.perf_counter()
        original()

    sim._flush = flush  # type: ignore[method-assign]


async def client(
    session: aiohttp.ClientSession, url: str, ext: str, token: str, tally: Tally
) -> None:
    async with session.ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as ws:
        async for msg in ws:
            now = time.perf_counter()
            tally.frames += 1
            data = json.loads(msg.data)
            kind = data["type"]
            if kind == "hello":
                tally.hello_count += 1
                if tally.hello_count >= tally.clients:
                    tally.hellos.set()
            elif kind == "call.ringing":
                tally.pops += 1
                if ext not in data["agents"]:
                    tally.wrong += 1
                probe = tally.probes.get(data["call"]["from"] or "")
                if probe is not None and probe.ext == ext and probe.t1 is None:
                    probe.t1, probe.call_id = now, data["call_id"]
                    probe.complete = bool(data["pop"] and data["pop"]["complete"])
                    probe.matched = bool(data["pop"] and data["pop"]["match"])
                    tally.by_call[data["call_id"]] = probe
                    if probe.complete:
                        probe.t2 = now
                        _finish(tally, probe)
            elif kind == "pop.update":
                probe = tally.by_call.get(data["call_id"])
                if probe is not None and probe.t2 is None:
                    probe.t2 = now
                    _finish(tally, probe)


def _finish(tally: Tally, probe: Probe) -> None:
    tally.probes.pop(probe.number, None)
    tally.finished += 1
    if tally.finished >= tally.expected:
        tally.done.set()


async def run(args: argparse.Namespace) -> list[str]:
    base = await bench_db(args.contacts)
    db = base.with_name(base.stem + "-run.db")  # each run starts from the same store
    for old in OUT.glob(db.name + "*"):  # the store, its WAL, the call log journal
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    shutil.copyfile(base, db)
    url = f"sqlite+aiosqlite:///{db}"
    tokens, numbers = await operators(url, args.operators)
    exts = list(tokens)
    rng = random.Random(7)
    probe_numbers = numbers[: args.probes]
    background = numbers[args.probes :] or numbers
    sim = PbxSimulator(
        agents={e: AgentProfile(ring_seconds=2.0, talk_seconds=10.0) for e in exts},
        queues={"support": exts[:8], "sales": exts[8:16]},
        users={"cti": SECRET},
    )
    await sim.start()
    tally = Tally(expected=len(probe_numbers), clients=len(exts))
    hook_flush(sim, tally)
    placed = [0]
    place = sim.place_call

    async def counted(spec: Any) -> Any:
        placed[0] += 1
        return await place(spec)

    sim.place_call = counted  # type: ignore[method-assign]
    port = free_port()
    trace = OUT / "pop-trace.json" if args.trace else None
    cpus = sorted(os.sched_getaffinity(0))
    pin = args.pin and len(cpus) > 1
    if pin:  # the daemon gets the last core to itself, the PBX and the clients the others
        os.sched_setaffinity(0, set(cpus[:-1]))
    env = {
        **os.environ,
        "CTI_DATABASE_URL": url,
        "CTI_AMI_URL": f"ami://cti:{SECRET}@127.0.0.1:{sim.port}",
        "CTI_LOG_LEVEL": "WARNING",
    }
    if args.daemon_from:
        env["CTI_BENCH_DAEMON_FROM"] = args.daemon_from
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", "--port", str(port), "--budget-ms",
        str(args.budget_ms), *(["--no-card"] if args.no_card else []),
        *(["--trace", str(trace)] if trace else []),
        *(["--cpu", str(cpus[-1])] if pin else []), env=env,
    )  # fmt: skip
    watch = LoopWatch()
    watcher = asyncio.create_task(watch.run())
    base = f"http://127.0.0.1:{port}"
    try:
        connector = aiohttp.TCPConnector(limit=0)  # one connection per operator
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(600):
                try:
                    async with session.get(base + "/") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            readers = []
            for i in range(0, len(exts), 100):
                batch = exts[i : i + 100]
                readers += [
                    asyncio.create_task(client(session, base + "/ws", e, tokens[e], tally))
                    for e in batch
                ]
                await asyncio.sleep(0.05)
            try:
                async with asyncio.timeout(120):
                    await tally.hellos.wait()  # every client is connected
            except TimeoutError:
                failed = [t.exception() for t in readers if t.done() and t.exception()]
                raise RuntimeError(f"clients did not connect: {failed[:3]}") from None
            print(f"{len(exts)} operators connected; traffic {args.rate} calls/s", flush=True)
            # the driver stands for a PBX and 1,000 browsers on other machines: its own garbage
            # collections (1,000 client connections; young passes up to ~20 ms) would stamp
            # t1 late, so it collects nothing while it measures (cycles wait for the end)
            gc.collect()
            gc.freeze()
            gc.disable()
            sim.start_traffic(
                TrafficProfile(
                    calls_per_second=args.rate, numbers=background, talk_mean=8.0, seed=11
                )
            )
            await asyncio.sleep(args.warmup)
            cpu0, wall0, frames0, calls0 = (
                cpu_seconds(child.pid),
                time.perf_counter(),
                tally.frames,
                len(sim.calls),
            )
            for number in probe_numbers:
                probe = Probe(number, rng.choice(exts[16:]))
                tally.probes[number] = probe
                await sim.place_call(
                    InboundCall(caller=number, to=probe.ext, ring_seconds=1.0, talk_seconds=1.0)
                )
                await asyncio.sleep(1 / args.probe_rate)
            try:
                async with asyncio.timeout(30):
                    await tally.done.wait()
            except TimeoutError:
                print(f"warning: {len(tally.probes)} probes never completed", flush=True)
            wall = time.perf_counter() - wall0
            cpu = cpu_seconds(child.pid) - cpu0
            frames = tally.frames - frames0
            placed.append(placed[0] - calls0)
            await sim.stop_traffic()
            gc.enable()
            gc.unfreeze()
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 60)
            except TimeoutError:
                child.kill()
        await sim.stop()
        watcher.cancel()
    done = [p for p in tally.by_call.values() if p.t0 is not None and p.t2 is not None]
    ring = [(p.t1 - p.t0) * 1000 for p in done if p.t1 is not None and p.t0 is not None]
    full = [(p.t2 - p.t0) * 1000 for p in done if p.t2 is not None and p.t0 is not None]
    late = sum(1 for p in done if not p.complete)
    named = sum(1 for p in done if p.matched)
    rows = [
        f"Run: {args.contacts:,} contacts, {args.operators:,} connected operators, background "
        f"{args.rate:g} calls/s, {len(done):,} probe calls at {args.probe_rate:g}/s, pop budget "
        f"{args.budget_ms:g} ms; {frames:,} frames to clients in {wall:.0f} s; pops to an "
        f"operator whose phone did not ring: {tally.wrong}.",
        "",
        "| latency (t0 = AMI bytes leave the PBX) | p50 | p99 | max |",
        "|---|---:|---:|---:|",
        f"| `call.ringing` at the operator's WebSocket | {statistics.median(ring):.2f} ms "
        f"| {pct(ring, 0.99):.2f} ms | {max(ring):.2f} ms |",
        f"| complete card (in the pop, or its `pop.update`) | {statistics.median(full):.2f} ms "
        f"| {pct(full, 0.99):.2f} ms | {max(full):.2f} ms |",
        "",
        f"Pops sent before their card was complete (budget exceeded, `pop.update` followed): "
        f"{late} of {len(done)} ({100 * late / max(1, len(done)):.1f} %); pops that already "
        f"named the caller (match in the `call.ringing`): {named} of {len(done)}. "
        f"Daemon CPU while measured: {100 * cpu / wall:.0f} % of one core "
        f"({cpu:.1f} s CPU in {wall:.1f} s); calls placed while measured (background and "
        f"probes): {placed[1]:,}.",
    ]
    if trace is not None:
        daemon = json.loads(trace.read_text())
        rows += ["", *breakdown(daemon, done, watch)]
        loads = sorted(daemon["loads"])
        if loads:
            rows.append(
                f"card reads: {len(loads)}, p50 {statistics.median(loads):.2f} ms, "
                f"p99 {pct(loads, 0.99):.2f} ms, max {loads[-1]:.2f} ms"
            )
        rows += ["", "daemon stall samples (loop thread, innermost first):"]
        rows += [f"  {n:5d}  {stack}" for stack, n in daemon["stacks"]]
    return rows


def breakdown(daemon: dict[str, Any], done: list[Probe], driver: LoopWatch) -> list[str]:
    """Where the time went (``--trace``): the segments of each probe's pop, and the stalls
    of either process during the slowest ones."""
    legs: dict[str, list[float]] = {k: [] for k in ("bench→read", "read→built", "built→sent",
                                                   "sent→client")}  # fmt: skip
    slow: list[tuple[float, Probe, list[float]]] = []
    for p in done:
        stamps = daemon["calls"].get(p.call_id or "")
        if not stamps or None in stamps or p.t0 is None or p.t1 is None:
            continue
        points = [p.t0, *stamps, p.t1]
        parts = [(b - a) * 1000 for a, b in itertools.pairwise(points)]
        for key, value in zip(legs, parts, strict=True):
            legs[key].append(value)
        slow.append(((p.t1 - p.t0) * 1000, p, parts))
    rows = ["| segment of `call.ringing` | p50 | p99 | max |", "|---|---:|---:|---:|"]
    for key, values in legs.items():
        if values:
            rows.append(f"| {key} | {statistics.median(values):.2f} ms "
                        f"| {pct(values, 0.99):.2f} ms | {max(values):.2f} ms |")  # fmt: skip
    rows.append("")
    rows.append("slowest probes (total: segments ms; stalls overlapping [t0, t1])")
    for total, probe, parts in sorted(slow, key=lambda x: -x[0])[:12]:
        t0, t1 = probe.t0 or 0.0, probe.t1 or 0.0

        def near(items: list[Any], t0: float = t0, t1: float = t1) -> str:
            hits = [i for i in items if i[0] <= t1 and i[0] + i[1] / 1000 >= t0]
            return ",".join(f"{i[1]:.0f}" + (f"/g{i[2]}" if len(i) > 2 else "") for i in hits)

        rows.append(
            f"  {total:7.2f} = " + " + ".join(f"{x:.2f}" for x in parts)
            + f"  daemon lag [{near(daemon['lags'])}] gc [{near(daemon['gcs'])}]"
            + f"  driver lag [{near(driver.lags)}] gc [{near(driver.gcs)}]"
        )  # fmt: skip
    rows.append(
        f"stalls over the run: daemon {len(daemon['lags'])} lags > 2 ms "
        f"(max {max([x[1] for x in daemon['lags']] or [0]):.0f} ms), "
        f"{len(daemon['gcs'])} gc > 0.5 ms; driver {len(driver.lags)} lags "
        f"(max {max([x[1] for x in driver.lags] or [0]):.0f} ms), {len(driver.gcs)} gc"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--operators", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="background calls/s")
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--probe-rate", type=float, default=20.0, help="probe calls/s")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of traffic first")
    parser.add_argument("--budget-ms", type=float, default=2.0, help="pop budget for the card")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--no-card", action="store_true", help="pop the call info only (no store reads)"
    )
    parser.add_argument(
        "--trace", nargs="?", const=True, default=None,
        help="also print where the time went (daemon-side stamps, stalls of both processes)",
    )  # fmt: skip
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false",
        help="let the daemon and this driver share all cores (default: one core each)",
    )  # fmt: skip
    parser.add_argument(
        "--daemon-from", metavar="DIR", default=None,
        help="run the daemon's code from this checkout of cti (e.g. a git worktree of an "
        "older commit), the simulator and clients from this one: a same-run baseline",
    )  # fmt: skip
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args)
        return
    if args.daemon_from:
        args.daemon_from = os.path.abspath(args.daemon_from)
    rows = asyncio.run(run(args))
    print("\n".join(rows))
    if args.write_docs:
        from bench_lookup import machine_facts, write_section

        write_section(
            "Screen-pop latency",
            [
                "`.venv/bin/python bench/bench_pop.py` (options `--contacts`, `--operators`, "
                "`--rate`, `--probes`, `--budget-ms`, `--no-card`, `--no-pin`, `--trace`, "
                "`--daemon-from`; the 1 M-contact store is built once into `bench/out/`).",
                "",
                *(__doc__ or "").split("\n\n", 2)[2].strip().splitlines(),
                "",
                machine_facts(),
                "",
                *rows,
            ],
        )


if __name__ == "__main__":
    main()
