"""Call history and report queries at N generated call records (default 10,000,000), p95
over repeated runs, on SQLite and PostgreSQL; and what the reports' indexes cost on writes.

    .venv/bin/python bench/bench_reports.py --calls 1000000 [--days 365] [--repeat 20]
        [--no-sqlite] [--no-postgres] [--sqlite-file PATH] [--postgres-db NAME] [--write-docs]

The store is migrated, then filled with fast bulk inserts (``sqlite3.executemany`` with the
indexes dropped and rebuilt after; PostgreSQL ``COPY``): calls spread evenly over ``--days``
ending at the benchmark's "now", with their rings, talk parts, ``call_agents`` rows and the
callback tasks the call log's rules leave (one per number and queue, closed by a later
answered call), those still open a day after they fell due closed by hand (a team that
works its list); the reports' rollups are then built from them
(``cti.crm_store.repos.rollups.rebuild``, timed). ``--sqlite-file`` / ``--postgres-db`` keep
the filled database (and reuse it when it exists: a database of an older revision is
upgraded first, which times revisions 0009-0011: the rollups, ``call_agents.started_at``).
Then each query below runs ``--repeat`` times with fresh parameters (a random agent, queue, number)
and its p50/p95 are printed:

* history: the last 30 days of one agent; one queue's last 7 days; one number over all
  time; all missed calls of the last 30 days (the first page);
* every report over 30 days (agents, queues, callbacks, heat map, campaigns, SLA), in
  Moscow's zone, and the agents (per day) and heat map in Kolkata's (a half-hour offset);
* the callback worklist and the SLA report again for a team that never works its list
  (the callbacks the generator closed by hand a day after they fell due opened again:
  hundreds of thousands open instead of a few thousand).

The history queries are the functions in :data:`HISTORY`: the first page of
``GET /api/calls`` (``CallLog.search``: keyset, 50 calls, no count). Write cost: calls/s
stored through the call log's own writer (``CallLog.record_many``, batches of 100 calls
with their rings and talk parts) with the rollups kept, and with their upkeep switched off
(rounds alternating).
PostgreSQL: ``CTI_BENCH_POSTGRES_URL`` (default: the test server), a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

sys.path.append(str(Path(__file__).resolve().parent.parent))  # cti, when not installed

from bench_lookup import machine_facts, write_section  # type: ignore[import-not-found]

from cti.ami.events import AgentRing, CallRecord, TalkSegment
from cti.calllog.service import CallLog
from cti.config import CrmConfig, ReportsConfig
from cti.crm_store.migrate import upgrade_database
from cti.crm_store.models.tasks import Task
from cti.crm_store.repos import rollups
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.store import Store
from cti.reports.calendar import Period
from cti.reports.service import ReportService
from cti.runtime import GcPolicy

PG_URL = os.environ.get(
    "CTI_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Moscow")
AGENTS = [str(1000 + n) for n in range(200)]
QUEUES = [f"q{n:02d}" for n in range(20)]
NUMBERS = 2_000_000
TARGET_MS = 200.0
#: the write cost: rounds of this many calls with the rollups kept and without, alternating
WRITE_ROUNDS, WRITE_CALLS, WRITE_BATCH = 3, 5_000, 100
KOLKATA = ZoneInfo("Asia/Kolkata")
#: the team works its callback list: a callback still open a day after it fell due is
#: closed by hand (the call log's rules alone close one only on a later answered call)
WORKED_AFTER = timedelta(days=1)
WORKED = "called back (bench)"
UNWORKED = {
    "callbacks": "report: callbacks, 30 days, the list never worked",
    "sla": "report: SLA, 30 days, the list never worked",
}
#: what upgrading a kept database of a revision times
UPGRADES = {
    "0008": "revisions 0009-0011",
    "0009": "revisions 0010 and 0011",
    "0010": "revision 0011",
}

# -- generated rows ----------------------------------------------------------------------------

CALL_COLUMNS = (
    "id", "pbx", "linkedid", "direction", "from_number", "to_number", "external_number",
    "external_tail", "queue", "agents_rung", "agent", "status", "started_at", "answered_at",
    "ended_at", "ring_seconds", "talk_seconds", "hangup_cause", "transfers", "partial",
    "clock", "answered_by", "ivr_seconds", "queue_wait_seconds", "hold_seconds",
    "created_at", "updated_at",
)  # fmt: skip
RING_COLUMNS = ("call_id", "seq", "agent", "started_at", "ended_at", "seconds", "answered")
TALK_COLUMNS = ("call_id", "seq", "agent", "started_at", "ended_at", "seconds", "hold_seconds")
AGENT_COLUMNS = ("call_id", "extension", "started_at")
TASK_COLUMNS = (
    "title", "description", "kind", "phone", "phone_tail", "queue", "call_id", "assignee_id",
    "due_at", "done", "done_at", "done_reason", "updated_at", "created_at",
)  # fmt: skip


@dataclass
class Rows:
    calls: list[tuple[Any, ...]]
    rings: list[tuple[Any, ...]]
    talks: list[tuple[Any, ...]]
    agents: list[tuple[Any, ...]]
    tasks: list[tuple[Any, ...]]


def number(n: int) -> str:
    return f"+7495{n:07d}"


def generate(first_id: int, count: int, days: float, seed: int) -> Iterator[Rows]:
    """Calls ``first_id`` … in chunks, evenly over ``days`` up to :data:`NOW`."""
    rng = random.Random(seed)
    start = NOW - timedelta(days=days)
    step = days * 86400 / max(1, count)
    chunk = 100_000
    callbacks = Callbacks()
    for base in range(0, count, chunk):
        rows = Rows([], [], [], [], [])
        for i in range(base, min(count, base + chunk)):
            cid = first_id + i
            started = start + timedelta(seconds=i * step + rng.random() * step)
            roll = rng.random()
            direction = "inbound" if roll < 0.75 else "outbound" if roll < 0.95 else "internal"
            ext = number(rng.randrange(NUMBERS)) if direction != "internal" else None
            queue = rng.choice(QUEUES) if direction == "inbound" and rng.random() < 0.9 else None
            s = rng.random()
            status = "answered" if s < 0.75 else "abandoned" if s < 0.9 else "missed"
            if direction == "outbound" and status != "answered":
                status = "no-answer"
            rung = rng.sample(AGENTS, 1 if rng.random() < 0.7 else 2)
            ivr = rng.uniform(0, 15) if queue else None
            wait = rng.uniform(0, 90) if queue else None
            ring = rng.uniform(1, 25)
            t_ring = started + timedelta(seconds=(ivr or 0))
            answered = started + timedelta(seconds=(ivr or 0) + ring)
            talk = rng.uniform(15, 600) if status == "answered" else None
            ended = answered + timedelta(seconds=talk or 0)
            agent = rung[-1] if status == "answered" else None
            hold = rng.uniform(0, 60) if talk and rng.random() < 0.2 else None
            rows.calls.append((
                cid, "main", f"bench-{cid}", direction,
                ext if direction == "inbound" else rung[0],
                ext if direction == "outbound" else "100",
                ext, ext[-7:] if ext else None, queue, rung, agent, status, started,
                answered if status == "answered" else None, ended, ring, talk, 16, [], False,
                "pbx", "agent" if status == "answered" else None, ivr, wait, hold, started, started,
            ))  # fmt: skip
            for seq, who in enumerate(rung):
                took = who == agent
                rows.rings.append((cid, seq, who, t_ring, answered, ring, took))
                rows.agents.append((cid, who, started))
            if agent is not None and talk is not None:
                rows.talks.append((cid, 0, agent, answered, ended, talk, hold))
            if ext is not None and status == "answered":
                callbacks.answered(ext, cid, started)
            elif ext is not None and direction == "inbound":
                owner = AGENTS.index(rung[0]) + 1 if len(rung) == 1 else None
                callbacks.missed(ext, queue, cid, owner, ended)
        yield rows
    yield Rows([], [], [], [], callbacks.worked(NOW))


class Callbacks:
    """The callback tasks the call log's rules (:mod:`cti.crm_store.rules.callbacks`) leave
    after calls in time order: a miss opens one per number and queue (a further miss there
    is noted on it), an answered call with the number closes the number's open ones. Then a
    team works its list: :meth:`worked`."""

    def __init__(self) -> None:
        self.tasks: list[tuple[Any, ...]] = []
        self._open: dict[str, dict[str | None, int]] = {}  # number → queue → index

    def missed(
        self, ext: str, queue: str | None, cid: int, owner: int | None, at: datetime
    ) -> None:
        queues = self._open.setdefault(ext, {})
        if queue in queues:
            return
        queues[queue] = len(self.tasks)
        self.tasks.append((f"Call back {ext}", "", "callback", ext, ext[-7:], queue, cid, owner,
                           at, False, None, None, at))  # fmt: skip

    def answered(self, ext: str, cid: int, at: datetime) -> None:
        for index in self._open.pop(ext, {}).values():
            t = self.tasks[index]
            self.tasks[index] = (*t[:9], True, at, f"answered call main/bench-{cid}", at)

    def worked(self, now: datetime) -> list[tuple[Any, ...]]:
        """The tasks, those still open at ``now`` and due over :data:`WORKED_AFTER` before
        closed by hand a day after they fell due (:data:`WORKED`; a simplification: a later
        miss of the number was noted on the task, where the call log would open a new one).
        :func:`unworked` opens them again."""
        out = []
        for t in self.tasks:
            if not t[9] and t[8] < now - WORKED_AFTER:
                t = (*t[:9], True, t[8] + WORKED_AFTER, WORKED, t[8] + WORKED_AFTER)
            out.append(t)
        return out


# -- loading -----------------------------------------------------------------------------------


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_call(row: tuple[Any, ...]) -> tuple[Any, ...]:
    out = list(row)
    out[9] = "[" + ",".join(f'"{a}"' for a in row[9]) + "]"
    out[18] = "[]"
    for i in (12, 13, 14, 25, 26):
        out[i] = _sqlite_time(row[i])
    return tuple(out)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def sqlite_load(conn: sqlite3.Connection, rows: Rows) -> None:
    conn.executemany(_insert("calls", CALL_COLUMNS), map(_sqlite_call, rows.calls))
    conn.executemany(
        _insert("call_rings", RING_COLUMNS),
        ((*r[:3], _sqlite_time(r[3]), _sqlite_time(r[4]), *r[5:]) for r in rows.rings),
    )
    conn.executemany(
        _insert("call_talks", TALK_COLUMNS),
        ((*t[:3], _sqlite_time(t[3]), _sqlite_time(t[4]), *t[5:]) for t in rows.talks),
    )
    conn.executemany(
        _insert("call_agents", AGENT_COLUMNS),
        ((cid, who, _sqlite_time(at)) for cid, who, at in rows.agents),
    )
    conn.executemany(_insert("tasks", TASK_COLUMNS), map(_sqlite_task, rows.tasks))


def _sqlite_task(row: tuple[Any, ...]) -> tuple[Any, ...]:
    out = list(row)
    for i in (8, 10, 12):
        out[i] = _sqlite_time(row[i])
    return (*out, out[8])


def _indexes(conn: sqlite3.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    marks = ",".join("?" * len(tables))
    return [
        (name, sql)
        for name, sql in conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks})",
            tables,
        )
    ]


def users_rows() -> list[tuple[Any, ...]]:
    return [(n + 1, f"agent{a}", a) for n, a in enumerate(AGENTS)]


async def fill_sqlite(path: Path, count: int, days: float) -> float:
    await upgrade_database(f"sqlite+aiosqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    now = _sqlite_time(NOW)
    for uid, name, ext in users_rows():
        conn.execute(
            "INSERT INTO users (id, username, full_name, password_hash, role, active, created_at,"
            " updated_at) VALUES (?, ?, '', 'x', 'operator', 1, ?, ?)",
            (uid, name, now, now),
        )
        conn.execute("INSERT INTO user_extensions (user_id, extension) VALUES (?, ?)", (uid, ext))
    tables = ("calls", "call_rings", "call_talks", "call_agents", "tasks")
    indexes = _indexes(conn, tables)
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    t0 = time.perf_counter()
    for rows in generate(1, count, days, seed=1):
        sqlite_load(conn, rows)
        conn.commit()
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


async def fill_postgres(url: str, count: int, days: float) -> float:
    import asyncpg  # type: ignore[import-untyped]

    await upgrade_database(url)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        for uid, name, ext in users_rows():
            await conn.execute(
                "INSERT INTO users (id, username, full_name, password_hash, role, active,"
                " created_at, updated_at) VALUES ($1, $2, '', 'x', 'operator', true, $3, $3)",
                uid, name, NOW,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO user_extensions (user_id, extension) VALUES ($1, $2)", uid, ext
            )
        tables = ("calls", "call_rings", "call_talks", "call_agents", "tasks")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[])"
            " AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uq_%'",
            list(tables),
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        t0 = time.perf_counter()
        for rows in generate(1, count, days, seed=1):
            await _pg_load(conn, rows)
        for row in indexes:
            await conn.execute(row["indexdef"])
        await conn.execute("SELECT setval('calls_id_seq', (SELECT max(id) FROM calls))")
        await conn.execute("ANALYZE")
        return time.perf_counter() - t0
    finally:
        await conn.close()


async def _pg_load(conn: Any, rows: Rows) -> None:
    import json

    calls = [(*c[:9], json.dumps(c[9]), *c[10:18], "[]", *c[19:]) for c in rows.calls]
    await conn.copy_records_to_table("calls", records=calls, columns=CALL_COLUMNS)
    await conn.copy_records_to_table("call_rings", records=rows.rings, columns=RING_COLUMNS)
    await conn.copy_records_to_table("call_talks", records=rows.talks, columns=TALK_COLUMNS)
    await conn.copy_records_to_table("call_agents", records=rows.agents, columns=AGENT_COLUMNS)
    tasks = [(*t, t[8]) for t in rows.tasks]
    await conn.copy_records_to_table("tasks", records=tasks, columns=TASK_COLUMNS)


async def build_rollups(url: str, days: float) -> float:
    """The reports' rollups of every generated call, from the calls (seconds); then the
    planner's figures of the new rows (as revisions 0009 and 0010 leave them)."""
    store = await Store.open(url, upgrade=False)
    try:
        t0 = time.perf_counter()
        async with store.sessions() as session:
            await rollups.rebuild(session, NOW - timedelta(days=days + 2), NOW + timedelta(days=2))
            await session.commit()
        seconds = time.perf_counter() - t0
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
        return seconds
    finally:
        await store.close()


def records(first_id: int, count: int) -> list[CallRecord]:
    """``count`` new calls over the last day, as the tracker hands them to the call log."""
    rows = next(generate(first_id, count, 1, seed=first_id))  # the calls (the last: tasks)
    rings: dict[int, list[AgentRing]] = {}
    talks: dict[int, list[TalkSegment]] = {}
    for cid, _, who, started, ended, _, took in rows.rings:
        rings.setdefault(cid, []).append(AgentRing(who, started, ended, took))
    for cid, _, who, started, ended, _, hold in rows.talks:
        talks.setdefault(cid, []).append(TalkSegment(who, started, ended, hold))
    out = []
    for c in rows.calls:
        out.append(
            CallRecord(
                pbx=c[1],
                linkedid=c[2],
                direction=c[3],
                from_number=c[4],
                from_name=None,
                to_number=c[5],
                queue=c[8],
                agents_rung=tuple(c[9]),
                agent=c[10],
                status=c[11],
                started_at=c[12],
                answered_at=c[13],
                ended_at=c[14],
                ring_seconds=c[15],
                talk_seconds=c[16],
                hangup_cause=c[17],
                clock="pbx",
                answered_by=c[21],
                ivr_seconds=c[22],
                queue_wait_seconds=c[23],
                hold_seconds=c[24],
                rings=tuple(rings.get(c[0], ())),
                talks=tuple(talks.get(c[0], ())),
            )
        )
    return out


async def writer_rate(url: str, first_id: int, count: int, keep_rollups: bool) -> float:
    """Calls stored per second through ``CallLog.record_many``, :data:`WRITE_BATCH` a batch;
    without ``keep_rollups`` the writer's rollup upkeep is switched off for the round."""
    batch = records(first_id, count)
    store = await Store.open(url, upgrade=False)
    log = CallLog(store)
    kept = rollups.apply  # the call log's writer calls it through the module
    if not keep_rollups:

        async def off(session: Any, deltas: Any) -> None:
            return None

        setattr(rollups, "apply", off)  # noqa: B010
    try:
        t0 = time.perf_counter()
        for i in range(0, len(batch), WRITE_BATCH):
            await log.record_many(batch[i : i + WRITE_BATCH])
        return count / (time.perf_counter() - t0)
    finally:
        setattr(rollups, "apply", kept)  # noqa: B010
        log.close()
        await store.close()


# -- the queries -------------------------------------------------------------------------------

Query = Callable[[Store, random.Random], Awaitable[Any]]


_LOGS: dict[int, CallLog] = {}


async def first_page(store: Store, **filters: Any) -> Any:
    """The first page of ``GET /api/calls`` (keyset, 50 calls, newest first; no count)."""
    log = _LOGS.setdefault(id(store), CallLog(store))
    return await log.search(CallQuery.model_validate({**filters, "limit": 50}))


async def agent_30_days(store: Store, rng: random.Random) -> Any:
    return await first_page(
        store, agent=rng.choice(AGENTS), **{"from": NOW - timedelta(days=30), "to": NOW}
    )


async def queue_7_days(store: Store, rng: random.Random) -> Any:
    return await first_page(
        store, queue=rng.choice(QUEUES), **{"from": NOW - timedelta(days=7), "to": NOW}
    )


async def number_all_time(store: Store, rng: random.Random) -> Any:
    return await first_page(store, number=number(rng.randrange(NUMBERS)))


async def missed_30_days(store: Store, rng: random.Random) -> Any:
    return await first_page(store, status="missed", **{"from": NOW - timedelta(days=30), "to": NOW})


#: the history queries: the first page of each listing, as the API serves it
HISTORY: dict[str, Query] = {
    "history: one agent, last 30 days": agent_30_days,
    "history: one queue, last 7 days": queue_7_days,
    "history: one number, all time": number_all_time,
    "history: missed calls, last 30 days": missed_30_days,
}


def _month(tz: ZoneInfo = TZ) -> Period:
    last = NOW.astimezone(tz).date()
    return Period(last - timedelta(days=29), last, tz)


def reports() -> dict[str, Query]:
    p = _month()
    k = _month(KOLKATA)

    def service(store: Store) -> ReportService:
        return ReportService(store, ReportsConfig(), CrmConfig().sla)

    return {
        "report: agents, 30 days": lambda s, r: service(s).agents(p, NOW, by_day=False),
        "report: agents per day, 30 days": lambda s, r: service(s).agents(p, NOW),
        "report: queues, 30 days": lambda s, r: service(s).queues(p),
        "report: callbacks, 30 days": lambda s, r: service(s).callbacks(p, NOW),
        "report: heat map, 30 days": lambda s, r: service(s).heatmap(p),
        "report: campaigns, 30 days": lambda s, r: service(s).campaigns(p, NOW),
        "report: SLA, 30 days": lambda s, r: service(s).sla(p, NOW),
        "report: agents per day, 30 days, Kolkata": lambda s, r: service(s).agents(k, NOW),
        "report: heat map, 30 days, Kolkata": lambda s, r: service(s).heatmap(k),
    }


async def measure(
    store: Store, repeat: int, queries: dict[str, Query] | None = None
) -> list[tuple[str, float, float]]:
    """Each query's p50 and p95, under the daemon's GC policy (:class:`GcPolicy`: what
    startup made is frozen, no automatic full collections), as the daemon serves them."""
    policy = asyncio.create_task(GcPolicy().run())
    try:
        return await _measure(store, repeat, queries or {**HISTORY, **reports()})
    finally:
        policy.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await policy


async def _measure(
    store: Store, repeat: int, queries: dict[str, Query]
) -> list[tuple[str, float, float]]:
    rng = random.Random(7)
    out = []
    for name, query in queries.items():
        await query(store, rng)  # warm-up
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            await query(store, rng)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        out.append((name, statistics.median(times), p95))
        print(f"  {name}: p50 {out[-1][1]:.1f} ms, p95 {p95:.1f} ms", file=sys.stderr)
    return out


async def unworked(store: Store, repeat: int) -> list[tuple[str, float, float]]:
    """The callback worklist and the SLA report (its overdue tasks) of a team that never
    works its list: the callbacks :meth:`Callbacks.worked` closed opened again (hundreds of
    thousands open, as the call log's rules alone leave them; ``done`` only), then closed
    again."""
    async with store.sessions() as session, session.begin():
        # but where the call log (the write rounds of earlier runs) opened a newer one
        newer = aliased(Task)
        already = exists().where(
            newer.kind == "callback",
            newer.done.is_(False),
            newer.phone_tail == Task.phone_tail,  # its index
            newer.phone == Task.phone,
            or_(newer.queue == Task.queue, and_(newer.queue.is_(None), Task.queue.is_(None))),
        )
        await session.execute(
            update(Task).where(Task.done_reason == WORKED, ~already).values(done=False)
        )
        left = await session.scalar(
            select(func.count()).where(Task.kind == "callback", Task.done.is_(False))
        )
    print(f"  callbacks open, the list never worked: {left:,}", file=sys.stderr)
    p = _month()

    def service(s: Store) -> ReportService:
        return ReportService(s, ReportsConfig(), CrmConfig().sla)

    queries: dict[str, Query] = {
        UNWORKED["callbacks"]: lambda s, r: service(s).callbacks(p, NOW),
        UNWORKED["sla"]: lambda s, r: service(s).sla(p, NOW),
    }
    try:
        return await measure(store, repeat, queries)
    finally:
        async with store.sessions() as session, session.begin():
            await session.execute(update(Task).where(Task.done_reason == WORKED).values(done=True))


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    #: how the database got its calls: "filled in N s", "kept", …
    fill: str
    #: how its rollups were built: "built in N s", "revision 0010 (…): N s", "kept"
    rollups: str
    timings: list[tuple[str, float, float]]
    write_with: float
    write_without: float


async def _prepare(
    url: str, fresh: bool, fill: Callable[[], Awaitable[float]], days: float
) -> tuple[str, str]:
    """Fill a fresh database and build its rollups, or bring a kept one to the head
    revision (timing the revisions that fill rollups, when they run)."""
    if fresh:
        seconds = await fill()
        return f"filled in {seconds:.0f} s", f"built in {await build_rollups(url, days):.0f} s"
    store = await Store.open(url, upgrade=False)
    try:
        async with store.engine.connect() as conn:
            version = (
                await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            ).scalar()
    finally:
        await store.close()
    t0 = time.perf_counter()
    await upgrade_database(url)
    upgraded = time.perf_counter() - t0
    if version in UPGRADES:
        return "kept", f"{UPGRADES[version]} (upgrade of the kept database): {upgraded:.0f} s"
    return "kept", "kept"


async def _measure_all(
    url: str, repeat: int, first_id: int
) -> tuple[list[tuple[str, float, float]], float, float]:
    store = await Store.open(url, upgrade=False)
    try:
        timings = await measure(store, repeat)
        timings += await unworked(store, repeat)
    finally:
        await store.close()
    rates: dict[bool, list[float]] = {True: [], False: []}
    for n in range(2 * WRITE_ROUNDS):  # alternating, so drift hits both alike
        keep = n % 2 == 0
        rates[keep].append(await writer_rate(url, first_id + n * WRITE_CALLS, WRITE_CALLS, keep))
        print(
            f"  writer, rollups {'kept' if keep else 'off'}: {rates[keep][-1]:,.0f} calls/s",
            file=sys.stderr,
        )
    return timings, statistics.median(rates[True]), statistics.median(rates[False])


async def _next_id(url: str) -> int:
    store = await Store.open(url, upgrade=False)
    try:
        async with store.engine.connect() as conn:
            top = (await conn.exec_driver_sql("SELECT max(id) FROM calls")).scalar()
            return int(top or 0) + 1
    finally:
        await store.close()


async def run_sqlite(count: int, days: float, repeat: int, keep: Path | None) -> Result:
    with tempfile.TemporaryDirectory(prefix="cti-bench-reports-") as tmp:
        path = keep or Path(tmp) / "cti.db"
        url = f"sqlite+aiosqlite:///{path}"
        fill, built = await _prepare(
            url, not path.exists(), lambda: fill_sqlite(path, count, days), days
        )
        print(f"sqlite: {fill}; rollups {built}", file=sys.stderr)
        timings, with_, without = await _measure_all(url, repeat, await _next_id(url))
        return Result("SQLite (file, WAL)", fill, built, timings, with_, without)


async def run_postgres(count: int, days: float, repeat: int, keep: str | None) -> Result | str:
    import asyncpg

    admin_dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = keep or f"cti_bench_reports_{os.getpid()}"
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL not measured: {exc}"
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
        fill, built = await _prepare(url, not exists, lambda: fill_postgres(url, count, days), days)
        print(f"postgres: {fill}; rollups {built}", file=sys.stderr)
        timings, with_, without = await _measure_all(url, repeat, await _next_id(url))
        return Result("PostgreSQL (127.0.0.1, asyncpg)", fill, built, timings, with_, without)
    finally:
        if keep is None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def table(results: list[Result], count: int, days: float) -> list[str]:
    names = [n for n, _, _ in results[0].timings] if results else []
    head = "| query | " + " | ".join(f"{r.backend} p50 / p95 ms" for r in results) + " |"
    lines = [
        f"{count:,} calls over {days:g} days ({count / days:,.0f} a day; 30 days ≈ "
        f"{30 * count / days:,.0f} calls); target p95 ≤ {TARGET_MS:.0f} ms.",
        "",
        head,
        "|---|" + "---|" * len(results),
    ]
    for i, name in enumerate(names):
        cells = []
        for r in results:
            _, p50, p95 = r.timings[i]
            mark = "" if p95 <= TARGET_MS else " ✗"
            cells.append(f"{p50:.1f} / {p95:.1f}{mark}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| backend | calls | rollups | writer calls/s, rollups kept | rollups off | cost |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        cost = 100 * (1 - r.write_with / r.write_without) if r.write_without else 0.0
        lines.append(
            f"| {r.backend} | {r.fill} | {r.rollups} | {r.write_with:,.0f} | "
            f"{r.write_without:,.0f} | {cost:+.1f} % |"
        )
    return lines


async def run(args: argparse.Namespace) -> list[str]:
    results: list[Result] = []
    notes: list[str] = []
    if not args.no_sqlite:
        results.append(await run_sqlite(args.calls, args.days, args.repeat, args.sqlite_file))
    if not args.no_postgres:
        got = await run_postgres(args.calls, args.days, args.repeat, args.postgres_db)
        if isinstance(got, str):
            notes.append(got)
        else:
            results.append(got)
    return table(results, args.calls, args.days) + (["", *notes] if notes else [])


HOW = (
    "`.venv/bin/python bench/bench_reports.py --calls N [--days 365] [--repeat 20] "
    "[--no-sqlite] [--no-postgres] [--sqlite-file PATH] [--postgres-db NAME] [--write-docs]`: "
    "N generated calls (with rings, talk parts, `call_agents`, some open callbacks) "
    "bulk-loaded and their rollups built (or a kept database reused, upgraded to the head "
    "revision first), then each query run `--repeat` times with a random agent, queue or "
    "number; history queries are the first page of `GET /api/calls` (`CallLog.search`: "
    "keyset, 50 calls, no count); the queries run under the daemon's GC policy "
    "(`cti.runtime.GcPolicy`: startup frozen, no automatic full collections). Write cost: "
    "3 rounds each of 5,000 more calls through "
    "`CallLog.record_many` (100 a batch, with their rings and talk parts, callbacks and "
    "contact matching as in the daemon), alternating with the rollups kept and with their "
    "upkeep switched off."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--sqlite-file", type=Path, help="keep (or reuse) the SQLite database")
    parser.add_argument("--postgres-db", help="keep (or reuse) this PostgreSQL database")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    lines = asyncio.run(run(args))
    print("\n".join(lines))
    if args.write_docs:
        write_section(
            f"Call history and reports ({args.calls:,} calls)",
            [HOW, "", *lines, "", machine_facts()],
        )
        print("docs/benchmarks.md updated")


if __name__ == "__main__":
    main()
