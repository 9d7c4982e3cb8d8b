"""Call log write cost: ``CallLog.record()`` one by one against ``record_many()`` in batches.

    .venv/bin/python bench/bench_calllog.py [--contacts 5000] [--records 5000] [--batches 1,10,50]

A temporary SQLite store (migrated, filled with ``--contacts`` contacts and a few agents)
is copied once per run, so every run writes the same ``--records`` generated calls into the
same starting state: inbound answered and missed/abandoned calls, outbound calls, from
numbers of existing contacts (in international and national spelling) and unknown ones, with
repeats so that callbacks are opened, noted again and closed. Measured per run: records/s
(wall clock, in-process) and CPU seconds of the whole process (event loop plus aiosqlite's
thread) per 1,000 records; the caller match and extension-owner map are included, as in
the daemon.

Then the read an operator's "my calls" page makes (``--history`` calls in the log, 200
extensions, each page: 50 newest calls that rang or were answered on one extension, and the
count), through ``call_agents`` as ``CallLog.search`` does, against the same page selected by
a LIKE over the JSON list of rung extensions (how it was done before ``call_agents``), in the
same store.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from argon2 import PasswordHasher
from bench_lookup import fill_sqlite, machine_facts
from sqlalchemy import ColumnElement, String, cast, func, insert, or_, select

import cti.ami.events as events
from cti.ami.events import CallRecord
from cti.calllog.service import CallLog
from cti.crm_store.models.calls import Call, CallAgent
from cti.crm_store.models.tasks import Task
from cti.crm_store.repos.base import paginate
from cti.crm_store.schemas.calls import CallOut, CallQuery
from cti.crm_store.schemas.common import PageParams
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.demo.seed import Person, demo_people

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: the call record carries rings and talk parts (not so in checkouts before them)
HAS_PARTS = hasattr(events, "TalkSegment")
AGENTS = [str(ext) for ext in range(101, 121)]
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def records(people: list[Person], n: int, seed: int = 7) -> list[CallRecord]:
    """``n`` finished calls, a second apart: ~55 % inbound answered, ~20 % inbound missed or
    abandoned, ~25 % outbound; a third from unknown numbers; numbers repeat (callbacks)."""
    rng = random.Random(seed)
    known = [p.phone for p in rng.sample(people, min(len(people), max(1, n // 8)))]
    unknown = [f"+7999{rng.randrange(10**7):07d}" for _ in range(max(1, n // 16))]
    out = []
    for i in range(n):
        number = rng.choice(unknown) if rng.random() < 0.33 else rng.choice(known)
        if rng.random() < 0.5:
            number = "8" + number[2:]  # national spelling
        start = T0 + timedelta(seconds=i)
        agent = rng.choice(AGENTS)
        kind = rng.random()
        if kind < 0.75:
            direction, from_number, to_number = "inbound", number, "700"
            status = "answered" if kind < 0.55 else rng.choice(["missed", "abandoned"])
        else:
            direction, from_number, to_number = "outbound", agent, number
            status = "answered" if rng.random() < 0.6 else "no-answer"
        answered = status == "answered"
        rung = (agent,) if rng.random() < 0.7 else (agent, rng.choice(AGENTS))
        out.append(
            CallRecord(
                pbx="bench",
                linkedid=f"{1_772_000_000 + i}.{i}",
                direction=direction,  # type: ignore[arg-type]
                from_number=from_number,
                from_name="Caller" if direction == "inbound" else None,
                to_number=to_number,
                queue="support" if direction == "inbound" else None,
                agents_rung=rung,
                agent=agent if answered else None,
                status=status,  # type: ignore[arg-type]
                started_at=start,
                answered_at=start + timedelta(seconds=5) if answered else None,
                ended_at=start + timedelta(seconds=65),
                ring_seconds=5.0,
                talk_seconds=60.0 if answered else None,
                hangup_cause=16,
                **parts(start, rung, agent if answered else None),
            )
        )
    return out


def parts(start: datetime, rung: tuple[str, ...], agent: str | None) -> dict[str, Any]:
    """Each rung agent's ring and the answering agent's part, as the tracker records them
    (what a call log write costs now: a row per ring and per part). Empty for the code
    before those existed (``--baseline`` runs of an older checkout)."""
    if not HAS_PARTS:
        return {}
    ring_end, end = start + timedelta(seconds=5), start + timedelta(seconds=65)
    rings = tuple(events.AgentRing(a, start, ring_end, a == agent) for a in dict.fromkeys(rung))
    talks = () if agent is None else (events.TalkSegment(agent, ring_end, end, 0.0),)
    return {
        "rings": rings,
        "talks": talks,
        "clock": "receipt",
        "answered_by": "agent" if agent else None,
        "ivr_seconds": 0.0,
        "queue_wait_seconds": 5.0,
        "hold_seconds": 0.0,
    }


async def prepare(path: Path, people: list[Person]) -> None:
    await fill_sqlite(path, people)
    store = await Store.open(f"sqlite+aiosqlite:///{path}", upgrade=False)
    try:
        users = UserService(store, hasher=FAST)
        for i, ext in enumerate(AGENTS):
            data = {"username": f"agent{i}", "password": "pw-123456789", "extensions": [ext]}
            await users.create(UserIn.model_validate(data))
    finally:
        await store.close()


async def one_by_one(log: CallLog, recs: Sequence[CallRecord]) -> int:
    return sum([await log.record(r) for r in recs])


def in_batches(size: int) -> Callable[[CallLog, Sequence[CallRecord]], Awaitable[int]]:
    async def write(log: CallLog, recs: Sequence[CallRecord]) -> int:
        written = 0
        for i in range(0, len(recs), size):
            written += sum(await log.record_many(recs[i : i + size]))
        return written

    return write


async def measure(
    template: Path,
    workdir: Path,
    recs: list[CallRecord],
    write: Callable[[CallLog, Sequence[CallRecord]], Awaitable[int]],
) -> dict[str, float]:
    path = workdir / "run.db"
    shutil.copyfile(template, path)
    store = await Store.open(f"sqlite+aiosqlite:///{path}", upgrade=False)
    log = CallLog(store)
    try:
        await log.record(recs[0])  # connections, owner map, statement caches
        rest = recs[1:]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        written = await write(log, rest)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        async with store.sessions() as session:
            calls = await session.scalar(select(func.count()).select_from(Call))
            opened = await session.scalar(select(func.count()).select_from(Task))
            closed = await session.scalar(select(func.count()).where(Task.done.is_(True)))
    finally:
        log.close()
        await store.close()
        path.unlink()
    return {
        "rate": len(rest) / wall,
        "cpu": cpu / len(rest) * 1000,
        "written": written,
        "calls": calls or 0,
        "tasks": opened or 0,
        "closed": closed or 0,
    }


async def run(contacts: int, count: int, batches: list[int]) -> list[str]:
    people = list(demo_people(contacts, seed=1))
    recs = records(people, count)
    runs: list[tuple[str, Callable[[CallLog, Sequence[CallRecord]], Awaitable[int]]]] = [
        ("`record()` one by one", one_by_one)
    ]
    runs += [(f"`record_many()`, batches of {size}", in_batches(size)) for size in batches]
    lines = [
        f"{count:,} generated calls into a SQLite store with {contacts:,} contacts and "
        f"{len(AGENTS)} agents, in-process, one run each from the same starting state",
        "",
        "| path | records/s | CPU s per 1,000 records | calls / callbacks (closed) |",
        "|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="cti-bench-calllog-") as tmp:
        template = Path(tmp) / "template.db"
        t0 = time.perf_counter()
        await prepare(template, people)
        print(f"sqlite filled in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        seen: set[tuple[float, float, float]] = set()
        for label, write in runs:
            m = await measure(template, Path(tmp), recs, write)
            seen.add((m["calls"], m["tasks"], m["closed"]))
            lines.append(
                f"| {label} | {m['rate']:,.0f} | {m['cpu']:.3f} "
                f"| {m['calls']:,.0f} / {m['tasks']:,.0f} ({m['closed']:,.0f}) |"
            )
            print(lines[-1], file=sys.stderr)
        if len(seen) != 1:
            lines.append("")
            lines.append("**The runs disagree on what was stored: a bug.**")
    return lines


def _like_touches(extensions: Sequence[str]) -> ColumnElement[bool]:
    """The baseline: "my calls" as a LIKE over ``calls.agents_rung`` (a JSON list)."""
    rung = cast(Call.agents_rung, String)
    conds = [Call.agent.in_(list(extensions))]
    conds += [rung.like(f'%"{ext}"%') for ext in extensions]
    return or_(*conds)


async def fill_history(store: Store, n: int, rng: random.Random) -> None:
    exts = [str(1000 + i) for i in range(200)]
    for start in range(0, n, 20_000):
        calls, agents = [], []
        for i in range(start, min(n, start + 20_000)):
            rung = rng.sample(exts, rng.choice((1, 1, 2, 3)))
            agent = rung[0] if rng.random() < 0.7 else None
            calls.append(
                {
                    "id": i + 1,
                    "pbx": "bench",
                    "linkedid": f"{i}.0",
                    "direction": "inbound",
                    "status": "answered" if agent else "missed",
                    "started_at": T0 + timedelta(seconds=i),
                    "agents_rung": rung,
                    "agent": agent,
                }
            )
            at = T0 + timedelta(seconds=i)
            agents += [{"call_id": i + 1, "extension": ext, "started_at": at} for ext in rung]
        async with store.sessions() as session:
            await session.execute(insert(Call), calls)
            await session.execute(insert(CallAgent), agents)
            await session.commit()


async def history(n: int, pages: int = 30) -> list[str]:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="cti-bench-history-") as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{Path(tmp) / 'history.db'}")
        log = CallLog(store)
        try:
            t0 = time.perf_counter()
            await fill_history(store, n, rng)
            print(f"{n:,} calls filled in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            query, params = CallQuery(limit=50), PageParams(per_page=50)
            order = [Call.started_at.desc().nulls_last(), Call.id.desc()]
            timings: dict[str, list[float]] = {"index": [], "like": []}
            totals: set[tuple[int, int]] = set()
            for _ in range(pages):
                ext = str(1000 + rng.randrange(200))
                t = time.perf_counter()
                mine = await log.search(query, extensions=[ext])
                timings["index"].append(time.perf_counter() - t)
                t = time.perf_counter()
                async with store.sessions() as session:
                    stmt = select(Call).where(_like_touches([ext]))
                    old = await paginate(session, stmt, params, CallOut, order)
                timings["like"].append(time.perf_counter() - t)
                totals.add((await log.count(query, extensions=[ext]), old.total))
                if [c.id for c in mine.items] != [c.id for c in old.items]:
                    raise SystemExit("the two selections disagree: a bug")
        finally:
            log.close()
            await store.close()
    per_ext = sorted(a for a, _ in totals)
    lines = [
        f"An operator's calls page: {n:,} calls in the log, 200 extensions "
        f"({per_ext[0]:,}–{per_ext[-1]:,} calls each), {pages} pages, same store",
        "",
        "| selection | median | p90 |",
        "|---|---:|---:|",
    ]
    for label, key in (("`call_agents` (index)", "index"), ("LIKE over the JSON list", "like")):
        values = sorted(timings[key])
        median, p90 = values[len(values) // 2], values[int(len(values) * 0.9)]
        lines.append(f"| {label} | {median * 1000:.1f} ms | {p90 * 1000:.1f} ms |")
    return lines


def journal_cost(recs: Sequence[CallRecord]) -> list[str]:
    """What the journal adds per finished call: the append on the event loop (one JSON line,
    one ``write``), and taking + acknowledging it in batches of 50 with an ``fsync`` each."""
    try:
        from cti.calllog.journal import CallJournal
    except ImportError:  # a checkout before the journal
        return []
    with tempfile.TemporaryDirectory(prefix="cti-bench-journal-") as tmp:
        journal = CallJournal(Path(tmp))
        start = time.perf_counter()
        for record in recs:
            journal.append(record)
        append = time.perf_counter() - start
        start = time.perf_counter()
        while journal.has_pending():
            batch = journal.take(50)
            journal.sync()
            journal.ack(batch)
        drain = time.perf_counter() - start
        journal.close()
    n = len(recs)
    return [
        f"Call log journal, {n:,} calls: append {append / n * 1e6:.1f} µs per call (on the "
        f"event loop); take + fsync + ack in batches of 50: {drain / n * 1e6:.1f} µs per call"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--batches", default="1,10,50", help="comma-separated batch sizes")
    parser.add_argument("--history", type=int, default=200_000, help="calls for the read test")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    lines = asyncio.run(run(args.contacts, args.records, batches))
    people = list(demo_people(args.contacts, seed=1))
    journal = journal_cost(records(people, args.records))
    if journal:
        lines += ["", *journal]
    if args.history:
        lines += ["", *asyncio.run(history(args.history))]
    print("\n".join([*lines, "", machine_facts()]))


if __name__ == "__main__":
    main()
