"""Screen-pop latency: AMI bytes that make an agent ring → ``call.ringing`` at its WebSocket.

    .venv/bin/python bench/bench_pop.py [--contacts 1000000] [--operators 1000] [--rate 50]
                                        [--probes 1000] [--budget-ms 3] [--write-docs]

Setup (not measured): a SQLite store of N contacts (cached under ``bench/out/``; some have
open deals and tickets), 1,000 operators each with an extension and a token, the PBX
simulator (this process) and the cti daemon (a separate process, as in production: store,
AMI connection, tracker, call log, screen-pop hub) connected to it, and one real WebSocket
client per operator (this process).

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
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from argon2 import PasswordHasher
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lookup import fill_sqlite, machine_facts, write_section

from cti.crm_store.schemas.users import UserIn
from cti.crm_store.seed import demo_people
from cti.crm_store.store import Store
from cti.crm_store.users import UserService
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
    OUT.mkdir(exist_ok=True)
    path = OUT / f"pop-{contacts}.db"
    if path.exists():
        return path
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
def serve_child(args: argparse.Namespace) -> None:
    """``--serve``: run cti's daemon with the screen-pop (the budget set from the command line)."""
    from cti.config import load_settings
    from cti.daemon import serve
    from cti.screenpop import setup

    settings = load_settings()

    def hook(app: Any) -> None:
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
    asyncio.run(serve(settings, "127.0.0.1", args.port, extra_setup=[hook]))


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
    db = await bench_db(args.contacts)
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
    env = {
        **os.environ,
        "CTI_DATABASE_URL": url,
        "CTI_AMI_URL": f"ami://cti:{SECRET}@127.0.0.1:{sim.port}",
        "CTI_LOG_LEVEL": "WARNING",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", "--port", str(port), "--budget-ms",
        str(args.budget_ms), *(["--no-card"] if args.no_card else []), env=env,
    )  # fmt: skip
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
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args)
        return
    rows = asyncio.run(run(args))
    print("\n".join(rows))
    if args.write_docs:
        write_section(
            "Screen-pop latency",
            [
                "`.venv/bin/python bench/bench_pop.py` (options `--contacts`, `--operators`, "
                "`--rate`, `--probes`, `--budget-ms`; the 1 M-contact store is built once into "
                "`bench/out/` and reused).",
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
